"""Blocks of a window's listing: the same cuts in every task, and tasks that meet on few servers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from gaib.scheduled.blocks import AVERAGE, MAXIMUM, MINIMUM, BlockClaims, cut_blocks
from gaib.scheduled.report import RunReport
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from gaib.storage.keys import run_block_sk, scheduler_pk
from tests.support.fleet import Fleet, realistic_state, scheduled_backups, server_ids

WINDOW = "20261125T0300Z"


def test_every_task_cuts_the_listing_alike_and_a_new_server_moves_only_nearby_cuts() -> None:
    listing = server_ids(5000)
    blocks = list(cut_blocks(listing))

    assert [s for b in blocks for s in b] == listing
    assert all(MINIMUM <= len(b) <= MAXIMUM for b in blocks[:-1])
    assert AVERAGE / 2 <= len(listing) / len(blocks) <= AVERAGE * 2
    assert list(cut_blocks(iter(listing))) == blocks  # a generator (pages) cuts like a list
    # One server more in the middle: the blocks far from it are the same ones.
    grown = [*listing[:2500], str(int(listing[2499]) + 1), *listing[2500:]]
    firsts, grown_firsts = {b[0] for b in blocks}, {b[0] for b in cut_blocks(grown)}
    assert len(firsts ^ grown_firsts) <= 6


def test_hostile_block_keys_are_refused() -> None:
    from gaib.errors import InvalidName

    for window, shard, first in [("../x", "all", "123456789012345678"), (WINDOW, "../x", "123456789012345678"),
                                 (WINDOW, "all", "../x"), (WINDOW, "1of2/../x", "123456789012345678"),
                                 (WINDOW, "all", "1" * 200), (WINDOW, "all", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧")]:
        with pytest.raises(InvalidName):
            run_block_sk(window, "backup", shard, first)


def test_a_rerun_of_a_finished_window_reads_no_servers_claims(aws_only: Fleet) -> None:
    fleet = aws_only
    app = fleet.app()
    sids = server_ids(150)
    fleet.register_many(app, dict.fromkeys(sids, "free"))
    first = run_scheduled(app, RunOptions(tier="free", concurrency=4))
    assert first.created == 150
    counter = app.store.requests  # type: ignore[attr-defined]
    counter.reset()

    again = run_scheduled(app, RunOptions(tier="free", concurrency=4))

    ops = counter.by_operation()
    blocks = len(list(cut_blocks(sorted(sids))))
    assert (again.claimed_elsewhere, again.created, again.unchanged) == (150, 0, 0)
    assert "s3.GetObject" not in ops  # no state read
    # one page of the listing, its keys confirmed 100 at a time; one failed put and one read per block;
    # the heartbeat
    assert ops["dynamodb.Query"] == 1 and ops["dynamodb.BatchGetItem"] == 2
    assert ops["dynamodb.PutItem"] == blocks and ops["dynamodb.GetItem"] == blocks + 1


def test_the_servers_of_a_dead_tasks_blocks_are_done_by_the_next_task(fleet: Fleet) -> None:
    app = fleet.app()
    sids = server_ids(120)
    fleet.register_many(app, dict.fromkeys(sids, "free"))
    dead = BlockClaims(app.catalog, clock=fleet.clock, task="dead", tier="free", window=WINDOW,
                       operation="backup", shard="all")
    taken = [dead.take(b) for b in cut_blocks(sorted(sids))][::2]  # it took every other block, then died
    assert all(b.owned for b in taken)

    report = run_scheduled(app, RunOptions(tier="free", concurrency=4))

    assert (report.created, report.failed, report.claimed_elsewhere) == (120, 0, 0)
    assert all(len(scheduled_backups(app, sid)) == 1 for sid in sids)
    items = app.catalog.get_many([(scheduler_pk("free"), b.sk) for b in taken])
    assert {i["status"] for i in items.values()} == {"done"} and len(items) == len(taken)


@pytest.mark.slow
@pytest.mark.aws
def test_two_tasks_split_a_window_by_blocks_and_rarely_read_the_same_state(aws_only: Fleet) -> None:
    fleet = aws_only
    sids = server_ids(400)
    setup = fleet.app()
    fleet.register_many(setup, dict.fromkeys(sids, "free"))
    run_scheduled(setup, RunOptions(tier="free", concurrency=8))
    for sid in sids[::10]:
        fleet.put_state(setup, sid, realistic_state(sid, serial=2))
    fleet.now += timedelta(days=1)
    apps = [fleet.app(), fleet.app()]
    reports: list[RunReport] = []
    start = threading.Barrier(2)

    def task(index: int) -> None:
        start.wait()
        reports.append(run_scheduled(apps[index], RunOptions(tier="free", concurrency=4)))

    threads = [threading.Thread(target=task, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)

    assert len(reports) == 2
    assert sum(r.created for r in reports) == 40 and sum(r.unchanged for r in reports) == 360
    assert all(len(scheduled_backups(setup, sid)) == 2 for sid in sids[::10])
    assert all(r.created + r.unchanged >= 60 for r in reports), "one task did (almost) everything"
    state_reads = sum(app.store.requests.by_operation().get("s3.GetObject", 0) for app in apps)  # type: ignore[attr-defined]
    # Both tasks read a state only where they met: at the end, in the block its owner was finishing
    # (before blocks, two tasks met on about half of the servers).
    assert state_reads <= 400 + 60, state_reads
