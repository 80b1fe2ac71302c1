"""What a window costs in AWS requests (moto, counted as AWS bills them)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gaib.scheduled.blocks import cut_blocks
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from tests.support.fleet import Fleet, realistic_state, server_ids

pytestmark = pytest.mark.aws


def test_an_unchanged_server_costs_at_most_three_requests(aws_only: Fleet) -> None:
    fleet = aws_only
    app = fleet.app()
    sids = server_ids(40)
    fleet.register_many(app, dict.fromkeys(sids, "premium"))
    run_scheduled(app, RunOptions(tier="premium"))
    counter = app.store.requests  # type: ignore[attr-defined]
    for sid in sids[:4]:  # 10% changed since the last window
        fleet.put_state(app, sid, realistic_state(sid, serial=2))
    fleet.now += timedelta(hours=1)
    counter.reset()

    report = run_scheduled(app, RunOptions(tier="premium"))

    ops = counter.by_operation()
    assert (report.created, report.unchanged) == (4, 36)
    assert ops["s3.GetObject"] == 40  # one state read per server
    blocks = len(list(cut_blocks(sorted(sids))))  # the listing is in partition-key order
    assert 1 <= blocks <= 5
    # one claim per server, the changed ones' backup items, one per block of the listing taken
    assert ops["dynamodb.PutItem"] == 40 + 4 + blocks
    assert ops["s3.PutObject"] == 4  # the changed ones' backups
    # the changed ones' write sequence (the server's counter), schedule status and claim outcome, each
    # block marked done; the run's heartbeat (read, then moved on)
    assert ops["dynamodb.UpdateItem"] == 4 * 3 + blocks + 1 and ops["dynamodb.GetItem"] == 1
    # listing: one index query, its confirming read, one read of the schedules and claims
    listing = ops["dynamodb.Query"] + ops["dynamodb.BatchGetItem"]
    assert listing <= 4, ops
    assert set(ops) == {"s3.GetObject", "s3.PutObject", "dynamodb.PutItem", "dynamodb.UpdateItem",
                        "dynamodb.GetItem", "dynamodb.Query", "dynamodb.BatchGetItem"}
    per_changed = 1 + 1 + 1 + 1 + 3  # state, claim, object, item, three updates
    assert (counter.total - 4 * per_changed) / 36 <= 3
