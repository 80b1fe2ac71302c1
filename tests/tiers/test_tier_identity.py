"""Who changed a tier (issue 24, item 5): on AWS ``tier set`` records the caller's identity as STS says, not the
self-declared ``GAIB_ACTOR``; AWS refusing the tier's write (only the operator role may) is ``OPERATOR_ONLY``,
exit 1, with nothing changed. Locally the actor stays self-declared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import boto3
import pytest

from gaib import aws
from gaib.storage.keys import TIER_SK, server_pk
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage
from tests.support.store import backup_storage_env

OPERATOR_ROLE = "arn:aws:iam::123456789012:role/ops/gaib-operator"


@pytest.fixture
def acli(cli: CliRunner, aws_env: dict[str, str]) -> CliRunner:
    """A CLI runner with a guild id, its backups on S3 + DynamoDB (moto)."""
    cli.environ.update({"DISCORD_GUILD_ID": GUILD, **backup_storage_env(aws_env)})
    return cli


@pytest.fixture
def as_operator(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process's AWS credentials become a session of the operator role (moto's STS); yields its ARN."""
    creds = boto3.client("sts").assume_role(RoleArn=OPERATOR_ROLE, RoleSessionName="alice")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    yield "arn:aws:sts::123456789012:assumed-role/gaib-operator/alice"


def refuse_tier_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on DynamoDB answers AccessDeniedException to every write of a TIER item, as IAM does for a role without
    the operator's grant (moto's server does not evaluate IAM policies, so the answer is given at the client's
    HTTP boundary, before anything is sent)."""
    made = aws.client

    class Refused:
        status_code = 400
        headers: ClassVar[dict[str, str]] = {}

    def refuse(params: Any = None, model: Any = None, **_: Any) -> Any:
        body = str(params.get("body", "")) if isinstance(params, dict) else ""
        if model is not None and model.name in ("PutItem", "UpdateItem") and TIER_SK in body:
            return Refused(), {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    def client(service: str, **kwargs: Any) -> Any:
        made_client = made(service, **kwargs)
        if service == "dynamodb":
            made_client.meta.events.register("before-call.dynamodb", refuse)
        return made_client

    monkeypatch.setattr(aws, "client", client)


@pytest.mark.aws
def test_on_aws_the_tier_records_the_sts_identity_not_gaib_actor(acli: CliRunner, as_operator: str) -> None:
    seed_state(acli.cwd)
    acli.environ.update({"GAIB_ACTOR": "operator@gaib-staff", "GAIB_OPERATOR_ROLE_ARN": OPERATOR_ROLE})

    done = acli("server", "tier", "set", "premium", "--yes", "--json")

    assert done.exit_code == 0, done.stdout
    assert done.data["set_by"] == as_operator
    item = next(i for i in Storage(acli).items() if i["PK"] == server_pk(GUILD) and i["SK"] == TIER_SK)
    assert item["set_by"] == as_operator and "operator@gaib-staff" not in str(Storage(acli).items())
    shown = acli("server", "tier", "show").stdout
    assert f"set by {as_operator}" in shown


@pytest.mark.aws
def test_a_refused_tier_write_says_only_the_operator_may(acli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_state(acli.cwd)
    assert acli("server", "backup", "create", "--json").exit_code == 0
    before = Storage(acli).items()
    refuse_tier_writes(monkeypatch)

    r = acli("server", "tier", "set", "premium", "--yes", "--json")

    assert r.exit_code == 1, r.stdout
    assert r.error["code"] == "OPERATOR_ONLY"
    assert "only the operator role may change a tier" in r.error["message"]
    assert "operator role" in r.error["suggestion"] and "AccessDeniedException" in r.error["message"]
    assert Storage(acli).items() == before  # nothing changed
    text = acli("server", "tier", "set", "premium", "--yes")
    assert text.exit_code == 1 and "Error [OPERATOR_ONLY]" in text.stderr


def test_locally_the_actor_is_self_declared(cli: CliRunner) -> None:
    cli.environ.update({"DISCORD_GUILD_ID": GUILD, "GAIB_ACTOR": "ops@example"})
    seed_state(cli.cwd)

    done = cli("server", "tier", "set", "premium", "--yes", "--json")

    assert done.exit_code == 0 and done.data["set_by"] == "ops@example"
