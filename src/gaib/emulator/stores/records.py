"""The emulator's stored records (roles, channels, overwrites, webhooks) and their JSON forms.

``to_api`` gives the object as Discord's API returns it (every field the OpenAPI spec requires);
``to_json``/``from_json`` give the emulator's own data-file form. ``from_json`` raises
:class:`DataFileError` on any malformed value, so a corrupted data file never half-loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gaib.emulator.fields import parse_bits, parse_snowflake

CATEGORY = 4
TEXT_LIKE = frozenset({0, 5, 15, 16})
VOICE_LIKE = frozenset({2, 13})
POST_TYPES = frozenset({15, 16})  # forum and media: their threads are posts
CREATABLE_TYPES = (0, 2, 4, 5, 13, 15, 16)
DEFAULT_BITRATE = 64000


class DataFileError(ValueError):
    """The emulator's data file is not in the expected format."""


def _want(data: Any, key: str, kind: type | tuple[type, ...], *, nullable: bool = False) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise DataFileError(f"missing field {key!r}")
    value = data[key]
    if value is None and nullable:
        return None
    if isinstance(value, bool) and kind is int:
        raise DataFileError(f"field {key!r} must be an integer")
    if not isinstance(value, kind):
        raise DataFileError(f"field {key!r} has the wrong type")
    return value


def _want_id(data: Any, key: str, *, nullable: bool = False) -> str | None:
    value = _want(data, key, str, nullable=nullable)
    if value is None:
        return None
    if parse_snowflake(value) is None:
        raise DataFileError(f"field {key!r} is not a snowflake")
    return str(value)


def _want_bits(data: Any, key: str) -> int:
    number = parse_bits(_want(data, key, str))
    if number is None:
        raise DataFileError(f"field {key!r} is not a permission bit set")
    return number


@dataclass
class RoleRec:
    id: str
    name: str
    permissions: int
    position: int
    color: int = 0
    secondary_color: int | None = None
    tertiary_color: int | None = None
    hoist: bool = False
    mentionable: bool = False
    unicode_emoji: str | None = None
    flags: int = 0
    icon: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "permissions": str(self.permissions),
            "position": self.position, "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": self.secondary_color,
                       "tertiary_color": self.tertiary_color},
            "hoist": self.hoist, "managed": False, "mentionable": self.mentionable,
            "icon": self.icon, "unicode_emoji": self.unicode_emoji, "flags": self.flags,
        }

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["permissions"] = str(self.permissions)
        return out

    @classmethod
    def from_json(cls, data: Any) -> RoleRec:
        return cls(
            id=str(_want_id(data, "id")), name=_want(data, "name", str),
            permissions=_want_bits(data, "permissions"), position=_want(data, "position", int),
            color=_want(data, "color", int),
            secondary_color=_want(data, "secondary_color", int, nullable=True),
            tertiary_color=_want(data, "tertiary_color", int, nullable=True),
            hoist=_want(data, "hoist", bool), mentionable=_want(data, "mentionable", bool),
            unicode_emoji=_want(data, "unicode_emoji", str, nullable=True), flags=_want(data, "flags", int),
            icon=_want(data, "icon", str, nullable=True) if "icon" in data else None,
        )


@dataclass
class OverwriteRec:
    id: str
    type: int
    allow: int = 0
    deny: int = 0

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}

    @classmethod
    def from_json(cls, data: Any) -> OverwriteRec:
        kind = _want(data, "type", int)
        if kind not in (0, 1):
            raise DataFileError("overwrite type must be 0 or 1")
        return cls(id=str(_want_id(data, "id")), type=kind, allow=_want_bits(data, "allow"),
                   deny=_want_bits(data, "deny"))


@dataclass
class ChannelRec:
    id: str
    type: int
    name: str
    position: int
    parent_id: str | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = DEFAULT_BITRATE
    user_limit: int = 0
    rtc_region: str | None = None
    video_quality_mode: int = 1
    flags: int = 0
    default_auto_archive_duration: int | None = None
    default_thread_rate_limit_per_user: int = 0
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    default_reaction_emoji: dict[str, Any] | None = None
    default_sort_order: int | None = None
    default_forum_layout: int = 0
    overwrites: list[OverwriteRec] = field(default_factory=list)

    def to_api(self, guild_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "type": self.type, "flags": self.flags, "guild_id": guild_id,
            "name": self.name, "position": self.position, "parent_id": self.parent_id,
            "permission_overwrites": [o.to_api() for o in self.overwrites], "nsfw": self.nsfw,
        }
        if self.type in TEXT_LIKE:
            out.update(topic=self.topic, rate_limit_per_user=self.rate_limit_per_user, last_message_id=None)
            if self.default_auto_archive_duration is not None:
                out["default_auto_archive_duration"] = self.default_auto_archive_duration
        if self.type in POST_TYPES:
            out.update(available_tags=[dict(t) for t in self.available_tags],
                       default_reaction_emoji=dict(self.default_reaction_emoji) if self.default_reaction_emoji
                       else None, default_sort_order=self.default_sort_order,
                       default_forum_layout=self.default_forum_layout if self.type == 15 else 0,
                       default_tag_setting=None,
                       default_thread_rate_limit_per_user=self.default_thread_rate_limit_per_user)
        if self.type in VOICE_LIKE:
            out.update(bitrate=self.bitrate, user_limit=self.user_limit, rtc_region=self.rtc_region,
                       rate_limit_per_user=self.rate_limit_per_user, last_message_id=None)
            if self.type == 2:
                out["video_quality_mode"] = self.video_quality_mode
        return out

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["overwrites"] = [o.to_api() for o in self.overwrites]
        return out

    @classmethod
    def from_json(cls, data: Any) -> ChannelRec:
        kind = _want(data, "type", int)
        if kind not in CREATABLE_TYPES:
            raise DataFileError(f"unsupported channel type {kind!r}")
        overwrites = _want(data, "overwrites", list)
        return cls(
            id=str(_want_id(data, "id")), type=kind, name=_want(data, "name", str),
            position=_want(data, "position", int), parent_id=_want_id(data, "parent_id", nullable=True),
            topic=_want(data, "topic", str, nullable=True), nsfw=_want(data, "nsfw", bool),
            rate_limit_per_user=_want(data, "rate_limit_per_user", int), bitrate=_want(data, "bitrate", int),
            user_limit=_want(data, "user_limit", int), rtc_region=_want(data, "rtc_region", str, nullable=True),
            video_quality_mode=_want(data, "video_quality_mode", int), flags=_want(data, "flags", int),
            default_auto_archive_duration=_want(data, "default_auto_archive_duration", int, nullable=True),
            default_thread_rate_limit_per_user=_want(data, "default_thread_rate_limit_per_user", int),
            overwrites=[OverwriteRec.from_json(o) for o in overwrites], **_forum_json(data),
        )


def _forum_json(data: dict[str, Any]) -> dict[str, Any]:
    """The forum fields of a data-file channel (absent in files written before they existed)."""
    tags = data.get("available_tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str)
                                             and isinstance(t.get("name"), str) for t in tags):
        raise DataFileError("field 'available_tags' must be a list of tags")
    reaction = data.get("default_reaction_emoji")
    if reaction is not None and not isinstance(reaction, dict):
        raise DataFileError("field 'default_reaction_emoji' must be an object or null")
    order, layout = data.get("default_sort_order"), data.get("default_forum_layout", 0)
    if (order is not None and order not in (0, 1)) or layout not in (0, 1, 2):
        raise DataFileError("bad default_sort_order or default_forum_layout")
    return {"available_tags": tags, "default_reaction_emoji": reaction, "default_sort_order": order,
            "default_forum_layout": layout}


@dataclass
class WebhookRec:
    id: str
    token: str
    channel_id: str
    name: str

    def to_api(self, guild_id: str, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id, "type": 1, "guild_id": guild_id, "channel_id": self.channel_id,
            "name": self.name, "avatar": None, "application_id": None, "token": self.token,
            "url": f"{base_url}/webhooks/{self.id}/{self.token}",
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> WebhookRec:
        token = _want(data, "token", str)
        if not token or "/" in token:
            raise DataFileError("webhook token must be a non-empty string without '/'")
        return cls(id=str(_want_id(data, "id")), token=token,
                   channel_id=str(_want_id(data, "channel_id")), name=_want(data, "name", str))
