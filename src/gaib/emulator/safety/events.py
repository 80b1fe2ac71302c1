"""Scheduled events: ``/guilds/{id}/scheduled-events`` (list with ``with_user_count``, create, get,
modify, delete) and their cover images on the CDN (``guild-events/{event}/{hash}.png``).

Discord's rules kept here (sources: the OpenAPI spec's ``*ScheduledEventCreateRequest`` schemas;
discord-api-docs ``resources/guild-scheduled-event`` at c98d64bc; JSON error codes 30038 and 10070):

* at most 100 events with status SCHEDULED (1) or ACTIVE (2) per guild: one more is 400 with 30038;
* a name of 1-100 characters, a description of at most 1000, ``privacy_level`` 2 (guild only);
* ``entity_type`` 1 (stage: a stage channel), 2 (voice: a voice channel) or 3 (external: no channel,
  ``entity_metadata.location`` of 1-100 characters and a ``scheduled_end_time``);
* a new event starts in the future and ends after it starts;
* status moves SCHEDULED → ACTIVE or CANCELED (4), ACTIVE → COMPLETED (3); completed and canceled events
  leave the list. An unknown event is 404 with code 10070.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gaib.discord import limits as L
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import MISSING, Fields, require_object
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.images import decode_data_uri, image_hash

UNKNOWN_EVENT = 10070
MAX_EVENTS = 30038
EVENT_LIMIT = L.EVENTS_MAX
CREATOR_ID = "100000000000000001"
_CHANNEL_TYPES = {1: 13, 2: 2}
_NEXT = {1: (2, 4), 2: (3,)}


def _time(errs: FormErrors, key: str, value: Any) -> datetime | None:
    if not isinstance(value, str):
        errs.add((key,), "DATE_TYPE_PARSE", "Could not parse date.")
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errs.add((key,), "DATE_TYPE_PARSE", f'Could not parse "{value[:40]}".')
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class EventStore:
    """Scheduled and active events by id, in Discord's response shape; cover images by CDN path."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore) -> None:
        self.ctx, self.channels = ctx, channels
        self.by_id: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}

    def reset(self) -> None:
        self.by_id, self.images = {}, {}

    def listing(self, with_user_count: bool) -> list[dict[str, Any]]:
        out = []
        for event in sorted(self.by_id.values(), key=lambda e: int(e["id"])):
            shown = dict(event)
            if with_user_count:
                shown["user_count"] = 0
            out.append(shown)
        return out

    def get(self, event_id: str) -> dict[str, Any]:
        event = self.by_id.get(event_id)
        if event is None:
            raise ApiError(404, UNKNOWN_EVENT, "Unknown Guild Scheduled Event")
        return dict(event)

    def create(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        kind = f.integer("entity_type", required=True, choices=(1, 2, 3))
        f.integer("privacy_level", required=True, choices=(2,))
        event: dict[str, Any] = {
            "id": self.ctx.ids.next(), "guild_id": self.ctx.guild_id, "name": "", "description": None,
            "channel_id": None, "creator_id": CREATOR_ID, "image": None, "scheduled_start_time": None,
            "scheduled_end_time": None, "status": 1, "entity_type": kind if isinstance(kind, int) else 3,
            "entity_id": None, "recurrence_rule": None, "privacy_level": 2, "guild_scheduled_event_exceptions": [],
            "entity_metadata": None}
        image = self._fields(data, errs, event, creating=True)
        now = datetime.fromtimestamp(self.ctx.clock(), UTC)
        start = event["scheduled_start_time"]
        if isinstance(start, str) and datetime.fromisoformat(start) <= now:
            errs.add(("scheduled_start_time",), "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                     "Cannot schedule event in the past.")
        errs.raise_if_any()
        if sum(1 for e in self.by_id.values() if e["status"] in (1, 2)) >= EVENT_LIMIT:
            raise ApiError(400, MAX_EVENTS, f"Maximum number of uncompleted guild scheduled events reached "
                                            f"({EVENT_LIMIT})")
        self._keep_image(event, image)
        self.by_id[event["id"]] = event
        self.ctx.changed()
        return dict(event)

    def update(self, event_id: str, body: Any) -> dict[str, Any]:
        event = self.get(event_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        kind = f.integer("entity_type", choices=(1, 2, 3))
        if isinstance(kind, int):
            event["entity_type"] = kind
        status = f.integer("status", choices=(1, 2, 3, 4))
        if isinstance(status, int) and status != event["status"] and status not in _NEXT.get(event["status"], ()):
            errs.add(("status",), "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION", "Invalid status transition.")
        image = self._fields(data, errs, event, creating=False)
        errs.raise_if_any()
        self._keep_image(event, image)
        if isinstance(status, int):
            event["status"] = status
        if event["status"] in (3, 4):
            self.by_id.pop(event_id, None)
        else:
            self.by_id[event_id] = event
        self.ctx.changed()
        return dict(event)

    def delete(self, event_id: str) -> None:
        self.get(event_id)
        del self.by_id[event_id]
        self.ctx.changed()

    def forget_channel(self, channel_id: str) -> None:
        """Part of deleting a channel: the events it hosts go (Discord cancels them)."""
        for ident in [i for i, e in self.by_id.items() if e["channel_id"] == channel_id]:
            del self.by_id[ident]

    def _keep_image(self, event: dict[str, Any], image: bytes | object | None) -> None:
        if isinstance(image, bytes):
            digest = image_hash(image)
            self.images[f"guild-events/{event['id']}/{digest}.png"] = image
            event["image"] = digest
        elif image is None:
            event["image"] = None

    def _fields(self, data: dict[str, Any], errs: FormErrors, event: dict[str, Any], *,
                creating: bool) -> bytes | object | None:
        f = Fields(data, errs)
        name = f.string("name", 1, 100, required=creating, nullable=False)
        if isinstance(name, str):
            event["name"] = name
        description = f.string("description", 0, 1000)
        if description is None or isinstance(description, str):
            event["description"] = description
        for key in ("scheduled_start_time", "scheduled_end_time"):
            raw = f._raw(key, key == "scheduled_start_time" and creating, key == "scheduled_end_time")
            if raw is None and key == "scheduled_end_time":
                event[key] = None
            elif raw is not MISSING:
                when = _time(errs, key, raw)
                if when is not None:
                    event[key] = when.astimezone(UTC).isoformat()
        start, end = event["scheduled_start_time"], event["scheduled_end_time"]
        if isinstance(start, str) and isinstance(end, str) and end <= start:
            errs.add(("scheduled_end_time",), "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                     "The end time must be after the start time.")
        channel = f.snowflake("channel_id")
        if channel is None or isinstance(channel, str):
            event["channel_id"] = channel
        meta = f.obj("entity_metadata")
        kind = event["entity_type"]
        if kind == 3:
            location = Fields(meta if isinstance(meta, dict) else {}, errs, ("entity_metadata",)).string(
                "location", 1, 100, required=creating or meta is not MISSING)
            if isinstance(location, str):
                event["entity_metadata"] = {"location": location}
            if event["channel_id"] is not None:
                errs.add(("channel_id",), "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL", "External events have no channel.")
            if event["scheduled_end_time"] is None:
                errs.add(("scheduled_end_time",), "BASE_TYPE_REQUIRED", "External events need an end time.")
        else:
            event["entity_metadata"] = None
            record = self.channels.by_id.get(str(event["channel_id"]))
            if record is None or record.type != _CHANNEL_TYPES[kind]:
                errs.add(("channel_id",), "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL",
                         f"Must be a {'stage' if kind == 1 else 'voice'} channel of this server.")
        raw_image = f.string("image", 0, 20_000_000)
        if raw_image is MISSING:
            return MISSING
        if raw_image is None:
            return None
        return decode_data_uri(errs, "image", raw_image, L.GUILD_IMAGE_MAX_BYTES)
