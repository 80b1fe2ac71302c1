"""Restore by part: which parts of a snapshot a restore touches (``--only`` / ``--exclude``).

One documented list of part names (:data:`PARTS`, docs/commands.md "Restoring part of a snapshot"), in
the order a restore works through them. A :class:`Selection` is pure: it parses the two options once
at the boundary and answers :meth:`Selection.includes` for every part the restore plans; the
``narrow_*`` functions cut a plan down to the selected parts (roles, channels and overwrites of the
structure plan; settings, emojis, stickers and bans of the community plan).

Rules:

* without ``--only`` every part is selected but ``messages`` (saved messages are replayed only with
  ``--messages``, or when ``--only`` names ``messages``); ``--exclude`` removes parts from that;
* ``--only`` and ``--exclude`` take comma-separated names (repeatable, any case, spaces ignored);
* an unknown name, an empty list, or a part both only-ed and excluded is ``INVALID_INPUT``
  naming the valid parts (exit 6); nothing is planned.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gaib.errors import InvalidInput
from gaib.iac import addresses
from gaib.iac.plan import Change, Plan
from gaib.snapshots.community_plan import CommunityPlan
from gaib.state.model import State

PARTS: tuple[str, ...] = ("roles", "channels", "overwrites", "settings", "emojis", "stickers", "bans", "members",
                          "automod", "onboarding", "welcome", "events", "soundboard", "threads", "messages")
"""Every part a restore can put back, in the order it works through them."""

DESCRIPTIONS: dict[str, str] = {
    "roles": "roles (name, colours, icon, permissions, position)",
    "channels": "categories and channels with their settings (forum tags, voice settings)",
    "overwrites": "permission overwrites of roles and members on channels",
    "settings": "server settings (name, icon, banner, community channels, description, splashes)",
    "emojis": "custom emojis",
    "stickers": "custom stickers",
    "bans": "bans",
    "members": "the roles and nicknames of members still in the server",
    "automod": "AutoMod rules",
    "onboarding": "onboarding (prompts, options, default channels, mode)",
    "welcome": "the welcome screen",
    "events": "scheduled events",
    "soundboard": "soundboard sounds",
    "threads": "threads and forum posts",
    "messages": "saved messages (also needs --messages unless --only names it)",
}


@dataclass(frozen=True)
class Selection:
    """The parts a restore touches; build it with :func:`parse`."""

    parts: frozenset[str] = frozenset(p for p in PARTS if p != "messages")

    def includes(self, part: str) -> bool:
        """Whether ``part`` (one of :data:`PARTS`) is restored; ValueError for a name not in the list."""
        if part not in PARTS:
            raise ValueError(f"not a part name: {part!r}")
        return part in self.parts

    @property
    def everything(self) -> bool:
        """Whether every part but messages is selected (no ``--only`` / ``--exclude`` narrowed it)."""
        return all(p in self.parts for p in PARTS if p != "messages")

    def ordered(self) -> list[str]:
        """The selected parts in :data:`PARTS` order."""
        return [p for p in PARTS if p in self.parts]


def _names(values: Iterable[str] | None, option: str) -> set[str] | None:
    if values is None:
        return None
    names = {n.strip().casefold() for value in values for n in value.split(",") if n.strip()}
    if not names:
        raise InvalidInput(f"{option} needs at least one part name.", hint=f"Parts: {', '.join(PARTS)}.")
    unknown = sorted(n for n in names if n not in PARTS)
    if unknown:
        shown = ", ".join(repr(n[:40]) for n in unknown[:5])
        raise InvalidInput(f"{option}: unknown part {shown}.", hint=f"Parts: {', '.join(PARTS)}.",
                           details={"unknown": [n[:40] for n in unknown[:5]], "parts": list(PARTS)})
    return names


def parse(only: Iterable[str] | None = None, exclude: Iterable[str] | None = None, *,
          messages: bool = False) -> Selection:
    """The selection ``--only`` / ``--exclude`` / ``--messages`` ask for (see the module docstring).

    ``only`` / ``exclude`` are the raw option values (None or empty: not given). Raises InvalidInput."""
    wanted = _names(only, "--only") if only else None
    dropped = _names(exclude, "--exclude") if exclude else set()
    assert dropped is not None
    both = sorted((wanted or set()) & dropped)
    if both:
        raise InvalidInput(f"{', '.join(both)} is both in --only and in --exclude.",
                           hint="Name each part in one of them.")
    if wanted is None:
        wanted = {p for p in PARTS if p != "messages" or messages}
    return Selection(frozenset(wanted - dropped))


# --- narrowing plans to the selected parts ---------------------------------------------------------------

OVERWRITES_FIELD = "permission_overwrites"


def _narrow_change(change: Change, sel: Selection) -> Change | None:
    if change.kind == "role":
        return change if sel.includes("roles") else None
    if change.action not in ("update", "adopt") or change.id is None:
        return change if sel.includes("channels") else None  # a created channel comes with its overwrites
    fields = tuple(f for f in change.fields
                   if sel.includes("overwrites" if f.field == OVERWRITES_FIELD else "channels"))
    if change.action == "adopt" and not sel.includes("channels"):
        return None
    if change.action == "update" and not fields:
        return None
    return replace(change, fields=fields)


def narrow_structure(plan: Plan, selection: Selection) -> Plan:
    """The roles/channels plan cut down to ``selection``: role changes with ``roles``; channel and category
    creates, deletes and field updates with ``channels``; overwrite updates of existing channels with
    ``overwrites`` (a re-created channel comes back with its overwrites); positions with their kind."""
    if selection.everything:
        return plan
    kept = tuple(c for c in (_narrow_change(c, selection) for c in plan.changes) if c is not None)
    return replace(plan, changes=kept, reorder_roles=plan.reorder_roles and selection.includes("roles"),
                   reorder_channels=plan.reorder_channels and selection.includes("channels"))


def narrow_objects(objects: State, selection: Selection) -> State:
    """The snapshot's objects a restore of ``selection`` may record in the state: roles only with ``roles``,
    categories and channels only with ``channels`` (so a partial restore records nothing it left alone)."""
    if selection.everything:
        return objects
    types = ({addresses.ROLE} if selection.includes("roles") else set()) | (
        {addresses.CATEGORY, addresses.CHANNEL} if selection.includes("channels") else set())
    out = copy.copy(objects)
    out.resources = [r for r in objects.resources if r.type in types]
    return out


def narrow_community(plan: CommunityPlan, selection: Selection) -> CommunityPlan:
    """The community plan cut down to ``selection`` (settings, emojis, stickers, bans)."""
    if selection.everything:
        return plan
    kinds = {k for k in ("emoji", "sticker") if selection.includes(k + "s")}
    bans = selection.includes("bans")
    return replace(plan, settings=plan.settings if selection.includes("settings") else {},
                   items=tuple(i for i in plan.items if i.kind in kinds),
                   ban=plan.ban if bans else (), unban=plan.unban if bans else ())
