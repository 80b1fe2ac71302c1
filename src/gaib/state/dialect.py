"""The original Gaib's resource attributes <-> Gaib's, so either tool's state file works in every command.

In memory every resource holds Gaib's attribute shape (what plan, apply, backups and restores read):
roles ``{id, name, permissions: "<decimal>", color: <int>, hoist, mentionable, position}``, categories
``{id, name, type: 4, position, permission_overwrites}``, channels ``{id, name, type: <int>, position,
parent_id, topic, nsfw, rate_limit_per_user, bitrate, user_limit, permission_overwrites}``.

The original writes roles ``{id, name, color: "#RRGGBB", hoist, mentionable, permissions: [names]}``,
categories ``{id, name, position}`` and channels ``{id, name, type: "text"|..., parent_name, topic,
nsfw, slowmode, position, bitrate, userLimit}``. :func:`to_gaib` reads either form (each value is
recognised by its own shape, so mixed files load too); :func:`to_original` writes the original's
form back, reusing each value exactly as it was read when it still means the same thing, so an
unchanged resource is written back unchanged. Keys neither tool knows are kept both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gaib.errors import ConfigError

ROLE, CATEGORY, CHANNEL = "discord_role", "discord_category", "discord_channel"
CATEGORY_TYPE = 4
KIND_TO_TYPE = {"text": 0, "voice": 2, "category": 4, "announcement": 5, "stage": 13, "directory": 14,
                "forum": 15, "media": 16}
TYPE_TO_KIND = {v: k for k, v in KIND_TO_TYPE.items()}
_ROLE_ORDER: tuple[str, ...] = ("id", "name", "color", "hoist", "mentionable", "permissions")
_CATEGORY_ORDER = ("id", "name", "position")
_CHANNEL_ORDER = ("id", "name", "type", "parent_name", "topic", "nsfw", "slowmode", "position", "bitrate",
                  "userLimit")


def is_original(attrs: Mapping[str, Any]) -> bool:
    """True when attributes carry a value only the original writes (a word type, a hex colour, a list
    of permission names, or its own key names)."""
    return (isinstance(attrs.get("type"), str) or isinstance(attrs.get("color"), str)
            or isinstance(attrs.get("permissions"), list)
            or any(k in attrs for k in ("parent_name", "slowmode", "userLimit")))


def channel_type(value: Any) -> int | None:
    """A channel type as Discord's number, from a number or the original's word; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return int(text)
        return KIND_TO_TYPE.get(text)
    return None


def to_gaib(rtype: str, attrs: Mapping[str, Any], category_ids: Mapping[str, str]) -> dict[str, Any]:
    """Gaib's shape of one resource's attributes. ``category_ids`` maps category names (casefolded) to
    ids, to turn a channel's ``parent_name`` into ``parent_id``. Values it cannot read are kept as is."""
    out = dict(attrs)
    if rtype == ROLE:
        # Imported only for the original's values, so reading Gaib's own state stays cheap.
        if isinstance(out.get("color"), str):
            from gaib.config.schema import parse_color

            out["color"] = _or_keep(lambda: parse_color(out["color"]), out["color"])
        if isinstance(out.get("permissions"), list):
            from gaib.config.permissions import parse_permissions

            out["permissions"] = _or_keep(lambda: str(parse_permissions(out["permissions"])), out["permissions"])
    elif rtype == CATEGORY:
        out.setdefault("type", CATEGORY_TYPE)
    elif rtype == CHANNEL:
        number = channel_type(out.get("type"))
        if number is not None:
            out["type"] = number
        if "slowmode" in out:
            out.setdefault("rate_limit_per_user", out.pop("slowmode"))
        if "userLimit" in out:
            out.setdefault("user_limit", out.pop("userLimit"))
        if "parent_name" in out:
            parent = out.pop("parent_name")
            if "parent_id" not in out:
                out["parent_id"] = category_ids.get(str(parent).casefold()) if parent else None
                if parent and out["parent_id"] is None:
                    out["parent_name"] = parent  # no such category in the state: keep the name
    return out


def to_original(rtype: str, attrs: Mapping[str, Any], raw: Mapping[str, Any] | None,
                category_names: Mapping[str, str]) -> dict[str, Any]:
    """The original's shape of Gaib-shaped ``attrs``; values equal in meaning to ``raw`` (the
    attributes as read) are written exactly as they were read. ``category_names`` maps ids to names."""
    from gaib.config.permissions import format_permissions, parse_permissions

    raw = raw or {}
    conv = dict(attrs)
    order: tuple[str, ...]
    if rtype == ROLE:
        if isinstance(conv.get("color"), int) and not isinstance(conv.get("color"), bool):
            conv["color"] = f"#{conv['color']:06X}"
        perms = conv.get("permissions")
        if isinstance(perms, str | int) and not isinstance(perms, bool):
            conv["permissions"] = _or_keep(lambda: format_permissions(parse_permissions(perms)), perms)
        order = _ROLE_ORDER
    elif rtype == CATEGORY:
        if conv.get("type") == CATEGORY_TYPE and "type" not in raw:
            del conv["type"]
        order = _CATEGORY_ORDER
    else:
        number = conv.get("type")
        if isinstance(number, int) and not isinstance(number, bool) and number in TYPE_TO_KIND:
            conv["type"] = TYPE_TO_KIND[number]
        # A file that spells a field Gaib's way (older original files did) keeps that spelling.
        for gaib_key, original_key in (("rate_limit_per_user", "slowmode"), ("user_limit", "userLimit")):
            if gaib_key in conv and not (gaib_key in raw and original_key not in raw):
                conv[original_key] = conv.pop(gaib_key)
        if conv.get("slowmode") is None and "slowmode" in conv:
            conv["slowmode"] = 0
        if "parent_id" in conv and not ("parent_id" in raw and "parent_name" not in raw):
            parent_id = conv.get("parent_id")
            name = category_names.get(str(parent_id)) if parent_id else None
            if name is None:  # a parent the state does not hold: keep the name as read
                name = conv.get("parent_name") or (raw.get("parent_name") if parent_id else None)
            conv["parent_name"] = name
            if "parent_id" not in raw and (conv["parent_name"] is not None or parent_id is None):
                del conv["parent_id"]  # the original names the parent; Gaib finds its id again on reading
        order = _CHANNEL_ORDER
    for key in list(conv):
        if key in raw and _same(key, raw[key], conv[key]):
            conv[key] = raw[key]
        elif key not in raw and conv[key] is None:
            del conv[key]  # the original leaves unset values out
    keys = [k for k in raw if k in conv] + [k for k in order if k in conv and k not in raw]
    keys += [k for k in conv if k not in keys]
    return {k: conv[k] for k in keys}


def _same(key: str, was: Any, now: Any) -> bool:
    """Whether a value as read and a value to write mean the same (so the read form is kept)."""
    from gaib.config.permissions import parse_permissions
    from gaib.config.schema import parse_color

    if was == now:
        return True
    try:
        if key == "color":
            return bool(parse_color(was) == parse_color(now))
        if key == "permissions":
            return bool(parse_permissions(was) == parse_permissions(now))
        if key == "type":
            return channel_type(was) is not None and channel_type(was) == channel_type(now)
    except (ConfigError, ValueError, TypeError):
        return False
    return False


def _or_keep(convert: Any, value: Any) -> Any:
    try:
        return convert()
    except (ConfigError, ValueError, TypeError):
        return value
