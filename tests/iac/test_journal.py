"""Creates are journaled before they are sent; an object an interrupted run created is adopted by the next
run (any process: the journal is in the backup store), never created again, and the plan says so.

The interrupted run is reproduced with the real pieces a killed ``apply`` leaves behind: its journal entry
(written through the store like the applier writes it) and the channel Discord made for it, carrying the
entry's marker in its audit-log reason, but no state write."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gaib.cli.context import Env
from gaib.discord.models import ChannelType, Guild
from gaib.iac.journal import CreateJournal, Intent, _match, highest_id
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild as LiveGuild
from tests.support.emulator import EmulatorHandle

CONFIG = """version: "1.0"
roles:
  - name: Member
categories:
  - name: Info
channels:
  - name: rules
    category: Info
  - name: chat
    category: Info
"""


def _app(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)


def _journal_keys(cli: CliRunner) -> list[str]:
    with _app(cli) as app:
        return [o.key for o in app.store.list(f"metadata/{app.settings.require_guild()}/journal/")]


def _interrupted_create(cli: CliRunner, guild: EmulatorHandle, discord: LiveGuild, *, made: bool) -> str | None:
    """What an apply killed during its create of channel chat leaves: the journal entry, and (``made``) the
    channel Discord created for it. Returns the channel's id."""
    with _app(cli) as app:
        live = app.discord.get_guild()
        journal = CreateJournal(app.store, guild.guild_id, "default", cli.clock, operation="apply")
        marker = journal.marker()
        info = discord.channel("Info")["id"]
        journal.intend([Intent("discord_channel.chat", "channel", "chat", marker, highest_id(live), 0, info)])
    if not made:
        return None
    r = httpx.post(f"{guild.base_url}/guilds/{guild.guild_id}/channels", headers={
        **guild.auth_headers(), "X-Audit-Log-Reason": CreateJournal.reason("gaib apply", marker)},
        json={"name": "chat", "type": 0, "parent_id": info})
    r.raise_for_status()
    return str(r.json()["id"])


def _channels_named(discord: LiveGuild, name: str) -> list[dict[str, Any]]:
    return [c for c in discord.channels() if c["name"] == name]


@pytest.fixture
def applied(gaib: CliRunner, discord: LiveGuild) -> CliRunner:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    discord.delete_channel(discord.channel("chat")["id"])  # a raid: apply re-creates it
    return gaib


def test_the_channel_a_killed_apply_created_is_adopted_not_created_again(applied: CliRunner, guild: EmulatorHandle,
                                                                          discord: LiveGuild) -> None:
    made = _interrupted_create(applied, guild, discord, made=True)
    assert _journal_keys(applied) != []
    plan = applied("server", "plan")
    assert plan.exit_code == 0
    assert f"~ discord_channel.chat (adopt {made}, created by an interrupted run)" in plan.stdout
    assert "+ discord_channel.chat" not in plan.stdout
    as_json = applied("server", "plan", "--json").data
    [change] = [c for c in as_json["changes"] if c["address"] == "discord_channel.chat"]
    assert (change["action"], change["id"], change["origin"]) == ("adopt", made, "created by an interrupted run")

    done = applied("server", "apply", "--auto-approve", "--json")
    assert done.exit_code == 0, done.stdout
    assert [c["id"] for c in _channels_named(discord, "chat")] == [made]  # no second chat
    state = applied("server", "state", "show", "discord_channel.chat", "--json").data
    assert json.dumps(state).count(made) >= 1
    assert _journal_keys(applied) == []  # settled once the state holds it
    assert applied("server", "plan", "--json").data["empty"] is True


def test_a_create_that_never_reached_discord_is_planned_again_and_its_entry_cleared(
        applied: CliRunner, guild: EmulatorHandle, discord: LiveGuild) -> None:
    _interrupted_create(applied, guild, discord, made=False)
    plan = applied("server", "plan")
    assert "+ discord_channel.chat" in plan.stdout and "interrupted" not in plan.stdout
    assert applied("server", "apply", "--auto-approve").exit_code == 0
    assert len(_channels_named(discord, "chat")) == 1
    assert _journal_keys(applied) == []


def test_an_apply_journals_its_creates_and_clears_them_once_recorded(applied: CliRunner, guild: EmulatorHandle,
                                                                     discord: LiveGuild) -> None:
    mark = discord.mark()
    assert applied("server", "apply", "--auto-approve").exit_code == 0
    [post] = [w for w in discord.writes_since(mark) if w["method"] == "POST"]
    assert post["route"] == "/guilds/{guild_id}/channels"
    entries = httpx.get(f"{guild.base_url}/guilds/{guild.guild_id}/audit-logs", headers=guild.auth_headers(),
                        params={"action_type": "10", "limit": "1"}).json()["audit_log_entries"]
    assert entries[0]["target_id"] == discord.channel("chat")["id"]
    assert entries[0]["reason"].startswith("gaib apply [") and entries[0]["reason"].endswith("]")
    assert _journal_keys(applied) == []


def test_without_the_audit_log_only_a_newer_unclaimed_object_of_that_name_type_and_parent_fits() -> None:
    from gaib.discord.models import Channel

    def chan(cid: int, name: str, parent: str | None = "10", ctype: ChannelType = ChannelType.TEXT) -> Channel:
        return Channel(id=str(cid), name=name, type=ctype, position=0, parent_id=parent)

    intent = Intent("discord_channel.chat", "channel", "chat", "m.1", after="100", type=0, parent_id="10")
    pool = {c.id: c for c in (chan(90, "chat"), chan(101, "chat", parent=None), chan(102, "chat",
                                                                                    ctype=ChannelType.VOICE),
                              chan(103, "other"), chan(104, "chat"), chan(105, "chat"))}
    assert _match(intent, pool, claimed=set()).id == "104"  # the oldest that fits; 90 existed before
    assert _match(intent, pool, claimed={"104"}).id == "105"
    assert _match(intent, pool, claimed={"104", "105"}) is None
    assert highest_id(Guild(id="1", name="g", roles=(), channels=tuple(pool.values()))) == "105"


def test_a_rollback_adopts_the_channel_an_interrupted_rollback_created(gaib: CliRunner, guild: EmulatorHandle,
                                                                       discord: LiveGuild) -> None:
    gaib.environ.update({"GAIB_ACTOR": "tester", "HOME": str(gaib.cwd)})
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG.replace("  - name: chat\n    category: Info\n", ""))
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    assert _channels_named(discord, "chat") == []
    made = _interrupted_create(gaib, guild, discord, made=True)  # a rollback to the first config, killed
    dry = gaib("server", "theme", "rollback", "--steps", "1", "--dry-run")
    assert dry.exit_code == 0, dry.stdout
    assert f"discord_channel.chat (adopt {made}, created by an interrupted run)" in dry.stdout
    done = gaib("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert [c["id"] for c in _channels_named(discord, "chat")] == [made]
    assert _journal_keys(gaib) == []
