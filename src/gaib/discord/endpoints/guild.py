"""Guild endpoints: the guild with its roles and channels, and the guild's settings.

Contract: ``get_guild`` reads the guild object and the channel list (concurrently unless the transport
is strictly sequential) and returns roles and channels sorted by (position, id), with the guild's
settings from the same guild object (``Guild.settings``: no second GET for a snapshot); a guild object
without its roles costs a GET of the roles. A guild that does not exist, or that the bot is not in,
raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord.community import GuildSettings
from gaib.discord.endpoints.common import parse, parse_list, require_guild, route
from gaib.discord.endpoints.roles import by_position
from gaib.discord.models import Guild, Role
from gaib.errors import DiscordError, InvalidInput
from gaib.interrupt import Workers

if TYPE_CHECKING:
    from gaib.discord.endpoints.channels import Channels
    from gaib.discord.endpoints.roles import Roles
    from gaib.discord.transport import Transport


class GuildEndpoints:
    """The guild ``guild_id`` itself; its roles and channels are read through ``roles`` and ``channels``."""

    def __init__(self, transport: Transport, guild_id: str | None, *, roles: Roles, channels: Channels) -> None:
        self._transport = transport
        self._guild_id = guild_id
        self._roles = roles
        self._channels = channels

    def get_guild(self) -> Guild:
        """The guild with its roles, channels and settings: two GETs, sent together (the guild object
        carries its roles and settings; a guild object without roles costs a third GET of the roles)."""
        gid = require_guild(self._guild_id)

        def guild() -> tuple[str, list[Role], GuildSettings | None]:
            data = self._transport.request(route("GET", "/guilds/{guild_id}", guild_id=gid))
            name = parse("guild", lambda d: str(d["name"]), data)
            try:
                settings: GuildSettings | None = parse("guild", GuildSettings.from_api, data)
            except DiscordError:
                settings = None  # get_guild_settings reads it again and reports what is wrong with it
            raw = data.get("roles") if isinstance(data, dict) else None
            if not isinstance(raw, list):
                return name, self._roles.list_roles(), settings
            return name, by_position(parse_list("role", Role.from_api, raw)), settings

        if self._transport.max_concurrency == 1:
            name, roles, settings = guild()
            return Guild(id=gid, name=name, roles=tuple(roles), channels=tuple(self._channels.list_channels()),
                         settings=settings)
        with Workers(max_workers=2, thread_name_prefix="gaib-read") as pool:
            got, channels = pool.submit(guild), pool.submit(self._channels.list_channels)
            name, roles, settings = got.result()
            return Guild(id=gid, name=name, roles=tuple(roles), channels=tuple(channels.result()), settings=settings)

    def get_guild_settings(self) -> GuildSettings:
        """GET /guilds/{id}: the settings of the guild object."""
        data = self._transport.request(route("GET", "/guilds/{guild_id}", guild_id=require_guild(self._guild_id)))
        return parse("guild", GuildSettings.from_api, data)

    def update_guild_settings(self, fields: Mapping[str, Any], *, reason: str | None = None) -> GuildSettings:
        """PATCH /guilds/{id} with Discord's field names; returns the settings Discord answered with."""
        if not isinstance(fields, Mapping) or not fields:
            raise InvalidInput("A guild settings change needs at least one field.")
        patch = route("PATCH", "/guilds/{guild_id}", guild_id=require_guild(self._guild_id))
        return parse("guild", GuildSettings.from_api,
                     self._transport.request(patch, body=dict(fields), reason=reason))
