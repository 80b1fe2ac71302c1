"""The guild's roles: @everyone (id = guild id, always at position 0) and up to 250 roles in all.

Validates and applies role creates, edits, reorders and deletes as Discord does; unknown ids raise
404 10011, a 251st role 30005, moving or deleting @everyone 50028. A role icon (a PNG, JPEG, GIF or
WebP data URI of at most 256 KiB, served on the CDN at ``role-icons/{role}/{hash}.png``) or unicode
emoji needs the guild feature ``ROLE_ICONS`` (boost level 2): without it 403 50101, as Discord answers
(``gaib.discord.limits.MORE_BOOSTS_REQUIRED``). The colours object sets ``color`` (its primary colour)
and the secondary and tertiary colours. Deleting a role here does not
touch channel overwrites: :class:`gaib.emulator.guild.GuildState` removes those that name it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import MISSING, Fields, require_list, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.images import decode_data_uri, image_hash
from gaib.emulator.stores.records import RoleRec

# Discord's default @everyone permissions for a new guild (a decimal string in the API).
EVERYONE_PERMISSIONS = 2248473465835073
MAX_ROLES = 250
MAX_COLOR = 0xFFFFFF


class RoleStore:
    """The roles by id; ``role_id in store`` tells whether a role exists."""

    def __init__(self, ctx: GuildContext) -> None:
        self.ctx = ctx
        self.by_id: dict[str, RoleRec] = {}
        self.features: Callable[[], list[str]] = list
        """The guild's features (set by the guild: the settings store holds them)."""
        self.images: Callable[[], dict[str, bytes]] = dict
        """Where role icon images are kept, by CDN path (the settings store's images)."""
        self.reset()

    def reset(self) -> None:
        """Only @everyone remains."""
        gid = self.ctx.guild_id
        self.by_id = {gid: RoleRec(id=gid, name="@everyone", permissions=EVERYONE_PERMISSIONS, position=0)}

    def __contains__(self, role_id: object) -> bool:
        return role_id in self.by_id

    def listing(self) -> list[dict[str, Any]]:
        ordered = sorted(self.by_id.values(), key=lambda r: (r.position, int(r.id)))
        return [r.to_api() for r in ordered]

    def find(self, role_id: str) -> RoleRec:
        """The role; raises 404 10011 if unknown."""
        role = self.by_id.get(role_id)
        if role is None:
            raise E.unknown(E.UNKNOWN_ROLE)
        return role

    def get(self, role_id: str) -> dict[str, Any]:
        return self.find(role_id).to_api()

    def _changes(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes: dict[str, Any] = {
            "name": f.string("name", 1, 100),
            "permissions": f.bits("permissions"),
            "color": f.integer("color", 0, MAX_COLOR),
            "hoist": f.boolean("hoist"),
            "mentionable": f.boolean("mentionable"),
            "unicode_emoji": f.string("unicode_emoji", 0, 100),
        }
        colors = f.obj("colors")
        if isinstance(colors, dict):
            cf = Fields(colors, errs, ("colors",))
            changes["color"] = cf.integer("primary_color", 0, MAX_COLOR)
            changes["secondary_color"] = cf.integer("secondary_color", 0, MAX_COLOR)
            changes["tertiary_color"] = cf.integer("tertiary_color", 0, MAX_COLOR)
        icon = f.string("icon", 0, 10_000_000)
        if isinstance(icon, str):
            changes["icon_data"] = decode_data_uri(errs, "icon", icon, L.ROLE_ICON_MAX_BYTES)
        elif icon is None:
            changes["icon"] = None
        errs.raise_if_any()
        wants_icon = isinstance(icon, str) or isinstance(changes["unicode_emoji"], str)
        if wants_icon and "ROLE_ICONS" not in self.features():
            raise ApiError(403, L.MORE_BOOSTS_REQUIRED, "This server needs more boosts to perform this action")
        nullable = {"unicode_emoji", "secondary_color", "tertiary_color", "icon"}
        return {k: v for k, v in changes.items()
                if v is not MISSING and (v is not None or k in nullable)}

    def create(self, body: Any) -> dict[str, Any]:
        """New role just above @everyone (position 1; others move up). 30005 at 250 roles."""
        changes = self._changes(body)
        if len(self.by_id) >= MAX_ROLES:
            raise ApiError(400, E.MAX_ROLES, f"Maximum number of server roles reached ({MAX_ROLES})")
        for role in self.by_id.values():
            if role.position >= 1:
                role.position += 1
        everyone = self.by_id[self.ctx.guild_id]
        role = RoleRec(id=self.ctx.ids.next(), name="new role", permissions=everyone.permissions, position=1)
        self._set(role, changes)
        self.by_id[role.id] = role
        self.ctx.changed()
        return role.to_api()

    def update(self, role_id: str, body: Any) -> dict[str, Any]:
        role = self.find(role_id)
        changes = self._changes(body)
        self._set(role, changes)
        self.ctx.changed()
        return role.to_api()

    def _set(self, role: RoleRec, changes: dict[str, Any]) -> None:
        data = changes.pop("icon_data", None)
        for key, value in changes.items():
            setattr(role, key, value)
        if isinstance(data, bytes):
            role.icon = image_hash(data)
            self.images()[f"role-icons/{role.id}/{role.icon}.png"] = data

    def reorder(self, body: Any) -> list[dict[str, Any]]:
        """Move the listed roles; @everyone stays at 0, the others are renumbered 1..n. Returns all roles."""
        items = require_list(body)
        errs = FormErrors()
        moves: list[tuple[int, str]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            f = Fields(item, errs, (i,))
            role_id = f.snowflake("id", required=True)
            position = f.integer("position", 0, 2**31 - 1)
            if isinstance(role_id, str) and isinstance(position, int):
                moves.append((position, role_id))
        errs.raise_if_any()
        for _, role_id in moves:
            self.find(role_id)
            if role_id == self.ctx.guild_id:
                raise ApiError(400, E.INVALID_ROLE, "Invalid Role")
        moved = {role_id for _, role_id in moves}
        rest = sorted((r for r in self.by_id.values() if r.id != self.ctx.guild_id and r.id not in moved),
                      key=lambda r: (r.position, int(r.id)))
        order = [r.id for r in rest]
        for position, role_id in sorted(moves):
            order.insert(min(max(position - 1, 0), len(order)), role_id)
        for index, role_id in enumerate(order, start=1):
            self.by_id[role_id].position = index
        self.ctx.changed()
        return self.listing()

    def delete(self, role_id: str) -> None:
        """Delete a role (the roles above it move down one); @everyone gives 50028."""
        role = self.find(role_id)
        if role_id == self.ctx.guild_id:
            raise ApiError(400, E.INVALID_ROLE, "Invalid Role")
        del self.by_id[role_id]
        for other in self.by_id.values():
            if other.position > role.position:
                other.position -= 1
        self.ctx.changed()
