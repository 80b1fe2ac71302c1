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

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Role:
        return cls(id=str(data["id"]), name=str(data["name"]), permissions=int(data.get("permissions") or 0),
                   color=int(data.get("color") or 0), hoist=bool(data.get("hoist")),
                   mentionable=bool(data.get("mentionable")), position=int(data.get("position") or 0),
                   managed=bool(data.get("managed")))


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

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Channel:
        parent = data.get("parent_id")
        return cls(
            id=str(data["id"]), name=str(data["name"]), type=ChannelType(int(data["type"])),
            position=int(data.get("position") or 0), parent_id=str(parent) if parent else None,
            topic=data.get("topic"), nsfw=bool(data.get("nsfw")),
            rate_limit_per_user=int(data.get("rate_limit_per_user") or 0),
            bitrate=data.get("bitrate"), user_limit=data.get("user_limit"),
            permission_overwrites=tuple(
                Overwrite.from_api(o) for o in data.get("permission_overwrites") or ()
            ),
        )


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


TEXT_NAMED_TYPES = frozenset({ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM})


def discord_channel_name(channel_type: ChannelType | int, name: str) -> str:
    """The name Discord stores for a channel: text, announcement and forum channel names are lower
    case with each run of whitespace turned into one dash ("Welcome Chat" -> "welcome-chat")."""
    if channel_type in TEXT_NAMED_TYPES:
        return "-".join(name.lower().split()) or name
    return name
