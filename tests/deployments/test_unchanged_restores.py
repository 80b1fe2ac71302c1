"""Restores and rollbacks that change nothing say so and record no deployment; a restore without --apply
says in one line that Discord was not changed and how to change it."""

from __future__ import annotations

from typing import Any

from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild, fingerprint
from tests.support.raid_config import CONFIG


def _ids(reg: CliRunner) -> list[str]:
    return [d["id"] for d in reg("server", "theme", "history", "--json").data["deployments"]]


def _stored(reg: CliRunner) -> tuple[list[Any], list[Any]]:
    snapshots = [s["id"] for s in reg("server", "snapshot", "list", "--json").data["snapshots"]]
    backups = [b["id"] for b in reg("server", "backup", "list", "--json").data["backups"]]
    return snapshots, backups


def _applied(reg: CliRunner, config: str = CONFIG) -> None:
    (reg.cwd / "discord-server.yaml").write_text(config)
    done = reg("server", "apply", "--auto-approve")
    assert done.exit_code == 0, done.stdout + done.stderr


def test_restore_without_apply_says_discord_was_not_changed(reg: CliRunner, discord: Guild) -> None:
    _applied(reg)
    snapshot_id = reg("server", "snapshot", "create", "--json").data["id"]
    discord.delete_channel(discord.channel("chat")["id"])  # a raid
    assert reg("server", "state", "rm", "discord_channel.rules", "--yes").exit_code == 0  # and a state to put back
    command = f"gaib server snapshot restore {snapshot_id} --apply"
    for args, extra in ((("--yes",), {}), ((), {"tty": True, "input": "y\n"})):
        mark = discord.mark()
        done = reg("server", "snapshot", "restore", snapshot_id, *args, **extra)  # type: ignore[arg-type]
        assert done.exit_code == 0, done.stdout + done.stderr
        assert f"Discord was not changed; to make it match snapshot {snapshot_id}, run: {command}\n" in done.stdout
        assert discord.writes_since(mark) == []
    as_json = reg("server", "snapshot", "restore", snapshot_id, "--yes", "-w", "default", "--json").data
    assert as_json["apply_command"] == f"{command} -w default"
    assert as_json["result"]["discord_changed"] is False
    # The command it gives does put Discord back.
    assert reg("server", "plan", "--json").data["summary"]["create"] == 1
    assert reg(*command.split()[1:], "--yes").exit_code == 0
    assert reg("server", "plan", "--json").data["empty"] is True


def test_restores_that_change_nothing_record_no_deployment(reg: CliRunner, discord: Guild) -> None:
    _applied(reg)
    snapshot_id = reg("server", "snapshot", "create", "--json").data["id"]
    recorded, stored, server = _ids(reg), _stored(reg), fingerprint(discord)
    config = (reg.cwd / "discord-server.yaml").read_text()
    for _ in range(6):  # more than the free tier's 5 kept deployments
        again = reg("server", "snapshot", "restore", snapshot_id, "--apply", "--yes")
        assert again.exit_code == 0, again.stdout + again.stderr
        assert again.stdout.startswith(f"Nothing to restore: Discord and the state already match snapshot "
                                       f"{snapshot_id}"), again.stdout
        assert "no deployment was recorded" in again.stdout and "Undo with" not in again.stdout
    # Without --apply: the state already holds the snapshot's.
    book = reg("server", "snapshot", "restore", snapshot_id, "--yes", "--json")
    assert book.exit_code == 0, book.stdout
    assert (book.data["result"]["changed"], book.data["result"]["deployment_id"]) == (False, None)
    assert book.data["result"]["pre_restore_backup_id"] is None
    assert _ids(reg) == recorded and _stored(reg) == stored and fingerprint(discord) == server
    # The config file now is the snapshot's (written once, the previous kept), then left alone.
    [kept] = reg.cwd.glob(f"discord-server.yaml.before-{snapshot_id}.*")
    assert kept.read_text() == config
    assert book.data["result"]["config_written"] is False


def test_a_rollback_that_changes_nothing_records_no_deployment(reg: CliRunner, discord: Guild) -> None:
    _applied(reg, 'version: "1.0"\nroles:\n  - name: Admin\n')
    first = _ids(reg)[0]
    _applied(reg, 'version: "1.0"\nroles:\n  - name: Admin\n  - name: Member\n')
    back = reg("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert back.exit_code == 0 and back.data["result"]["changed"] is True, back.stdout
    recorded, stored = _ids(reg), _stored(reg)
    again = reg("server", "theme", "rollback", "--to", first, "--yes")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.stdout.startswith(f"Nothing to roll back: Discord and the state already match deployment {first}")
    assert "no deployment was recorded" in again.stdout
    assert _ids(reg) == recorded and _stored(reg) == stored  # no deployment, no pre-restore backup
