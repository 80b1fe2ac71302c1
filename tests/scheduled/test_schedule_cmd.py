"""gaib server schedule show | enable | disable: the document and the catalog item."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from gaib.storage.keys import SCHEDULE_SK, TIER_SK, schedule_key, server_pk
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state


def storage(cli: CliRunner) -> tuple[object, object]:
    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.wiring import App

    app = App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)))
    return app.store, app.catalog


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws)])
def scli(request: pytest.FixtureRequest, cli: CliRunner) -> CliRunner:
    """A project with a state; backups (and, on AWS, the state) on the local store or on moto."""
    cli.environ["DISCORD_GUILD_ID"] = GUILD
    if request.param == "local":
        seed_state(cli.cwd)
        return cli
    aws_env = request.getfixturevalue("aws_env")
    from gaib.state.model import State
    from gaib.state.s3 import S3Backend, ensure_state_infra
    from gaib.storage.aws import ensure_bucket, ensure_table

    suffix = uuid.uuid4().hex[:10]
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    ensure_bucket(f"backups-{suffix}", region="us-east-1", endpoint_url=endpoint)
    ensure_table(f"meta-{suffix}", region="us-east-1", endpoint_url=endpoint)
    ensure_state_infra(bucket=f"states-{suffix}", table=f"locks-{suffix}", region="us-east-1", endpoint_url=endpoint)
    cli.environ.update({**aws_env, "GAIB_BACKUP_BUCKET": f"backups-{suffix}", "GAIB_BACKUP_TABLE": f"meta-{suffix}",
                        "GAIB_S3_BUCKET": f"states-{suffix}", "GAIB_DYNAMODB_TABLE": f"locks-{suffix}"})
    backend = S3Backend(bucket=f"states-{suffix}", table=f"locks-{suffix}", guild_id=GUILD, endpoint_url=endpoint)
    backend.put(State.new("default", guild_id=GUILD), expected_serial=None)
    return cli


def test_enable_writes_the_document_and_the_item_and_registers_the_tier(scli: CliRunner) -> None:
    result = scli("server", "schedule", "enable", "--json")

    schedule = result.data["schedule"]
    [(name, location)] = schedule["workspaces"].items()
    assert name == "default" and schedule["enabled"] is True and schedule["server_id"] == GUILD
    if location["backend"] == "s3":
        assert location["bucket"] == scli.environ["GAIB_S3_BUCKET"]
        assert location["key"] == "servers/default/terraform.tfstate"
    else:
        assert location == {"backend": "local", "path": str((scli.cwd / ".gaib").resolve())}
    assert schedule["cadence"]["backups"] == "daily" and schedule["tier"] == "free"
    store, catalog = storage(scli)
    assert json.loads(store.get(schedule_key(GUILD))) == schedule  # type: ignore[attr-defined]
    item = catalog.get(server_pk(GUILD), SCHEDULE_SK)  # type: ignore[attr-defined]
    assert item["schedule"] == schedule
    assert catalog.get(server_pk(GUILD), TIER_SK)["server_tier"] == "free"  # type: ignore[attr-defined]

    show = scli("server", "schedule", "show")
    assert "Schedule (catalog item, what scheduled runs read):" in show.stdout
    assert "Next scheduled backup run:" in show.stdout and "warning" not in show.stdout


def test_exports_and_snapshots_need_a_secret_name_and_never_a_token(scli: CliRunner) -> None:
    refused = scli("server", "schedule", "enable", "--export-config", "--json")
    assert refused.exit_code == 6 and "--bot-token-secret" in refused.error["suggestion"]

    bad = scli("server", "schedule", "enable", "--snapshots", "--bot-token-secret", "a b", "--json")
    assert bad.exit_code == 6

    token = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"  # shaped like a real one
    given = scli("server", "schedule", "enable", "--snapshots", "--bot-token-secret", token, "--json")
    assert given.exit_code == 6 and "looks like a bot token" in given.error["message"]
    assert token not in given.stdout + given.stderr
    assert scli("server", "schedule", "show", "--json").data["schedule"] is None  # nothing was stored

    name = "gaib/bot-token"
    if "GAIB_BACKUP_BUCKET" in scli.environ:  # Secrets Manager: the secret exists, tagged with this server
        import boto3

        name = f"gaib/bot-token-{uuid.uuid4().hex[:8]}"
        boto3.client("secretsmanager").create_secret(Name=name, SecretString="x" * 30,
                                                     Tags=[{"Key": "ServerId", "Value": GUILD}])
    ok = scli("server", "schedule", "enable", "--export-config", "--snapshots", "--bot-token-secret",
              name, "--json")
    assert ok.data["schedule"]["bot_token_secret"] == name
    assert any("no automatic snapshots" in n for n in ok.data["notes"])  # free tier


def test_disable_keeps_the_schedule_but_turns_it_off(scli: CliRunner) -> None:
    assert scli("server", "schedule", "disable", "--json").error["code"] == "NOT_FOUND"
    scli("server", "schedule", "enable")

    result = scli("server", "schedule", "disable", "--json")

    assert result.data["schedule"]["enabled"] is False
    show = scli("server", "schedule", "show", "--json").data
    assert show["schedule"]["enabled"] is False and show["document_matches_item"] is True
    assert show["next_scheduled_run"] == {"backup": None, "snapshot": None}


def test_show_reports_a_damaged_document_and_uses_the_item(cli: CliRunner, tmp_path: Path) -> None:
    cli.environ["DISCORD_GUILD_ID"] = GUILD
    seed_state(cli.cwd)
    cli("server", "schedule", "enable")
    store, _ = storage(cli)
    doc = store.get_document(schedule_key(GUILD))  # type: ignore[attr-defined]
    store.replace(schedule_key(GUILD), b'{"format_version": 1, "server_id": "66"', expected_generation=doc.generation)  # type: ignore[attr-defined]

    result = cli("server", "schedule", "show", "--json")

    assert result.exit_code == 0
    assert "not valid JSON" in result.data["document_error"] and result.data["schedule"]["enabled"] is True
    text = cli("server", "schedule", "show")
    assert "warning: the document is unreadable" in text.stdout


def test_all_workspaces_schedules_every_workspace_and_warns_about_empty_ones(cli: CliRunner) -> None:
    cli.environ["DISCORD_GUILD_ID"] = GUILD
    seed_state(cli.cwd)
    cli("server", "workspace", "new", "staging")

    result = cli("server", "schedule", "enable", "--all-workspaces", "--json")

    assert list(result.data["schedule"]["workspaces"]) == ["default", "staging"]
    assert result.data["notes"] == ["workspace staging has no state yet: scheduled runs skip it until it has one"]
