"""The raid scenario: a snapshot puts a damaged server back, keeping every object that survived."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.raid_config import CONFIG


def _ids(discord: Guild) -> dict[str, str]:
    return {**{r["name"]: r["id"] for r in discord.roles()}, **{c["name"]: c["id"] for c in discord.channels()}}


def _overwrite_targets(channel: dict[str, object]) -> set[str]:
    return {str(o["id"]) for o in channel["permission_overwrites"]}  # type: ignore[attr-defined]


def test_a_raid_is_undone_with_one_restore(snap: CliRunner, discord: Guild) -> None:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    # Objects Gaib does not manage are part of the server too.
    discord.create_role({"name": "Guests", "color": 0x00FF00})
    info = discord.channel("Info")
    discord.create_channel({"name": "off-topic", "parent_id": info["id"]})
    made = snap("server", "snapshot", "create", "-m", "before the raid", "--json")
    assert made.exit_code == 0, made.stdout
    snapshot_id = made.data["id"]
    assert made.data["counts"] == {"roles": 3, "categories": 2, "channels": 4, "overwrites": 3, "resources": 7,
                                   "emojis": 0, "stickers": 0, "bans": 0, "messages": 0, "message_channels": 0,
                                   "threads": 0, "thread_messages": 0, "member_overwrites": 0, "members": 0,
                                   "automod_rules": 0, "onboarding_prompts": 0, "events": 0, "sounds": 0}
    before = _ids(discord)

    # The raid: a managed channel, an unmanaged channel and a role referenced by overwrites are deleted;
    # a surviving channel is renamed and its topic defaced.
    discord.delete_channel(before["chat"])
    discord.delete_channel(before["off-topic"])
    discord.delete_role(before["Member"])
    discord.patch_channel(before["rules"], {"name": "pwned", "topic": "hacked"})
    mark = discord.mark()

    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    summary = dry.data["plan"]["discord"]["summary"]
    assert summary["create"] == 3 and summary["delete"] == 0, dry.data["plan"]["discord"]
    assert discord.writes_since(mark) == []  # a dry run writes nothing

    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    after = _ids(discord)
    # Everything that survived kept its id (the renamed channel too); the rest was re-created.
    for name in ("Admin", "Guests", "Info", "Voice", "rules", "lounge"):
        assert after[name] == before[name], name
    for name in ("chat", "off-topic", "Member"):
        assert after[name] != before[name], name
    rules = discord.channel("rules")
    assert rules["topic"] == "Read me"
    # Overwrites that named the deleted role now name the re-created one.
    assert after["Member"] in _overwrite_targets(discord.channel("chat"))
    assert after["Member"] in _overwrite_targets(discord.channel("Info"))
    assert before["Member"] not in _overwrite_targets(discord.channel("Info"))

    writes = discord.writes_since(mark)
    creates = [w for w in writes if w["method"] == "POST"]
    assert len(creates) == 3, writes
    assert not [w for w in writes if w["method"] == "DELETE"]
    positions = [w for w in writes if w["method"] == "PATCH" and w["path"].endswith(("/roles", "/channels"))]
    assert len(positions) <= 2, positions  # at most one position request per kind

    # A plan right after shows no changes; the config file now is the snapshot's, the old one kept.
    plan = snap("server", "plan", "--json")
    assert plan.data["empty"] is True, plan.data
    kept = Path(done.data["result"]["previous_config"])
    assert kept.parent == snap.cwd and kept.name.startswith(f"discord-server.yaml.before-{snapshot_id}.")
    assert kept.read_text() == CONFIG
    # The restore can be undone: it took a pre-restore snapshot first.
    pre = done.data["result"]["pre_restore_snapshot_id"]
    listed = snap("server", "snapshot", "list", "--json").data["snapshots"]
    assert [(s["id"], s["trigger"]) for s in listed] == [(pre, "pre-restore"), (snapshot_id, "on-demand")]
    # Restoring it again finds nothing to change: it says so, and takes no second pre-restore snapshot.
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert f"Nothing to restore: Discord and the state already match snapshot {snapshot_id}" in again.stdout
    assert "Undo with" not in again.stdout
    assert [s["id"] for s in snap("server", "snapshot", "list", "--json").data["snapshots"]] == [pre, snapshot_id]


def test_restore_without_apply_puts_back_the_state_and_config_only(snap: CliRunner, discord: Guild) -> None:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    serial = snap("server", "state", "ls", "--json").data["serial"]
    assert snap("server", "state", "rm", "discord_channel.chat", "--yes").exit_code == 0
    (snap.cwd / "discord-server.yaml").write_text('version: "1.0"\n')
    mark = discord.mark()
    done = snap("server", "snapshot", "restore", snapshot_id, "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    result = done.data["result"]
    assert (result["applied"], result["previous_serial"], result["new_serial"]) == (False, serial + 1, serial + 2)
    assert "discord_channel.chat" in [r["address"] for r in snap("server", "state", "ls", "--json").data["resources"]]
    assert discord.writes_since(mark) == []  # Discord untouched without --apply
    assert Path(result["previous_config"]).read_text() == 'version: "1.0"\n'
    assert snap("server", "plan", "--json").data["empty"] is True
    # Undo through the pre-restore backup.
    assert snap("server", "backup", "restore", result["pre_restore_backup_id"], "--yes").exit_code == 0
    assert "discord_channel.chat" not in [r["address"] for r in
                                          snap("server", "state", "ls", "--json").data["resources"]]
