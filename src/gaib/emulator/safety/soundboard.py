"""Soundboard sounds: ``/guilds/{id}/soundboard-sounds`` (list, create, get, modify, delete) and their
audio on the CDN (``soundboard-sounds/{sound_id}``).

Discord's rules kept here (sources: the OpenAPI spec's ``SoundboardCreateRequest``; discord-api-docs
``resources/soundboard`` at c98d64bc, "Create Guild Soundboard Sound": MP3 or Ogg, at most 512 KiB;
Discord's "Server Boosting" FAQ for the slots; JSON error codes 30045 and 10097):

* a name of 2-32 characters, ``volume`` 0-1 (default 1), an emoji by id or by unicode name (1-32);
* the sound as a ``data:audio/mpeg|ogg;base64,…`` URI of at most 512 KiB (50035 BINARY_TYPE_MAX_SIZE);
* 8 sounds per guild, 24 at boost level 1, 36 at level 2, 48 at level 3: one more is 400 with 30045.
"""

from __future__ import annotations

from typing import Any

from gaib.discord import limits as L
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import Fields, require_object
from gaib.emulator.safety.common import decode_audio
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.settings import SettingsStore

UNKNOWN_SOUND = 10097
MAX_SOUNDS = 30045
SOUND_MAX_BYTES = L.SOUND_MAX_BYTES
SOUND_SLOTS = L.SOUND_SLOTS
USER = {"id": "100000000000000001", "username": "gaib", "avatar": None, "discriminator": "0", "public_flags": 0,
        "flags": 0, "bot": True, "global_name": None, "primary_guild": None}


class SoundStore:
    """Sounds by id (Discord's response shape) and their audio bytes by id."""

    def __init__(self, ctx: GuildContext, settings: SettingsStore) -> None:
        self.ctx, self.settings = ctx, settings
        self.by_id: dict[str, dict[str, Any]] = {}
        self.audio: dict[str, bytes] = {}

    def reset(self) -> None:
        self.by_id, self.audio = {}, {}

    def listing(self) -> dict[str, Any]:
        return {"items": [dict(s) for s in sorted(self.by_id.values(), key=lambda s: int(s["sound_id"]))]}

    def get(self, sound_id: str) -> dict[str, Any]:
        sound = self.by_id.get(sound_id)
        if sound is None:
            raise ApiError(404, UNKNOWN_SOUND, "Unknown Sound")
        return dict(sound)

    def create(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        sound: dict[str, Any] = {"name": "", "sound_id": self.ctx.ids.next(), "volume": 1.0, "emoji_id": None,
                                 "emoji_name": None, "guild_id": self.ctx.guild_id, "available": True, "user": USER}
        self._fields(data, errs, sound, creating=True)
        audio = decode_audio(errs, "sound", data.get("sound"), SOUND_MAX_BYTES) if "sound" in data else None
        if "sound" not in data:
            errs.add(("sound",), "BASE_TYPE_REQUIRED", "This field is required")
        errs.raise_if_any()
        slots = SOUND_SLOTS[self.settings.premium_tier]
        if len(self.by_id) >= slots:
            raise ApiError(400, MAX_SOUNDS, f"Maximum number of soundboard sounds reached ({slots})")
        assert audio is not None
        self.by_id[sound["sound_id"]] = sound
        self.audio[sound["sound_id"]] = audio
        self.ctx.changed()
        return dict(sound)

    def update(self, sound_id: str, body: Any) -> dict[str, Any]:
        sound = self.get(sound_id)
        errs = FormErrors()
        self._fields(require_object(body), errs, sound, creating=False)
        errs.raise_if_any()
        self.by_id[sound_id] = sound
        self.ctx.changed()
        return dict(sound)

    def delete(self, sound_id: str) -> None:
        self.get(sound_id)
        del self.by_id[sound_id]
        self.audio.pop(sound_id, None)
        self.ctx.changed()

    def _fields(self, data: dict[str, Any], errs: FormErrors, sound: dict[str, Any], *, creating: bool) -> None:
        f = Fields(data, errs)
        name = f.string("name", 2, 32, required=creating, nullable=False)
        if isinstance(name, str):
            sound["name"] = name
        volume = data.get("volume")
        if "volume" in data and volume is not None:
            if isinstance(volume, bool) or not isinstance(volume, int | float) or not 0 <= volume <= 1:
                errs.add(("volume",), "NUMBER_TYPE_MAX", "Must be a number between 0 and 1.")
            else:
                sound["volume"] = float(volume)
        emoji_id = f.snowflake("emoji_id")
        if emoji_id is None or isinstance(emoji_id, str):
            sound["emoji_id"] = emoji_id
        emoji_name = f.string("emoji_name", 1, 32)
        if emoji_name is None or isinstance(emoji_name, str):
            sound["emoji_name"] = emoji_name
