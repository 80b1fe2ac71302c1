"""What changed between two snapshots' safety parts. Pure.

AutoMod rules, events and sounds are matched by name (sounds' audio and event covers by checksum); the
onboarding and the welcome screen are compared field by field. A snapshot without a part compares as
holding none of it. Sections: ``automod``, ``onboarding``, ``welcome``, ``events``, ``soundboard``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gaib.snapshots.safety.parts import Safety
from gaib.snapshots.safety.steps import same

SECTIONS = ("automod", "onboarding", "welcome", "events", "soundboard")


def _by_name(items: Sequence[Mapping[str, Any]], drop: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {str(i.get("name")).casefold(): {k: v for k, v in i.items() if k not in drop} for i in items}


def _diff(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    changed = []
    for key in sorted(old.keys() & new.keys()):
        fields = sorted(f for f in old[key].keys() | new[key].keys() if not same(old[key].get(f), new[key].get(f)))
        if fields:
            changed.append({"name": new[key].get("name"), "fields": fields})
    return {"added": [new[k].get("name") for k in sorted(new) if k not in old],
            "removed": [old[k].get("name") for k in sorted(old) if k not in new], "changed": changed}


def _fields(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, drop: tuple[str, ...]) -> list[str]:
    a, b = dict(old or {}), dict(new or {})
    return sorted(k for k in (a.keys() | b.keys()) - set(drop) if not same(a.get(k), b.get(k)))


def compare_safety(a: Safety, b: Safety) -> dict[str, Any]:
    """The differences part by part (see the module docstring)."""
    ids = ("id", "image", "image_size", "size", "status")
    return {
        "automod": _diff(_by_name(a.rules, ("id",)), _by_name(b.rules, ("id",))),
        "onboarding": _fields(a.onboarding, b.onboarding, ("guild_id",)),
        "welcome": _fields(a.welcome, b.welcome, ()),
        "events": _diff(_by_name(a.events, ids), _by_name(b.events, ids)),
        "soundboard": _diff(_by_name(a.sounds, ids), _by_name(b.sounds, ids)),
    }


def render_safety(result: Mapping[str, Any]) -> list[str]:
    """The safety differences for people, one line each."""
    lines = []
    for section, label in (("automod", "AutoMod rule"), ("events", "event"), ("soundboard", "sound")):
        part = result.get(section) or {}
        lines += [f"  + {label} {n}" for n in part.get("added", ())]
        lines += [f"  - {label} {n}" for n in part.get("removed", ())]
        lines += [f"  ~ {label} {c['name']}: {', '.join(c['fields'])}" for c in part.get("changed", ())]
    for section, label in (("onboarding", "onboarding"), ("welcome", "welcome screen")):
        if result.get(section):
            lines.append(f"  ~ {label}: {', '.join(result[section])}")
    return lines
