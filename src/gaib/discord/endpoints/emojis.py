"""Emoji endpoints: list, upload, update and delete a guild's custom emojis.

Contract: an upload is checked before anything is sent (a 2-32 character name of letters, digits or
underscores; a PNG, GIF, JPEG or WebP image of at most 256 KiB; role ids that are snowflakes), else
InvalidInput; the image goes as a data URI. A missing emoji raises DiscordNotFound. ``dedupe=True`` reads
the emojis before the upload and, after a failure the server may have processed, returns a new emoji of
that name instead of uploading it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import Emoji, data_uri, image_type
from gaib.discord.endpoints.common import newest, parse, parse_list, require_guild, route
from gaib.errors import InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport

EMOJI_NAME = re.compile(r"[A-Za-z0-9_]{2,32}")


class Emojis:
    """The custom emojis of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_raw(self) -> Any:
        gid = require_guild(self._guild_id)
        return self._transport.request(route("GET", "/guilds/{guild_id}/emojis", guild_id=gid))

    def list_emojis(self) -> list[Emoji]:
        return parse_list("emoji", Emoji.from_api, self.list_raw())

    def create_emoji(self, name: str, image: bytes, *, roles: Sequence[str] = (),
                     reason: str | None = None, dedupe: bool = False) -> Emoji:
        """POST /guilds/{id}/emojis with the image as a data URI (at most 256 KiB; InvalidInput otherwise)."""
        if not isinstance(name, str) or not EMOJI_NAME.fullmatch(name):
            raise InvalidInput(f"An emoji name is 2-32 letters, digits or underscores, not {str(name)[:40]!r}.")
        if len(image) > L.EMOJI_MAX_BYTES:
            raise InvalidInput(f"The image of emoji {name} is {len(image)} bytes; Discord takes at most "
                               f"{L.EMOJI_MAX_BYTES // 1024} KiB.")
        if image_type(image) not in ("image/png", "image/gif", "image/jpeg", "image/webp"):
            raise InvalidInput(f"The image of emoji {name} is not a PNG, GIF, JPEG or WebP image.")
        body = {"name": name, "image": data_uri(image), "roles": [check_snowflake(r, "role id") for r in roles]}
        post = route("POST", "/guilds/{guild_id}/emojis", guild_id=require_guild(self._guild_id))
        probe = new_named(self.list_raw, name) if dedupe else None
        return parse("emoji", Emoji.from_api, self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_emoji(self, emoji_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Emoji:
        patch = route("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}", guild_id=require_guild(self._guild_id),
                      emoji_id=emoji_id)
        return parse("emoji", Emoji.from_api, self._transport.request(patch, body=dict(fields), reason=reason))

    def delete_emoji(self, emoji_id: str, *, reason: str | None = None) -> None:
        delete = route("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}", guild_id=require_guild(self._guild_id),
                       emoji_id=emoji_id)
        self._transport.request(delete, reason=reason)


def new_named(list_raw: Callable[[], Any], name: str) -> Probe:
    """A probe for a create of an object named ``name`` in a guild list (emojis, stickers): lists it now,
    and after a failure returns the newest object of that name the list did not hold."""
    known = {str(o.get("id")) for o in (list_raw() or []) if isinstance(o, dict)}

    def probe() -> Any:
        return newest(o for o in (list_raw() or [])
                      if isinstance(o, dict) and o.get("name") == name and str(o.get("id")) not in known)

    return probe
