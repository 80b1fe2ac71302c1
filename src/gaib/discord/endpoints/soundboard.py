"""Soundboard endpoints: list, create, modify and delete a guild's sounds (Discord's JSON objects).

Contract: a sound is uploaded as a data URI in JSON, checked before anything is sent (MP3 or Ogg, at
most 512 KiB: :data:`gaib.discord.limits.SOUND_MAX_BYTES`; a name of 2-32 characters; a volume of 0-1),
else InvalidInput. Sounds come back as Discord's sound objects with ``sound_id``; the list is the
``items`` of Discord's answer. ``dedupe=True`` as for emojis. A missing sound raises DiscordNotFound.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.endpoints.common import as_body, newest, parse, parse_list, require_guild, route
from gaib.errors import InvalidInput

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport

BASE = "/guilds/{guild_id}/soundboard-sounds"
ITEM = BASE + "/{sound_id}"


def audio_type(data: bytes) -> str | None:
    """``audio/mpeg`` or ``audio/ogg`` by the magic numbers, else None."""
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "audio/mpeg"
    return None


def _sound(data: dict[str, Any]) -> dict[str, Any]:
    str(data["sound_id"])
    return dict(data)


class Soundboard:
    """The soundboard sounds of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def _items(self) -> Any:
        data = self._transport.request(route("GET", BASE, guild_id=require_guild(self._guild_id)))
        return data.get("items") if isinstance(data, dict) else data

    def list_sounds(self) -> list[dict[str, Any]]:
        return parse_list("soundboard sound", _sound, self._items())

    def create_sound(self, name: str, sound: bytes, *, volume: float | None = None, emoji_id: str | None = None,
                     emoji_name: str | None = None, reason: str | None = None, dedupe: bool = False) -> dict[str, Any]:
        if not isinstance(name, str) or not 2 <= len(name) <= 32:
            raise InvalidInput(f"A soundboard sound's name is 2-32 characters, not {str(name)[:40]!r}.")
        if len(sound) > L.SOUND_MAX_BYTES:
            raise InvalidInput(f"Sound {name} is {len(sound)} bytes; Discord takes at most "
                               f"{L.SOUND_MAX_BYTES // 1024} KiB.")
        kind = audio_type(sound)
        if kind is None:
            raise InvalidInput(f"Sound {name} is not an MP3 or Ogg file.")
        body: dict[str, Any] = {"name": name, "sound": f"data:{kind};base64,{base64.b64encode(sound).decode()}"}
        if volume is not None:
            body["volume"] = min(max(float(volume), 0.0), 1.0)
        if emoji_id is not None:
            body["emoji_id"] = emoji_id
        elif emoji_name is not None:
            body["emoji_name"] = emoji_name
        post = route("POST", BASE, guild_id=require_guild(self._guild_id))
        probe = self._new_named(name) if dedupe else None
        return parse("soundboard sound", _sound, self._transport.request(post, body=body, reason=reason, probe=probe))

    def _new_named(self, name: str) -> Probe:
        known = {str(s.get("sound_id")) for s in (self._items() or []) if isinstance(s, dict)}

        def probe() -> Any:
            fresh = [dict(s, id=s.get("sound_id")) for s in (self._items() or [])
                     if isinstance(s, dict) and s.get("name") == name and str(s.get("sound_id")) not in known]
            found = newest(fresh)
            return {k: v for k, v in found.items() if k != "id"} if found is not None else None

        return probe

    def update_sound(self, sound_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        patch = route("PATCH", ITEM, guild_id=require_guild(self._guild_id), sound_id=sound_id)
        return parse("soundboard sound", _sound,
                     self._transport.request(patch, body=as_body(fields, "soundboard sound"), reason=reason))

    def delete_sound(self, sound_id: str, *, reason: str | None = None) -> None:
        self._transport.request(route("DELETE", ITEM, guild_id=require_guild(self._guild_id), sound_id=sound_id),
                                reason=reason)
