"""Discord's day-long caps, counted before a plan runs. Pure: no I/O.

Discord lets a bot create about 250 roles per 48 hours and 500 channels per 24 hours in a guild, and
edit about 1000 roles per 24 hours (figures and sources in :mod:`gaib.discord.limits`). A plan that
needs more than what is left waits for the window to reset. :func:`estimate_caps` says how much of
each window a plan uses and, when a window binds, how many requests wait and until when; any plan
that creates objects (apply, snapshot restore, theme rollback) calls it with its counts::

    est = estimate_caps({"role_creates": 260}, budgets, now)
    est.binds             # True: 10 roles wait
    est.messages()        # ["creates 260 roles; Discord allows about 250 per 48 h — 10 will wait until …"]

:func:`name_topic_waits` does the same for the 2-per-10-minutes name/topic limit of each channel.
``budgets`` come from the last headers Discord sent (:mod:`gaib.iac.limitcache`), else from
:func:`documented_budgets`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gaib.discord import limits as L


@dataclass(frozen=True)
class Budget:
    """What is left of one long window: ``remaining`` of ``limit`` until ``resets_at`` (None: the
    window is not running, so the whole ``limit`` is available); ``seen`` says whether the figures come
    from Discord's headers or from the documented budget."""

    window: str
    limit: int
    seconds: float
    remaining: int
    resets_at: datetime | None = None
    seen: bool = False

    def at(self, now: datetime) -> Budget:
        """This budget as of ``now``: a window that has reset is whole again."""
        if self.resets_at is not None and self.resets_at <= now:
            return Budget(self.window, self.limit, self.seconds, self.limit, None, self.seen)
        return self


def documented_budgets() -> dict[str, Budget]:
    """Every long window whole, with the documented limits (used when no header was seen)."""
    return {name: Budget(name, lim.limit, lim.seconds, lim.limit) for name, lim in L.LONG_WINDOWS.items()}


@dataclass(frozen=True)
class CapLine:
    """One long window in a plan: ``needed`` requests, ``now`` of them within what is left, ``waiting``
    of them after ``until`` (the last reset they need)."""

    window: str
    needed: int
    limit: int
    seconds: float
    remaining: int
    waiting: int
    until: datetime | None
    seen: bool

    @property
    def binds(self) -> bool:
        return self.waiting > 0

    def message(self) -> str:
        verb, noun = L.WINDOW_NOUNS[self.window]
        allows = f"Discord allows about {self.limit} per {L.span(self.seconds)}"
        head = f"{verb} {self.needed} {noun}; {allows}"
        if not self.binds:
            return f"{head} ({self.remaining} left)"
        when = _when(self.until)
        return f"{head} — {self.waiting} will wait until {when}"

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "needed": self.needed, "limit": self.limit,
                "window_seconds": self.seconds, "remaining": self.remaining, "waiting": self.waiting,
                "until": _iso(self.until), "from_headers": self.seen, "message": self.message()}


@dataclass(frozen=True)
class CapEstimate:
    """Every long window a plan uses."""

    lines: tuple[CapLine, ...] = ()

    @property
    def binds(self) -> bool:
        """True when the plan cannot finish within what is left of some window."""
        return any(line.binds for line in self.lines)

    @property
    def finishes_at(self) -> datetime | None:
        """When the last waiting request may go (None when nothing waits)."""
        times = [line.until for line in self.lines if line.binds and line.until is not None]
        return max(times) if times else None

    def messages(self, *, all_lines: bool = False) -> list[str]:
        """One sentence per window that binds (or per window used, with ``all_lines``)."""
        return [line.message() for line in self.lines if all_lines or line.binds]

    def to_dict(self) -> dict[str, Any]:
        return {"binds": self.binds, "finishes_at": _iso(self.finishes_at),
                "windows": [line.to_dict() for line in self.lines]}


def estimate_caps(needed: Mapping[str, int], budgets: Mapping[str, Budget], now: datetime) -> CapEstimate:
    """Count ``needed`` requests per long window (``role_creates``, ``channel_creates``, ``role_edits``)
    against ``budgets`` (missing ones are taken as documented and whole) as of ``now``.

    Requests beyond what is left wait for the reset; beyond a whole further window, for the next reset
    after that, and so on. Windows with nothing needed are left out. Raises ValueError for an unknown
    window or a negative count.
    """
    defaults = documented_budgets()
    lines = []
    for window in L.LONG_WINDOWS:
        count = needed.get(window, 0)
        if count < 0:
            raise ValueError(f"negative count for {window}")
        if count == 0:
            continue
        budget = (budgets.get(window) or defaults[window]).at(now)
        waiting = max(0, count - budget.remaining)
        until: datetime | None = None
        if waiting:
            first_reset = budget.resets_at or now + timedelta(seconds=budget.seconds)
            extra_windows = (waiting - 1) // budget.limit if budget.limit > 0 else 0
            until = first_reset + timedelta(seconds=budget.seconds * extra_windows)
        lines.append(CapLine(window, count, budget.limit, budget.seconds, budget.remaining, waiting, until,
                             budget.seen))
    unknown = set(needed) - set(L.LONG_WINDOWS)
    if unknown:
        raise ValueError(f"unknown window(s): {', '.join(sorted(unknown))}")
    return CapEstimate(tuple(lines))


@dataclass(frozen=True)
class NameTopicWait:
    """A channel whose name/topic edit has to wait: ``address`` (``discord_channel.x``) until ``until``."""

    address: str
    channel_id: str
    until: datetime
    seconds: float

    def message(self) -> str:
        limit = L.NAME_TOPIC_EDITS
        return (f"{self.address}: Discord allows {limit.describe()} name/topic changes per channel; this "
                f"change waits about {L.duration(self.seconds)} (until {_when(self.until)})")

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "channel_id": self.channel_id, "until": _iso(self.until),
                "seconds": round(self.seconds, 1), "message": self.message()}


def name_topic_waits(edits: Iterable[tuple[str, str]], history: Mapping[str, Sequence[datetime]],
                     now: datetime) -> list[NameTopicWait]:
    """For each planned name/topic edit ``(address, channel id)``, whether the channel's last edits
    (``history``: channel id → times) leave room for it now; the ones that must wait, with how long."""
    limit = L.NAME_TOPIC_EDITS
    window = timedelta(seconds=limit.seconds)
    out = []
    for address, channel_id in edits:
        recent = sorted(t for t in history.get(channel_id, ()) if now - window < t <= now)
        if len(recent) >= limit.limit:
            until = recent[-limit.limit] + window
            out.append(NameTopicWait(address, channel_id, until, (until - now).total_seconds()))
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "the window resets"
