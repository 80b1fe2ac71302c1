"""Counting a plan's creates against Discord's day-long caps, and the limits cache beside the state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gaib.discord import limits as L
from gaib.iac import limitcache
from gaib.iac.caps import Budget, documented_budgets, estimate_caps, name_topic_waits

NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


def test_a_plan_within_the_documented_budgets_does_not_bind() -> None:
    est = estimate_caps({"role_creates": 15, "channel_creates": 32}, {}, NOW)
    assert not est.binds and est.finishes_at is None and est.messages() == []
    assert [line.window for line in est.lines] == ["role_creates", "channel_creates"]
    assert est.messages(all_lines=True)[0] == "creates 15 roles; Discord allows about 250 per 48 h (250 left)"


def test_more_creates_than_a_window_allows_wait_for_its_reset() -> None:
    est = estimate_caps({"role_creates": 260}, {}, NOW)
    assert est.binds
    line = est.lines[0]
    assert (line.needed, line.remaining, line.waiting) == (260, 250, 10)
    # the window starts with the first create, so the rest wait 48 hours
    assert line.until == NOW + timedelta(hours=48)
    assert est.messages() == ["creates 260 roles; Discord allows about 250 per 48 h — 10 will wait until "
                              "2026-08-03 12:00 UTC"]
    assert est.to_dict()["windows"][0]["waiting"] == 10


def test_headers_seen_earlier_count_what_is_left() -> None:
    resets = NOW + timedelta(hours=5)
    budgets = {"channel_creates": Budget("channel_creates", 500, 86_400, 20, resets, seen=True)}
    est = estimate_caps({"channel_creates": 32}, budgets, NOW)
    line = est.lines[0]
    assert (line.remaining, line.waiting, line.until, line.seen) == (20, 12, resets, True)
    assert est.finishes_at == resets
    # once the window has reset, the whole budget is back
    assert not estimate_caps({"channel_creates": 32}, budgets, resets + timedelta(seconds=1)).binds


def test_needs_beyond_a_whole_window_wait_for_later_resets() -> None:
    resets = NOW + timedelta(hours=1)
    budgets = {"role_creates": Budget("role_creates", 250, 172_800, 0, resets, seen=True)}
    est = estimate_caps({"role_creates": 300}, budgets, NOW)
    assert est.lines[0].until == resets + timedelta(hours=48)  # 250 after the first reset, 50 after the next


def test_role_edits_count_too_and_unknown_windows_are_refused() -> None:
    assert estimate_caps({"role_edits": 1001}, {}, NOW).lines[0].waiting == 1
    with pytest.raises(ValueError):
        estimate_caps({"emoji_creates": 1}, {}, NOW)
    with pytest.raises(ValueError):
        estimate_caps({"role_creates": -1}, {}, NOW)


def test_documented_budgets_are_the_measured_figures() -> None:
    budgets = documented_budgets()
    assert {(b.window, b.limit, b.seconds) for b in budgets.values()} == {
        ("role_creates", 250, 172_800.0), ("channel_creates", 500, 86_400.0), ("role_edits", 1000, 86_400.0)}


def test_a_third_name_or_topic_change_within_ten_minutes_waits() -> None:
    history = {"1": [NOW - timedelta(minutes=7), NOW - timedelta(minutes=2)],
               "2": [NOW - timedelta(minutes=12), NOW - timedelta(minutes=3)],
               "3": [NOW - timedelta(minutes=1)]}
    waits = name_topic_waits([("discord_channel.a", "1"), ("discord_channel.b", "2"),
                              ("discord_channel.c", "3"), ("discord_channel.d", "4")], history, NOW)
    assert [w.address for w in waits] == ["discord_channel.a"]
    assert waits[0].until == NOW + timedelta(minutes=3) and waits[0].seconds == pytest.approx(180)
    assert "2 per 10 min" in waits[0].message() and "3 min 0 s" in waits[0].message()


# --- the cache -------------------------------------------------------------------------------------


def test_the_cache_round_trips_and_keeps_other_guilds(tmp_path: Path) -> None:
    usage = L.Usage(windows={"role_creates": L.WindowState(250, 10, 3600.0)}, name_topic={"55": (30.0, 90.0)})
    limitcache.save(tmp_path, "111", limitcache.merge(limitcache.GuildLimits(), usage, NOW))
    limitcache.save(tmp_path, "222", limitcache.merge(limitcache.GuildLimits(), L.Usage(), NOW))
    loaded = limitcache.load(tmp_path, "111")
    budget = loaded.budgets["role_creates"]
    assert (budget.limit, budget.remaining, budget.resets_at, budget.seen) == (250, 10, NOW + timedelta(hours=1), True)
    assert loaded.name_topic["55"] == [NOW - timedelta(seconds=90), NOW - timedelta(seconds=30)]
    doc = json.loads((tmp_path / "discord-limits.json").read_text())
    assert doc["format"] == "gaib-discord-limits/1" and set(doc["guilds"]) == {"111", "222"}
    assert doc["guilds"]["111"]["windows"]["role_creates"]["resets_at"] == "2026-08-01T13:00:00Z"
    # handed back to a client, relative to a later now
    later = loaded.usage(NOW + timedelta(seconds=60))
    assert later.windows["role_creates"].reset_after == pytest.approx(3540)
    assert later.name_topic["55"] == (150.0, 90.0)


def test_the_last_runs_requests_carry_over_for_two_seconds(tmp_path: Path) -> None:
    usage = L.Usage(recent=(0.5, 0.2, 3.0))  # the oldest is outside any global window already
    limitcache.save(tmp_path, "111", limitcache.merge(limitcache.GuildLimits(), usage, NOW))
    loaded = limitcache.load(tmp_path, "111")
    assert loaded.usage(NOW + timedelta(seconds=1)).recent == pytest.approx((1.5, 1.2))
    assert loaded.usage(NOW + timedelta(seconds=2)).recent == ()


def test_merging_drops_what_has_expired_and_adds_the_new_edits() -> None:
    old = limitcache.GuildLimits(
        budgets={"role_creates": Budget("role_creates", 250, 172_800, 0, NOW - timedelta(seconds=1), True)},
        name_topic={"9": [NOW - timedelta(minutes=11), NOW - timedelta(minutes=4)]})
    merged = limitcache.merge(old, L.Usage(name_topic={"9": (2.0,), "8": (5.0,)}), NOW)
    assert merged.budgets == {}
    assert merged.name_topic == {"9": [NOW - timedelta(minutes=4), NOW - timedelta(seconds=2)],
                                 "8": [NOW - timedelta(seconds=5)]}


@pytest.mark.parametrize("content", ["not json", "[]", '{"format": "other/1", "guilds": {}}',
                                     '{"format": "gaib-discord-limits/1", "guilds": {"111": {"windows": '
                                     '{"role_creates": {"limit": 250, "remaining": 900, "resets_at": "x"}}}}}'])
def test_an_unusable_cache_reads_as_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "discord-limits.json").write_text(content)
    loaded = limitcache.load(tmp_path, "111")
    assert loaded.budgets == {} and loaded.name_topic == {}
