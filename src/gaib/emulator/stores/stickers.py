"""The guild's stickers.

Discord's rules kept here: created from a multipart form (``name`` 2-30, ``tags`` 1-200,
``description`` empty or 2-100, ``file`` PNG, APNG, GIF or Lottie JSON of at most 512 KiB), edited
as JSON; 5/15/30/60 stickers per boost level (30039 beyond); unknown ids raise 404 10060. Files are
served by the CDN (``stickers/{id}.png``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaib.discord import limits as L
from gaib.discord.community import image_type
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import MISSING, Fields, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.settings import SettingsStore

_STICKER_FORMATS = {"image/png": 1, "application/json": 3, "image/gif": 4}


@dataclass
class StickerRec:
    id: str
    name: str
    tags: str
    description: str | None
    format_type: int
    data: bytes

    def to_api(self, guild_id: str) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "tags": self.tags, "type": 2, "format_type": self.format_type,
                "description": self.description, "available": True, "guild_id": guild_id}


class StickerStore:
    """The stickers by id; slots follow the boost level of ``settings``."""

    def __init__(self, ctx: GuildContext, settings: SettingsStore) -> None:
        self.ctx = ctx
        self.settings = settings
        self.by_id: dict[str, StickerRec] = {}

    def reset(self) -> None:
        self.by_id = {}

    def listing(self) -> list[dict[str, Any]]:
        return [s.to_api(self.ctx.guild_id) for s in sorted(self.by_id.values(), key=lambda s: int(s.id))]

    def find(self, sticker_id: str) -> StickerRec:
        """The sticker; raises 404 10060 if unknown."""
        sticker = self.by_id.get(sticker_id)
        if sticker is None:
            raise E.unknown(E.UNKNOWN_STICKER)
        return sticker

    def get(self, sticker_id: str) -> dict[str, Any]:
        return self.find(sticker_id).to_api(self.ctx.guild_id)

    @staticmethod
    def _fields(f: Fields, errs: FormErrors, *, creating: bool) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        name = f.string("name", 2, 30, required=creating, nullable=False)
        tags = f.string("tags", 1, 200, required=creating, nullable=False)
        description = f.string("description", 0, 100)
        if isinstance(description, str) and len(description) == 1:
            errs.add(("description",), "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
        for key, value in (("name", name), ("tags", tags)):
            if isinstance(value, str):
                changes[key] = value
        if description is not MISSING:
            changes["description"] = description or None
        return changes

    def create(self, form: Any) -> dict[str, Any]:
        """POST /guilds/{id}/stickers: ``form`` holds the text fields and ``file`` (bytes) of the multipart body."""
        if not isinstance(form, dict):
            raise form_error((), "CONTENT_TYPE_INVALID", 'Expected "Content-Type" header to be "multipart/form-data".')
        errs = FormErrors()
        text = {k: v for k, v in form.items() if k != "file"}
        changes = self._fields(Fields(text, errs), errs, creating=True)
        file = form.get("file")
        fmt = None
        if not isinstance(file, bytes) or not file:
            errs.add(("file",), "BASE_TYPE_REQUIRED", "This field is required")
        elif len(file) > L.STICKER_MAX_BYTES:
            errs.add(("file",), "BINARY_TYPE_MAX_SIZE",
                     f"File cannot be larger than {L.STICKER_MAX_BYTES / 1024:.1f} kb.")
        else:
            fmt = _STICKER_FORMATS.get(image_type(file) or "")
            if fmt is None:
                errs.add(("file",), "STICKER_FILE_INVALID", "Sticker files must be PNG, APNG, GIF or Lottie JSON.")
        errs.raise_if_any()
        assert isinstance(file, bytes) and fmt is not None
        slots = L.STICKER_SLOTS[self.settings.premium_tier]
        if len(self.by_id) >= slots:
            raise ApiError(400, E.MAX_STICKERS, f"Maximum number of stickers reached ({slots})")
        if fmt == 1 and b"acTL" in file[:4096]:
            fmt = 2  # an animated PNG
        sticker = StickerRec(id=self.ctx.ids.next(), name=changes["name"], tags=changes["tags"],
                             description=changes.get("description"), format_type=fmt, data=file)
        self.by_id[sticker.id] = sticker
        self.ctx.changed()
        return sticker.to_api(self.ctx.guild_id)

    def update(self, sticker_id: str, body: Any) -> dict[str, Any]:
        sticker = self.find(sticker_id)
        data = require_object(body)
        errs = FormErrors()
        changes = self._fields(Fields(data, errs), errs, creating=False)
        errs.raise_if_any()
        for key, value in changes.items():
            setattr(sticker, key, value)
        self.ctx.changed()
        return sticker.to_api(self.ctx.guild_id)

    def delete(self, sticker_id: str) -> None:
        self.find(sticker_id)
        del self.by_id[sticker_id]
        self.ctx.changed()
