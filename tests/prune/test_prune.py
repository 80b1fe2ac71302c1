"""``gaib server backup prune`` and ``gaib server snapshot prune`` on local storage and on S3 + DynamoDB (moto).

The clock is the only thing mocked: backups are written by Gaib's own BackupManager at chosen times,
then the CLI prunes at a chosen "now". Checked as a person would: what the dry run announces, what
``list`` shows afterwards, which objects are left in the store, and that what is left still restores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaib.backups.store import BackupManager
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage
from tests.support.storage.writer import Writer, listed
from tests.support.tiers import on_tier

T0 = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def state_keys(cli: CliRunner) -> set[str]:
    return {k for k in Storage(cli).objects() if k.startswith("state/")}


def at_clock(cli: CliRunner, now: datetime) -> None:
    cli.clock = lambda: now


def test_free_prune_keeps_seven_days_and_the_newest_and_says_why(bcli: CliRunner) -> None:
    w = Writer(bcli)
    daily = [w.backup(T0 - timedelta(days=d)) for d in range(11, -1, -1)]  # oldest first; ages 11..0 days
    lone = w.backup(T0 - timedelta(days=30), workspace="staging")
    at_clock(bcli, T0)
    keys_before = state_keys(bcli)

    dry = bcli("server", "backup", "prune", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    plan = dry.data["plan"]
    assert plan["tier"] == "free" and plan["policy"]["description"] == "keep 7 days, and always the newest"
    removed = [d["id"] for d in plan["remove"]]
    assert sorted(removed) == sorted(daily[:5])  # 11, 10, 9, 8 and exactly 7 days old
    assert {d["code"] for d in plan["remove"]} == {"older-than-max-age"}
    kept = {d["id"]: d["code"] for d in plan["keep"]}
    assert kept[lone] == "newest" and kept[daily[-1]] == "newest"
    assert {kept[i] for i in daily[5:-1]} == {"within-max-age"}
    assert state_keys(bcli) == keys_before  # a dry run removes nothing
    text = bcli("server", "backup", "prune", "--dry-run").stdout
    assert "Remove 5 backups" in text and "7 days old (the limit is 7 days)" in text
    assert f"{GUILD}/staging: 1 (1 newest)" in text

    done = bcli("server", "backup", "prune", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert sorted(d["id"] for d in done.data["result"]["removed"]) == sorted(daily[:5])
    assert done.data["result"]["complete"] is True
    assert sorted(listed(bcli)) == sorted([*daily[5:], lone])
    assert state_keys(bcli) == {k for k in keys_before if not any(i in k for i in daily[:5])}
    # Pruning again at the same moment removes nothing (the plan is stable).
    again = bcli("server", "backup", "prune", "--yes")
    assert again.exit_code == 0 and "Nothing to prune." in again.stdout


def test_prune_prints_what_it_removed_and_why(bcli: CliRunner) -> None:
    w = Writer(bcli)
    old = w.backup(T0 - timedelta(days=9))
    w.backup(T0)
    at_clock(bcli, T0)
    done = bcli("server", "backup", "prune", "--yes")
    assert done.exit_code == 0
    assert "Removed 1 backup" in done.stdout and old in done.stdout
    assert "9 days old (the limit is 7 days) and not the newest" in done.stdout


def test_a_server_that_stops_changing_keeps_its_newest_backup_400_days_later(bcli: CliRunner) -> None:
    w = Writer(bcli)
    ids = [w.backup(T0 + timedelta(days=d)) for d in range(3)]
    staging = w.backup(T0, workspace="staging")
    later = T0 + timedelta(days=400)
    at_clock(bcli, later)
    done = bcli("server", "backup", "prune", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert sorted(d["id"] for d in done.data["result"]["removed"]) == sorted(ids[:2])
    assert sorted(listed(bcli)) == sorted([ids[-1], staging])
    reasons = {d["id"]: d["reason"] for d in done.data["plan"]["keep"]}
    assert "398 days old" in reasons[ids[-1]] and "the newest is always kept" in reasons[ids[-1]]
    # ...and it still restores, 400 days on.
    restored = bcli("server", "backup", "restore", ids[-1], "--yes", "--json")
    assert restored.exit_code == 0, restored.stdout
    assert restored.data["result"]["new_serial"] == restored.data["result"]["previous_serial"] + 1
    # A prune a year later still keeps it (its pre-restore backup is now the newest of default).
    at_clock(bcli, later + timedelta(days=365))
    assert bcli("server", "backup", "prune", "--yes").exit_code == 0
    assert len(listed(bcli)) == 2


def test_moving_premium_to_free_makes_the_next_prune_apply_the_free_policy(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    on_tier(bcli, "premium")
    w = Writer(bcli)
    ids = [w.backup(T0 - timedelta(days=d)) for d in range(29, -1, -1)]
    at_clock(bcli, T0)
    premium = bcli("server", "backup", "prune", "--yes", "--json").data
    assert premium["plan"]["tier"] == "premium" and premium["plan"]["remove"] == []
    assert len(listed(bcli)) == 30
    on_tier(bcli, "free")
    free = bcli("server", "backup", "prune", "--yes", "--json").data
    assert free["plan"]["tier"] == "free"
    assert sorted(d["id"] for d in free["result"]["removed"]) == sorted(ids[:23])
    assert sorted(listed(bcli)) == sorted(ids[23:])


def test_snapshot_prune_removes_every_part_and_keeps_the_newest(bcli: CliRunner) -> None:
    w = Writer(bcli)
    ids = [w.snapshot(T0 - timedelta(days=d)) for d in (20, 10, 8, 3, 1)]
    at_clock(bcli, T0)
    dry = bcli("server", "snapshot", "prune", "--dry-run", "--json").data["plan"]
    assert sorted(d["id"] for d in dry["remove"]) == sorted(ids[:3])
    done = bcli("server", "snapshot", "prune", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    left = {k.split("/")[2] for k in Storage(bcli).objects() if k.startswith("snapshots/")}
    assert left == set(ids[3:])
    assert len([k for k in Storage(bcli).objects() if k.startswith(f"snapshots/{GUILD}/{ids[-1]}/")]) == 5
    snaps = bcli("server", "snapshot", "list", "--json").data["snapshots"]
    assert [s["id"] for s in snaps] == [ids[-1], ids[-2]]
    # 400 days on, the newest snapshot is still there.
    at_clock(bcli, T0 + timedelta(days=400))
    assert bcli("server", "snapshot", "prune", "--yes").exit_code == 0
    assert [s["id"] for s in bcli("server", "snapshot", "list", "--json").data["snapshots"]] == [ids[-1]]


def test_prune_without_yes_and_without_a_terminal_removes_nothing(bcli: CliRunner) -> None:
    w = Writer(bcli)
    w.backup(T0 - timedelta(days=10))
    w.backup(T0)
    at_clock(bcli, T0)
    before = state_keys(bcli)
    r = bcli("server", "backup", "prune", "--json")
    assert r.exit_code == 6 and r.error["code"] == "CONFIRMATION_REQUIRED"
    asked = bcli("server", "backup", "prune", input="no\n", tty=True)
    assert asked.exit_code == 6 and "Remove 1 backup (" in asked.stderr
    assert state_keys(bcli) == before and len(listed(bcli)) == 2


def test_orphan_objects_older_than_a_day_are_swept_and_damaged_items_stop_the_sweep(bcli: CliRunner) -> None:
    w = Writer(bcli)
    kept = w.backup(T0)
    storage = Storage(bcli)
    old_orphan = f"state/{GUILD}/default/backup.20261101T000000000Z-0000abcd.json.gz"
    young_orphan = f"state/{GUILD}/default/backup.{T0 - timedelta(hours=3):%Y%m%dT%H%M%S}000Z-0000dcba.json.gz"
    foreign = f"state/{GUILD}/default/notes.txt"  # not a backup object: never touched
    for key in (old_orphan, young_orphan, foreign):
        w.ports.store.put(key, b"left over")
    at_clock(bcli, T0)
    dry = bcli("server", "backup", "prune", "--dry-run", "--json").data["plan"]
    assert [o["key"] for o in dry["orphans"]] == [old_orphan]
    done = bcli("server", "backup", "prune", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert [o["key"] for o in done.data["result"]["orphans_removed"]] == [old_orphan]
    assert state_keys(bcli) == {young_orphan, foreign, *(k for k in storage.objects() if kept in k)}
    # A damaged item might own any object: while one exists, nothing is swept (and it is reported).
    w.ports.catalog.put_if_absent(f"SERVER#{GUILD}", "BACKUP#20261102T000000000Z#20261102T000000000Z-00000001",
                                  {"id": "20261102T000000000Z-00000001", "garbage": True})
    w.ports.store.put(old_orphan, b"left over again")
    at_clock(bcli, T0 + timedelta(days=2))
    dry = bcli("server", "backup", "prune", "--dry-run", "--json").data["plan"]
    assert dry["orphans"] == [] and dry["damaged"] == ["20261102T000000000Z-00000001"]
    text = bcli("server", "backup", "prune", "--dry-run")
    assert "damaged catalog item: not judged, not removed" in text.stdout


# --- a catalog that fails mid-prune -------------------------------------------------------------------


def _all_whole(cli: CliRunner, ports: Any) -> list[str]:
    """Every backup the catalog lists, each loaded with all its checksums verified; returns their ids."""
    mgr = BackupManager(ports.store, ports.catalog, clock=lambda: T0, mac=ports.mac)
    damaged: list[str] = []
    records, _ = mgr.list(GUILD, limit=1000, damaged=damaged)
    assert damaged == []
    for rec in records:
        mgr.load(rec)  # raises IntegrityError if any part is missing or altered
    return [r.id for r in records]


@pytest.mark.slow
def test_a_catalog_locked_mid_prune_leaves_every_listed_backup_whole(cli: CliRunner) -> None:
    """Another process takes the SQLite catalog's write lock after the first batch: the prune stops with
    PARTIAL_FAILURE (exit 8) after the busy timeout, every backup still listed loads with all its parts,
    and the next prune finishes the job."""
    import sqlite3

    from gaib.errors import PartialFailure
    from gaib.prune import service as prune_service

    cli.environ["DISCORD_GUILD_ID"] = GUILD
    w = Writer(cli)
    ids = [w.backup(T0 - timedelta(days=30, minutes=m)) for m in range(prune_service.PAGE // 4 + 20)]
    newest = w.backup(T0)
    w.now = T0
    plan = prune_service.plan_prune(w.ports, "backup")
    assert len(plan.retention.remove) == len(ids)
    db = cli.cwd / ".gaib" / "backups" / "catalog.sqlite3"
    holder: list[sqlite3.Connection] = []

    def progress(done: int, total: int) -> None:
        conn = sqlite3.connect(db, timeout=1, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # another process now holds the catalog's write lock
        holder.append(conn)

    try:
        with pytest.raises(PartialFailure) as info:
            prune_service.execute_prune(w.ports, plan, progress=progress)
    finally:
        for conn in holder:
            conn.execute("ROLLBACK")
            conn.close()
    err = info.value
    assert err.exit_code == 8 and "Every backup still listed is whole" in err.message
    assert "locked" in err.message
    removed = {d["id"] for d in err.details["prune"]["removed"]}
    not_removed = {d["id"] for d in err.details["prune"]["not_removed"]}
    assert len(removed) == 250 and removed | not_removed == set(ids)
    assert sorted(_all_whole(cli, w.ports)) == sorted([*not_removed, newest])
    at_clock(cli, T0)
    again = cli("server", "backup", "prune", "--yes", "--json")
    assert again.exit_code == 0, again.stdout
    assert _all_whole(cli, w.ports) == [newest]
    assert state_keys(cli) == {k for k in Storage(cli).objects() if newest in k}
