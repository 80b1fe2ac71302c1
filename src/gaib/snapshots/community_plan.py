"""Planning the community side of a snapshot restore: settings, emojis, stickers, bans. Pure: no I/O.

What the live server has is compared with what the snapshot holds, and only what differs is planned:

* **Settings**: every restorable setting that differs (the AFK, system, rules, public updates and safety
  alerts channels by the channel's id now: a re-created channel has a new one; the description), the
  icon, banner, invite splash and discovery splash when the live image is not the snapshot's (compared
  by sha256, so an image put back earlier counts as the same), one PATCH in all. The banner needs boost
  level 2, the invite splash level 1 (INVITE_SPLASH), the discovery splash DISCOVERABLE: without the
  feature the plan says so and leaves the image out.
* **Emojis and stickers** that still exist (same id) keep their id; a rename or other roles is an update.
  A missing one matches a live one of the same name and the same image (adopted, nothing sent), else it
  is re-created from its stored image. Live ones the snapshot does not hold are deleted only with
  ``prune_unmanaged``. Creates that would pass the boost level's slots (static and animated emojis
  counted apart, stickers) are left out with a warning.
* **Bans** the snapshot holds that are missing are put back, in bulk requests of at most 200 users per
  reason (the reason becomes the ban's reason); bans made after the snapshot are lifted only with
  ``prune_unmanaged``.

:func:`requests` counts what the plan sends; :func:`time_floor` gives the time Discord's limits impose
on it (emoji and sticker creates 50 per hour, edits 1 per 2 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib.discord import limits as L
from gaib.discord.community import (
    CHANNEL_SETTINGS,
    GUILD_IMAGES,
    IMAGE_FEATURES,
    RESTORABLE_SETTINGS,
    Ban,
    Emoji,
    GuildSettings,
    Sticker,
)
from gaib.discord.models import Thread
from gaib.snapshots.parts import Extras
from gaib.snapshots.safety.plan import LiveSafety


@dataclass(frozen=True)
class LiveCommunity:
    """What the live server has, as read just before planning. ``image_sha`` holds the sha256 of live
    images the planner may need to compare (``icon``, ``banner``, ``emoji:{id}``, ``sticker:{id}``)."""

    settings: GuildSettings
    emojis: tuple[Emoji, ...] = ()
    stickers: tuple[Sticker, ...] = ()
    bans: tuple[Ban, ...] = ()
    image_sha: Mapping[str, str] = field(default_factory=dict)
    threads: tuple[Thread, ...] = ()
    """The live threads (active and archived public), read when the snapshot holds threads."""
    safety: LiveSafety = field(default_factory=LiveSafety)
    """The live AutoMod rules, onboarding, welcome screen, events and sounds (:mod:`gaib.snapshots.safety`)."""


@dataclass(frozen=True)
class Item:
    """One planned change: ``kind`` (emoji, sticker), ``action`` (create, update, delete, adopt), the
    snapshot's entry (create, update, adopt) and the live id (update, delete, adopt)."""

    kind: str
    action: str
    name: str
    entry: Mapping[str, Any] = field(default_factory=dict)
    live_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.action, "name": self.name, "id": self.live_id,
                "fields": sorted(self.fields)}


@dataclass(frozen=True)
class BanBatch:
    reason: str | None
    user_ids: tuple[str, ...]


@dataclass(frozen=True)
class CommunityPlan:
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Discord field → value; the images (``icon``, ``banner``, ``splash``, ``discovery_splash``) map to the
    sha256 of the stored image, or None."""
    items: tuple[Item, ...] = ()
    ban: tuple[BanBatch, ...] = ()
    unban: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    present: bool = True

    @property
    def empty(self) -> bool:
        return not (self.settings or [i for i in self.items if i.action != "adopt"] or self.ban or self.unban)

    def count(self, kind: str, action: str) -> int:
        return sum(1 for i in self.items if i.kind == kind and i.action == action)

    def summary(self) -> dict[str, int]:
        return {"settings": len(self.settings),
                **{f"{k}_{a}": self.count(k, a) for k in ("emoji", "sticker") for a in ("create", "update", "delete")},
                "bans_added": sum(len(b.user_ids) for b in self.ban), "bans_lifted": len(self.unban)}

    def to_dict(self) -> dict[str, Any]:
        return {"present": self.present, "empty": self.empty, "summary": self.summary(),
                "settings": {k: (v if k not in GUILD_IMAGES else ("image " + v[:12] if v else None))
                             for k, v in self.settings.items()},
                "items": [i.to_dict() for i in self.items if i.action != "adopt"],
                "adopted": [i.to_dict() for i in self.items if i.action == "adopt"],
                "bans": {"add": [list(b.user_ids) for b in self.ban], "lift": list(self.unban)},
                "warnings": list(self.warnings)}


def _remap(value: str | None, ids: Mapping[str, str], live: set[str]) -> str | None:
    """The id now of an object the snapshot names: re-created (``ids``), still there, or None. (A dry run
    counts objects the restore is about to re-create as live under their old id.)"""
    if value is None:
        return None
    if value in ids:
        return ids[value]
    return value if value in live else None


def _settings(extras: Extras, live: LiveCommunity, ids: Mapping[str, str], channels: set[str],
              warnings: list[str]) -> dict[str, Any]:
    saved = extras.guild.get("settings", {})
    now = live.settings.restorable()
    out: dict[str, Any] = {}
    for key in RESTORABLE_SETTINGS:
        if key not in saved:
            continue
        want = saved[key]
        if key in CHANNEL_SETTINGS:
            want = _remap(want, ids, channels)
            if saved[key] is not None and want is None:
                names = extras.guild.get("channel_names", {})
                what = key.removesuffix("_id").replace("_", " ")
                warnings.append(f"The {what} ({names.get(saved[key], saved[key])}) does not exist and is not "
                                "re-created; left unset.")
        if want != now.get(key):
            out[key] = want
    for key in GUILD_IMAGES:
        image = extras.guild.get(key)
        live_hash = getattr(live.settings, key)
        if image is None:
            if live_hash is not None:
                out[key] = None
            continue
        if live_hash == image.get("hash") or live.image_sha.get(key) == image.get("sha256"):
            continue
        feature = IMAGE_FEATURES.get(key)
        if feature is not None and feature not in live.settings.features:
            what = key.replace("_", " ")
            need = {"banner": "boost level 2", "splash": "boost level 1"}.get(key, "a server listed in Discovery")
            warnings.append(f"The {what} needs {need} (the {feature} feature), which the server does not have "
                            "now; it is not restored.")
            continue
        out[key] = str(image["sha256"])
    return out


def _roles(entry: Mapping[str, Any], ids: Mapping[str, str], roles: set[str]) -> list[str]:
    out = []
    for rid in entry.get("roles") or ():
        mapped = _remap(str(rid), ids, roles)
        if mapped is not None:
            out.append(mapped)
    return sorted(set(out), key=int)


def _emojis(extras: Extras, live: LiveCommunity, ids: Mapping[str, str], roles: set[str], prune: bool,
            warnings: list[str]) -> list[Item]:
    by_id = {e.id: e for e in live.emojis}
    matched: set[str] = set()
    out: list[Item] = []
    pending: list[Mapping[str, Any]] = []
    for entry in extras.emojis:
        current = by_id.get(str(entry["id"]))
        if current is None:
            pending.append(entry)
            continue
        matched.add(current.id)
        want_roles = _roles(entry, ids, roles)
        fields: dict[str, Any] = {}
        if current.name != entry["name"]:
            fields["name"] = entry["name"]
        if sorted(current.roles, key=int) != want_roles:
            fields["roles"] = want_roles
        if fields:
            out.append(Item("emoji", "update", str(entry["name"]), entry, current.id, fields))
    for wanted in pending:
        twin = next((e for e in live.emojis if e.id not in matched and e.name == wanted["name"]
                     and live.image_sha.get(f"emoji:{e.id}") == wanted["sha256"]), None)
        if twin is not None:
            matched.add(twin.id)
            out.append(Item("emoji", "adopt", twin.name, wanted, twin.id))
        else:
            out.append(Item("emoji", "create", str(wanted["name"]), wanted, None,
                            {"roles": _roles(wanted, ids, roles)}))
    if prune:
        out += [Item("emoji", "delete", e.name, {}, e.id) for e in live.emojis if e.id not in matched and not e.managed]
    return _fit_emojis(out, live, warnings)


def _fit_emojis(items: list[Item], live: LiveCommunity, warnings: list[str]) -> list[Item]:
    slots = L.EMOJI_SLOTS[min(max(live.settings.premium_tier, 0), 3)]
    deleted = {i.live_id for i in items if i.action == "delete"}
    out = [i for i in items if i.action != "create"]
    for animated in (False, True):
        used = sum(1 for e in live.emojis if e.animated == animated and e.id not in deleted)
        creates = [i for i in items if i.action == "create" and bool(i.entry.get("animated")) == animated]
        room = max(slots - used, 0)
        out += creates[:room]
        if len(creates) > room:
            kind = "animated" if animated else "static"
            left = ", ".join(str(i.name) for i in creates[room:][:10])
            warnings.append(f"{len(creates) - room} {kind} emojis do not fit: boost level "
                            f"{live.settings.premium_tier} has {slots} {kind} emoji slots and {used} are used "
                            f"({left}{'…' if len(creates) - room > 10 else ''} not restored).")
    return out


def _stickers(extras: Extras, live: LiveCommunity, prune: bool, warnings: list[str]) -> list[Item]:
    by_id = {s.id: s for s in live.stickers}
    matched: set[str] = set()
    out: list[Item] = []
    pending: list[Mapping[str, Any]] = []
    for entry in extras.stickers:
        current = by_id.get(str(entry["id"]))
        if current is None:
            pending.append(entry)
            continue
        matched.add(current.id)
        fields = {k: entry.get(k) for k in ("name", "tags", "description")
                  if (entry.get(k) or None) != (getattr(current, k) or None)}
        if fields:
            out.append(Item("sticker", "update", str(entry["name"]), entry, current.id, fields))
    creates = []
    for wanted in pending:
        twin = next((s for s in live.stickers if s.id not in matched and s.name == wanted["name"]
                     and live.image_sha.get(f"sticker:{s.id}") == wanted["sha256"]), None)
        if twin is not None:
            matched.add(twin.id)
            out.append(Item("sticker", "adopt", twin.name, wanted, twin.id))
        else:
            creates.append(Item("sticker", "create", str(wanted["name"]), wanted))
    deletes = [Item("sticker", "delete", s.name, {}, s.id) for s in live.stickers if s.id not in matched] \
        if prune else []
    slots = L.STICKER_SLOTS[min(max(live.settings.premium_tier, 0), 3)]
    room = max(slots - (len(live.stickers) - len(deletes)), 0)
    if len(creates) > room:
        warnings.append(f"{len(creates) - room} stickers do not fit: boost level {live.settings.premium_tier} has "
                        f"{slots} sticker slots ({', '.join(i.name for i in creates[room:][:10])} not restored).")
    return out + deletes + creates[:room]


def _bans(extras: Extras, live: LiveCommunity, prune: bool) -> tuple[tuple[BanBatch, ...], tuple[str, ...]]:
    banned = {b.user_id for b in live.bans}
    saved = {str(b["user_id"]): b.get("reason") for b in extras.bans}
    by_reason: dict[str | None, list[str]] = {}
    for uid in sorted(set(saved) - banned, key=int):
        reason = saved[uid]
        by_reason.setdefault(reason if isinstance(reason, str) else None, []).append(uid)
    batches = []
    for reason, users in sorted(by_reason.items(), key=lambda kv: kv[0] or ""):
        for start in range(0, len(users), L.BULK_BAN_MAX):
            batches.append(BanBatch(reason, tuple(users[start:start + L.BULK_BAN_MAX])))
    lift = tuple(sorted(banned - set(saved), key=int)) if prune else ()
    return tuple(batches), lift


def plan_community(extras: Extras, live: LiveCommunity, *, ids: Mapping[str, str], live_channels: Sequence[str],
                   live_roles: Sequence[str], prune_unmanaged: bool, pending: Sequence[str] = ()) -> CommunityPlan:
    """What makes the live community match the snapshot's. ``ids`` maps snapshot-time ids of roles and
    channels to their ids now (re-created ones); ids not in it are kept when they are live. ``pending``:
    snapshot-time ids of roles and channels the restore is about to re-create (a dry run's prediction)."""
    if not extras.present:
        return CommunityPlan(present=False)
    warnings: list[str] = []
    channels, roles = set(live_channels) | set(pending), set(live_roles) | set(pending)
    settings = _settings(extras, live, ids, channels, warnings)
    items = _emojis(extras, live, ids, roles, prune_unmanaged, warnings)
    items += _stickers(extras, live, prune_unmanaged, warnings)
    ban, unban = _bans(extras, live, prune_unmanaged)
    return CommunityPlan(settings=settings, items=tuple(items), ban=ban, unban=unban, warnings=tuple(warnings))


# --- what it costs -------------------------------------------------------------------------------------


def requests(plan: CommunityPlan) -> dict[str, int]:
    """Requests the plan sends, by route (reads apart)."""
    out: dict[str, int] = {}

    def add(route: str, n: int) -> None:
        if n:
            out[route] = out.get(route, 0) + n

    add("PATCH /guilds/{guild_id}", 1 if plan.settings else 0)
    for kind, base in (("emoji", "/guilds/{guild_id}/emojis"), ("sticker", "/guilds/{guild_id}/stickers")):
        add(f"POST {base}", plan.count(kind, "create"))
        add(f"PATCH {base}/{{{kind}_id}}", plan.count(kind, "update"))
        add(f"DELETE {base}/{{{kind}_id}}", plan.count(kind, "delete"))
    add("POST /guilds/{guild_id}/bulk-ban", len(plan.ban))
    add("DELETE /guilds/{guild_id}/bans/{user_id}", len(plan.unban))
    return out


def time_floor(plan: CommunityPlan) -> float:
    """Seconds Discord's limits impose on the plan at least (emoji and sticker windows)."""
    emoji_edits = plan.count("emoji", "update") + plan.count("emoji", "delete")
    sticker_edits = plan.count("sticker", "update") + plan.count("sticker", "delete")
    return max(L.time_floor(plan.count("emoji", "create"), L.EMOJI_CREATES),
               L.time_floor(emoji_edits, L.EMOJI_EDITS),
               L.time_floor(plan.count("sticker", "create"), L.STICKER_CREATES),
               L.time_floor(sticker_edits, L.STICKER_EDITS))
