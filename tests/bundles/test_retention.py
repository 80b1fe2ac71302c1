"""plan_retention: the pure retention planner (properties, then examples a person would check)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaib.bundles.retention import (
    KEEP_EVERYTHING,
    ReasonCode,
    Retained,
    RetentionPlan,
    RetentionPolicy,
    plan_retention,
)
from gaib.tiers.table import POLICIES

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
SERVER = "1100000000000000001"
DEFAULT = (SERVER, "default")

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)

GROUPS = [(SERVER, "default"), (SERVER, "staging"), ("1100000000000000002", "default"), (SERVER,)]

# Offsets from NOW, in seconds: mostly the past up to 400 days, some in the future (clock skew), and
# a few fixed values so that equal timestamps and exact policy boundaries come up often.
OFFSETS = st.one_of(
    st.integers(min_value=-400 * 86400, max_value=2 * 86400),
    st.sampled_from([0, -7 * 86400, -90 * 86400, -3600, 1, -1]),
)


@st.composite
def item_lists(draw: st.DrawFn) -> list[Retained]:
    raw = draw(st.lists(st.tuples(st.sampled_from(GROUPS), OFFSETS, st.integers(0, 10**6),
                                  st.sampled_from([UTC, timezone(timedelta(hours=-7))])),
                        max_size=40))
    return [Retained(id=f"id{n:03d}", group=group, created_at=(NOW + timedelta(seconds=off)).astimezone(tz),
                     size=size)
            for n, (group, off, size, tz) in enumerate(raw)]


POLICIES_ST = st.builds(
    RetentionPolicy,
    max_age=st.none() | st.integers(0, 100 * 86400).map(lambda s: timedelta(seconds=s)),
    keep_last=st.none() | st.integers(1, 8),
)


def kept_ids(plan: RetentionPlan) -> set[str]:
    return {d.item.id for d in plan.keep}


def removed_ids(plan: RetentionPlan) -> set[str]:
    return {d.item.id for d in plan.remove}


def newest_of_each_group(items: list[Retained]) -> set[str]:
    best: dict[tuple[str, ...], Retained] = {}
    for item in items:
        cur = best.get(item.group)
        if cur is None or (item.created_at, item.id) > (cur.created_at, cur.id):
            best[item.group] = item
    return {i.id for i in best.values()}


# --- properties ----------------------------------------------------------------------------------


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST)
def test_keep_and_remove_partition_the_input(items: list[Retained], policy: RetentionPolicy) -> None:
    plan = plan_retention(items, policy, NOW)
    decided = [d.item for d in (*plan.keep, *plan.remove)]
    assert Counter(decided) == Counter(items)
    assert not kept_ids(plan) & removed_ids(plan)
    assert all(d.keep for d in plan.keep) and not any(d.keep for d in plan.remove)


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST)
def test_the_newest_of_every_group_is_kept(items: list[Retained], policy: RetentionPolicy) -> None:
    plan = plan_retention(items, policy, NOW)
    assert newest_of_each_group(items) <= kept_ids(plan)
    assert {d.item.id for d in plan.keep if d.code is ReasonCode.NEWEST} == newest_of_each_group(items)


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST)
def test_nothing_younger_than_max_age_or_future_dated_is_removed(items: list[Retained],
                                                                  policy: RetentionPolicy) -> None:
    plan = plan_retention(items, policy, NOW)
    for d in plan.remove:
        age = NOW - d.item.created_at
        assert age >= timedelta(0), d
        if policy.max_age is not None:
            assert age >= policy.max_age, d


@PROPERTY
@given(items=item_lists(), keep_last=st.integers(1, 8))
def test_count_only_policy_keeps_the_last_n_plus_future_dated(items: list[Retained], keep_last: int) -> None:
    plan = plan_retention(items, RetentionPolicy(keep_last=keep_last), NOW)
    for group in {i.group for i in items}:
        members = [i for i in items if i.group == group]
        future = sum(1 for i in members if i.created_at > NOW)
        kept = [d for d in plan.keep if d.item.group == group]
        assert len(kept) == max(min(len(members), keep_last), future)
        # the kept ones are exactly the newest of the group
        assert sorted(d.rank for d in kept) == list(range(1, len(kept) + 1))


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST)
def test_replanning_the_kept_items_removes_nothing(items: list[Retained], policy: RetentionPolicy) -> None:
    first = plan_retention(items, policy, NOW)
    second = plan_retention([d.item for d in first.keep], policy, NOW)
    assert second.remove == ()
    assert [d.item for d in second.keep] == [d.item for d in first.keep]


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST, data=st.data())
def test_input_order_does_not_matter(items: list[Retained], policy: RetentionPolicy, data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(items))
    assert plan_retention(shuffled, policy, NOW) == plan_retention(items, policy, NOW)


@PROPERTY
@given(items=item_lists(), policy=POLICIES_ST)
def test_output_is_grouped_then_newest_first_and_every_decision_has_a_reason(
        items: list[Retained], policy: RetentionPolicy) -> None:
    plan = plan_retention(items, policy, NOW)
    for decisions in (plan.keep, plan.remove):
        keys = [(d.item.group, d.rank) for d in decisions]
        assert keys == sorted(keys)
        for d in decisions:
            assert d.reason and d.reason == d.reason.strip() and len(d.reason) < 200
            assert d.code in set(ReasonCode)
    assert {d.code for d in plan.remove} <= {ReasonCode.OLDER_THAN_MAX_AGE, ReasonCode.BEYOND_KEEP_LAST,
                                              ReasonCode.OLDER_THAN_MAX_AGE_BEYOND_KEEP_LAST}
    assert plan.removed_bytes + plan.kept_bytes == sum(i.size for i in items)


# --- examples ------------------------------------------------------------------------------------


def hourly(count: int, *, group: tuple[str, ...] = DEFAULT, newest: datetime = NOW) -> list[Retained]:
    """``count`` backups one hour apart, the newest at ``newest``; ids sort like the real ones."""
    out = []
    for n in range(count):
        at = newest - timedelta(hours=n)
        out.append(Retained(id=at.strftime("%Y%m%dT%H%M%S000Z") + f"-{n:08x}", group=group, created_at=at,
                            size=3000))
    return out


def test_a_server_that_stops_changing_keeps_its_newest_backup_400_days_later() -> None:
    last_change = NOW - timedelta(days=400)
    items = hourly(5, newest=last_change)
    plan = plan_retention(items, POLICIES["free"].backup_retention(), NOW)
    assert [d.item.id for d in plan.keep] == [items[0].id]
    assert plan.keep[0].code is ReasonCode.NEWEST
    assert plan.keep[0].reason == f"newest of {SERVER}/default (400 days old): the newest is always kept"
    assert [d.item.id for d in plan.remove] == [i.id for i in items[1:]]
    assert plan.remove[0].reason == (f"400 days 1 hour old (the limit is 7 days) and not the newest of "
                                     f"{SERVER}/default")


def test_90_days_of_hourly_backups_under_a_7_day_policy_keep_exactly_the_last_7_days() -> None:
    items = hourly(2160)
    plan = plan_retention(items, RetentionPolicy(max_age=timedelta(days=7)), NOW)
    assert len(plan.keep) == 168  # 7 × 24: ages 0 h … 167 h
    assert [d.item.id for d in plan.keep] == [i.id for i in items[:168]]
    assert len(plan.remove) == 2160 - 168
    assert {d.code for d in plan.remove} == {ReasonCode.OLDER_THAN_MAX_AGE}
    assert min(NOW - d.item.created_at for d in plan.remove) == timedelta(days=7)
    assert plan.removed_bytes == 1992 * 3000


def test_the_max_age_boundary_is_exclusive() -> None:
    old = Retained("a", DEFAULT, NOW - timedelta(days=7))
    young = Retained("b", DEFAULT, NOW - timedelta(days=7) + timedelta(seconds=1))
    newest = Retained("c", DEFAULT, NOW)
    plan = plan_retention([old, young, newest], RetentionPolicy(max_age=timedelta(days=7)), NOW)
    assert kept_ids(plan) == {"b", "c"} and removed_ids(plan) == {"a"}
    assert plan.keep[1].code is ReasonCode.WITHIN_MAX_AGE
    assert plan.keep[1].reason == "younger than 7 days (6 days 23 hours old)"


def test_groups_are_independent() -> None:
    # staging's only backup is a year old: it is the newest of its own group, so it stays.
    items = [*hourly(3), Retained("staging-1", (SERVER, "staging"), NOW - timedelta(days=365))]
    plan = plan_retention(items, POLICIES["free"].backup_retention(), NOW)
    assert "staging-1" in kept_ids(plan) and not plan.remove


def test_theme_history_free_keeps_the_last_5_premium_keeps_all() -> None:
    deployments = [Retained(f"d{n}", (SERVER,), NOW - timedelta(days=30 * n)) for n in range(8)]
    free = plan_retention(deployments, POLICIES["free"].theme_history_retention(), NOW)
    assert [d.item.id for d in free.keep] == ["d0", "d1", "d2", "d3", "d4"]
    assert [d.item.id for d in free.remove] == ["d5", "d6", "d7"]
    assert free.remove[0].code is ReasonCode.BEYOND_KEEP_LAST
    assert free.remove[0].reason == f"number 6 of {SERVER}, beyond the last 5"
    premium = plan_retention(deployments, POLICIES["premium"].theme_history_retention(), NOW)
    assert not premium.remove and len(premium.keep) == 8
    assert premium.keep[-1].code is ReasonCode.NO_LIMIT


def test_future_dated_items_are_kept() -> None:
    items = [Retained("ahead", DEFAULT, NOW + timedelta(hours=3)),
             Retained("ahead2", DEFAULT, NOW + timedelta(hours=1)),
             Retained("old", DEFAULT, NOW - timedelta(days=30))]
    plan = plan_retention(items, RetentionPolicy(max_age=timedelta(days=7)), NOW)
    assert [(d.item.id, d.code) for d in plan.keep] == [("ahead", ReasonCode.NEWEST),
                                                         ("ahead2", ReasonCode.FUTURE_DATED)]
    assert plan.keep[0].reason == f"newest of {SERVER}/default (dated 3 hours ahead): the newest is always kept"
    assert plan.keep[1].reason == "dated 1 hour after now: kept, its writer's clock ran ahead"
    assert removed_ids(plan) == {"old"}


def test_age_and_count_rules_add_up() -> None:
    # max_age 2 days or the last 3: b0, b1 are young; b2 is older than 2 days but among the last 3.
    items = [Retained(f"b{n}", DEFAULT, NOW - timedelta(days=n)) for n in range(6)]
    plan = plan_retention(items, RetentionPolicy(max_age=timedelta(days=2), keep_last=3), NOW)
    assert [(d.item.id, d.code) for d in plan.keep] == [
        ("b0", ReasonCode.NEWEST), ("b1", ReasonCode.WITHIN_MAX_AGE), ("b2", ReasonCode.WITHIN_KEEP_LAST)]
    assert plan.remove[0].code is ReasonCode.OLDER_THAN_MAX_AGE_BEYOND_KEEP_LAST
    assert plan.remove[0].reason == (f"3 days old (the limit is 2 days) and number 4 of {SERVER}/default, "
                                     "beyond the last 3")


def test_equal_timestamps_break_ties_by_id() -> None:
    items = [Retained("b", DEFAULT, NOW - timedelta(days=30)), Retained("a", DEFAULT, NOW - timedelta(days=30))]
    plan = plan_retention(items, POLICIES["free"].backup_retention(), NOW)
    assert [d.item.id for d in plan.keep] == ["b"] and [d.item.id for d in plan.remove] == ["a"]


def test_empty_input_and_keep_everything() -> None:
    assert plan_retention([], POLICIES["free"].backup_retention(), NOW) == RetentionPlan(
        policy=POLICIES["free"].backup_retention(), now=NOW)
    items = hourly(50, newest=NOW - timedelta(days=1000))
    assert not plan_retention(items, KEEP_EVERYTHING, NOW).remove


def test_plan_serialises_for_json_output() -> None:
    items = hourly(2, newest=NOW - timedelta(days=10))
    data = plan_retention(items, POLICIES["free"].backup_retention(), NOW).to_dict()
    assert data["policy"] == {"max_age_seconds": 7 * 86400, "keep_last": None,
                              "description": "keep 7 days, and always the newest"}
    assert data["now"] == "2026-11-25T17:00:00Z"
    assert data["remove"] == [{"id": items[1].id, "group": [SERVER, "default"], "created_at": "2026-11-15T16:00:00Z",
                               "size": 3000, "rank": 2, "sequence": None, "code": "older-than-max-age",
                               "reason": f"10 days 1 hour old (the limit is 7 days) and not the newest of "
                                         f"{SERVER}/default"}]
    assert data["removed_bytes"] == 3000 and data["kept_bytes"] == 3000


def test_bad_input_is_refused() -> None:
    naive = datetime(2026, 1, 1)  # no tzinfo: the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        Retained("x", DEFAULT, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_retention([], KEEP_EVERYTHING, naive)
    with pytest.raises(ValueError, match="appears twice"):
        plan_retention([Retained("x", DEFAULT, NOW), Retained("x", DEFAULT, NOW - timedelta(1))], KEEP_EVERYTHING, NOW)
    with pytest.raises(ValueError, match="keep_last"):
        RetentionPolicy(keep_last=0)
    with pytest.raises(ValueError, match="max_age"):
        RetentionPolicy(max_age=timedelta(days=-1))
    # the same id in two groups is two items
    assert len(plan_retention([Retained("x", DEFAULT, NOW), Retained("x", (SERVER, "staging"), NOW)],
                              KEEP_EVERYTHING, NOW).keep) == 2
