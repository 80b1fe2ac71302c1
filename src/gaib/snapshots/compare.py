"""What changed between two snapshots: roles, categories, channels, positions, state, themes, and (when
given) settings, emojis, stickers, bans and messages (:mod:`gaib.snapshots.compare_parts`). Pure.

Objects are matched by name (case-insensitively; channels by category and name). Every difference is
reported field by field in people's terms: colours as ``#rrggbb``, permissions as flag names, overwrites
by role name, positions as the order of names; a changed role's permissions and a changed overwrite are
also listed permission by permission (``permissions``: {field, target, target_type, permission, before,
after}, rendered as ``+ ATTACH_FILES`` or ``~ SEND_MESSAGES: deny -> allow``). Long values wrap, never cut.
The same snapshot twice gives no differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gaib.backups.statediff import diff_states
from gaib.config.desired import DesiredChannel, DesiredOverwrite, DesiredServer, to_desired
from gaib.config.load import read_config
from gaib.config.permissions import (
    OVERWRITE_FIELD,
    ROLE_FIELD,
    PermissionChange,
    format_permissions,
    overwrite_changes,
    parse_permissions,
    role_permission_changes,
)
from gaib.iac.plan import field_lines
from gaib.snapshots.compare_parts import SECTIONS, compare_extras, render_extras
from gaib.snapshots.members import render_members
from gaib.snapshots.parts import Extras
from gaib.snapshots.store import SnapshotContent
from gaib.state.model import State


def desired_of(content: SnapshotContent) -> DesiredServer:
    """The snapshot's config as the model plans work on (the stored text re-read; never interpolated)."""
    _, config = read_config(content.config_text, filename=f"snapshot {content.record.id} config.yaml", environ={})
    return to_desired(config)


def _perms(bits: int) -> list[str]:
    return [str(p) for p in format_permissions(bits)]


def _overwrites(items: Sequence[DesiredOverwrite]) -> dict[str, dict[str, list[str]]]:
    return {o.target: {"allow": _perms(o.allow), "deny": _perms(o.deny)} for o in items}


def _fields(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"field": k, "old": old.get(k), "new": new.get(k)} for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)]


_PERMISSION_KIND = {"permissions": ROLE_FIELD, "overwrites": OVERWRITE_FIELD}
"""A compared field holding permissions -> the ``field`` of its :class:`PermissionChange`s."""


def _permission_changes(name: str, fields: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Permission by permission, what the ``permissions`` (a role's) and ``overwrites`` fields change."""
    out: list[PermissionChange] = []
    for f in fields:
        if f["field"] == "permissions":
            out += role_permission_changes(name, parse_permissions(f["old"]), parse_permissions(f["new"]))
        elif f["field"] == "overwrites":
            def bits(side: Any) -> dict[tuple[str, str], tuple[int, int]]:
                return {("role", str(t)): (parse_permissions(v.get("allow")), parse_permissions(v.get("deny")))
                        for t, v in (side or {}).items()}
            out += overwrite_changes(bits(f["old"]), bits(f["new"]))
    return [p.to_dict() for p in out]


def _diff_named(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    changed = [{"name": new[k].get("name", k), "fields": f,
                "permissions": _permission_changes(str(new[k].get("name", k)), f)}
               for k in sorted(old.keys() & new.keys()) if (f := _fields(old[k], new[k]))]
    return {"added": [new[k].get("name", k) for k in new if k not in old],
            "removed": [old[k].get("name", k) for k in old if k not in new], "changed": changed}


def _roles(d: DesiredServer) -> dict[str, dict[str, Any]]:
    return {r.name.casefold(): {"name": r.name, "color": f"#{r.color:06x}", "permissions": _perms(r.permissions),
                                "hoist": r.hoist, "mentionable": r.mentionable} for r in d.roles}


def _categories(d: DesiredServer) -> dict[str, dict[str, Any]]:
    return {c.name.casefold(): {"name": c.name, "overwrites": _overwrites(c.overwrites)} for c in d.categories}


def _channel_key(c: DesiredChannel) -> str:
    return f"{(c.category or '').casefold()}/{c.name.casefold()}"


def _channels(d: DesiredServer) -> dict[str, dict[str, Any]]:
    out = {}
    for c in d.channels:
        out[_channel_key(c)] = {"name": f"{c.category}/{c.name}" if c.category else c.name,
                                "type": c.type.name.lower(), "category": c.category, "topic": c.topic,
                                "nsfw": c.nsfw, "slowmode": c.slowmode, "bitrate": c.bitrate,
                                "user_limit": c.user_limit, "overwrites": _overwrites(c.overwrites)}
    return out


def _order(old: Sequence[str], new: Sequence[str]) -> dict[str, list[str]] | None:
    """The relative order of the names both sides hold, if it changed."""
    common = set(old) & set(new)
    a, b = [n for n in old if n in common], [n for n in new if n in common]
    return None if a == b else {"old": a, "new": b}


def _positions(a: DesiredServer, b: DesiredServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    roles = _order([r.name for r in a.roles], [r.name for r in b.roles])
    if roles:
        out["roles"] = roles
    cats = _order([c.name for c in a.categories], [c.name for c in b.categories])
    if cats:
        out["categories"] = cats
    groups = {c.category for c in (*a.channels, *b.channels)}
    for group in sorted(groups, key=lambda g: g or ""):
        def names(d: DesiredServer, group: str | None = group) -> list[str]:
            return [c.name for c in d.channels if c.category == group]
        moved = _order(names(a), names(b))
        if moved:
            out[f"channels in {group}" if group else "channels without a category"] = moved
    return out


def _registry(reg: dict[str, Any]) -> tuple[Any, list[Any]]:
    current = reg.get("current")
    raw = reg.get("history")
    history: list[Any] = raw if isinstance(raw, list) else []
    return (current.get("id") if isinstance(current, dict) else current,
            [h.get("id") if isinstance(h, dict) else h for h in history])


def compare(a: SnapshotContent, b: SnapshotContent, extras: tuple[Extras, Extras] | None = None,
            names: dict[str, str] | None = None) -> dict[str, Any]:
    """Every difference from snapshot ``a`` to snapshot ``b`` (see the module docstring); ``extras`` holds
    both snapshots' community parts, ``names`` the channel names of their saved messages."""
    da, db = desired_of(a), desired_of(b)
    out: dict[str, Any] = {
        "from": a.record.id, "to": b.record.id,
        "server": ({"old": da.name, "new": db.name} if da.name != db.name else None),
        "roles": _diff_named(_roles(da), _roles(db)),
        "categories": _diff_named(_categories(da), _categories(db)),
        "channels": _diff_named(_channels(da), _channels(db)),
        "positions": _positions(da, db),
        "state": _state(a.state, b.state),
        "themes": _themes(a.registry, b.registry),
    }
    keys = ["server", "roles", "categories", "channels", "positions", "state", "themes"]
    if extras is not None:
        out.update(compare_extras(extras[0], extras[1], names or {}))
        keys += SECTIONS
    out["identical"] = not any(_has(out[k]) for k in keys)
    return out


def _state(a: State | None, b: State | None) -> dict[str, Any] | None:
    if a is None and b is None:
        return None
    out: dict[str, Any] = {}
    if (a.serial if a else None) != (b.serial if b else None):
        out["serial"] = {"old": a.serial if a else None, "new": b.serial if b else None}
    if (a.lineage if a else None) != (b.lineage if b else None):
        out["lineage"] = {"old": a.lineage if a else None, "new": b.lineage if b else None}
    if b is not None:
        diff = diff_states(a, b)
        if not diff.empty:
            out["resources"] = diff.to_dict()
    elif a is not None:
        out["resources"] = {"added": [], "removed": a.addresses(), "changed": []}
    return out or None


def _themes(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    (cur_a, hist_a), (cur_b, hist_b) = _registry(a), _registry(b)
    out: dict[str, Any] = {}
    if cur_a != cur_b:
        out["current"] = {"old": cur_a, "new": cur_b}
    added = [h for h in hist_b if h not in hist_a]
    if added:
        out["deployments_added"] = added
    return out or None


def _has(value: Any) -> bool:
    if isinstance(value, dict) and set(value) == {"added", "removed", "changed"}:
        return any(value.values())
    return bool(value)


def render(result: dict[str, Any]) -> str:
    """The comparison for people."""
    if result["identical"]:
        return f"Snapshots {result['from']} and {result['to']} hold the same server."
    lines = [f"From snapshot {result['from']} to {result['to']}:"]
    if result["server"]:
        lines.append(f"  ~ server name: {result['server']['old']!r} -> {result['server']['new']!r}")
    for kind in ("roles", "categories", "channels"):
        section = result[kind]
        lines += [f"  + {kind[:-1] if kind != 'categories' else 'category'} {n}" for n in section["added"]]
        lines += [f"  - {kind[:-1] if kind != 'categories' else 'category'} {n}" for n in section["removed"]]
        for c in section["changed"]:
            lines.append(f"  ~ {kind[:-1] if kind != 'categories' else 'category'} {c['name']}")
            perms = [PermissionChange(**p) for p in c.get("permissions", ())]
            for f in c["fields"]:
                mine = [p for p in perms if p.field == _PERMISSION_KIND.get(f["field"])]
                lines += field_lines(f["field"], f["old"], f["new"], mine, indent="      ")
    for what, moved in result["positions"].items():
        lines.append(f"  ~ order of {what}: {', '.join(moved['old'])} -> {', '.join(moved['new'])}")
    state = result["state"] or {}
    for key in ("serial", "lineage"):
        if key in state:
            lines.append(f"  ~ state {key}: {state[key]['old']} -> {state[key]['new']}")
    res = state.get("resources")
    if res:
        lines.append(f"  ~ state resources: {len(res['added'])} added, {len(res['removed'])} removed, "
                     f"{len(res['changed'])} changed")
    themes = result["themes"] or {}
    if "current" in themes:
        lines.append(f"  ~ current theme deployment: {themes['current']['old']} -> {themes['current']['new']}")
    if themes.get("deployments_added"):
        lines.append(f"  + theme deployments: {', '.join(map(str, themes['deployments_added']))}")
    lines += render_extras(result)
    lines += render_members(result.get("members"))
    return "\n".join(lines)
