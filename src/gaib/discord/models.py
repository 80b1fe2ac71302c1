"""Plain, immutable models of the parts of a guild Gaib manages.

These are what every layer above ``gaib.discord`` works on. Permission bit sets are Python ints
(arbitrary precision, so unknown bits round-trip); ids are strings (snowflakes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class ChannelType(IntEnum):
    TEXT = 0
    VOICE = 2
    CATEGORY = 4
    ANNOUNCEMENT = 5
    STAGE = 13
    FORUM = 15


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
            permission_overwrites=tuple(Overwrite.from_api(o) for o in data.get("permission_overwrites") or ()),
        )


@dataclass(frozen=True)
class Guild:
    id: str
    name: str
    roles: tuple[Role, ...] = ()
    channels: tuple[Channel, ...] = field(default=())
