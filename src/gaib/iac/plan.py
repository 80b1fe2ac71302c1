"""The plan: a frozen list of changes computed by ``diff.build_plan`` and executed by ``apply``.

A plan holds no ids that do not exist yet: a change refers to other resources by address, and the
applier resolves them as it goes. ``caps`` and ``waits`` say what Discord's limits will do to it: how
many creates fit in what is left of the day-long windows (:mod:`gaib.iac.caps`) and which name/topic
changes must wait for their channel's 10-minute window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gaib.config.desired import DesiredCategory, DesiredChannel, DesiredRole
from gaib.config.permissions import PermissionChange, permission_lines
from gaib.discord.limits import NAME_TOPIC_FIELDS
from gaib.iac.caps import CapEstimate, NameTopicWait

Action = Literal["create", "update", "adopt", "replace", "delete", "forget"]
Kind = Literal["role", "category", "channel"]
Desired = DesiredRole | DesiredCategory | DesiredChannel


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    permissions: tuple[PermissionChange, ...] = ()
    """For a role's permissions or an object's overwrites: what changes, permission by permission."""

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    address: str
    name: str
    id: str | None = None  # the existing Discord id (update, adopt, replace, delete)
    fields: tuple[FieldChange, ...] = ()
    desired: Desired | None = field(default=None, compare=False)
    origin: str | None = None  # why an adopted object exists ("created by an interrupted run")

    def to_dict(self) -> dict[str, Any]:
        out = {"action": self.action, "kind": self.kind, "address": self.address, "name": self.name,
               "id": self.id, "changes": [f.to_dict() for f in self.fields],
               "permissions": [p.to_dict() for f in self.fields for p in f.permissions]}
        if self.origin is not None:
            out["origin"] = self.origin
        return out

    @property
    def window(self) -> str | None:
        """The long window (``role_creates``, ``channel_creates``, ``role_edits``) its request counts
        against, if any."""
        if self.action in ("create", "replace"):
            return "role_creates" if self.kind == "role" else "channel_creates"
        if self.kind == "role" and self.action in ("update", "adopt") and self.fields:
            return "role_edits"
        return None

    @property
    def edits_name_or_topic(self) -> bool:
        """True for an update of an existing channel or category that changes its name or topic."""
        return (self.kind != "role" and self.action in ("update", "adopt") and self.id is not None
                and any(f.field in NAME_TOPIC_FIELDS for f in self.fields))


@dataclass(frozen=True)
class Plan:
    guild_id: str
    changes: tuple[Change, ...]
    reorder_roles: bool = False
    reorder_channels: bool = False
    # Addresses of every desired item in order, so the applier can lay out positions.
    role_order: tuple[str, ...] = ()
    category_order: tuple[str, ...] = ()
    channel_order: tuple[str, ...] = ()
    # Address -> desired item, for every item in the config.
    desired: dict[str, Desired] = field(default_factory=dict, compare=False)
    # Address -> Discord id of every desired item that already exists (matched, adopted or moved).
    existing: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()
    caps: CapEstimate | None = field(default=None, compare=False)
    waits: tuple[NameTopicWait, ...] = field(default=(), compare=False)

    @property
    def empty(self) -> bool:
        return not self.changes and not self.reorder_roles and not self.reorder_channels

    def count(self, *actions: str) -> int:
        return sum(1 for c in self.changes if c.action in actions)

    def cap_needs(self) -> dict[str, int]:
        """Requests per long window this plan sends (``{"role_creates": 3, "channel_creates": 12}``)."""
        needs: dict[str, int] = {}
        for c in self.changes:
            if c.window is not None:
                needs[c.window] = needs.get(c.window, 0) + 1
        return needs

    def summary(self) -> dict[str, int]:
        return {"create": self.count("create", "replace"), "update": self.count("update", "adopt"),
                "delete": self.count("delete", "replace"), "forget": self.count("forget"),
                "reorder": int(self.reorder_roles) + int(self.reorder_channels)}

    def to_dict(self) -> dict[str, Any]:
        return {"guild_id": self.guild_id, "empty": self.empty, "summary": self.summary(),
                "changes": [c.to_dict() for c in self.changes],
                "reorder": {"roles": self.reorder_roles, "channels": self.reorder_channels},
                "warnings": list(self.warnings), "caps": self.caps.to_dict() if self.caps else None,
                "waits": [w.to_dict() for w in self.waits]}


_SIGILS = {"create": "+", "update": "~", "adopt": "~", "replace": "-/+", "delete": "-", "forget": "-"}


def render(plan: Plan) -> str:
    """The plan for people, Terraform-style."""
    if plan.empty:
        return "No changes. The server matches the configuration."
    lines = []
    for c in plan.changes:
        note = {"adopt": f" (adopt existing {c.id})" if c.origin is None else f" (adopt {c.id}, {c.origin})",
                "forget": " (already gone from Discord; forget it)",
                "replace": " (type change: delete and re-create)"}.get(c.action, "")
        lines.append(f"  {_SIGILS[c.action]} {c.address}{note}")
        for f in c.fields:
            lines += field_lines(f.field, f.old, f.new, f.permissions, indent="      ")
    if plan.reorder_roles:
        lines.append("  ~ role positions")
    if plan.reorder_channels:
        lines.append("  ~ channel positions")
    s = plan.summary()
    lines.append(f"\nPlan: {s['create']} to add, {s['update']} to change, {s['delete']} to destroy"
                 + (f", {s['forget']} to forget" if s["forget"] else "")
                 + (f", {s['reorder']} reorder" if s["reorder"] else "") + ".")
    for w in plan.warnings:
        lines.append(f"Warning: {w}")
    lines.extend(limit_lines(plan))
    return "\n".join(lines)


def limit_lines(plan: Plan) -> list[str]:
    """What Discord's limits will do to the plan, one sentence per line (empty when nothing binds)."""
    out = [f"Discord caps: {m}." for m in (plan.caps.messages() if plan.caps else [])]
    out += [f"Wait: {w.message()}." for w in plan.waits]
    return out


WIDTH = 100
"""Columns a changed value may take before it wraps (never cut: two values must not look alike)."""


def field_lines(name: str, old: Any, new: Any, permissions: Sequence[PermissionChange] = (), *, indent: str = "",
                fmt: Callable[[Any], str] = repr) -> list[str]:
    """One changed field for people: permission by permission when ``permissions`` says what changes
    (``+ ATTACH_FILES``, ``~ SEND_MESSAGES: deny -> allow``), else ``name: old -> new`` on one line, or, when
    that is longer than :data:`WIDTH`, the old and the new value each on their own lines, wrapped whole."""
    if permissions:
        return [f"{indent}{name}:"] + [f"{indent}  {line}" for line in permission_lines(permissions)]
    before, after = fmt(old), fmt(new)
    line = f"{indent}{name}: {before} -> {after}"
    if len(line) <= WIDTH and "\n" not in line:
        return [line]
    out = [f"{indent}{name}:"]
    for label, text in (("old: ", before), ("new: ", after)):
        chunks = wrap(text, max(20, WIDTH - len(indent) - 2 - len(label)))
        out.append(f"{indent}  {label}{chunks[0]}")
        out += [f"{indent}  {' ' * len(label)}{chunk}" for chunk in chunks[1:]]
    return out


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` characters, at a space where one is near the end of
    a line, keeping every character (joined back, the lines are ``text``; newlines split lines too)."""
    out: list[str] = []
    for part in text.split("\n"):
        while len(part) > width:
            cut = part.rfind(" ", width // 2, width)
            cut = cut + 1 if cut > 0 else width
            out.append(part[:cut])
            part = part[cut:]
        out.append(part)
    return out
