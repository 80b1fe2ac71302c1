"""gaib server notify set | show | test | clear on the local store and on moto (issue 24, item 6)."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest

from gaib.secrets.env import variable_for
from gaib.storage.keys import notify_key
from tests.support.cli import CliRunner, Result
from tests.support.state import GUILD
from tests.support.store import backup_storage_env
from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN, Reply, WebhookSink

OTHER = "923456789012345678"


def on_aws(cli: CliRunner) -> bool:
    return "GAIB_BACKUP_BUCKET" in cli.environ


def put_secret(cli: CliRunner, value: str, *, tag: str | None = GUILD) -> str:
    """A webhook secret holding ``value``: a ``GAIB_SECRET_*`` variable locally, a Secrets Manager secret
    tagged ``ServerId`` = ``tag`` on moto. Returns its name."""
    name = f"gaib/webhooks/owner-{uuid.uuid4().hex[:8]}"
    if on_aws(cli):
        tags = [{"Key": "ServerId", "Value": tag}] if tag else []
        boto3.client("secretsmanager").create_secret(Name=name, SecretString=value, Tags=tags)
    else:
        cli.environ[variable_for(name)] = value
    return name


def stored_bytes(cli: CliRunner) -> str:
    """Everything the catalog holds, as text (the SQLite file, or a scan of the DynamoDB table)."""
    if on_aws(cli):
        items = boto3.client("dynamodb").scan(TableName=cli.environ["GAIB_BACKUP_TABLE"])["Items"]
        return repr(items)
    return "".join(p.read_bytes().decode("latin-1") for p in Path(cli.cwd).rglob("catalog.sqlite3*"))


def no_url(result: Result) -> None:
    text = result.stdout + result.stderr
    assert WEBHOOK_TOKEN not in text and f"/webhooks/{WEBHOOK_ID}" not in text


def registered(cli: CliRunner) -> str | None:
    shown = cli("server", "notify", "show", "--json")
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    no_url(shown)
    secret: str | None = shown.data["webhook_secret"]
    return secret


def test_set_show_test_clear_reach_the_servers_own_webhook_and_store_only_the_name(
    bcli: CliRunner, webhook: WebhookSink
) -> None:
    name = put_secret(bcli, webhook.url)

    done = bcli("server", "notify", "set", "--webhook-secret", name)
    assert done.exit_code == 0, done.stdout + done.stderr
    no_url(done)
    assert registered(bcli) == name
    catalog = stored_bytes(bcli)
    assert name in catalog and WEBHOOK_TOKEN not in catalog and f"/webhooks/{WEBHOOK_ID}" not in catalog
    assert webhook.received() == []  # set checks the secret, it posts nothing

    tested = bcli("server", "notify", "test", "--json")
    assert tested.exit_code == 0, tested.stdout + tested.stderr
    no_url(tested)
    assert tested.data["status"] == 204
    [posted] = webhook.received()
    [embed] = posted.json["embeds"]
    assert embed["title"] == "Gaib test notification"
    assert {f["name"]: f["value"] for f in embed["fields"]} == {"Server": GUILD, "Webhook secret": name}
    assert posted.json["allowed_mentions"] == {"parse": []}

    cleared = bcli("server", "notify", "clear", "--json")
    assert cleared.exit_code == 0 and cleared.data["changed"] is True
    assert registered(bcli) is None
    again = bcli("server", "notify", "clear", "--json")
    assert again.exit_code == 0 and again.data["changed"] is False
    after = bcli("server", "notify", "test", "--json")
    assert (after.exit_code, after.error["code"]) == (6, "NOT_FOUND")
    assert len(webhook.received()) == 1


def test_each_server_names_its_own_secret(bcli: CliRunner, webhook: WebhookSink) -> None:
    mine = put_secret(bcli, webhook.url)
    theirs = put_secret(bcli, webhook.url, tag=OTHER)
    assert bcli("server", "notify", "set", "--webhook-secret", mine).exit_code == 0
    assert bcli("server", "notify", "set", "--webhook-secret", theirs, "-g", OTHER).exit_code == 0

    assert registered(bcli) == mine
    shown = bcli("server", "notify", "show", "-g", OTHER, "--json")
    assert shown.data["webhook_secret"] == theirs and shown.data["server_id"] == OTHER
    assert bcli("server", "notify", "clear", "-g", OTHER).exit_code == 0
    assert registered(bcli) == mine  # clearing one server's webhook leaves the other's


@pytest.mark.parametrize("name", [
    "../x",
    "gaib/webhooks/../../operator",
    "gaib/webhooks/.hidden",
    "gaib/webhooks//x",
    "gaib/webhooks/",
    "gaib/discord-bot-token",
    "x" * 600,
    "gaib/webhooks/a\nb",
])
def test_hostile_secret_names_are_refused_before_anything_is_read_or_written(bcli: CliRunner, name: str) -> None:
    result = bcli("server", "notify", "set", "--webhook-secret", name, "--json")

    assert (result.exit_code, result.error["code"]) == (6, "INVALID_NAME")
    assert result.error["message"].startswith("Invalid webhook secret name")
    assert registered(bcli) is None


def test_a_url_given_as_the_name_is_refused_without_echoing_it(bcli: CliRunner, webhook: WebhookSink) -> None:
    result = bcli("server", "notify", "set", "--webhook-secret", webhook.url, "--json")

    assert (result.exit_code, result.error["code"]) == (6, "INVALID_NAME")
    no_url(result)
    assert registered(bcli) is None


@pytest.mark.parametrize("value", [
    "not a webhook",
    "https://collector.example.com/api/webhooks/112233445566778899/tOkEn-Secret_9f8e7d6c5b4a39281706f5e4d3c2b1a0-doNotLog",
    '{"token": "abc"}',
    "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB",
])
def test_a_secret_not_holding_a_discord_webhook_url_is_refused_and_nothing_is_written(
    bcli: CliRunner, value: str
) -> None:
    name = put_secret(bcli, value)

    result = bcli("server", "notify", "set", "--webhook-secret", name, "--json")

    assert (result.exit_code, result.error["code"]) == (2, "WEBHOOK_SECRET_INVALID")
    assert name in result.error["message"]
    assert value not in result.stdout + result.stderr
    no_url(result)
    assert registered(bcli) is None


def test_a_missing_secret_is_refused(bcli: CliRunner) -> None:
    result = bcli("server", "notify", "set", "--webhook-secret", "gaib/webhooks/nobody-made-this", "--json")

    assert (result.exit_code, result.error["code"]) == (2, "SECRET_UNAVAILABLE")
    assert registered(bcli) is None


@pytest.mark.aws
@pytest.mark.parametrize("tag", [OTHER, None])
def test_on_aws_a_secret_bound_to_another_server_or_to_none_is_refused(
    aws_env: dict[str, str], cli: CliRunner, webhook: WebhookSink, tag: str | None
) -> None:
    # Secrets Manager only: GAIB_SECRET_* variables carry no tags.
    bcli = cli
    bcli.environ.update({"DISCORD_GUILD_ID": GUILD, **backup_storage_env(aws_env)})
    name = put_secret(bcli, webhook.url, tag=tag)

    result = bcli("server", "notify", "set", "--webhook-secret", name, "--json")

    assert (result.exit_code, result.error["code"]) == (2, "WEBHOOK_SECRET_INVALID")
    assert "ServerId" in result.error["message"]
    no_url(result)
    assert registered(bcli) is None


def test_a_deleted_webhook_fails_the_test_clearly_without_the_url(bcli: CliRunner, webhook: WebhookSink) -> None:
    name = put_secret(bcli, webhook.url)
    assert bcli("server", "notify", "set", "--webhook-secret", name).exit_code == 0
    webhook.script(Reply(404, {"message": "Unknown Webhook", "code": 10015}))

    result = bcli("server", "notify", "test", "--json")

    assert (result.exit_code, result.error["code"]) == (1, "NOTIFY_FAILED")
    assert "404" in result.error["message"]
    no_url(result)


def test_the_item_key_is_the_servers_partition() -> None:
    assert notify_key(GUILD) == (f"SERVER#{GUILD}", "NOTIFY")
    with pytest.raises(Exception) as info:
        notify_key("../1")
    assert getattr(info.value, "exit_code", None) == 6
