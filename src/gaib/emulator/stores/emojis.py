"""The guild's custom emojis.

Discord's rules kept here: names of 2-32 letters, digits and underscores; a PNG, JPEG, GIF or WebP
data URI of at most 256 KiB; roles that exist; 50/100/150/250 static and as many animated emojis
per boost level (30008 beyond); unknown ids raise 404 10014. Images are served by the CDN
(``emojis/{id}.png``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gaib.discord import limits as L
from gaib.discord.community import image_type
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import Fields, parse_snowflake, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.images import decode_data_uri
from gaib.emulator.stores.roles import RoleStore
from gaib.emulator.stores.settings import SettingsStore

EMOJI_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass
class EmojiRec:
    id: str
    name: str
    image: bytes
    roles: list[str] = field(default_factory=list)

    @property
    def animated(self) -> bool:
        return image_type(self.image) == "image/gif"

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "roles": list(self.roles), "require_colons": True,
                "managed": False, "animated": self.animated, "available": True}


class EmojiStore:
    """The emojis by id; slots follow the boost level of ``settings``."""

    def __init__(self, ctx: GuildContext, roles: RoleStore, settings: SettingsStore) -> None:
        self.ctx = ctx
        self.roles = roles
        self.settings = settings
        self.by_id: dict[str, EmojiRec] = {}

    def reset(self) -> None:
        self.by_id = {}

    def listing(self) -> list[dict[str, Any]]:
        return [e.to_api() for e in sorted(self.by_id.values(), key=lambda e: int(e.id))]

    def find(self, emoji_id: str) -> EmojiRec:
        """The emoji; raises 404 10014 if unknown."""
        emoji = self.by_id.get(emoji_id)
        if emoji is None:
            raise E.unknown(E.UNKNOWN_EMOJI)
        return emoji

    def get(self, emoji_id: str) -> dict[str, Any]:
        return self.find(emoji_id).to_api()

    def _fields(self, f: Fields, errs: FormErrors, *, creating: bool) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        name = f.string("name", 2, 32, required=creating, nullable=False)
        if isinstance(name, str):
            if not EMOJI_NAME.fullmatch(name):
                errs.add(("name",), "STRING_TYPE_REGEX", "String value did not match validation regex.")
            changes["name"] = name
        roles = f.array("roles", 250)
        if isinstance(roles, list):
            ids = []
            for i, role in enumerate(roles):
                rid = parse_snowflake(role)
                if rid is None or str(rid) not in self.roles:
                    errs.add(("roles", i), "UNKNOWN_ROLE", "Unknown role.")
                else:
                    ids.append(str(rid))
            changes["roles"] = sorted(set(ids), key=int)
        elif roles is None:
            changes["roles"] = []
        return changes

    def _slots_left(self, animated: bool) -> bool:
        used = sum(1 for e in self.by_id.values() if e.animated == animated)
        return used < L.EMOJI_SLOTS[self.settings.premium_tier]

    def create(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes = self._fields(f, errs, creating=True)
        raw = f.string("image", 1, 20_000_000, required=True, nullable=False)
        image = decode_data_uri(errs, "image", raw, L.EMOJI_MAX_BYTES) if isinstance(raw, str) else None
        errs.raise_if_any()
        assert image is not None
        animated = image_type(image) == "image/gif"
        if not self._slots_left(animated):
            slots = L.EMOJI_SLOTS[self.settings.premium_tier]
            kind = "animated emojis" if animated else "emojis"
            raise ApiError(400, E.MAX_EMOJIS, f"Maximum number of {kind} reached ({slots})")
        emoji = EmojiRec(id=self.ctx.ids.next(), name=changes["name"], image=image, roles=changes.get("roles", []))
        self.by_id[emoji.id] = emoji
        self.ctx.changed()
        return emoji.to_api()

    def seed(self, name: str, image: bytes, roles: list[str]) -> dict[str, Any]:
        """Control route: add an emoji as given, without validation or slots."""
        emoji = EmojiRec(id=self.ctx.ids.next(), name=name, image=image, roles=roles)
        self.by_id[emoji.id] = emoji
        self.ctx.changed()
        return emoji.to_api()

    def update(self, emoji_id: str, body: Any) -> dict[str, Any]:
        emoji = self.find(emoji_id)
        data = require_object(body)
        errs = FormErrors()
        changes = self._fields(Fields(data, errs), errs, creating=False)
        errs.raise_if_any()
        for key, value in changes.items():
            setattr(emoji, key, value)
        self.ctx.changed()
        return emoji.to_api()

    def delete(self, emoji_id: str) -> None:
        self.find(emoji_id)
        del self.by_id[emoji_id]
        self.ctx.changed()
