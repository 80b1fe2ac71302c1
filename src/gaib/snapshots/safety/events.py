"""Planning scheduled events (pure).

A saved event still live (same id, else same name and start time) is updated when it differs (name,
description, times, channel or location); a missing one is re-created with its cover image when it
starts in the future, and listed as past (not re-created) otherwise. The channel of a stage or voice
event is remapped to the id it has now; an event whose channel is gone is refused. Discord allows at
most 100 scheduled or active events per server (:data:`gaib.discord.limits.EVENTS_MAX`): creates past
that are refused. Live events the snapshot does not hold are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gaib.discord import limits as L
from gaib.snapshots.safety.steps import Remap, Step, same


def when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        out = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return out if out.tzinfo is not None else out.replace(tzinfo=UTC)


def _body(event: Mapping[str, Any], remap: Remap) -> dict[str, Any] | None:
    body: dict[str, Any] = {"name": event["name"], "description": event.get("description"),
                            "scheduled_start_time": event.get("scheduled_start_time"),
                            "scheduled_end_time": event.get("scheduled_end_time"),
                            "privacy_level": event.get("privacy_level") or 2, "entity_type": event["entity_type"]}
    if event["entity_type"] == 3:
        body.update(channel_id=None, entity_metadata={"location": event.get("location") or ""})
        return body
    channel = remap.channel(event.get("channel_id"))
    if channel is None:
        remap.refused.append(f"Event {event['name']} is not restored: its channel "
                             f"{remap.names.get(str(event.get('channel_id')), '?')} no longer exists.")
        return None
    body["channel_id"] = channel
    return body


def _differs(body: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in body.items():
        now = live.get(key)
        if key.endswith("_time"):
            if when(value) != when(now):
                out[key] = value
        elif key == "entity_metadata":
            if not same(value, {"location": (now or {}).get("location")} if now else None):
                out[key] = value
        elif not same(value, now):
            out[key] = value
    return out


def plan(saved: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]],
         remap: Remap) -> tuple[list[Step], list[str]]:
    """The steps, and the saved events that are over (listed, not re-created)."""
    by_id = {str(e["id"]): e for e in live}
    steps: list[Step] = []
    creates: list[Step] = []
    past: list[str] = []
    matched: set[str] = set()
    for event in saved:
        current = by_id.get(str(event["id"])) or next(
            (e for e in live if str(e["id"]) not in matched and e.get("name") == event["name"]
             and when(e.get("scheduled_start_time")) == when(event.get("scheduled_start_time"))), None)
        if current is None:
            start = when(event.get("scheduled_start_time"))
            if start is None or start <= remap.now:
                past.append(f"{event['name']} ({event.get('scheduled_start_time')})")
                continue
        body = _body(event, remap)
        if body is None:
            continue
        if current is not None:
            matched.add(str(current["id"]))
            if current.get("status") == 1:
                fields = _differs(body, current)
                if fields:
                    steps.append(Step("events", "update", str(event["name"]), str(current["id"]), fields))
            continue
        creates.append(Step("events", "create", str(event["name"]), None, body,
                            media=str(event["image_sha256"]) if event.get("image_sha256") else None))
    room = max(L.EVENTS_MAX - sum(1 for e in live if e.get("status", 1) in (1, 2)), 0)
    for step in creates[room:]:
        remap.refused.append(f"Event {step.name} is not re-created: Discord allows {L.EVENTS_MAX} scheduled or "
                             "active events per server and the server would have more.")
    return steps + creates[:room], past
