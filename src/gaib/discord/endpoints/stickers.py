"""Sticker endpoints: list, upload, update and delete a guild's stickers.

Contract: an upload is checked before anything is sent (a PNG, APNG, GIF or Lottie JSON file of at most
512 KiB), else InvalidInput; it goes as multipart form data (``name``, ``tags``, ``description``,
``file``). A missing sticker raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import Sticker, image_type
from gaib.discord.endpoints.common import parse, parse_list, require_guild, route
from gaib.discord.endpoints.emojis import new_named
from gaib.errors import InvalidInput

if TYPE_CHECKING:
    from gaib.discord.transport import Transport

_STICKER_TYPES = {"image/png": "png", "image/gif": "gif", "application/json": "json"}


class Stickers:
    """The stickers of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_raw(self) -> Any:
        gid = require_guild(self._guild_id)
        return self._transport.request(route("GET", "/guilds/{guild_id}/stickers", guild_id=gid))

    def list_stickers(self) -> list[Sticker]:
        return parse_list("sticker", Sticker.from_api, self.list_raw())

    def create_sticker(self, name: str, tags: str, description: str | None, image: bytes, *,
                       reason: str | None = None, dedupe: bool = False) -> Sticker:
        """POST /guilds/{id}/stickers as multipart form data (``name``, ``tags``, ``description``, ``file``)."""
        if len(image) > L.STICKER_MAX_BYTES:
            raise InvalidInput(f"The file of sticker {str(name)[:30]} is {len(image)} bytes; Discord takes at "
                               f"most {L.STICKER_MAX_BYTES // 1024} KiB.")
        kind = image_type(image)
        if kind not in _STICKER_TYPES:
            raise InvalidInput(f"The file of sticker {str(name)[:30]} is not a PNG, APNG, GIF or Lottie JSON file.")
        body = {"name": name, "tags": tags, "description": description or ""}
        post = route("POST", "/guilds/{guild_id}/stickers", guild_id=require_guild(self._guild_id))
        files = {"file": (f"sticker.{_STICKER_TYPES[kind]}", image, kind)}
        probe = new_named(self.list_raw, name) if dedupe else None
        return parse("sticker", Sticker.from_api,
                     self._transport.request(post, body=body, reason=reason, files=files, probe=probe))

    def update_sticker(self, sticker_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Sticker:
        patch = route("PATCH", "/guilds/{guild_id}/stickers/{sticker_id}", guild_id=require_guild(self._guild_id),
                      sticker_id=sticker_id)
        return parse("sticker", Sticker.from_api, self._transport.request(patch, body=dict(fields), reason=reason))

    def delete_sticker(self, sticker_id: str, *, reason: str | None = None) -> None:
        delete = route("DELETE", "/guilds/{guild_id}/stickers/{sticker_id}",
                       guild_id=require_guild(self._guild_id), sticker_id=sticker_id)
        self._transport.request(delete, reason=reason)
