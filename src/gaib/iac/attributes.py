"""State attributes of live Discord objects (what ``state show`` prints and backups hold)."""

from __future__ import annotations

from typing import Any

from gaib.discord.models import Channel, ChannelType, Overwrite, OverwriteType, Role


def role_attributes(role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "permissions": str(role.permissions), "color": role.color,
            "hoist": role.hoist, "mentionable": role.mentionable, "position": role.position}


def channel_attributes(ch: Channel) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "id": ch.id, "name": ch.name, "type": int(ch.type), "position": ch.position,
        "permission_overwrites": [o.to_api() for o in ch.permission_overwrites],
    }
    if ch.type != ChannelType.CATEGORY:
        attrs.update({"parent_id": ch.parent_id, "topic": ch.topic, "nsfw": ch.nsfw,
                      "rate_limit_per_user": ch.rate_limit_per_user, "bitrate": ch.bitrate,
                      "user_limit": ch.user_limit})
    return attrs


def role_from_attributes(attrs: dict[str, Any]) -> Role:
    return Role(id=str(attrs["id"]), name=str(attrs.get("name", "")), permissions=int(attrs.get("permissions") or 0),
                color=int(attrs.get("color") or 0), hoist=bool(attrs.get("hoist")),
                mentionable=bool(attrs.get("mentionable")), position=int(attrs.get("position") or 0))


def channel_from_attributes(attrs: dict[str, Any]) -> Channel:
    return Channel(
        id=str(attrs["id"]), name=str(attrs.get("name", "")), type=ChannelType(int(attrs.get("type") or 0)),
        position=int(attrs.get("position") or 0), parent_id=attrs.get("parent_id"), topic=attrs.get("topic"),
        nsfw=bool(attrs.get("nsfw")), rate_limit_per_user=int(attrs.get("rate_limit_per_user") or 0),
        bitrate=attrs.get("bitrate"), user_limit=attrs.get("user_limit"),
        permission_overwrites=tuple(Overwrite(id=str(o["id"]), type=OverwriteType(int(o.get("type", 0))),
                                              allow=int(o.get("allow") or 0), deny=int(o.get("deny") or 0))
                                    for o in attrs.get("permission_overwrites") or ()),
    )
