"""No host's clock decides which backup is newest: the catalog's order of writes does, on both storages.

A backup taken on a host whose clock runs 400 days ahead, then a real one: the real one is the newest for
prune and verify, the future-dated one is flagged by list, prune and verify, and every command warns while
this host's clock and the storage's differ by more than 5 minutes. Only the clock is injected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gaib.cli.context import utc_now
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage


def test_a_backup_from_a_clock_400_days_ahead_never_makes_the_real_newest_prunable(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    real = datetime.now(UTC)
    bcli.clock = lambda: real + timedelta(days=400)
    ahead = bcli("server", "backup", "create", "--json")
    assert ahead.exit_code == 0, ahead.stdout + ahead.stderr
    assert "this host's clock is 400 days ahead of the backup storage's" in ahead.stderr
    bcli.clock = utc_now
    newest = bcli("server", "backup", "create", "--json")
    assert newest.exit_code == 0 and "clock" not in newest.stderr
    future, real_id = ahead.data["id"], newest.data["id"]
    assert newest.data["sequence"] > ahead.data["sequence"]

    listed = bcli("server", "backup", "list")
    assert f"warning: backup {future} is dated 400 days ahead of the storage's clock" in listed.stderr
    assert list(bcli("server", "backup", "list", "--json").data["future_dated"]) == [future]

    bcli.clock = lambda: real + timedelta(days=8)  # the real backup is now older than the free tier's 7 days
    plan = bcli("server", "backup", "prune", "--dry-run", "--json").data["plan"]
    assert plan["remove"] == []
    assert {d["id"]: d["code"] for d in plan["keep"]} == {real_id: "newest", future: "future-dated"}
    text = bcli("server", "backup", "prune", "--dry-run").stdout
    assert f"newest {real_id}" in text and f"warning: backup {future} is dated more than 5 minutes ahead" in text

    # verify's "newest" is the real one too: damaging it fails the default verification, and the
    # future-dated one is flagged.
    bcli.clock = utc_now
    Storage(bcli).delete(f"state/{GUILD}/default/backup.{real_id}.json.gz")
    checked = bcli("server", "backup", "verify", "--json")
    assert checked.exit_code == 3
    report = checked.error["details"]["verify"]
    assert [f["id"] for f in report["failures"]] == [real_id]
    assert [d["id"] for d in report["future_dated"]] == [future]


def test_commands_warn_while_this_hosts_clock_and_the_storages_differ_by_more_than_5_minutes(
        bcli: CliRunner) -> None:
    for shift, warned in ((timedelta(minutes=7), "7 minutes ahead of"), (-timedelta(hours=2), "2 hours behind"),
                          (timedelta(minutes=3), None), (timedelta(0), None)):
        bcli.clock = _shifted(shift)
        r = bcli("server", "backup", "list")
        assert r.exit_code == 0
        if warned is None:
            assert "clock" not in r.stderr, (shift, r.stderr)
        else:
            assert f"this host's clock is {warned} the backup storage's" in r.stderr, (shift, r.stderr)


def _shifted(by: timedelta) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + by
