"""What an apply did (:class:`ApplyResult`), and how a run that did not do everything ends.

The applier (:mod:`gaib.iac.apply`) fills an ApplyResult as its steps finish, then calls
:func:`raise_unless_complete`: it returns when every change was applied; otherwise it raises
PartialFailure carrying the result, with code ``DISCORD_CAP_REACHED`` when any change was deferred by
one of Discord's day-long caps (``caps`` then says when each window resets), else ``PARTIAL_FAILURE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gaib.discord import limits as L
from gaib.errors import PartialFailure


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    caps: dict[str, dict[str, Any]] = field(default_factory=dict)
    serial: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted,
                "forgotten": self.forgotten, "reordered": self.reordered, "failed": self.failed,
                "deferred": self.deferred, "caps": self.caps, "serial": self.serial}


def raise_unless_complete(result: ApplyResult, capped: Mapping[str, float], clock: Callable[[], datetime]) -> None:
    """End a run: PartialFailure unless nothing was deferred or failed. ``capped`` maps each long window
    found used up to the seconds until it resets (when first seen); the reset times go into
    ``result.caps``."""
    if result.deferred:
        now = clock()
        for window, seconds in capped.items():
            resets = now + timedelta(seconds=seconds)
            result.caps[window] = {"retry_after": round(seconds, 3),
                                   "resets_at": resets.isoformat().replace("+00:00", "Z")}
        last = max(capped.values(), default=0.0)
        when = (now + timedelta(seconds=last)).strftime("%Y-%m-%d %H:%M UTC")
        windows = ", ".join(f"{L.WINDOW_NOUNS[w][1][:-1]} {L.WINDOW_NOUNS[w][0]} "
                            f"({L.LONG_WINDOWS[w].describe()})" for w in sorted(capped))
        failed = f"; {len(result.failed)} failed" if result.failed else ""
        raise PartialFailure(
            f"Discord's cap on {windows} is used up: {len(result.deferred)} change(s) wait until about "
            f"{when}{failed}. Everything else was applied and recorded (state serial {result.serial}).",
            code="DISCORD_CAP_REACHED", hint=f"Run apply again after {when}; it picks up where this one stopped.",
            details={"result": result.to_dict()})
    if result.failed:
        raise PartialFailure(
            f"{len(result.failed)} of the planned changes failed; the rest were applied and recorded "
            f"(state serial {result.serial}).",
            details={"result": result.to_dict()})
