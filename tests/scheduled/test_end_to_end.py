"""Both tiers' windows on moto, end to end: the CLI publishes to SNS, an SQS subscription receives the
messages, the notifier Lambda runs on them and the emulator's webhooks receive the embeds: the operator's the
run summaries, the failing server's owner (registered with ``gaib server notify set``) its failure.

Nothing is mocked: AWS is moto's server over HTTP, Discord is the bundled emulator (the guild the
premium server's export and snapshot read, and the webhook the Lambda posts to). The bot token comes from
a Secrets Manager secret the schedule names; no message, event or stored schedule carries it or the
webhook URL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from gaib.aws_lambda import audit_log
from gaib.aws_lambda import discord_notifier as dn
from gaib.storage.keys import export_latest_key, schedule_key, server_pk
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.fleet import Fleet, aws_fleet, scheduled_backups, server_ids
from tests.support.sns import Topic, lambda_record

pytestmark = pytest.mark.aws


BOT_TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"  # shaped like a real one


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "off"), token=BOT_TOKEN) as emu:
        yield emu


def webhook(emu: EmulatorHandle) -> dict[str, Any]:
    """A channel and a webhook on the emulated guild (the server's notification channel)."""
    headers = emu.auth_headers()
    channel = httpx.post(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=headers,
                         json={"name": "gaib-alerts", "type": 0}).json()
    hook: dict[str, Any] = httpx.post(f"{emu.base_url}/channels/{channel['id']}/webhooks", headers=headers,
                                      json={"name": "Gaib"}).json()
    return hook


@pytest.fixture
def setup(tmp_path: Any, aws_env: dict[str, str], moto_endpoint: str, emulator: EmulatorHandle,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Fleet, Topic, dict[str, Any]]:
    emulator.reset()
    hook = webhook(emulator)
    secrets = boto3.client("secretsmanager")
    webhook_arn = secrets.create_secret(Name=f"gaib/webhook-{uuid.uuid4().hex}", SecretString=hook["url"])["ARN"]
    monkeypatch.setenv(dn.ENV_SECRET_ARN, webhook_arn)
    token_name = f"gaib/bot-token-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=token_name, SecretString=json.dumps({"token": emulator.token}),
                          Tags=[{"Key": "ServerId", "Value": emulator.guild_id}])  # bound to its server
    topic = Topic(moto_endpoint)
    fleet = aws_fleet(tmp_path, moto_endpoint)
    monkeypatch.setenv(dn.ENV_CATALOG_TABLE, fleet.environ["GAIB_BACKUP_TABLE"])  # the Lambda's owner routing
    fleet.environ.update({"GAIB_BACKUP_TOPIC_ARN": topic.arn, "GAIB_SECRETS": "aws",
                          "GAIB_DISCORD_API_URL": emulator.base_url})
    return fleet, topic, {"hook": hook, "token_secret": token_name}


def assert_clean(text: str, emu: EmulatorHandle, hook: dict[str, Any]) -> None:
    assert emu.token not in text
    assert hook["token"] not in text and hook["url"] not in text


def test_both_tiers_run_a_window_and_every_event_reaches_the_webhook(
        setup: tuple[Fleet, Topic, dict[str, Any]], emulator: EmulatorHandle,
        capsys: pytest.CaptureFixture[str]) -> None:
    fleet, topic, extra = setup
    app = fleet.app()
    guild = emulator.guild_id
    premium = server_ids(2, start=1_500_000_000_000_000_000)
    broken = server_ids(1, start=1_600_000_000_000_000_000)[0]
    free = server_ids(3, start=1_700_000_000_000_000_000)
    fleet.register(app, guild, "premium", export_config=True, snapshots=True, secret=extra["token_secret"])
    fleet.register_many(app, {**dict.fromkeys(premium, "premium"), **dict.fromkeys(free, "free")})
    fleet.register(app, broken, "premium", state=False)  # its state is missing
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    hourly = cli("server", "backup", "run-scheduled", "--tier", "premium", "--json")
    daily = cli("server", "backup", "run-scheduled", "--tier", "free", "--json")
    fleet.now = fleet.now.replace(day=29, hour=4, minute=0)  # Sunday 04:00: the weekly snapshots
    weekly = cli("server", "backup", "run-scheduled", "--tier", "premium", "--snapshots", "--json")

    assert hourly.exit_code == 8 and hourly.error["code"] == "PARTIAL_FAILURE"
    run = hourly.error["details"]["run"]
    assert run["servers"] == {"listed": 4, "created": 3, "unchanged": 0, "failed": 1, "claimed_by_other_tasks": 0,
                              "unscheduled": 0, "taken_over": 0, "without_state": 0}
    assert run["workspaces"] == {"created": 3, "unchanged": 0, "skipped": 0, "failed": 1} and run["errors"] == 1
    assert run["failures"][0]["server_id"] == broken and run["failures"][0]["error"]["code"] == "STATE_NOT_FOUND"
    assert daily.exit_code == 0 and daily.data["servers"]["created"] == 3
    assert weekly.exit_code == 0, weekly.stdout
    assert weekly.data["operation"] == "snapshot" and weekly.data["servers"]["created"] == 1
    assert weekly.data["servers"]["unscheduled"] == 3  # the other premium servers take no snapshots
    for sid in (*premium, guild, *free):
        assert len(scheduled_backups(app, sid)) == 1
    [snapshot] = app.catalog.query(server_pk(guild), "SNAPSHOT#").items
    assert snapshot["trigger"] == "scheduled" and snapshot["counts"]["channels"] == 1
    assert b"gaib-alerts" in app.store.get(export_latest_key(guild))

    envelopes = topic.receive(expect=5)
    events = sorted((json.loads(e["Message"])["event"], json.loads(e["Message"])["tier"]) for e in envelopes)
    assert events == [("backup.failed", "premium"), ("scheduled-run.summary", "free"),
                      ("scheduled-run.summary", "premium"), ("scheduled-run.summary", "premium")]
    for envelope in envelopes:
        assert_clean(json.dumps(envelope), emulator, extra["hook"])

    # The broken server's owner hears of it on their own webhook (a second channel's, on the emulator,
    # made after the snapshot read the guild).
    owner_hook = webhook(emulator)
    owner_secret = f"gaib/webhooks/owner-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(Name=owner_secret, SecretString=owner_hook["url"],
                                                 Tags=[{"Key": "ServerId", "Value": broken}])
    registered = cli("server", "notify", "set", "--webhook-secret", owner_secret, "-g", broken, "--json")
    assert registered.exit_code == 0, registered.stdout + registered.stderr
    dn.clear_cache()
    result = dn.handler({"Records": [lambda_record(e) for e in envelopes]}, None)
    audit = audit_log.handler({"Records": [lambda_record(e) for e in envelopes]}, None)

    assert (result["delivered"], result["owners"]) == (4, 1)
    posted = emulator.webhook_messages(extra["hook"]["id"])
    titles = sorted(m["embeds"][0]["title"] for m in posted)
    assert titles == ["Scheduled run summary (free)", "Scheduled run summary (premium)",
                      "Scheduled run summary (premium)"]
    [owner_message] = emulator.webhook_messages(owner_hook["id"])
    failure = owner_message["embeds"][0]
    fields = {f["name"]: f["value"] for f in failure["fields"]}
    assert failure["title"] == "Backup failed"
    assert fields["Server"] == broken and fields["Error"].startswith("STATE_NOT_FOUND: ")
    for message in [*posted, owner_message]:
        assert_clean(json.dumps(message), emulator, extra["hook"])
        assert_clean(json.dumps(message), emulator, owner_hook)
    # The CloudWatch Logs subscriber wrote one line per notification.
    assert audit == {"logged": 4, "skipped": 0}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"audit"')]
    assert sorted(line["event"] for line in lines) == [e for e, _ in events]
    assert {line["message"]["event"] for line in lines} == {"backup.failed", "scheduled-run.summary"}
    assert_clean(json.dumps(lines), emulator, extra["hook"])
    stored = [app.store.get(schedule_key(guild)), json.dumps(app.catalog.get(server_pk(guild), "SCHEDULE")).encode()]
    for blob in stored:
        assert_clean(blob.decode(), emulator, extra["hook"])
        assert extra["token_secret"].encode() in blob  # the secret's name, never its value
