"""The free tier's one on-demand snapshot per UTC day, against the emulated guild, on both storages.

Decision (docs/retention.md): manual snapshots are limited on the free tier like on-demand backups, with
their own counter; pre-restore snapshots never count; a snapshot that fails (Discord refused) gives its
unit back before anything is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.raid_config import CONFIG

T0 = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def test_one_on_demand_snapshot_a_day_failures_give_it_back_pre_restore_never_counts(snap: CliRunner,
                                                                                    discord: Guild) -> None:
    snap.clock = lambda: T0
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    token = snap.environ["DISCORD_BOT_TOKEN"]
    failed = snap("server", "snapshot", "create", "--json", env={"DISCORD_BOT_TOKEN": "wrong-token"})
    assert failed.exit_code == 4 and failed.error["code"] == "DISCORD_INVALID_TOKEN"
    assert snap("server", "snapshot", "list", "--json").data["snapshots"] == []
    made = snap("server", "snapshot", "create", "-m", "mine", "--json", env={"DISCORD_BOT_TOKEN": token})
    assert made.exit_code == 0, made.stdout  # the failed attempt used nothing
    refused = snap("server", "snapshot", "create", "--json")
    assert refused.exit_code == 7
    assert "1 on-demand snapshot of today" in refused.error["message"]
    assert "2026-11-26 00:00 UTC" in refused.error["message"] and "premium" in refused.error["suggestion"]
    # A restore's own pre-restore snapshot is not refused, and is not counted either.
    discord.delete_channel(discord.channel("chat")["id"])  # something for the restore to put back
    restored = snap("server", "snapshot", "restore", made.data["id"], "--apply", "--yes", "--json")
    assert restored.exit_code == 0, restored.stdout
    triggers = sorted(s["trigger"] for s in snap("server", "snapshot", "list", "--json").data["snapshots"])
    assert triggers == ["on-demand", "pre-restore"]
    usage = snap("server", "tier", "show", "--json").data["usage"]["on_demand"]["snapshot"]
    assert usage == {"limit": 1, "used": 1, "created_today": 1, "remaining": 0}
    # Backups have their own counter: the day's on-demand backup is still available.
    assert snap("server", "backup", "create", "--json").exit_code == 0


def test_a_server_whose_snapshots_were_deleted_may_take_one_whatever_the_day_s_count(snap: CliRunner) -> None:
    """Issue 25, finding 5: the day's snapshot deleted, 'snapshot create' is not refused while 'snapshot list'
    says there is none; once one is stored the refusal names it and when the next is allowed."""
    snap.clock = lambda: T0
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    first = snap("server", "snapshot", "create", "-m", "first", "--json").data
    assert snap("server", "snapshot", "delete", first["id"], "--yes").exit_code == 0
    assert snap("server", "snapshot", "list", "--json").data["snapshots"] == []

    again = snap("server", "snapshot", "create", "-m", "again", "--json")

    assert again.exit_code == 0, again.stdout
    refused = snap("server", "snapshot", "create", "--json")
    assert refused.exit_code == 7
    message = refused.error["message"]
    assert f"has 1 snapshot, the newest {again.data['id']} (2026-11-25 17:00 UTC)" in message
    assert "next on-demand snapshot is allowed when the quota resets at 2026-11-26 00:00 UTC" in message
    assert refused.error["details"]["stored"]["count"] == 1
