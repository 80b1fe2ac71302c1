"""Planning AutoMod rules (pure).

Each rule of the snapshot is matched to a live rule by id, else by name and trigger type; a match that
differs is updated (its trigger type stays, as Discord requires), an unmatched rule is re-created. Exempt
roles and channels and the channel of a "flag to channel" action are remapped to the ids they have now;
one that is gone is left out with a warning (a rule left without actions is not restored). Live rules
the snapshot does not hold are deleted only with ``--prune-unmanaged``.

Discord's limits (:mod:`gaib.discord.limits`: 6 KEYWORD rules, 1 each of SPAM, KEYWORD_PRESET,
MENTION_SPAM and MEMBER_PROFILE per server; keyword lists, regexes, allow lists, exempt roles and
channels, actions) are checked before anything is sent: a rule over one is refused with a message
naming the limit, and so is a create that would pass its trigger type's count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gaib.discord import limits as L
from gaib.snapshots.safety.steps import Remap, Step, same

TRIGGERS = {1: "keyword", 3: "spam", 4: "keyword preset", 5: "mention spam", 6: "member profile"}


def _metadata(trigger: int, meta: Mapping[str, Any]) -> dict[str, Any]:
    if trigger in (1, 6):
        return {k: list(meta.get(k) or []) for k in ("keyword_filter", "regex_patterns", "allow_list")}
    if trigger == 4:
        return {"allow_list": list(meta.get("allow_list") or []), "presets": sorted(meta.get("presets") or [])}
    if trigger == 5:
        return {"mention_total_limit": int(meta.get("mention_total_limit") or 0),
                "mention_raid_protection_enabled": bool(meta.get("mention_raid_protection_enabled"))}
    return {}


def limit_problems(rule: Mapping[str, Any]) -> list[str]:
    """What in one rule passes Discord's limits (empty when it fits)."""
    trigger = rule.get("trigger_type")
    out = []
    if trigger not in L.AUTOMOD_MAX_RULES:
        return [f"trigger type {trigger!r} is not one Discord knows"]
    if not 1 <= len(str(rule.get("name") or "")) <= 100:
        out.append("its name must be 1-100 characters")
    meta = rule.get("trigger_metadata") or {}
    for key, (most, longest) in L.AUTOMOD_LISTS.items():
        items = meta.get(key) or []
        most = L.AUTOMOD_PRESET_ALLOW_LIST if key == "allow_list" and trigger == 4 else most
        if len(items) > most:
            out.append(f"{key} holds {len(items)} entries; Discord takes at most {most}")
        long = [str(i) for i in items if not 1 <= len(str(i)) <= longest]
        if long:
            out.append(f"{key} entry {long[0][:30]!r} is not 1-{longest} characters")
    for key, most in (("exempt_roles", L.AUTOMOD_EXEMPT_ROLES), ("exempt_channels", L.AUTOMOD_EXEMPT_CHANNELS),
                      ("actions", L.AUTOMOD_ACTIONS)):
        if len(rule.get(key) or []) > most:
            out.append(f"{key} holds {len(rule.get(key) or [])}; Discord takes at most {most}")
    return out


def _body(rule: Mapping[str, Any], remap: Remap) -> dict[str, Any] | None:
    what = f"AutoMod rule {rule.get('name')}"
    actions = []
    for action in rule.get("actions") or []:
        meta = dict(action.get("metadata") or {})
        if action.get("type") == 2:
            channel = remap.channel(meta.get("channel_id"))
            if channel is None:
                remap.warnings.append(f"{what}: the channel its alerts go to "
                                      f"({remap.names.get(str(meta.get('channel_id')), meta.get('channel_id'))}) "
                                      "no longer exists; that action is left out.")
                continue
            meta["channel_id"] = channel
        actions.append({"type": action.get("type"), "metadata": meta})
    if not actions:
        remap.refused.append(f"{what} is not restored: none of its actions can be put back.")
        return None
    trigger = int(rule["trigger_type"])
    return {"name": rule["name"], "event_type": rule.get("event_type") or 1,
            "trigger_metadata": _metadata(trigger, rule.get("trigger_metadata") or {}), "actions": actions,
            "enabled": bool(rule.get("enabled")),
            "exempt_roles": remap.many(rule.get("exempt_roles") or [], "role", what),
            "exempt_channels": remap.many(rule.get("exempt_channels") or [], "channel", what)}


def _differs(body: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    now = {"name": live.get("name"), "event_type": live.get("event_type"),
           "trigger_metadata": _metadata(int(live.get("trigger_type") or 0), live.get("trigger_metadata") or {}),
           "actions": [{"type": a.get("type"), "metadata": {k: v for k, v in (a.get("metadata") or {}).items()
                                                            if v is not None}} for a in live.get("actions") or []],
           "enabled": bool(live.get("enabled")), "exempt_roles": sorted(live.get("exempt_roles") or []),
           "exempt_channels": sorted(live.get("exempt_channels") or [])}
    want = {**body, "exempt_roles": sorted(body["exempt_roles"]), "exempt_channels": sorted(body["exempt_channels"]),
            "actions": [{"type": a["type"], "metadata": {k: v for k, v in a["metadata"].items() if v is not None}}
                        for a in body["actions"]]}
    return {k: body[k] for k in body if not same(want[k], now[k])}


def plan(saved: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]], remap: Remap) -> list[Step]:
    """The steps that make the live rules match the snapshot's (see the module docstring)."""
    by_id = {str(r["id"]): r for r in live}
    matched: set[str] = set()
    steps: list[Step] = []
    creates: list[Step] = []
    for rule in saved:
        problems = limit_problems(rule)
        if problems:
            remap.refused.append(f"AutoMod rule {rule.get('name')} is not restored: " + "; ".join(problems)
                                 + " (Discord's AutoMod limits).")
            continue
        current = by_id.get(str(rule["id"])) or next(
            (r for r in live if str(r["id"]) not in matched and r.get("name") == rule["name"]
             and r.get("trigger_type") == rule["trigger_type"]), None)
        body = _body(rule, remap)
        if body is None:
            continue
        if current is not None:
            matched.add(str(current["id"]))
            fields = _differs(body, current)
            if fields:
                steps.append(Step("automod", "update", str(rule["name"]), str(current["id"]), fields))
        else:
            creates.append(Step("automod", "create", str(rule["name"]), None,
                                {**body, "trigger_type": rule["trigger_type"]}))
    deletes = [Step("automod", "delete", str(r.get("name")), str(r["id"])) for r in live
               if str(r["id"]) not in matched] if remap.prune else []
    deleted = {s.live_id for s in deletes}
    kept = [r for r in live if str(r["id"]) not in deleted]
    for trigger, most in L.AUTOMOD_MAX_RULES.items():
        wanted = [s for s in creates if s.body["trigger_type"] == trigger]
        room = max(most - sum(1 for r in kept if r.get("trigger_type") == trigger), 0)
        for step in wanted[room:]:
            creates.remove(step)
            remap.refused.append(
                f"AutoMod rule {step.name} is not re-created: Discord allows {most} {TRIGGERS[trigger]} "
                f"rule{'s' if most > 1 else ''} per server and the server would have more. Delete a live "
                f"{TRIGGERS[trigger]} rule, or restore with --prune-unmanaged.")
    return steps + deletes + creates
