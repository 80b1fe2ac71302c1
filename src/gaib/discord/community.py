"""Plain models of what a community would lose beyond roles and channels: the server's settings, its
custom emojis and stickers, its bans and its messages; and the image helpers they need.

Like :mod:`gaib.discord.models`, these are what the layers above ``gaib.discord`` work on. Ids are
strings (snowflakes). Images are bytes; Discord addresses them by a hash on its CDN
(:func:`emoji_path` and friends give the CDN path, relative to the CDN root).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Discord's CDN, where the avatar URLs a snapshot keeps point (Discord fetches them on replay).
DISCORD_CDN = "https://cdn.discordapp.com"
#: Settings a restore puts back, as Discord's field names (images apart: ``icon``, ``banner``).
RESTORABLE_SETTINGS = ("name", "verification_level", "default_message_notifications", "explicit_content_filter",
                       "afk_channel_id", "afk_timeout", "system_channel_id", "system_channel_flags",
                       "preferred_locale", "rules_channel_id", "public_updates_channel_id", "safety_alerts_channel_id",
                       "description")
#: Settings that name a channel (remapped to the channel's current id by a restore).
CHANNEL_SETTINGS = ("afk_channel_id", "system_channel_id", "rules_channel_id", "public_updates_channel_id",
                    "safety_alerts_channel_id")
#: The guild's images (Discord's hashes on the guild object) and the feature each one needs, if any:
#: the banner needs boost level 2, the invite splash level 1 (INVITE_SPLASH), the discovery splash a
#: server Discord lists in Discovery (DISCOVERABLE; the spec's GuildPatchRequestPartial, the guild docs).
GUILD_IMAGES = ("icon", "banner", "splash", "discovery_splash")
IMAGE_FEATURES = {"banner": "BANNER", "splash": "INVITE_SPLASH", "discovery_splash": "DISCOVERABLE"}
_IMAGE_FOLDERS = {"icon": "icons", "banner": "banners", "splash": "splashes", "discovery_splash": "discovery-splashes"}
AFK_TIMEOUTS = (60, 300, 900, 1800, 3600)

#: Sticker format types (Discord): 1 PNG, 2 APNG, 3 LOTTIE, 4 GIF.
STICKER_FORMATS = {1: "png", 2: "png", 3: "json", 4: "gif"}


def _opt_id(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class GuildSettings:
    """The guild object's settings Gaib keeps (``icon``/``banner`` are Discord's image hashes)."""

    id: str
    name: str
    icon: str | None = None
    banner: str | None = None
    verification_level: int = 0
    default_message_notifications: int = 0
    explicit_content_filter: int = 0
    afk_channel_id: str | None = None
    afk_timeout: int = 300
    system_channel_id: str | None = None
    system_channel_flags: int = 0
    preferred_locale: str = "en-US"
    premium_tier: int = 0
    features: tuple[str, ...] = ()
    rules_channel_id: str | None = None
    public_updates_channel_id: str | None = None
    safety_alerts_channel_id: str | None = None
    description: str | None = None
    splash: str | None = None
    discovery_splash: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> GuildSettings:
        return cls(
            id=str(data["id"]), name=str(data["name"]), icon=data.get("icon") or None,
            banner=data.get("banner") or None, verification_level=int(data.get("verification_level") or 0),
            default_message_notifications=int(data.get("default_message_notifications") or 0),
            explicit_content_filter=int(data.get("explicit_content_filter") or 0),
            afk_channel_id=_opt_id(data.get("afk_channel_id")), afk_timeout=int(data.get("afk_timeout") or 300),
            system_channel_id=_opt_id(data.get("system_channel_id")),
            system_channel_flags=int(data.get("system_channel_flags") or 0),
            preferred_locale=str(data.get("preferred_locale") or "en-US"),
            premium_tier=int(data.get("premium_tier") or 0),
            features=tuple(str(f) for f in data.get("features") or ()),
            rules_channel_id=_opt_id(data.get("rules_channel_id")),
            public_updates_channel_id=_opt_id(data.get("public_updates_channel_id")),
            safety_alerts_channel_id=_opt_id(data.get("safety_alerts_channel_id")),
            description=data.get("description") or None, splash=data.get("splash") or None,
            discovery_splash=data.get("discovery_splash") or None,
        )

    def restorable(self) -> dict[str, Any]:
        """The settings a restore compares and puts back, by Discord field name."""
        return {name: getattr(self, name) for name in RESTORABLE_SETTINGS}


@dataclass(frozen=True)
class Emoji:
    id: str
    name: str
    roles: tuple[str, ...] = ()
    animated: bool = False
    available: bool = True
    managed: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Emoji:
        return cls(id=str(data["id"]), name=str(data["name"]), roles=tuple(str(r) for r in data.get("roles") or ()),
                   animated=bool(data.get("animated")), available=data.get("available") is not False,
                   managed=bool(data.get("managed")))


@dataclass(frozen=True)
class Sticker:
    id: str
    name: str
    tags: str
    description: str | None = None
    format_type: int = 1
    available: bool = True

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Sticker:
        return cls(id=str(data["id"]), name=str(data["name"]), tags=str(data.get("tags") or ""),
                   description=data.get("description") or None, format_type=int(data.get("format_type") or 1),
                   available=data.get("available") is not False)


@dataclass(frozen=True)
class Ban:
    user_id: str
    username: str
    reason: str | None = None
    global_name: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Ban:
        user = data["user"]
        return cls(user_id=str(user["id"]), username=str(user.get("username") or ""),
                   reason=data.get("reason") or None, global_name=user.get("global_name") or None)


@dataclass(frozen=True)
class Member:
    """A member of the guild: user id, username, roles (ids, @everyone not listed) and nickname."""

    user_id: str
    username: str
    roles: tuple[str, ...] = ()
    nick: str | None = None
    bot: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Member:
        user = data["user"]
        return cls(user_id=str(user["id"]), username=str(user.get("username") or ""),
                   roles=tuple(sorted({str(r) for r in data.get("roles") or ()}, key=int)),
                   nick=data.get("nick") or None, bot=bool(user.get("bot", False)))


@dataclass(frozen=True)
class Author:
    id: str
    username: str
    global_name: str | None = None
    avatar: str | None = None
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username


@dataclass(frozen=True)
class Attachment:
    filename: str
    url: str
    size: int = 0
    content_type: str | None = None


@dataclass(frozen=True)
class Message:
    """A message as a snapshot keeps it: who wrote it, what, and when."""

    id: str
    channel_id: str
    author: Author
    content: str = ""
    timestamp: str = ""
    edited_timestamp: str | None = None
    type: int = 0
    embeds: tuple[dict[str, Any], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    webhook_id: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Message:
        user = data["author"]
        return cls(
            id=str(data["id"]), channel_id=str(data["channel_id"]),
            author=Author(id=str(user["id"]), username=str(user.get("username") or ""),
                          global_name=user.get("global_name") or None, avatar=user.get("avatar") or None,
                          bot=bool(user.get("bot"))),
            content=str(data.get("content") or ""), timestamp=str(data.get("timestamp") or ""),
            edited_timestamp=data.get("edited_timestamp") or None, type=int(data.get("type") or 0),
            embeds=tuple(e for e in data.get("embeds") or () if isinstance(e, dict)),
            attachments=tuple(Attachment(filename=str(a.get("filename") or "file"), url=str(a.get("url") or ""),
                                         size=int(a.get("size") or 0), content_type=a.get("content_type") or None)
                              for a in data.get("attachments") or () if isinstance(a, dict)),
            webhook_id=_opt_id(data.get("webhook_id")),
        )


@dataclass(frozen=True)
class BulkBanResult:
    """Who a bulk ban banned, who it could not ban, and (``already``) who was found banned already when
    Discord answered that it could ban nobody: a retried request whose first try was processed."""

    banned: tuple[str, ...] = ()
    failed: tuple[str, ...] = field(default_factory=tuple)
    already: tuple[str, ...] = field(default_factory=tuple)


# --- CDN paths ------------------------------------------------------------------------------------------


def emoji_path(emoji: Emoji) -> str:
    return f"emojis/{emoji.id}.{'gif' if emoji.animated else 'png'}"


def sticker_path(sticker: Sticker) -> str:
    return f"stickers/{sticker.id}.{STICKER_FORMATS.get(sticker.format_type, 'png')}"


def icon_path(guild_id: str, icon_hash: str) -> str:
    return f"icons/{guild_id}/{icon_hash}.{'gif' if icon_hash.startswith('a_') else 'png'}"


def role_icon_path(role_id: str, icon_hash: str) -> str:
    """Discord's CDN path of a role icon (always asked for as PNG)."""
    return f"role-icons/{role_id}/{icon_hash}.png"


def banner_path(guild_id: str, banner_hash: str) -> str:
    return f"banners/{guild_id}/{banner_hash}.{'gif' if banner_hash.startswith('a_') else 'png'}"


def guild_image_path(kind: str, guild_id: str, image_hash: str) -> str:
    """The CDN path of a guild image (``icon``, ``banner``, ``splash``, ``discovery_splash``)."""
    return f"{_IMAGE_FOLDERS[kind]}/{guild_id}/{image_hash}.{'gif' if image_hash.startswith('a_') else 'png'}"


def avatar_url(cdn_root: str, author: Author) -> str:
    """The author's avatar on the CDN (Discord's default avatar when they have none)."""
    if author.avatar:
        ext = "gif" if author.avatar.startswith("a_") else "png"
        return f"{cdn_root}/avatars/{author.id}/{author.avatar}.{ext}"
    index = (int(author.id) >> 22) % 6 if author.id.isdigit() else 0
    return f"{cdn_root}/embed/avatars/{index}.png"


# --- image bytes ----------------------------------------------------------------------------------------


def image_type(data: bytes) -> str | None:
    """The media type of image bytes by their magic numbers (PNG/APNG, GIF, JPEG, WebP, Lottie JSON), and of
    the soundboard's audio (Ogg, MP3)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "audio/mpeg"
    if data.lstrip()[:1] == b"{":
        return "application/json"
    return None


def data_uri(data: bytes) -> str:
    """``data:image/png;base64,…``: how Discord's JSON routes take an image."""
    mime = image_type(data) or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
