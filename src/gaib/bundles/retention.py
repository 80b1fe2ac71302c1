"""Retention: which stored items to keep and which to remove, as a pure function.

``plan_retention(items, policy, now)`` decides; ``prune`` (elsewhere) executes. No I/O, no clock
reads: the caller passes ``now``. The rules, per group (a backup's group is ``(server_id,
workspace)``; a snapshot's or a theme deployment's is ``(server_id,)``):

1. The newest item of a group is always kept, whatever its age (so a server that stops changing
   never loses its last backup).
2. An item dated after ``now`` is kept (a writer's clock ran ahead; its age is unknown).
3. A policy with neither limit keeps everything.
4. An item younger than ``max_age`` is kept (exactly ``max_age`` old is not younger).
5. The newest ``keep_last`` items of a group are kept.
6. Everything else is removed.

A rule keeps an item on its own: the limits add up, they never narrow each other. "Newest" is the
catalog's order of writes (``sequence``, :mod:`gaib.bundles.order`), never a clock: an item dated
ahead by a writer whose clock ran fast ranks where it was written, so it cannot make a backup written
after it stop being the newest. Items without a sequence (written before sequences existed) rank
before every item with one, among themselves by ``created_at`` then id, except that one ``misdated``
(dated ahead of the storage's clock) ranks before the rest. Ages are still ``now - created_at``. The
plan is stable: planning again over the kept items at the same ``now`` removes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from gaib.bundles.order import Written, order_key

__all__ = [
    "KEEP_EVERYTHING",
    "Decision",
    "ReasonCode",
    "Retained",
    "RetentionPlan",
    "RetentionPolicy",
    "plan_retention",
]


@dataclass(frozen=True)
class Retained:
    """One stored item as retention sees it. ``created_at`` must be timezone-aware; ``size`` is the
    bytes removing it frees (for reports only); ``sequence`` is the catalog's write sequence (None for
    an item written before sequences) and ``misdated`` whether it is dated ahead of the storage's clock."""

    id: str
    group: tuple[str, ...]
    created_at: datetime
    size: int = 0
    sequence: int | None = None
    misdated: bool = False

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError(f"created_at of {self.id!r} must be timezone-aware")
        if self.size < 0:
            raise ValueError(f"size of {self.id!r} must not be negative")


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep items younger than ``max_age`` and the newest ``keep_last`` of each group; ``None``
    means no such rule. With neither, everything is kept. The newest of a group always stays."""

    max_age: timedelta | None = None
    keep_last: int | None = None

    def __post_init__(self) -> None:
        if self.max_age is not None and self.max_age < timedelta(0):
            raise ValueError("max_age must not be negative")
        if self.keep_last is not None and self.keep_last < 1:
            raise ValueError("keep_last must be at least 1 (the newest item is always kept anyway)")

    @property
    def keeps_everything(self) -> bool:
        return self.max_age is None and self.keep_last is None

    def describe(self) -> str:
        """A short sentence, e.g. "keep 7 days, and always the newest"."""
        if self.keeps_everything:
            return "keep everything"
        rules = []
        if self.max_age is not None:
            rules.append(f"keep {_duration(self.max_age)}")
        if self.keep_last is not None:
            rules.append(f"keep the last {self.keep_last}")
        return " or ".join(rules) + ", and always the newest"

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_age_seconds": None if self.max_age is None else int(self.max_age.total_seconds()),
            "keep_last": self.keep_last,
            "description": self.describe(),
        }


KEEP_EVERYTHING = RetentionPolicy()


class ReasonCode(StrEnum):
    """Why an item is kept (the first five) or removed (the last three)."""

    NEWEST = "newest"
    FUTURE_DATED = "future-dated"
    NO_LIMIT = "no-limit"
    WITHIN_MAX_AGE = "within-max-age"
    WITHIN_KEEP_LAST = "within-keep-last"
    OLDER_THAN_MAX_AGE = "older-than-max-age"
    BEYOND_KEEP_LAST = "beyond-keep-last"
    OLDER_THAN_MAX_AGE_BEYOND_KEEP_LAST = "older-than-max-age-beyond-keep-last"

    @property
    def keeps(self) -> bool:
        return self in _KEEP_CODES


_KEEP_CODES = frozenset({ReasonCode.NEWEST, ReasonCode.FUTURE_DATED, ReasonCode.NO_LIMIT,
                         ReasonCode.WITHIN_MAX_AGE, ReasonCode.WITHIN_KEEP_LAST})


@dataclass(frozen=True)
class Decision:
    """What happens to one item: ``code`` for machines, ``reason`` (one sentence) for people.
    ``rank`` is the item's place in its group, 1 = newest."""

    item: Retained
    code: ReasonCode
    reason: str
    rank: int

    @property
    def keep(self) -> bool:
        return self.code.keeps

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "group": list(self.item.group),
            "created_at": _iso(self.item.created_at),
            "size": self.item.size,
            "rank": self.rank,
            "sequence": self.item.sequence,
            "code": self.code.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RetentionPlan:
    """The outcome: ``keep`` and ``remove``, each ordered by group, then newest first."""

    policy: RetentionPolicy
    now: datetime
    keep: tuple[Decision, ...] = field(default=())
    remove: tuple[Decision, ...] = field(default=())

    @property
    def remove_ids(self) -> tuple[str, ...]:
        return tuple(d.item.id for d in self.remove)

    @property
    def removed_bytes(self) -> int:
        return sum(d.item.size for d in self.remove)

    @property
    def kept_bytes(self) -> int:
        return sum(d.item.size for d in self.keep)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.to_dict(),
            "now": _iso(self.now),
            "keep": [d.to_dict() for d in self.keep],
            "remove": [d.to_dict() for d in self.remove],
            "kept_bytes": self.kept_bytes,
            "removed_bytes": self.removed_bytes,
        }


def plan_retention(items: Iterable[Retained], policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    """Decide every item's fate under ``policy`` at ``now`` (timezone-aware). Pure and deterministic:
    the input order does not matter, and every item lands in exactly one of ``keep``/``remove``.

    Raises ValueError for a naive ``now`` or for two items with the same id in one group.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    groups: dict[tuple[str, ...], list[Retained]] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    for item in items:
        if (item.group, item.id) in seen:
            raise ValueError(f"item {item.id!r} appears twice in group {_label(item.group)}")
        seen.add((item.group, item.id))
        groups.setdefault(item.group, []).append(item)

    keep: list[Decision] = []
    remove: list[Decision] = []
    for group in sorted(groups):
        newest_first = sorted(groups[group], reverse=True,
                              key=lambda i: order_key(Written(i.sequence), i.created_at, i.id, misdated=i.misdated))
        for rank, item in enumerate(newest_first, start=1):
            decision = _decide(item, rank, policy, now)
            (keep if decision.keep else remove).append(decision)
    return RetentionPlan(policy=policy, now=now, keep=tuple(keep), remove=tuple(remove))


def _decide(item: Retained, rank: int, policy: RetentionPolicy, now: datetime) -> Decision:
    age = now - item.created_at
    group = _label(item.group)
    if rank == 1:
        when = f"{_duration(age)} old" if age >= timedelta(0) else f"dated {_duration(-age)} ahead"
        return Decision(item, ReasonCode.NEWEST, f"newest of {group} ({when}): the newest is always kept", rank)
    if age < timedelta(0):
        return Decision(item, ReasonCode.FUTURE_DATED,
                        f"dated {_duration(-age)} after now: kept, its writer's clock ran ahead", rank)
    if policy.keeps_everything:
        return Decision(item, ReasonCode.NO_LIMIT, "the policy keeps everything", rank)
    if policy.max_age is not None and age < policy.max_age:
        return Decision(item, ReasonCode.WITHIN_MAX_AGE,
                        f"younger than {_duration(policy.max_age)} ({_duration(age)} old)", rank)
    if policy.keep_last is not None and rank <= policy.keep_last:
        return Decision(item, ReasonCode.WITHIN_KEEP_LAST,
                        f"number {rank} of {group}, within the last {policy.keep_last}", rank)
    if policy.max_age is not None and policy.keep_last is not None:
        return Decision(item, ReasonCode.OLDER_THAN_MAX_AGE_BEYOND_KEEP_LAST,
                        f"{_duration(age)} old (the limit is {_duration(policy.max_age)}) and number {rank} "
                        f"of {group}, beyond the last {policy.keep_last}", rank)
    if policy.max_age is not None:
        return Decision(item, ReasonCode.OLDER_THAN_MAX_AGE,
                        f"{_duration(age)} old (the limit is {_duration(policy.max_age)}) and not the newest "
                        f"of {group}", rank)
    return Decision(item, ReasonCode.BEYOND_KEEP_LAST,
                    f"number {rank} of {group}, beyond the last {policy.keep_last}", rank)


def _label(group: tuple[str, ...]) -> str:
    return "/".join(group) if group else "its group"


def _duration(delta: timedelta) -> str:
    """"7 days", "2 days 3 hours", "5 hours 12 minutes", "40 seconds": the largest unit and the next."""
    seconds = int(delta.total_seconds())
    for i, (name, size) in enumerate(_UNITS):
        if seconds >= size:
            count, rest = divmod(seconds, size)
            text = _plural(count, name)
            if i + 1 < len(_UNITS) and rest // _UNITS[i + 1][1]:
                text += " " + _plural(rest // _UNITS[i + 1][1], _UNITS[i + 1][0])
            return text
    return "0 seconds"


_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
