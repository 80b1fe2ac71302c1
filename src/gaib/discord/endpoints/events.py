"""Scheduled-event endpoints: list (with ``with_user_count``), create and modify a guild's events.

Contract: events come back as Discord's event objects, checked to be JSON objects with an id;
``dedupe=True`` reads the events first and, after a failure the server may have processed, returns a
new event of that name instead of creating it again. A missing event raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord.endpoints.automod import raw_object
from gaib.discord.endpoints.common import as_body, parse, parse_list, require_guild, route
from gaib.discord.endpoints.emojis import new_named

if TYPE_CHECKING:
    from gaib.discord.transport import Transport

BASE = "/guilds/{guild_id}/scheduled-events"
ITEM = BASE + "/{guild_scheduled_event_id}"


class Events:
    """The scheduled events of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def _list_raw(self, with_user_count: bool = False) -> Any:
        get = route("GET", BASE, guild_id=require_guild(self._guild_id))
        return self._transport.request(get, query={"with_user_count": "true"} if with_user_count else None)

    def list_events(self, *, with_user_count: bool = False) -> list[dict[str, Any]]:
        return parse_list("scheduled event", raw_object, self._list_raw(with_user_count))

    def create_event(self, fields: Mapping[str, Any], *, reason: str | None = None,
                     dedupe: bool = False) -> dict[str, Any]:
        body = as_body(fields, "scheduled event")
        post = route("POST", BASE, guild_id=require_guild(self._guild_id))
        probe = new_named(self._list_raw, str(body.get("name"))) if dedupe else None
        return parse("scheduled event", raw_object,
                     self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_event(self, event_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        patch = route("PATCH", ITEM, guild_id=require_guild(self._guild_id), guild_scheduled_event_id=event_id)
        return parse("scheduled event", raw_object,
                     self._transport.request(patch, body=as_body(fields, "scheduled event"), reason=reason))
