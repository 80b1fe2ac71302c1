"""Which bundle is newest (the catalog's write sequence, with the documented fallback for items written
before sequences), and the sizes a manifest may claim."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gaib.bundles.manifest import MAX_CLAIMED_BYTES, Manifest, Part, parse_manifest, seal
from gaib.bundles.order import Written, clock_warning, misdated, written_of
from gaib.bundles.retention import Retained, RetentionPolicy, plan_retention
from gaib.errors import IntegrityError

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GROUP = ("1100000000000000001", "default")
WEEK = RetentionPolicy(max_age=timedelta(days=7))


def _ids(plan_part: tuple[object, ...]) -> list[str]:
    return [d.item.id for d in plan_part]  # type: ignore[attr-defined]


def test_the_newest_is_the_last_written_whatever_the_dates_say() -> None:
    items = [Retained("ahead", GROUP, NOW + timedelta(days=400), sequence=1),
             Retained("real", GROUP, NOW - timedelta(days=8), sequence=2),
             Retained("older", GROUP, NOW - timedelta(days=9), sequence=3)]  # a clock 9 days behind
    plan = plan_retention(items, WEEK, NOW)
    ranks = {d.item.id: (d.rank, d.code.value) for d in (*plan.keep, *plan.remove)}
    assert ranks == {"older": (1, "newest"), "real": (2, "older-than-max-age"), "ahead": (3, "future-dated")}


def test_items_without_a_sequence_keep_their_timestamp_order_before_every_sequenced_one() -> None:
    legacy = [Retained(f"legacy-{d}", GROUP, NOW - timedelta(days=d)) for d in (10, 20, 30)]
    plan = plan_retention(legacy, WEEK, NOW)
    assert [d.item.id for d in plan.keep] == ["legacy-10"] and _ids(plan.remove) == ["legacy-20", "legacy-30"]

    sequenced = Retained("first-with-a-sequence", GROUP, NOW - timedelta(days=40), sequence=1)
    plan = plan_retention([*legacy, sequenced], WEEK, NOW)
    assert [(d.item.id, d.rank) for d in plan.keep] == [("first-with-a-sequence", 1)]


def test_a_misdated_item_without_a_sequence_never_outranks_the_real_newest() -> None:
    items = [Retained("ahead", GROUP, NOW + timedelta(days=400), misdated=True),
             Retained("real", GROUP, NOW - timedelta(days=8))]
    plan = plan_retention(items, WEEK, NOW)
    assert {d.item.id: d.code.value for d in plan.keep} == {"real": "newest", "ahead": "future-dated"}


def test_flags_and_warnings_use_the_storages_clock() -> None:
    created = NOW + timedelta(days=400)
    assert misdated(created, Written(7, int(NOW.timestamp())), None)
    assert not misdated(NOW + timedelta(minutes=4), Written(7, int(NOW.timestamp())), None)
    assert misdated(created, Written(), NOW.timestamp())  # no stamp: the storage's time now
    assert not misdated(created, Written(), None)  # nothing known: nothing flagged
    assert clock_warning(NOW + timedelta(minutes=6), NOW.timestamp()) is not None
    assert clock_warning(NOW - timedelta(minutes=4), NOW.timestamp()) is None


@pytest.mark.parametrize("bad", [0, -1, 2**60, "3", 1.5, True])
def test_a_stamp_no_catalog_writes_is_damage(bad: object) -> None:
    with pytest.raises(IntegrityError, match="damaged"):
        written_of({"sequence": bad}, "backup x")
    assert written_of({}, "backup x") == Written()


def _manifest(plain: int, stored: int) -> Manifest:
    part = Part(key="state/1/default/backup.20261125T170000000Z-00000001.json.gz", codec="gzip", plain_size=plain,
                stored_size=stored, plain_sha256="a" * 64, stored_sha256="b" * 64)
    return seal(Manifest(kind="backup", id="20261125T170000000Z-00000001", server_id="1", workspace="default",
                         created_at="2026-11-25T17:00:00.000Z", trigger="on-demand", tier="free", message="",
                         serial=1, lineage="l", parts={"state": part}))


def test_claimed_sizes_are_bounded_at_parse() -> None:
    assert parse_manifest(_manifest(20533, 3081).to_dict(), "ok").plain_size == 20533
    for plain, stored in ((26_000_000_000_000_000, 21560), (MAX_CLAIMED_BYTES + 1, 100), (100, 10**9)):
        with pytest.raises(IntegrityError, match="claims"):
            parse_manifest(_manifest(plain, stored).to_dict(), "backup x")
    two = _manifest(MAX_CLAIMED_BYTES, 100)
    doubled = seal(replace(two, parts={"state": two.parts["state"], "other": two.parts["state"]}))
    with pytest.raises(IntegrityError, match="claim"):
        parse_manifest(doubled.to_dict(), "backup x")
