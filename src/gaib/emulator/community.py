"""The emulated guild's community: settings, emojis, stickers, bans, users, channel messages and the CDN.

:class:`CommunityMixin` is part of :class:`gaib.emulator.guild.GuildState`; like the rest of it, every
public method validates its whole input first and raises :class:`ApiError` (Discord's status, code and
50035 tree) without changing anything. Images arrive as data URIs (``data:image/png;base64,…``) or, for
stickers, as a multipart file, and are served back under Discord's CDN paths (:meth:`cdn_object`).

Discord's rules kept here: guild name 2-100 characters, the closed enums of the guild settings, an AFK
channel that is a voice channel and a system channel that is a text channel, the banner only from boost
level 2 (the ``BANNER`` feature); emoji names of 2-32 letters, digits and underscores, images of at most
256 KiB, and 50/100/150/250 static and as many animated emojis per boost level (30008 beyond); sticker
files of at most 512 KiB in PNG, APNG, GIF or Lottie JSON, and 5/15/30/60 stickers (30039 beyond); bans
listed by user id in pages of at most 1000, bulk bans of at most 200 users; messages listed newest first,
at most 100 per request. Webhook messages land in the channel's history, pinging only what
``allowed_mentions`` allows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import AFK_TIMEOUTS, image_type
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import MISSING, Fields, parse_snowflake, require_object
from gaib.emulator.records import DataFileError

if TYPE_CHECKING:
    from collections.abc import Callable

    from gaib.emulator.records import ChannelRec, RoleRec, WebhookRec
    from gaib.emulator.snowflake import SnowflakeGenerator

LOCALES = ("ar", "bg", "cs", "da", "de", "el", "en-GB", "en-US", "es-419", "es-ES", "fi", "fr", "he", "hi", "hr",
           "hu", "id", "it", "ja", "ko", "lt", "nl", "no", "pl", "pt-BR", "ro", "ru", "sv-SE", "th", "tr", "uk",
           "vi", "zh-CN", "zh-TW")
MESSAGE_TYPES_WITH_HISTORY = frozenset({0, 2, 5, 13})
EMOJI_NAME = re.compile(r"[A-Za-z0-9_]+")
_DATA_URI = re.compile(r"data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=\s]*)", re.DOTALL)
_MENTION_USER = re.compile(r"<@!?([0-9]{1,20})>")
_MENTION_ROLE = re.compile(r"<@&([0-9]{1,20})>")
_STICKER_FORMATS = {"image/png": 1, "application/json": 3, "image/gif": 4}
_STICKER_EXT = {1: "png", 2: "png", 3: "json", 4: "gif"}
UNKNOWN_EMOJI = 10014
UNKNOWN_BAN = 10026
UNKNOWN_STICKER = 10060
MAX_EMOJIS = 30008
MAX_STICKERS = 30039
BULK_BAN_FAILED = 500000
UNKNOWN_MESSAGES = {UNKNOWN_EMOJI: "Unknown Emoji", UNKNOWN_BAN: "Unknown Ban", UNKNOWN_STICKER: "Unknown Sticker"}


def _unknown(code: int) -> ApiError:
    return ApiError(404, code, UNKNOWN_MESSAGES[code])


def image_hash(data: bytes) -> str:
    """Discord-style image hash: 32 hex digits, ``a_`` first for an animated (GIF) image."""
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return ("a_" + digest) if image_type(data) == "image/gif" else digest


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


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


def default_settings() -> dict[str, Any]:
    return {"icon": None, "banner": None, "description": None, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "afk_channel_id": None,
            "afk_timeout": 300, "system_channel_id": None, "system_channel_flags": 0, "preferred_locale": "en-US"}


class CommunityMixin:
    """Settings, emojis, stickers, bans, users and messages of the emulated guild (see the module doc)."""

    if TYPE_CHECKING:
        guild_id: str
        guild_name: str
        ids: SnowflakeGenerator
        clock: Callable[[], float]
        revision: int
        roles: dict[str, RoleRec]
        channels: dict[str, ChannelRec]
        webhooks: dict[str, WebhookRec]

    settings: dict[str, Any]
    premium_tier: int
    images: dict[str, bytes]
    emojis: dict[str, EmojiRec]
    stickers: dict[str, StickerRec]
    bans: dict[str, str | None]
    users: dict[str, dict[str, Any]]
    history: dict[str, list[dict[str, Any]]]
    posted: dict[str, list[dict[str, Any]]]

    def reset_community(self) -> None:
        self.settings = default_settings()
        self.premium_tier = 0
        self.images = {}
        self.emojis = {}
        self.stickers = {}
        self.bans = {}
        self.users = {}
        self.history = {}
        self.posted = {}

    # ---- users ------------------------------------------------------------------------------

    def user_object(self, user_id: str) -> dict[str, Any]:
        """The user as Discord shows it (a made-up name for users the emulator never saw)."""
        known = self.users.get(user_id, {})
        return {"id": user_id, "username": known.get("username") or f"user{user_id[-6:]}",
                "avatar": known.get("avatar"), "discriminator": "0", "public_flags": 0, "flags": 0,
                "bot": bool(known.get("bot", False)), "global_name": known.get("global_name"), "primary_guild": None}

    def remember_user(self, data: Any, path: tuple[str | int, ...], errs: FormErrors) -> str | None:
        if not isinstance(data, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return None
        f = Fields(data, errs, path)
        uid = f.snowflake("id", required=True)
        username = f.string("username", 1, 32, required=True, nullable=False)
        global_name = f.string("global_name", 1, 32)
        avatar = f.string("avatar", 1, 64)
        bot = f.boolean("bot")
        if not isinstance(uid, str) or not isinstance(username, str):
            return None
        self.users[uid] = {"username": username, "global_name": global_name if isinstance(global_name, str) else None,
                           "avatar": avatar if isinstance(avatar, str) else None, "bot": bot is True}
        return uid

    # ---- settings ---------------------------------------------------------------------------

    @property
    def features(self) -> list[str]:
        out = []
        if self.premium_tier >= 1:
            out += ["ANIMATED_ICON", "INVITE_SPLASH"]
        if self.premium_tier >= 2:
            out += ["BANNER"]
        return out

    def settings_object(self) -> dict[str, Any]:
        """The settings part of Discord's guild object (``premium_tier``, ``features``, emojis and stickers)."""
        s = self.settings
        return {
            "icon": s["icon"], "description": s["description"], "banner": s["banner"],
            "afk_channel_id": s["afk_channel_id"], "afk_timeout": s["afk_timeout"],
            "system_channel_id": s["system_channel_id"], "system_channel_flags": s["system_channel_flags"],
            "verification_level": s["verification_level"],
            "default_message_notifications": s["default_message_notifications"],
            "explicit_content_filter": s["explicit_content_filter"], "preferred_locale": s["preferred_locale"],
            "premium_tier": self.premium_tier, "premium_subscription_count": (0, 2, 7, 14)[self.premium_tier],
            "features": self.features, "emojis": self.list_emojis(), "stickers": self.list_stickers(),
        }

    def _image(self, errs: FormErrors, key: str, value: Any, max_bytes: int) -> bytes | None:
        """A data URI's bytes; records IMAGE_INVALID or BINARY_TYPE_MAX_SIZE in ``errs``."""
        match = _DATA_URI.fullmatch(value) if isinstance(value, str) else None
        data = None
        if match is not None:
            try:
                data = base64.b64decode("".join(match.group(2).split()), validate=True)
            except (binascii.Error, ValueError):
                data = None
        if data is None or image_type(data) != match.group(1):  # type: ignore[union-attr]
            errs.add((key,), "IMAGE_INVALID", "Invalid image data")
            return None
        if len(data) > max_bytes:
            errs.add((key,), "BINARY_TYPE_MAX_SIZE", f"File cannot be larger than {max_bytes / 1024:.1f} kb.")
            return None
        return data

    def update_settings(self, body: Any) -> None:
        """PATCH /guilds/{id}: validate every field first, then apply."""
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes: dict[str, Any] = {}
        name = f.string("name", 2, 100, nullable=False)
        if isinstance(name, str):
            if len(name.strip()) < 2:
                errs.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
            changes["name"] = name.strip()
        for key, lo, hi in (("verification_level", 0, 4), ("default_message_notifications", 0, 1),
                            ("explicit_content_filter", 0, 2)):
            value = f.integer(key, choices=range(lo, hi + 1), nullable=False)
            if isinstance(value, int):
                changes[key] = value
        timeout = f.integer("afk_timeout", choices=AFK_TIMEOUTS, nullable=False)
        if isinstance(timeout, int):
            changes["afk_timeout"] = timeout
        flags = f.integer("system_channel_flags", 0, 2**31 - 1, nullable=False)
        if isinstance(flags, int):
            changes["system_channel_flags"] = flags
        locale = f.string("preferred_locale", 2, 10, nullable=False)
        if isinstance(locale, str):
            if locale not in LOCALES:
                errs.add(("preferred_locale",), "BASE_TYPE_CHOICES", f"Value must be one of {LOCALES}.")
            changes["preferred_locale"] = locale
        description = f.string("description", 0, 300)
        if description is not MISSING:
            changes["description"] = description
        for key, kinds, what in (("afk_channel_id", (2,), "a voice channel"),
                                 ("system_channel_id", (0, 5), "a text channel")):
            target = f.snowflake(key)
            if target is MISSING:
                continue
            if target is not None:
                channel = self.channels.get(str(target))
                if channel is None or channel.type not in kinds:
                    errs.add((key,), "CHANNEL_TYPE_INVALID", f"Must be {what} of this server.")
            changes[key] = target
        for key, feature in (("icon", None), ("banner", "BANNER")):
            raw = f.string(key, 0, 20_000_000)
            if raw is MISSING:
                continue
            if raw is None:
                changes[key] = None
                continue
            if feature is not None and feature not in self.features:
                errs.add((key,), "GUILD_FEATURE_REQUIRED", f"This server needs the {feature} feature.")
                continue
            image = self._image(errs, key, raw, L.GUILD_IMAGE_MAX_BYTES)
            if image is not None:
                if image_type(image) == "image/gif" and "ANIMATED_ICON" not in self.features and key == "icon":
                    errs.add((key,), "GUILD_FEATURE_REQUIRED", "This server needs the ANIMATED_ICON feature.")
                    continue
                changes[key] = image
        errs.raise_if_any()
        for key, value in changes.items():
            if key == "name":
                self.guild_name = value
            elif key in ("icon", "banner") and isinstance(value, bytes):
                digest = image_hash(value)
                folder = "icons" if key == "icon" else "banners"
                self.images[f"{folder}/{self.guild_id}/{digest}.{'gif' if digest.startswith('a_') else 'png'}"] = value
                self.settings[key] = digest
            else:
                self.settings[key] = value
        self.revision += 1

    def set_premium_tier(self, tier: Any) -> None:
        if isinstance(tier, bool) or not isinstance(tier, int) or not 0 <= tier <= 3:
            raise form_error(("premium_tier",), "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2, 3}.")
        self.premium_tier = tier
        self.revision += 1

    # ---- the CDN ----------------------------------------------------------------------------

    def cdn_object(self, path: str) -> tuple[bytes, str] | None:
        """The bytes and media type at a CDN path (``emojis/{id}.png``, ``icons/{guild}/{hash}.png`` …)."""
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] in ("emojis", "stickers"):
            ident, _, _ext = parts[1].partition(".")
            if parts[0] == "emojis" and ident in self.emojis:
                data = self.emojis[ident].image
            elif parts[0] == "stickers" and ident in self.stickers:
                data = self.stickers[ident].data
            else:
                return None
            return data, image_type(data) or "application/octet-stream"
        data_or_none = self.images.get("/".join(parts))
        if data_or_none is None:
            return None
        return data_or_none, image_type(data_or_none) or "application/octet-stream"

    # ---- emojis -----------------------------------------------------------------------------

    def list_emojis(self) -> list[dict[str, Any]]:
        return [e.to_api() for e in sorted(self.emojis.values(), key=lambda e: int(e.id))]

    def _emoji(self, emoji_id: str) -> EmojiRec:
        emoji = self.emojis.get(emoji_id)
        if emoji is None:
            raise _unknown(UNKNOWN_EMOJI)
        return emoji

    def get_emoji(self, emoji_id: str) -> dict[str, Any]:
        return self._emoji(emoji_id).to_api()

    def _emoji_fields(self, f: Fields, errs: FormErrors, *, creating: bool) -> dict[str, Any]:
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
        used = sum(1 for e in self.emojis.values() if e.animated == animated)
        return used < L.EMOJI_SLOTS[self.premium_tier]

    def create_emoji(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes = self._emoji_fields(f, errs, creating=True)
        raw = f.string("image", 1, 20_000_000, required=True, nullable=False)
        image = self._image(errs, "image", raw, L.EMOJI_MAX_BYTES) if isinstance(raw, str) else None
        errs.raise_if_any()
        assert image is not None
        animated = image_type(image) == "image/gif"
        if not self._slots_left(animated):
            slots = L.EMOJI_SLOTS[self.premium_tier]
            kind = "animated emojis" if animated else "emojis"
            raise ApiError(400, MAX_EMOJIS, f"Maximum number of {kind} reached ({slots})")
        emoji = EmojiRec(id=self.ids.next(), name=changes["name"], image=image, roles=changes.get("roles", []))
        self.emojis[emoji.id] = emoji
        self.revision += 1
        return emoji.to_api()

    def seed_emoji(self, name: str, image: bytes, roles: list[str]) -> dict[str, Any]:
        emoji = EmojiRec(id=self.ids.next(), name=name, image=image, roles=roles)
        self.emojis[emoji.id] = emoji
        self.revision += 1
        return emoji.to_api()

    def update_emoji(self, emoji_id: str, body: Any) -> dict[str, Any]:
        emoji = self._emoji(emoji_id)
        data = require_object(body)
        errs = FormErrors()
        changes = self._emoji_fields(Fields(data, errs), errs, creating=False)
        errs.raise_if_any()
        for key, value in changes.items():
            setattr(emoji, key, value)
        self.revision += 1
        return emoji.to_api()

    def delete_emoji(self, emoji_id: str) -> None:
        self._emoji(emoji_id)
        del self.emojis[emoji_id]
        self.revision += 1

    # ---- stickers ---------------------------------------------------------------------------

    def list_stickers(self) -> list[dict[str, Any]]:
        return [s.to_api(self.guild_id) for s in sorted(self.stickers.values(), key=lambda s: int(s.id))]

    def _sticker(self, sticker_id: str) -> StickerRec:
        sticker = self.stickers.get(sticker_id)
        if sticker is None:
            raise _unknown(UNKNOWN_STICKER)
        return sticker

    def get_sticker(self, sticker_id: str) -> dict[str, Any]:
        return self._sticker(sticker_id).to_api(self.guild_id)

    @staticmethod
    def _sticker_fields(f: Fields, errs: FormErrors, *, creating: bool) -> dict[str, Any]:
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

    def create_sticker(self, form: Any) -> dict[str, Any]:
        """POST /guilds/{id}/stickers: ``form`` holds the text fields and ``file`` (bytes) of the multipart body."""
        if not isinstance(form, dict):
            raise form_error((), "CONTENT_TYPE_INVALID", 'Expected "Content-Type" header to be "multipart/form-data".')
        errs = FormErrors()
        text = {k: v for k, v in form.items() if k != "file"}
        changes = self._sticker_fields(Fields(text, errs), errs, creating=True)
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
        slots = L.STICKER_SLOTS[self.premium_tier]
        if len(self.stickers) >= slots:
            raise ApiError(400, MAX_STICKERS, f"Maximum number of stickers reached ({slots})")
        if fmt == 1 and b"acTL" in file[:4096]:
            fmt = 2  # an animated PNG
        sticker = StickerRec(id=self.ids.next(), name=changes["name"], tags=changes["tags"],
                             description=changes.get("description"), format_type=fmt, data=file)
        self.stickers[sticker.id] = sticker
        self.revision += 1
        return sticker.to_api(self.guild_id)

    def update_sticker(self, sticker_id: str, body: Any) -> dict[str, Any]:
        sticker = self._sticker(sticker_id)
        data = require_object(body)
        errs = FormErrors()
        changes = self._sticker_fields(Fields(data, errs), errs, creating=False)
        errs.raise_if_any()
        for key, value in changes.items():
            setattr(sticker, key, value)
        self.revision += 1
        return sticker.to_api(self.guild_id)

    def delete_sticker(self, sticker_id: str) -> None:
        self._sticker(sticker_id)
        del self.stickers[sticker_id]
        self.revision += 1

    # ---- bans -------------------------------------------------------------------------------

    def _ban_object(self, user_id: str) -> dict[str, Any]:
        return {"user": self.user_object(user_id), "reason": self.bans[user_id]}

    def list_bans(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Bans by user id; ``limit`` 1-1000 (default 1000), ``after``/``before`` a user id."""
        errs = FormErrors()
        limit = L.BAN_PAGE
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= L.BAN_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {L.BAN_PAGE}.")
            else:
                limit = int(raw)
        bounds = {}
        for key in ("after", "before"):
            if key in query:
                value = parse_snowflake(query[key])
                if value is None:
                    errs.add((key,), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                else:
                    bounds[key] = value
        errs.raise_if_any()
        ids = sorted(self.bans, key=int)
        if "after" in bounds:
            ids = [u for u in ids if int(u) > bounds["after"]]
        if "before" in bounds:
            ids = [u for u in ids if int(u) < bounds["before"]][-limit:]
        return [self._ban_object(u) for u in ids[:limit]]

    def get_ban(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.bans:
            raise _unknown(UNKNOWN_BAN)
        return self._ban_object(user_id)

    @staticmethod
    def _delete_seconds(data: dict[str, Any], errs: FormErrors) -> None:
        f = Fields(data, errs)
        f.integer("delete_message_seconds", 0, 604800)
        f.integer("delete_message_days", 0, 7)

    def ban(self, user_id: str, body: Any, reason: str | None) -> None:
        errs = FormErrors()
        self._delete_seconds(require_object(body), errs)
        errs.raise_if_any()
        if user_id not in self.bans:
            self.bans[user_id] = reason
            self.revision += 1

    def bulk_ban(self, body: Any, reason: str | None) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        users = f.array("user_ids", L.BULK_BAN_MAX)
        self._delete_seconds(data, errs)
        if users is MISSING or users is None:
            errs.add(("user_ids",), "BASE_TYPE_REQUIRED", "This field is required")
        ids: list[str] = []
        for i, uid in enumerate(users if isinstance(users, list) else []):
            number = parse_snowflake(uid)
            if number is None or isinstance(uid, int):
                errs.add(("user_ids", i), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
            elif str(number) in ids:
                errs.add(("user_ids",), "ARRAY_ITEM_VALUE_ALREADY_EXISTS", "The specified item already exists.")
            else:
                ids.append(str(number))
        errs.raise_if_any()
        banned = [u for u in ids if u not in self.bans]
        failed = [u for u in ids if u in self.bans]
        if not banned:
            raise ApiError(400, BULK_BAN_FAILED, "Failed to ban users")
        for uid in banned:
            self.bans[uid] = reason
        self.revision += 1
        return {"banned_users": banned, "failed_users": failed}

    def unban(self, user_id: str) -> None:
        if user_id not in self.bans:
            raise _unknown(UNKNOWN_BAN)
        del self.bans[user_id]
        self.revision += 1

    def seed_bans(self, items: Any) -> int:
        if not isinstance(items, list):
            raise form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errs = FormErrors()
        staged: list[tuple[str, str | None]] = []
        for i, item in enumerate(items):
            uid = self.remember_user(item.get("user") if isinstance(item, dict) else None, (i, "user"), errs)
            reason = item.get("reason") if isinstance(item, dict) else None
            if uid is not None:
                staged.append((uid, reason if isinstance(reason, str) else None))
        errs.raise_if_any()
        for uid, reason in staged:
            self.bans[uid] = reason
        self.revision += 1
        return len(staged)

    # ---- messages ---------------------------------------------------------------------------

    def _history_channel(self, channel_id: str) -> ChannelRec:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise E.unknown(E.UNKNOWN_CHANNEL)
        if channel.type not in MESSAGE_TYPES_WITH_HISTORY:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        return channel

    def list_messages(self, channel_id: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Newest first; ``limit`` 1-100 (default 50); ``before``, ``after`` or ``around`` a message id."""
        self._history_channel(channel_id)
        errs = FormErrors()
        limit = 50
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= L.MESSAGE_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {L.MESSAGE_PAGE}.")
            else:
                limit = int(raw)
        anchor: tuple[str, int] | None = None
        for key in ("around", "before", "after"):
            if key in query:
                value = parse_snowflake(query[key])
                if value is None:
                    errs.add((key,), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                elif anchor is None:
                    anchor = (key, value)
        errs.raise_if_any()
        messages = self.history.get(channel_id, [])  # oldest first
        if anchor is None:
            chosen = messages[-limit:]
        elif anchor[0] == "before":
            chosen = [m for m in messages if int(m["id"]) < anchor[1]][-limit:]
        elif anchor[0] == "after":
            chosen = [m for m in messages if int(m["id"]) > anchor[1]][:limit]
        else:
            older = [m for m in messages if int(m["id"]) < anchor[1]]
            newer = [m for m in messages if int(m["id"]) >= anchor[1]]
            chosen = older[-(limit // 2):] + newer[:limit - min(len(older), limit // 2)] if limit > 1 else newer[:1]
        return [dict(m) for m in reversed(chosen)]

    def _mentions(self, content: str, allowed: Any) -> tuple[bool, list[dict[str, Any]], list[str]]:
        """(mention_everyone, mentioned users, mentioned roles) that ``allowed_mentions`` lets ping."""
        parse: list[Any]
        if isinstance(allowed, dict):
            raw = allowed.get("parse")
            parse = raw if isinstance(raw, list) else []
            users_ok = {str(u) for u in allowed.get("users") or [] if isinstance(u, str | int)}
            roles_ok = {str(r) for r in allowed.get("roles") or [] if isinstance(r, str | int)}
        else:  # no allowed_mentions: everything in the content pings
            parse, users_ok, roles_ok = ["everyone", "users", "roles"], set(), set()
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        users = [u for u in dict.fromkeys(_MENTION_USER.findall(content)) if "users" in parse or u in users_ok]
        roles = [r for r in dict.fromkeys(_MENTION_ROLE.findall(content))
                 if r in self.roles and ("roles" in parse or r in roles_ok)]
        return everyone, [self.user_object(u) for u in users], roles

    def record_webhook_message(self, hook: WebhookRec, data: dict[str, Any], message: dict[str, Any]) -> None:
        """A webhook message joins its channel's history (mentions as ``allowed_mentions`` allows)."""
        everyone, users, roles = self._mentions(message["content"], data.get("allowed_mentions"))
        message.update(mention_everyone=everyone, mentions=users, mention_roles=roles)
        avatar = data.get("avatar_url")
        stored = {**message, "author": {**message["author"]}}
        self.history.setdefault(hook.channel_id, []).append(stored)
        self.posted.setdefault(hook.channel_id, []).append(
            {**data, "id": message["id"], "avatar_url": avatar if isinstance(avatar, str) else None})

    def seed_messages(self, channel_id: str, items: Any) -> list[dict[str, Any]]:
        """Control route: messages written by members (oldest first), appended to a channel's history."""
        self._history_channel(channel_id)
        if not isinstance(items, list):
            raise form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errs = FormErrors()
        staged: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            uid = self.remember_user(item.get("author"), (i, "author"), errs)
            f = Fields(item, errs, (i,))
            content = f.string("content", 0, 4000)
            embeds = f.array("embeds", 10)
            attachments = f.array("attachments", 10)
            if uid is None:
                continue
            staged.append({"uid": uid, "content": content if isinstance(content, str) else "",
                           "embeds": [e for e in embeds if isinstance(e, dict)] if isinstance(embeds, list) else [],
                           "attachments": attachments if isinstance(attachments, list) else []})
        errs.raise_if_any()
        out = []
        for item in staged:
            message_id = self.ids.next()
            files = [{"id": self.ids.next(), "filename": str(a.get("filename") or "file"),
                      "size": int(a.get("size") or 0),
                      "url": str(a.get("url") or f"https://cdn.discordapp.com/attachments/{channel_id}/x/file"),
                      "proxy_url": str(a.get("url") or "https://media.discordapp.net/attachments/x"),
                      **({"content_type": a["content_type"]} if isinstance(a.get("content_type"), str) else {})}
                     for a in item["attachments"] if isinstance(a, dict)]
            message = {
                "id": message_id, "type": 0, "content": item["content"], "channel_id": channel_id,
                "author": self.user_object(item["uid"]), "attachments": files,
                "embeds": [{"type": "rich", **e} for e in item["embeds"]], "mentions": [], "mention_roles": [],
                "pinned": False, "mention_everyone": False, "tts": False, "timestamp": _stamp(self.clock()),
                "edited_timestamp": None, "flags": 0, "components": [],
            }
            self.history.setdefault(channel_id, []).append(message)
            out.append(message)
        self.revision += 1
        return out

    def forget_channel(self, channel_id: str) -> None:
        """A deleted channel's history goes with it."""
        self.history.pop(channel_id, None)
        self.posted.pop(channel_id, None)

    # ---- persistence ------------------------------------------------------------------------

    def community_json(self) -> dict[str, Any]:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        return {
            "settings": dict(self.settings), "premium_tier": self.premium_tier,
            "images": {k: b64(v) for k, v in self.images.items()},
            "emojis": [{"id": e.id, "name": e.name, "roles": e.roles, "image": b64(e.image)}
                       for e in self.emojis.values()],
            "stickers": [{"id": s.id, "name": s.name, "tags": s.tags, "description": s.description,
                          "format_type": s.format_type, "data": b64(s.data)} for s in self.stickers.values()],
            "bans": dict(self.bans), "users": dict(self.users), "history": self.history,
        }

    def load_community(self, data: Any) -> None:
        """Replace the community from a data file (absent: an empty one); DataFileError if malformed."""
        self.reset_community()
        if data is None:
            return
        try:
            settings = {**default_settings(), **data["settings"]}
            tier = int(data["premium_tier"])
            images = {str(k): base64.b64decode(v) for k, v in data["images"].items()}
            emojis = {str(e["id"]): EmojiRec(str(e["id"]), str(e["name"]), base64.b64decode(e["image"]),
                                              [str(r) for r in e["roles"]]) for e in data["emojis"]}
            stickers = {str(s["id"]): StickerRec(str(s["id"]), str(s["name"]), str(s["tags"]), s["description"],
                                                 int(s["format_type"]), base64.b64decode(s["data"]))
                        for s in data["stickers"]}
            bans = {str(k): (str(v) if v is not None else None) for k, v in data["bans"].items()}
            users = {str(k): dict(v) for k, v in data["users"].items()}
            history = {str(k): [dict(m) for m in v] for k, v in data["history"].items()}
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise DataFileError(f"malformed community section ({type(exc).__name__})") from None
        if not 0 <= tier <= 3:
            raise DataFileError("premium_tier must be 0-3")
        self.settings, self.premium_tier, self.images = settings, tier, images
        self.emojis, self.stickers, self.bans, self.users, self.history = emojis, stickers, bans, users, history
        for oid in [*emojis, *stickers]:
            self.ids.observe(oid)
        for messages in history.values():
            for m in messages:
                self.ids.observe(m["id"])


def audit_reason(headers: dict[str, str]) -> str | None:
    """The ``X-Audit-Log-Reason`` a request carried (URL-decoded), which becomes a ban's reason."""
    raw = headers.get("x-audit-log-reason")
    return urllib.parse.unquote(raw)[:512] if raw else None
