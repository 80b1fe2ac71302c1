"""Windows, shards and the previous firing of a schedule (pure functions)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from gaib.errors import InvalidInput
from gaib.scheduled.window import parse_shard, resolve_window, shard_of
from gaib.storage.keys import check_window, run_claim_sk
from gaib.tiers.cron import next_run, previous_run
from gaib.tiers.table import POLICIES
from tests.support.fleet import server_ids

AT = datetime(2026, 11, 25, 17, 42, 10, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(("expression", "expected"), [
    ("cron(0 * * * ? *)", datetime(2026, 11, 25, 17, 0, tzinfo=UTC)),
    ("cron(0 3 * * ? *)", datetime(2026, 11, 25, 3, 0, tzinfo=UTC)),
    ("cron(0 4 ? * SUN *)", datetime(2026, 11, 22, 4, 0, tzinfo=UTC)),
    ("cron(30 18 * * ? *)", datetime(2026, 11, 24, 18, 30, tzinfo=UTC)),
    ("rate(1 hour)", None),
])
def test_previous_run_is_the_last_firing_at_or_before(expression: str, expected: datetime | None) -> None:
    assert previous_run(expression, AT) == expected
    if expected is not None:
        assert previous_run(expression, expected) == expected  # at the firing itself
        assert next_run(expression, expected) is not None and next_run(expression, expected) > expected  # type: ignore[operator]


def test_auto_windows_follow_each_tiers_schedule() -> None:
    assert resolve_window(POLICIES["premium"], "backup", "auto", AT) == "20261125T1700Z"
    assert resolve_window(POLICIES["free"], "backup", "auto", AT) == "20261125T0300Z"
    assert resolve_window(POLICIES["premium"], "snapshot", "auto", AT) == "20261122T0400Z"


def test_an_eventbridge_time_is_its_own_window_and_bad_ones_are_refused() -> None:
    assert resolve_window(POLICIES["free"], "backup", "2026-11-25T03:00:00Z", AT) == "20261125T0300Z"
    assert resolve_window(POLICIES["free"], "backup", "2026-11-25T03:00:59+00:00", AT) == "20261125T0300Z"
    for bad in ("yesterday", "2026-11-25T03:00:00", "2026-11-26T03:00:00Z"):
        with pytest.raises(InvalidInput):
            resolve_window(POLICIES["free"], "backup", bad, AT)


def test_shards_are_deterministic_and_even() -> None:
    ids = server_ids(3000, start=900_000_000_000_000_000)
    counts = Counter(shard_of(s, 4) for s in ids)
    assert set(counts) == {1, 2, 3, 4} and min(counts.values()) > 600
    assert [shard_of(s, 4) for s in ids[:50]] == [shard_of(s, 4) for s in ids[:50]]
    assert parse_shard("2/4").holds(ids[0]) == (shard_of(ids[0], 4) == 2)
    for bad in ("0/4", "5/4", "1/0", "a/b", "1", "1/2/3", "1/1001"):
        with pytest.raises(InvalidInput):
            parse_shard(bad)


def test_claim_keys_name_the_tier_window_and_operation() -> None:
    assert run_claim_sk("free", "20261125T0300Z") == "RUN#free#20261125T0300Z"
    assert run_claim_sk("premium", "20261122T0400Z", "snapshot") == "RUN#premium#20261122T0400Z#snapshot"
    for bad in ("2026-11-25", "20261325T0300Z", "20261125T0300Z#x"):
        with pytest.raises(InvalidInput):
            check_window(bad)
