"""The safety planners on their own (pure): Discord's limits and requirements refuse what would not fit,
with a message naming the limit; ids are remapped; nothing is planned for what already matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gaib.snapshots.safety import automod, events, onboarding, soundboard
from gaib.snapshots.safety.parts import Safety
from gaib.snapshots.safety.plan import wanted
from gaib.snapshots.safety.steps import Remap
from gaib.snapshots.selection import parse

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _remap(channels: set[str] = frozenset(), roles: set[str] = frozenset(), ids: dict[str, str] | None = None,
           prune: bool = False) -> Remap:
    return Remap(ids=ids or {}, channels=set(channels), roles=set(roles), names={"5": "chat"}, now=NOW, prune=prune)


def _rule(**more: Any) -> dict[str, Any]:
    return {"id": "1", "name": "words", "trigger_type": 1, "event_type": 1, "enabled": True,
            "trigger_metadata": {"keyword_filter": ["a"]}, "actions": [{"type": 1, "metadata": {}}],
            "exempt_roles": [], "exempt_channels": [], **more}


def test_a_rule_over_discords_list_limits_is_refused_with_the_limit_named() -> None:
    remap = _remap()
    too_many = _rule(trigger_metadata={"keyword_filter": ["w"] * 1001})
    too_long = _rule(id="2", name="long", trigger_metadata={"regex_patterns": ["r" * 261]})
    assert automod.plan([too_many, too_long], [], remap) == []
    assert "keyword_filter holds 1001 entries; Discord takes at most 1000" in remap.refused[0]
    assert "regex_patterns entry" in remap.refused[1] and "1-260 characters" in remap.refused[1]
    preset = _rule(trigger_type=4, trigger_metadata={"allow_list": ["ok"] * 1000, "presets": [1]})
    assert [s.action for s in automod.plan([preset], [], _remap())] == ["create"]  # presets allow 1000


def test_exempt_roles_and_channels_are_remapped_and_gone_ones_left_out_with_a_warning() -> None:
    remap = _remap(channels={"50"}, roles={"70"}, ids={"5": "50", "7": "70"})
    rule = _rule(exempt_roles=["7", "8"], exempt_channels=["5"],
                 actions=[{"type": 2, "metadata": {"channel_id": "5"}}])
    [step] = automod.plan([rule], [], remap)
    assert (step.body["exempt_roles"], step.body["exempt_channels"]) == (["70"], ["50"])
    assert step.body["actions"] == [{"type": 2, "metadata": {"channel_id": "50"}}]
    assert any("role 8 no longer exists" in w for w in remap.warnings)
    live = [{**rule, "id": "9", "exempt_roles": ["70"], "exempt_channels": ["50"],
             "actions": [{"type": 2, "metadata": {"channel_id": "50"}}]}]
    assert automod.plan([rule], live, _remap(channels={"50"}, roles={"70"}, ids={"5": "50", "7": "70"})) == []


def test_onboarding_below_discords_requirements_is_refused() -> None:
    saved = {"enabled": True, "mode": 0, "default_channel_ids": [str(n) for n in range(1, 8)], "prompts": []}
    ok = _remap(channels={str(n) for n in range(1, 8)})
    assert [s.action for s in onboarding.plan_onboarding(saved, ["1", "2", "3", "4", "5"], None, ok)] == ["put"]
    few_open = _remap(channels={str(n) for n in range(1, 8)})
    assert onboarding.plan_onboarding(saved, ["1", "2", "3", "4"], None, few_open) == []
    assert "at least 7 default channels, 5 of which @everyone may send messages" in few_open.refused[0]
    assert "4 of them open to @everyone" in few_open.refused[0]
    gone = _remap(channels={str(n) for n in range(1, 7)})  # one default channel is gone for good
    assert onboarding.plan_onboarding(saved, ["1", "2", "3", "4", "5"], None, gone) == []
    assert "it would have 6" in gone.refused[0]
    disabled = {**saved, "enabled": False}
    assert len(onboarding.plan_onboarding(disabled, [], None, _remap())) == 1  # no requirement when off


def test_at_most_100_events_and_past_ones_are_listed_not_created() -> None:
    start = (NOW + timedelta(days=1)).isoformat()
    saved = [{"id": str(n), "name": f"e{n}", "entity_type": 3, "location": "x", "scheduled_start_time": start,
              "scheduled_end_time": (NOW + timedelta(days=2)).isoformat()} for n in range(1, 4)]
    saved.append({"id": "9", "name": "old", "entity_type": 3, "location": "x",
                  "scheduled_start_time": (NOW - timedelta(hours=1)).isoformat()})
    live = [{"id": str(100 + n), "name": f"live{n}", "status": 1} for n in range(98)]
    remap = _remap()
    steps, past = events.plan(saved, live, remap)
    assert [s.name for s in steps] == ["e1", "e2"] and past == [f"old ({saved[3]['scheduled_start_time']})"]
    assert "e3 is not re-created: Discord allows 100 scheduled or active events" in remap.refused[0]


def test_sounds_fit_the_boost_levels_slots_and_the_512_kib_cap() -> None:
    saved = [{"id": str(n), "name": f"s{n}", "sha256": "a" * 64, "size": 10} for n in range(1, 4)]
    saved.append({"id": "9", "name": "huge", "sha256": "b" * 64, "size": 600_000})
    live = [{"sound_id": str(100 + n), "name": f"live{n}"} for n in range(6)]
    remap = _remap()
    steps = soundboard.plan(saved, live, 0, remap)
    assert [s.name for s in steps] == ["s1", "s2"]
    assert any("huge is not restored" in r and "512 KiB" in r for r in remap.refused)
    assert any("s3 is not re-created: boost level 0 has 8 soundboard slots" in r for r in remap.refused)
    pruned = soundboard.plan(saved[:3], live, 0, _remap(prune=True))
    assert sum(1 for s in pruned if s.action == "delete") == 6 and sum(1 for s in pruned if s.action == "create") == 3


def test_only_the_parts_the_snapshot_holds_and_the_restore_selects_are_read() -> None:
    held = Safety(parts=frozenset({"automod", "events", "welcome"}))
    assert wanted(held, None) == {"automod", "events", "welcome"}
    assert wanted(held, parse(exclude=["automod"])) == {"events", "welcome"}
    assert wanted(held, parse(only=["roles", "soundboard"])) == frozenset()
