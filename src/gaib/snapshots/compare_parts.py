"""What changed between two snapshots' community parts: settings, emojis, stickers, bans, messages, and
the safety parts (:mod:`gaib.snapshots.safety.compare`). Pure.

Emojis and stickers are matched by name (images compared by checksum), bans by user id, messages by
message id within each channel. A snapshot taken before these parts existed compares as holding none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gaib.discord.community import GUILD_IMAGES
from gaib.snapshots.parts import Extras
from gaib.snapshots.safety.compare import SECTIONS as SAFETY_SECTIONS
from gaib.snapshots.safety.compare import compare_safety, render_safety

SECTIONS = ("settings", "emojis", "stickers", "bans", "messages", *SAFETY_SECTIONS)


def _image(value: Any) -> str | None:
    return f"image {str(value.get('sha256'))[:12]}" if isinstance(value, Mapping) else None


def _settings(a: Extras, b: Extras) -> list[dict[str, Any]]:
    old = {"name": a.guild.get("name"), **a.guild.get("settings", {}), "boost level": a.guild.get("premium_tier"),
           **{k: _image(a.guild.get(k)) for k in GUILD_IMAGES}}
    new = {"name": b.guild.get("name"), **b.guild.get("settings", {}), "boost level": b.guild.get("premium_tier"),
           **{k: _image(b.guild.get(k)) for k in GUILD_IMAGES}}
    if not a.present or not b.present:
        return []
    return [{"field": k, "old": old.get(k), "new": new.get(k)} for k in sorted(old.keys() | new.keys())
            if old.get(k) != new.get(k)]


def _named(items: tuple[dict[str, Any], ...], fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out = {}
    for item in items:
        shown = {f: item.get(f) for f in fields}
        shown["image"] = str(item.get("sha256"))[:12]
        out[str(item.get("name")).casefold()] = {"name": item.get("name"), **shown}
    return out


def _diff(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    changed = []
    for key in sorted(old.keys() & new.keys()):
        fields = [{"field": f, "old": old[key].get(f), "new": new[key].get(f)}
                  for f in sorted(old[key].keys() | new[key].keys()) if old[key].get(f) != new[key].get(f)]
        if fields:
            changed.append({"name": new[key]["name"], "fields": fields})
    return {"added": [new[k]["name"] for k in sorted(new) if k not in old],
            "removed": [old[k]["name"] for k in sorted(old) if k not in new], "changed": changed}


def _bans(a: Extras, b: Extras) -> dict[str, Any]:
    old = {str(x["user_id"]): x for x in a.bans}
    new = {str(x["user_id"]): x for x in b.bans}

    def who(x: Mapping[str, Any]) -> str:
        return f"{x.get('username') or x['user_id']} ({x['user_id']})"

    return {"added": [who(new[u]) for u in sorted(new.keys() - old.keys(), key=int)],
            "removed": [who(old[u]) for u in sorted(old.keys() - new.keys(), key=int)],
            "changed": [{"name": who(new[u]), "fields": [{"field": "reason", "old": old[u].get("reason"),
                                                          "new": new[u].get("reason")}]}
                        for u in sorted(old.keys() & new.keys(), key=int)
                        if old[u].get("reason") != new[u].get("reason")]}


def _messages(a: Extras, b: Extras, names: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    for channel in sorted(a.messages.keys() | b.messages.keys(), key=int):
        old = {str(m["id"]): m for m in a.messages.get(channel, ())}
        new = {str(m["id"]): m for m in b.messages.get(channel, ())}
        edited = sum(1 for k in old.keys() & new.keys()
                     if (old[k].get("content"), old[k].get("edited_timestamp"))
                     != (new[k].get("content"), new[k].get("edited_timestamp")))
        row = {"channel": names.get(channel, channel), "id": channel, "old": len(old), "new": len(new),
               "added": len(new.keys() - old.keys()), "removed": len(old.keys() - new.keys()), "edited": edited}
        if row["added"] or row["removed"] or row["edited"]:
            out.append(row)
    return out


def compare_extras(a: Extras, b: Extras, names: Mapping[str, str]) -> dict[str, Any]:
    """The differences section by section (``settings``, ``emojis``, ``stickers``, ``bans``, ``messages``)."""
    return {
        "settings": _settings(a, b),
        "emojis": _diff(_named(a.emojis, ("roles", "animated")), _named(b.emojis, ("roles", "animated"))),
        "stickers": _diff(_named(a.stickers, ("tags", "description")), _named(b.stickers, ("tags", "description"))),
        "bans": _bans(a, b),
        "messages": _messages(a, b, names),
        **compare_safety(a.safety, b.safety),
    }


def render_extras(result: Mapping[str, Any]) -> list[str]:
    """The community differences for people, one line each."""
    lines = [f"  ~ server {f['field']}: {f['old']!r} -> {f['new']!r}" for f in result.get("settings") or ()]
    for kind in ("emojis", "stickers"):
        section = result.get(kind) or {}
        lines += [f"  + {kind[:-1]} {n}" for n in section.get("added", ())]
        lines += [f"  - {kind[:-1]} {n}" for n in section.get("removed", ())]
        for c in section.get("changed", ()):
            lines.append(f"  ~ {kind[:-1]} {c['name']}: " + ", ".join(f["field"] for f in c["fields"]))
    bans = result.get("bans") or {}
    if bans.get("added"):
        lines.append(f"  + {len(bans['added'])} bans: {', '.join(bans['added'][:10])}")
    if bans.get("removed"):
        lines.append(f"  - {len(bans['removed'])} bans: {', '.join(bans['removed'][:10])}")
    for c in bans.get("changed", ()):
        lines.append(f"  ~ ban of {c['name']}: reason changed")
    for row in result.get("messages") or ():
        lines.append(f"  ~ messages in #{row['channel']}: {row['old']} -> {row['new']} "
                     f"({row['added']} new, {row['removed']} gone, {row['edited']} edited)")
    return lines + render_safety(result)
