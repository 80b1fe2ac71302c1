"""Restore by part: which parts of a snapshot a restore touches (``--only`` / ``--exclude``).

One documented list of part names (:data:`PARTS`, docs/commands.md "Restoring part of a snapshot"), in
the order a restore works through them. A :class:`Selection` is pure: it parses the two options once
at the boundary and answers :meth:`Selection.includes` for every part the restore plans.

Rules:

* without ``--only`` every part is selected but ``messages`` (saved messages are replayed only with
  ``--messages``, or when ``--only`` names ``messages``); ``--exclude`` removes parts from that;
* ``--only`` and ``--exclude`` take comma-separated names (repeatable, any case, spaces ignored);
* an unknown name, an empty list, or a part both only-ed and excluded is ``INVALID_INPUT``
  naming the valid parts (exit 6); nothing is planned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gaib.errors import InvalidInput

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
