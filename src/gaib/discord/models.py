"""Plain, immutable models of the parts of a guild Gaib manages.

These are what every layer above ``gaib.discord`` works on. Permission bit sets are Python ints
(arbitrary precision, so unknown bits round-trip); ids are strings (snowflakes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gaib.discord.community import GuildSettings


class ChannelType(IntEnum):
    TEXT = 0
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5
    STAGE = 13
    DIRECTORY = 14
    FORUM = 15
    MEDIA = 16


class OverwriteType(IntEnum):
    ROLE = 0
    MEMBER = 1


@dataclass(frozen=True)
class Overwrite:
    id: str
    type: OverwriteType = OverwriteType.ROLE
    allow: int = 0
    deny: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Overwrite:
        return cls(id=str(data["id"]), type=OverwriteType(int(data.get("type", 0))),
                   allow=int(data.get("allow") or 0), deny=int(data.get("deny") or 0))

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "type": int(self.type), "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    permissions: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    position: int = 0
    managed: bool = False
    icon: str | None = None
    """The role icon's image hash (CDN ``role-icons/{id}/{hash}.png``), or None."""
    unicode_emoji: str | None = None
    secondary_color: int | None = None
    tertiary_color: int | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Role:
        raw = data.get("colors")
        colors: dict[str, Any] = raw if isinstance(raw, dict) else {}
        second, third = colors.get("secondary_color"), colors.get("tertiary_color")
        icon, emoji = data.get("icon"), data.get("unicode_emoji")
        return cls(id=str(data["id"]), name=str(data["name"]), permissions=int(data.get("permissions") or 0),
                   color=int(data.get("color") or 0), hoist=bool(data.get("hoist")),
                   mentionable=bool(data.get("mentionable")), position=int(data.get("position") or 0),
                   managed=bool(data.get("managed")), icon=str(icon) if icon else None,
                   unicode_emoji=str(emoji) if emoji else None,
                   secondary_color=int(second) if isinstance(second, int) else None,
                   tertiary_color=int(third) if isinstance(third, int) else None)


@dataclass(frozen=True)
class ForumTag:
    """A tag of a forum or media channel: ``emoji_id`` (a custom emoji) or ``emoji_name`` (a unicode one)."""

    id: str
    name: str
    moderated: bool = False
    emoji_id: str | None = None
    emoji_name: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ForumTag:
        emoji_id, emoji_name = data.get("emoji_id"), data.get("emoji_name")
        return cls(id=str(data["id"]), name=str(data["name"]), moderated=bool(data.get("moderated")),
                   emoji_id=str(emoji_id) if emoji_id else None, emoji_name=str(emoji_name) if emoji_name else None)


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    type: ChannelType = ChannelType.TEXT
    position: int = 0
    parent_id: str | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int | None = None
    user_limit: int | None = None
    permission_overwrites: tuple[Overwrite, ...] = ()
    rtc_region: str | None = None
    video_quality_mode: int | None = None
    default_thread_rate_limit_per_user: int = 0
    available_tags: tuple[ForumTag, ...] = ()
    default_reaction_emoji: tuple[str | None, str | None] | None = None
    """(emoji_id, emoji_name) of a forum's default reaction, or None."""
    default_sort_order: int | None = None
    default_forum_layout: int | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Channel:
        parent = data.get("parent_id")
        reaction = data.get("default_reaction_emoji")
        quality = data.get("video_quality_mode")
        order, layout = data.get("default_sort_order"), data.get("default_forum_layout")
        return cls(
            id=str(data["id"]), name=str(data["name"]), type=ChannelType(int(data["type"])),
            position=int(data.get("position") or 0), parent_id=str(parent) if parent else None,
            topic=data.get("topic"), nsfw=bool(data.get("nsfw")),
            rate_limit_per_user=int(data.get("rate_limit_per_user") or 0),
            bitrate=data.get("bitrate"), user_limit=data.get("user_limit"),
            permission_overwrites=tuple(
                Overwrite.from_api(o) for o in data.get("permission_overwrites") or ()
            ),
            rtc_region=data.get("rtc_region") or None,
            video_quality_mode=int(quality) if isinstance(quality, int) else None,
            default_thread_rate_limit_per_user=int(data.get("default_thread_rate_limit_per_user") or 0),
            available_tags=tuple(ForumTag.from_api(t) for t in data.get("available_tags") or ()),
            default_reaction_emoji=(
                (str(reaction["emoji_id"]) if reaction.get("emoji_id") else None,
                 str(reaction["emoji_name"]) if reaction.get("emoji_name") else None)
                if isinstance(reaction, dict) else None),
            default_sort_order=int(order) if isinstance(order, int) else None,
            default_forum_layout=int(layout) if isinstance(layout, int) else None,
        )


THREAD_TYPES = (10, 11, 12)


@dataclass(frozen=True)
class Thread:
    """A thread of a text or announcement channel, or a post of a forum or media channel."""

    id: str
    parent_id: str
    name: str
    type: int = 11
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320
    rate_limit_per_user: int = 0
    applied_tags: tuple[str, ...] = ()
    archive_timestamp: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Thread:
        raw = data.get("thread_metadata")
        meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
        return cls(id=str(data["id"]), parent_id=str(data["parent_id"]), name=str(data["name"]),
                   type=int(data["type"]), archived=bool(meta.get("archived")), locked=bool(meta.get("locked")),
                   auto_archive_duration=int(meta.get("auto_archive_duration") or 4320),
                   rate_limit_per_user=int(data.get("rate_limit_per_user") or 0),
                   applied_tags=tuple(str(t) for t in data.get("applied_tags") or ()),
                   archive_timestamp=str(meta.get("archive_timestamp") or ""))


@dataclass(frozen=True)
class LiveText:
    """One text field of a live object, named for people: ``channel #ops``, field ``topic``."""

    object_id: str
    what: str
    field: str
    value: str


@dataclass(frozen=True)
class Guild:
    id: str
    name: str
    roles: tuple[Role, ...] = ()
    channels: tuple[Channel, ...] = field(default=())
    settings: GuildSettings | None = field(default=None, compare=False, repr=False)
    """The guild object's settings, read by the same ``GET /guilds/{id}`` as the name and roles (so a
    snapshot reads the guild object once); None for a guild built otherwise. Not part of equality."""

    def texts(self) -> Iterator[LiveText]:
        """Every text of the guild as Discord holds it (server name, role and channel names, topics),
        so a value that must not be stored (a token pasted into a topic) can be named by its object."""
        yield LiveText(self.id, f"server '{self.name}'", "name", self.name)
        for role in self.roles:
            yield LiveText(role.id, f"role @{role.name} ({role.id})", "name", role.name)
        for channel in self.channels:
            what = (f"category '{channel.name}'" if channel.type == ChannelType.CATEGORY
                    else f"channel #{channel.name}") + f" ({channel.id})"
            yield LiveText(channel.id, what, "name", channel.name)
            if channel.topic:
                yield LiveText(channel.id, what, "topic", channel.topic)


# --- webhooks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    """An incoming webhook. ``url`` and ``token`` are secrets: they are left out of ``repr``."""

    id: str
    channel_id: str
    name: str
    token: str = field(default="", repr=False)
    url: str = field(default="", repr=False)

    @classmethod
    def from_api(cls, data: dict[str, Any], *, base_url: str = "") -> Webhook:
        """Build from Discord's webhook object; ``url`` falls back to ``base_url/webhooks/id/token``."""
        token = str(data.get("token") or "")
        url = str(data.get("url") or "")
        if not url and token and base_url:
            url = f"{base_url.rstrip('/')}/webhooks/{data['id']}/{token}"
        return cls(id=str(data["id"]), channel_id=str(data.get("channel_id") or ""),
                   name=str(data.get("name") or ""), token=token, url=url)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of a guild's audit log: what was done (``action_type``, Discord's numbers: 10 channel
    create, 30 role create, 50 webhook create …), to which object, by whom, and the request's reason."""

    id: str
    action_type: int
    target_id: str | None
    user_id: str | None
    reason: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> AuditEntry:
        target, user, reason = data.get("target_id"), data.get("user_id"), data.get("reason")
        return cls(id=str(data["id"]), action_type=int(data["action_type"]),
                   target_id=str(target) if target is not None else None,
                   user_id=str(user) if user is not None else None,
                   reason=reason if isinstance(reason, str) else None)


AUDIT_CHANNEL_CREATE = 10
AUDIT_ROLE_CREATE = 30
AUDIT_WEBHOOK_CREATE = 50


# --- request bodies ---------------------------------------------------------------------------------
#
# Request bodies are plain dicts with Discord's field names. Permission bit sets are sent as decimal
# strings (NOTES §1, §10), overwrites as {"id", "type", "allow", "deny"}, channel types as ints.
#
#   role body:    name, permissions, color, hoist, mentionable            (all optional)
#   channel body: name (required on create), type, parent_id, position, topic, nsfw,
#                 rate_limit_per_user, bitrate, user_limit, permission_overwrites
#   overwrite:    type, allow, deny (the target id is in the path)


class _Unset:
    """Marks "leave this field out" where None means "set it to null"."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = _Unset()

_PERMISSION_FIELDS = ("permissions", "allow", "deny")


def _api_value(key: str, value: Any) -> Any:
    if isinstance(value, Overwrite):
        return value.to_api()
    if isinstance(value, IntEnum):
        return int(value)
    if key in _PERMISSION_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _api_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_api_value(key, v) for v in value]
    return value


def to_api_body(fields: Any) -> Any:
    """Normalise a request body to Discord's wire form, without changing its meaning.

    Permission ints (``permissions``/``allow``/``deny``, at any depth) become decimal strings,
    :class:`Overwrite` objects become overwrite dicts, enums become ints, tuples become lists, and
    ``UNSET`` values are dropped. Anything else is passed through unchanged.
    """
    if isinstance(fields, dict):
        return {str(k): _api_value(str(k), v) for k, v in fields.items() if v is not UNSET}
    if isinstance(fields, (list, tuple)):
        return [to_api_body(item) for item in fields]
    return fields


def role_body(
    *,
    name: str | None = None,
    permissions: int | None = None,
    color: int | None = None,
    hoist: bool | None = None,
    mentionable: bool | None = None,
) -> dict[str, Any]:
    """Body for POST/PATCH ``/guilds/{id}/roles[/{role_id}]``; arguments left as None are omitted."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if permissions is not None:
        body["permissions"] = str(permissions)
    if color is not None:
        body["color"] = color
    if hoist is not None:
        body["hoist"] = hoist
    if mentionable is not None:
        body["mentionable"] = mentionable
    return body


def channel_body(
    *,
    name: str | None = None,
    type: ChannelType | int | None = None,
    parent_id: str | _Unset | None = UNSET,
    position: int | None = None,
    topic: str | _Unset | None = UNSET,
    nsfw: bool | None = None,
    rate_limit_per_user: int | None = None,
    bitrate: int | None = None,
    user_limit: int | None = None,
    permission_overwrites: Iterable[Overwrite] | None = None,
) -> dict[str, Any]:
    """Body for POST ``/guilds/{id}/channels`` or PATCH ``/channels/{id}``.

    Arguments left as None are omitted, except ``parent_id`` and ``topic`` where None means "clear it"
    and ``UNSET`` (the default) means "leave it out".
    """
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = name
    if type is not None:
        body["type"] = int(type)
    if not isinstance(parent_id, _Unset):
        body["parent_id"] = parent_id
    if position is not None:
        body["position"] = position
    if not isinstance(topic, _Unset):
        body["topic"] = topic
    if nsfw is not None:
        body["nsfw"] = nsfw
    if rate_limit_per_user is not None:
        body["rate_limit_per_user"] = rate_limit_per_user
    if bitrate is not None:
        body["bitrate"] = bitrate
    if user_limit is not None:
        body["user_limit"] = user_limit
    if permission_overwrites is not None:
        body["permission_overwrites"] = [o.to_api() for o in permission_overwrites]
    return body


def overwrite_body(overwrite: Overwrite) -> dict[str, Any]:
    """Body for PUT ``/channels/{id}/permissions/{overwrite.id}``: ``{type, allow, deny}``."""
    return {"type": int(overwrite.type), "allow": str(overwrite.allow), "deny": str(overwrite.deny)}


def role_to_body(role: Role) -> dict[str, Any]:
    """The create/update body that reproduces ``role`` (id, position and managed are not sent)."""
    return role_body(name=role.name, permissions=role.permissions, color=role.color,
                     hoist=role.hoist, mentionable=role.mentionable)


def channel_to_body(channel: Channel) -> dict[str, Any]:
    """The create body that reproduces ``channel`` (its id is not sent; voice fields only if set)."""
    return channel_body(
        name=channel.name, type=channel.type, parent_id=channel.parent_id, position=channel.position,
        topic=channel.topic if channel.type != ChannelType.CATEGORY else UNSET,
        nsfw=channel.nsfw if channel.type != ChannelType.CATEGORY else None,
        rate_limit_per_user=channel.rate_limit_per_user or None,
        bitrate=channel.bitrate, user_limit=channel.user_limit,
        permission_overwrites=channel.permission_overwrites,
    )


TEXT_NAMED_TYPES = frozenset({ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM, ChannelType.MEDIA})


def discord_channel_name(channel_type: ChannelType | int, name: str) -> str:
    """The name Discord stores for a channel: text, announcement and forum channel names are lower
    case with each run of whitespace turned into one dash ("Welcome Chat" -> "welcome-chat")."""
    if channel_type in TEXT_NAMED_TYPES:
        return "-".join(name.lower().split()) or name
    return name
