"""Resource-level diff between two states: added, removed, changed (with field changes).

A role's ``permissions`` and an object's ``permission_overwrites`` that change are also listed
permission by permission, by Discord's names and by role name (or member id)
(:class:`gaib.config.permissions.PermissionChange`), and rendered that way; other values wrap, never cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gaib.config.permissions import (
    OVERWRITE_FIELD,
    ROLE_FIELD,
    PermissionChange,
    overwrite_changes,
    parse_permissions,
    role_permission_changes,
)
from gaib.errors import ConfigError
from gaib.iac.addresses import ROLE
from gaib.iac.plan import field_lines
from gaib.state.model import State


@dataclass(frozen=True)
class StateDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    """``{address, fields: [{field, old, new}], permissions: [PermissionChange.to_dict()]}`` per resource."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}

    def render(self) -> str:
        if self.empty:
            return "  (no resource changes)"
        lines = [f"  + {a}" for a in self.added] + [f"  - {r}" for r in self.removed]
        for c in self.changed:
            lines.append(f"  ~ {c['address']}")
            perms = [PermissionChange(**p) for p in c.get("permissions", ())]
            for f in c["fields"]:
                mine = [p for p in perms if p.field == f["field"]]
                lines += field_lines(f["field"], f["old"], f["new"], mine, indent="      ")
        return "\n".join(lines)


def diff_states(old: State | None, new: State) -> StateDiff:
    """What changes if ``old`` is replaced by ``new``, resource by resource."""
    before = {r.address: r.attributes for r in (old.resources if old else [])}
    after = {r.address: r.attributes for r in new.resources}
    names = _target_names(old, new)
    changed = []
    for address in after.keys() & before.keys():
        a, b = before[address], after[address]
        fields = [{"field": k, "old": a.get(k), "new": b.get(k)} for k in sorted(a.keys() | b.keys())
                  if a.get(k) != b.get(k)]
        if fields:
            role_name = str(b.get("name") or a.get("name") or address)
            perms = [p.to_dict() for f in fields for p in _permission_changes(f, role_name, names)]
            changed.append({"address": address, "fields": fields, "permissions": perms})
    return StateDiff(added=sorted(after.keys() - before.keys()), removed=sorted(before.keys() - after.keys()),
                     changed=sorted(changed, key=lambda c: str(c["address"])))


def _target_names(*states: State | None) -> dict[str, str]:
    """Role id -> name (the guild's id: ``@everyone``) over both states, the newer name winning."""
    out: dict[str, str] = {}
    for state in states:
        if state is None:
            continue
        if state.guild_id:
            out[state.guild_id] = "@everyone"
        for res in state.resources:
            if res.type == ROLE and res.id and res.attributes.get("name"):
                out[res.id] = str(res.attributes["name"])
    return out


def _permission_changes(f: Mapping[str, Any], role_name: str, names: Mapping[str, str]) -> list[PermissionChange]:
    """The permission changes of one changed field (none for other fields, or values that are not permissions)."""
    try:
        if f["field"] == ROLE_FIELD:
            return role_permission_changes(role_name, parse_permissions(f["old"]), parse_permissions(f["new"]))
        if f["field"] == OVERWRITE_FIELD:
            return overwrite_changes(_overwrites(f["old"], names), _overwrites(f["new"], names))
    except (ConfigError, TypeError, ValueError, AttributeError, KeyError):
        pass  # a hand-edited state: the field is still shown, value by value
    return []


def _overwrites(value: Any, names: Mapping[str, str]) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for o in value or ():
        member = int(o.get("type") or 0) == 1
        target = str(o["id"])
        key = ("member", target) if member else ("role", names.get(target, target))
        out[key] = (parse_permissions(o.get("allow")), parse_permissions(o.get("deny")))
    return out
