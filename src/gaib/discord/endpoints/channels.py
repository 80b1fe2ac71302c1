"""Channel endpoints: list, get, create (optionally deduplicated), update, delete and move a guild's
channels, and set or remove their permission overwrites.

Contract: channel lists come back sorted by (position, id), without channel types Gaib does not model;
``create_channel(dedupe=True)`` never creates a second channel with the same name, type and parent when
a retried POST had in fact been processed; a name or topic edit waits for the channel's
2-per-10-minutes window rather than be refused; a missing channel raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.endpoints.common import as_body, newest, parse, parse_list, require_guild, route
from gaib.discord.models import Channel, ChannelType, Overwrite, overwrite_body
from gaib.errors import InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport


class Channels:
    """The channels of the guild ``guild_id`` and their overwrites, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_channels(self) -> list[Channel]:
        """Every guild channel (no threads), by (position, id). Channel types Gaib does not model are
        skipped."""
        data = self.list_channels_raw()
        known = {int(t) for t in ChannelType}
        items = [c for c in (data or []) if not isinstance(c, dict) or c.get("type") in known]
        channels = parse_list("channel", Channel.from_api, items)
        return sorted(channels, key=lambda c: (c.position, int(c.id)))

    def list_channels_raw(self) -> Any:
        """The channel list as Discord sent it (a dedupe probe reads it)."""
        gid = require_guild(self._guild_id)
        return self._transport.request(route("GET", "/guilds/{guild_id}/channels", guild_id=gid))

    def get_channel(self, channel_id: str) -> Channel:
        """One channel; raises DiscordNotFound (code 10003) when it does not exist."""
        data = self._transport.request(route("GET", "/channels/{channel_id}", channel_id=channel_id))
        return parse("channel", Channel.from_api, data)

    def create_channel(self, fields: Mapping[str, Any], *, reason: str | None = None,
                       dedupe: bool = False) -> Channel:
        """Create a channel from a body such as :func:`gaib.discord.models.channel_body` returns
        (``name`` required; ``type``, ``parent_id`` and ``permission_overwrites`` inline).

        ``dedupe=True`` works as in :meth:`gaib.discord.endpoints.roles.Roles.create_role`: after a
        failure the server may have processed, the channels are re-listed and an existing channel with
        the same name, type and parent is returned instead of POSTing again.
        """
        body = as_body(fields, "channel")
        if not isinstance(body.get("name"), str):
            raise InvalidInput("A channel needs a name.")
        parent = body.get("parent_id")
        if parent is not None:
            check_snowflake(parent, "parent id")
        probe: Probe | None = None
        if dedupe:
            name, ctype = body["name"], int(body.get("type") or 0)

            def probe() -> Any:
                return newest(
                    c for c in (self.list_channels_raw() or [])
                    if isinstance(c, dict) and c.get("name") == name and c.get("type") == ctype
                    and (c.get("parent_id") or None) == (parent or None))

        post = route("POST", "/guilds/{guild_id}/channels", guild_id=require_guild(self._guild_id))
        return parse("channel", Channel.from_api,
                     self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_channel(self, channel_id: str, fields: Mapping[str, Any], *,
                       reason: str | None = None) -> Channel:
        """PATCH a channel with the given fields; returns the updated channel.

        A body with ``name`` or ``topic`` counts against the channel's 2-per-10-minutes name/topic
        limit: the transport waits for it (telling the wait listener) rather than be refused."""
        patch = route("PATCH", "/channels/{channel_id}", channel_id=channel_id)
        body = as_body(fields, "channel")
        sub = channel_id if any(name in body for name in L.NAME_TOPIC_FIELDS) else None
        data = self._transport.request(patch, body=body, reason=reason, sub=sub)
        return parse("channel", Channel.from_api, data)

    def delete_channel(self, channel_id: str, *, reason: str | None = None) -> Channel | None:
        """Delete a channel and return it as it was (None when a retry found it deleted by the first
        try, whose answer was lost). Children of a deleted category lose their parent."""
        delete = route("DELETE", "/channels/{channel_id}", channel_id=channel_id)
        data = self._transport.request(delete, reason=reason)
        return None if data is None else parse("channel", Channel.from_api, data)

    def reorder_channels(self, moves: Iterable[Mapping[str, Any]], *, reason: str | None = None) -> None:
        """Move channels: each move is ``{id, position?, parent_id?, lock_permissions?}``.

        Discord accepts at most one ``parent_id`` change per request (40009), so moves that carry a
        ``parent_id`` are sent one per request, after one request with all position-only moves.
        """
        plain: list[dict[str, Any]] = []
        reparent: list[dict[str, Any]] = []
        for move in moves:
            entry = as_body(move, "channel move")
            check_snowflake(entry.get("id"), "channel id")
            unknown = set(entry) - {"id", "position", "parent_id", "lock_permissions"}
            if unknown:
                raise InvalidInput(f"Unknown channel move fields: {', '.join(sorted(unknown))}.")
            position = entry.get("position")
            if position is not None and (not isinstance(position, int) or position < 0):
                raise InvalidInput(f"Invalid position {position!r} for channel {entry['id']}.")
            if "parent_id" in entry:
                if entry["parent_id"] is not None:
                    check_snowflake(entry["parent_id"], "parent id")
                reparent.append(entry)
            else:
                plain.append(entry)
        patch = route("PATCH", "/guilds/{guild_id}/channels", guild_id=require_guild(self._guild_id))
        batches = ([plain] if plain else []) + [[entry] for entry in reparent]
        for batch in batches:
            self._transport.request(patch, body=batch, reason=reason)

    # -- permission overwrites --------------------------------------------------------------------

    def set_overwrite(self, channel_id: str, overwrite: Overwrite, *, reason: str | None = None) -> None:
        """Create or replace the overwrite for ``overwrite.id`` on a channel (PUT, 204)."""
        put = route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}",
                    channel_id=channel_id, overwrite_id=overwrite.id)
        self._transport.request(put, body=overwrite_body(overwrite), reason=reason)

    def delete_overwrite(self, channel_id: str, target_id: str, *, reason: str | None = None) -> None:
        """Remove the overwrite for a role or member from a channel (DELETE, 204)."""
        delete = route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}",
                       channel_id=channel_id, overwrite_id=target_id)
        self._transport.request(delete, reason=reason)
