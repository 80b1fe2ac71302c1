"""The secret source port: the bot token a schedule names, read at run time (never stored)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from gaib.errors import InvalidName, SecretUnavailable
from gaib.secrets.aws import SecretsManagerSource
from gaib.secrets.base import check_secret_name, token_from
from gaib.secrets.env import EnvSecretSource, variable_for

TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_env_source_reads_only_its_own_prefixed_variables() -> None:
    source = EnvSecretSource({"GAIB_SECRET_GAIB_BOT_TOKEN": TOKEN, "AWS_SECRET_ACCESS_KEY": "not-for-discord"})

    assert variable_for("gaib/bot-token") == "GAIB_SECRET_GAIB_BOT_TOKEN"
    assert source.get("gaib/bot-token") == TOKEN
    with pytest.raises(SecretUnavailable) as info:
        source.get("AWS_SECRET_ACCESS_KEY")
    assert "GAIB_SECRET_AWS_SECRET_ACCESS_KEY" in info.value.message and "not-for-discord" not in info.value.message


@pytest.mark.parametrize(("raw", "expected"), [(TOKEN, TOKEN), (f"  {TOKEN}\n", TOKEN),
                                               (json.dumps({"token": TOKEN}), TOKEN),
                                               (json.dumps({"DISCORD_BOT_TOKEN": TOKEN, "x": 1}), TOKEN)])
def test_a_secret_holds_the_token_or_json_with_it(raw: str, expected: str) -> None:
    assert token_from(raw, "s") == expected


@pytest.mark.parametrize("raw", ["", "two words", "{not json", json.dumps({"password": TOKEN}), "[1]"])
def test_unusable_secret_values_are_refused_without_echoing_them(raw: str) -> None:
    with pytest.raises(SecretUnavailable) as info:
        token_from(raw, "gaib/bot")
    assert TOKEN not in info.value.message and "gaib/bot" in info.value.message


@pytest.mark.parametrize("name", ["", "a b", "x\ny", "ü", "a" * 513, 7, None])
def test_secret_names_are_checked_before_any_request(name: object) -> None:
    with pytest.raises(InvalidName):
        check_secret_name(name)


@pytest.mark.aws
def test_secrets_manager_source_reads_once_and_reports_missing_secrets(aws_env: dict[str, str],
                                                                        moto_endpoint: str) -> None:
    client = boto3.client("secretsmanager")
    name = f"gaib/bot-{uuid.uuid4().hex[:8]}"
    arn = client.create_secret(Name=name, SecretString=json.dumps({"token": TOKEN}))["ARN"]
    source = SecretsManagerSource(region="us-east-1", endpoint_url=moto_endpoint)

    assert source.get(name) == TOKEN and source.get(arn) == TOKEN
    client.put_secret_value(SecretId=name, SecretString="rotated-token")
    assert source.get(name) == TOKEN  # read once per run
    with pytest.raises(SecretUnavailable) as info:
        source.get("gaib/no-such-secret")
    assert info.value.exit_code == 2 and "does not exist" in info.value.message
    assert TOKEN not in repr(source)
