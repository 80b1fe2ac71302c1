"""Reading personal data needs the server's bot (issue 24, item 3): ``snapshot download`` and ``snapshot compare``
give out bans, members and messages only to a caller whose bot token belongs to the server (one Discord read) or
who is the operator role; without, the structure is written or compared and the personal parts are refused
(PERSONAL_DATA_REFUSED, exit 8), or skipped with a note under ``--structure-only``. On the emulated guild, with
backups on local storage and on S3 + DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.snapshots.community import Community, author
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

BANNED = "700000000000000001"
NO_TOKEN = {"DISCORD_BOT_TOKEN": ""}
OPERATOR_ROLE = "arn:aws:iam::123456789012:role/gaib-operator"


@pytest.fixture
def discord(guild: Any) -> Community:
    return Community(guild)


@pytest.fixture(scope="module")
def other_guild() -> Iterator[EmulatorHandle]:
    """Another server's Discord, whose bot token is not the snapshots' server's."""
    with running_emulator(guild_id="1100000000000000999", token="other-bot-token",
                          args=("--rate-limits", "off")) as emu:
        yield emu


def snapshot_of_a_server(snap: CliRunner, c: Community) -> str:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    c.ban(BANNED, "spam")
    c.seed(c.channel("chat")["id"], [{"author": author(i % 3), "content": f"message {i}"} for i in range(5)])
    made = snap("server", "snapshot", "create", "--messages", "20", "--json")
    assert made.exit_code == 0, made.stdout
    return str(made.data["id"])


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_with_the_servers_bot_token_everything_is_written(snap: CliRunner, discord: Community) -> None:
    sid = snapshot_of_a_server(snap, discord)

    done = snap("server", "snapshot", "download", sid, "-o", "all", "--json")

    assert done.exit_code == 0, done.stdout
    written = files(snap.cwd / "all")
    assert "bans.json" in written and any(n.startswith("messages-") for n in written)
    assert done.data["skipped"] == []
    assert BANNED in (snap.cwd / "all" / "bans.json").read_text()


def test_without_a_token_the_structure_is_written_and_personal_parts_refused(snap: CliRunner,
                                                                             discord: Community) -> None:
    sid = snapshot_of_a_server(snap, discord)

    r = snap("server", "snapshot", "download", sid, "-o", "copy", "--json", env=NO_TOKEN)

    assert r.exit_code == 8, r.stdout
    error = r.error
    assert error["code"] == "PERSONAL_DATA_REFUSED" and "no bot token is set" in error["message"]
    assert "DISCORD_BOT_TOKEN" in error["suggestion"] and "--structure-only" in error["suggestion"]
    written = files(snap.cwd / "copy")
    assert {"manifest.json", "guild.json", "emojis.json", "stickers.json"} <= written
    assert "bans.json" not in written and not any(n.startswith("messages-") for n in written)
    assert BANNED not in "".join(p.read_text() for p in (snap.cwd / "copy").iterdir() if p.suffix == ".json"
                                 and p.name != "manifest.json")
    personal = error["details"]["personal"]
    assert "bans" in personal["skipped"] and any(p.startswith("messages/") for p in personal["skipped"])
    assert sorted(error["details"]["download"]["files"]) == sorted(written)
    text = snap("server", "snapshot", "download", sid, "-o", "again", env=NO_TOKEN)
    assert text.exit_code == 8 and "Error [PERSONAL_DATA_REFUSED]" in text.stderr


def test_another_guilds_token_or_a_wrong_token_is_refused(snap: CliRunner, discord: Community,
                                                          other_guild: EmulatorHandle) -> None:
    sid = snapshot_of_a_server(snap, discord)
    # The other server's bot, on its own Discord: GET /guilds/{this server} answers 404.
    theirs = {"DISCORD_BOT_TOKEN": other_guild.token, "GAIB_DISCORD_API_URL": other_guild.base_url}

    other = snap("server", "snapshot", "download", sid, "-o", "other", "--json", env=theirs)
    wrong = snap("server", "snapshot", "download", sid, "-o", "wrong", "--json",
                 env={"DISCORD_BOT_TOKEN": "not-this-servers-token"})  # 401 from this server's Discord

    for r, code in ((other, "DISCORD_NOT_FOUND"), (wrong, "DISCORD_INVALID_TOKEN")):
        assert r.exit_code == 8 and r.error["code"] == "PERSONAL_DATA_REFUSED", r.stdout
        assert "does not belong to server" in r.error["message"] and code in r.error["message"]
    assert "bans.json" not in files(snap.cwd / "other") and "bans.json" not in files(snap.cwd / "wrong")


def test_structure_only_skips_personal_parts_with_a_note_and_asks_discord_nothing(
        snap: CliRunner, discord: Community, guild: EmulatorHandle) -> None:
    sid = snapshot_of_a_server(snap, discord)
    before = guild.stats()["requests"]

    r = snap("server", "snapshot", "download", sid, "-o", "s", "--structure-only", "--json", env=NO_TOKEN)
    text = snap("server", "snapshot", "download", sid, "-o", "t", "--structure-only", env=NO_TOKEN)

    assert r.exit_code == 0, r.stdout
    assert "bans" in r.data["skipped"] and "bans.json" not in files(snap.cwd / "s")
    assert "Not written (--structure-only): bans" in text.stdout
    assert guild.stats()["requests"] == before  # not even the one read a check makes


def test_compare_without_a_token_compares_the_structure_and_refuses_bans_and_messages(
        snap: CliRunner, discord: Community) -> None:
    on_tier(snap, "premium")
    first = snapshot_of_a_server(snap, discord)
    discord.ban("700000000000000002", "raid")
    (snap.cwd / "discord-server.yaml").write_text(CONFIG.replace("name: chat", "name: chatter", 1))
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    second = snap("server", "snapshot", "create", "--messages", "20", "--json").data["id"]

    mine = snap("server", "snapshot", "compare", first, second, "--json")
    refused = snap("server", "snapshot", "compare", first, second, "--json", env=NO_TOKEN)
    skipped = snap("server", "snapshot", "compare", first, second, "--structure-only", "--json", env=NO_TOKEN)

    assert mine.exit_code == 0 and "700000000000000002" in str(mine.data["bans"]) and mine.data["personal"] is None
    assert refused.exit_code == 8 and refused.error["code"] == "PERSONAL_DATA_REFUSED"
    comparison = refused.error["details"]["comparison"]
    assert comparison["channels"] == mine.data["channels"]  # the structure, compared alike
    assert "700000000000000002" not in str(refused.stdout) and "message " not in str(comparison)
    assert skipped.exit_code == 0 and skipped.data["personal"]["granted"] == "structure-only"
    assert "700000000000000002" not in skipped.stdout


@pytest.mark.parametrize("store", ["aws"], indirect=True)
def test_the_operator_role_reads_personal_parts_without_the_servers_token(
        snap: CliRunner, discord: Community, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = snapshot_of_a_server(snap, discord)
    creds = boto3.client("sts").assume_role(RoleArn=OPERATOR_ROLE, RoleSessionName="ops")["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])

    operator = snap("server", "snapshot", "download", sid, "-o", "ops", "--json",
                    env={**NO_TOKEN, "GAIB_OPERATOR_ROLE_ARN": OPERATOR_ROLE})
    another = snap("server", "snapshot", "download", sid, "-o", "not-ops", "--json",
                   env={**NO_TOKEN, "GAIB_OPERATOR_ROLE_ARN": "arn:aws:iam::123456789012:role/someone-else"})

    assert operator.exit_code == 0, operator.stdout
    assert "bans.json" in files(snap.cwd / "ops")
    assert another.exit_code == 8 and another.error["code"] == "PERSONAL_DATA_REFUSED"
