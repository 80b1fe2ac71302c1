"""Planning the onboarding and the welcome screen (pure).

**Onboarding**: the snapshot's prompts (options with their roles and channels remapped to the ids they
have now), default channels (remapped), mode and enabled, sent in one PUT when they differ from the
live onboarding (compared without the ids Discord gives prompts and options). A role or channel that is
gone is left out with a warning. Discord's requirements are checked first (:mod:`gaib.discord.limits`):
enabled onboarding needs at least 7 channels — its default channels, plus the prompts' channels in
mode 1 — of which 5 let @everyone send messages (as they did when the snapshot was taken); short of
that the onboarding is refused with a message, nothing is sent.

**Welcome screen**: description, welcome channels (remapped; a gone one is left out) and enabled, in one
PATCH when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gaib.discord import limits as L
from gaib.snapshots.safety.steps import Remap, Step, same


def _option(option: Mapping[str, Any], remap: Remap, what: str) -> dict[str, Any]:
    raw = option.get("emoji")
    emoji: dict[str, Any] = raw if isinstance(raw, dict) else {}
    out: dict[str, Any] = {"id": option.get("id"), "title": option.get("title"),
                           "description": option.get("description") or None,
                           "role_ids": remap.many(option.get("role_ids") or [], "role", what),
                           "channel_ids": remap.many(option.get("channel_ids") or [], "channel", what)}
    if emoji.get("id"):
        out.update(emoji_id=str(emoji["id"]), emoji_name=emoji.get("name"), emoji_animated=bool(emoji.get("animated")))
    elif emoji.get("name"):
        out["emoji_name"] = emoji["name"]
    return out


def _prompts(prompts: Sequence[Mapping[str, Any]], remap: Remap) -> list[dict[str, Any]]:
    return [{"id": p.get("id"), "title": p.get("title"), "single_select": bool(p.get("single_select")),
             "required": bool(p.get("required")), "in_onboarding": p.get("in_onboarding") is not False,
             "type": p.get("type") or 0,
             "options": [_option(o, remap, f"Onboarding prompt {p.get('title')}") for o in p.get("options") or []]}
            for p in prompts]


def _shape(body: Mapping[str, Any]) -> dict[str, Any]:
    """What the comparison looks at: everything but the ids Discord assigns."""
    def option(o: Mapping[str, Any]) -> dict[str, Any]:
        raw = o.get("emoji")
        emoji: dict[str, Any] = raw if isinstance(raw, dict) else {"id": o.get("emoji_id"), "name": o.get("emoji_name")}
        return {"title": o.get("title"), "description": o.get("description") or None,
                "emoji": [emoji.get("id"), emoji.get("name")], "role_ids": sorted(o.get("role_ids") or []),
                "channel_ids": sorted(o.get("channel_ids") or [])}

    return {"enabled": bool(body.get("enabled")), "mode": body.get("mode") or 0,
            "default_channel_ids": sorted(body.get("default_channel_ids") or []),
            "prompts": [{"title": p.get("title"), "single_select": bool(p.get("single_select")),
                         "required": bool(p.get("required")), "in_onboarding": p.get("in_onboarding") is not False,
                         "type": p.get("type") or 0, "options": [option(o) for o in p.get("options") or []]}
                        for p in body.get("prompts") or []]}


def requirement_problem(body: Mapping[str, Any], sendable: set[str]) -> str | None:
    """Why enabled onboarding ``body`` misses Discord's requirements (``sendable``: channel ids now in which
    @everyone may send messages), or None."""
    if not body.get("enabled"):
        return None
    counted = list(body.get("default_channel_ids") or [])
    if body.get("mode") == 1:
        counted += [c for p in body.get("prompts") or [] for o in p.get("options") or [] for c in o["channel_ids"]]
    channels = list(dict.fromkeys(counted))
    open_ = [c for c in channels if c in sendable]
    if len(channels) >= L.ONBOARDING_MIN_CHANNELS and len(open_) >= L.ONBOARDING_MIN_SENDABLE:
        return None
    return (f"enabled onboarding needs at least {L.ONBOARDING_MIN_CHANNELS} default channels, "
            f"{L.ONBOARDING_MIN_SENDABLE} of which @everyone may send messages in (Discord's onboarding "
            f"requirements); restored it would have {len(channels)}, {len(open_)} of them open to @everyone")


def plan_onboarding(saved: Mapping[str, Any] | None, sendable_then: Sequence[str], live: Mapping[str, Any] | None,
                    remap: Remap) -> list[Step]:
    if saved is None:
        return []
    what = "Onboarding"
    prompts = saved.get("prompts") or []
    if len(prompts) > 15 or any(len(p.get("options") or []) > 50 for p in prompts):
        remap.refused.append("Onboarding is not restored: Discord takes at most 15 prompts of at most 50 options.")
        return []
    body = {"prompts": _prompts(prompts, remap),
            "default_channel_ids": remap.many(saved.get("default_channel_ids") or [], "channel", what),
            "enabled": bool(saved.get("enabled")), "mode": saved.get("mode") or 0}
    sendable = {c for c in (remap.channel(old) for old in sendable_then) if c is not None}
    problem = requirement_problem(body, sendable)
    if problem is not None:
        remap.refused.append(f"Onboarding is not restored: {problem}.")
        return []
    if live is not None and same(_shape(body), _shape(live)):
        return []
    return [Step("onboarding", "put", "onboarding", None, body)]


def plan_welcome(saved: Mapping[str, Any] | None, live: Mapping[str, Any] | None, live_enabled: bool,
                 remap: Remap) -> list[Step]:
    if saved is None:
        return []
    channels = []
    for w in saved.get("welcome_channels") or []:
        channel = remap.channel(w.get("channel_id"))
        if channel is None:
            remap.warnings.append(f"Welcome screen: the channel {remap.names.get(str(w.get('channel_id')), '?')} "
                                  "no longer exists and is left out.")
            continue
        channels.append({"channel_id": channel, "description": w.get("description"),
                         "emoji_id": w.get("emoji_id"), "emoji_name": w.get("emoji_name")})
    body = {"description": saved.get("description"), "welcome_channels": channels[:5],
            "enabled": bool(saved.get("enabled"))}
    now = {"description": (live or {}).get("description"), "enabled": live_enabled,
           "welcome_channels": [{k: w.get(k) for k in ("channel_id", "description", "emoji_id", "emoji_name")}
                                for w in (live or {}).get("welcome_channels") or []]}
    if same(body, now):
        return []
    return [Step("welcome", "update", "welcome screen", None, body)]
