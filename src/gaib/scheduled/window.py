"""What a scheduled run is asked to do: its options, the window it works on and its shard of the servers.

:func:`parse_shard` reads ``--shard I/N`` and :func:`resolve_window` reads ``--window``; both raise
InvalidInput (exit 6, ``USAGE_ERROR``) for what they cannot read, as does :class:`RunOptions` for a
concurrency out of range. A server's shard is its id's sha256 (:func:`shard_of`), so every task of a
window splits the servers alike. Nothing here reads or writes storage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from gaib.errors import InvalidInput
from gaib.storage.keys import window_of
from gaib.tiers.cron import previous_run
from gaib.tiers.table import TierPolicy

Operation = Literal["backup", "snapshot"]
PAGE: Final = 1000
"""Servers per index page (the catalog's largest): a DynamoDB query returns up to 1 MB, ~100 bytes a key
here; its keys are confirmed live by consistent reads of 100 keys each."""
DEFAULT_LEASE: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def label(self) -> str:
        """``{I}of{N}``: the shard as it is named in the keys of the run's block items."""
        return f"{self.index}of{self.count}"

    def holds(self, server_id: str) -> bool:
        return shard_of(server_id, self.count) == self.index


def shard_of(server_id: str, count: int) -> int:
    """The shard (1..count) a server belongs to: its id's sha256, so every task splits alike."""
    return int.from_bytes(hashlib.sha256(server_id.encode("ascii")).digest()[:8], "big") % count + 1


def parse_shard(text: str) -> Shard:
    """``I/N`` with 1 <= I <= N <= 1000; raises InvalidInput (exit 6)."""
    parts = text.strip().split("/")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        index, count = int(parts[0]), int(parts[1])
        if 1 <= index <= count <= 1000:
            return Shard(index, count)
    raise InvalidInput(f"--shard {text[:20]!r} must be I/N with 1 <= I <= N <= 1000 (e.g. 2/4).",
                       code="USAGE_ERROR")


def schedule_of(policy: TierPolicy, operation: Operation) -> str:
    expression = policy.snapshot_schedule if operation == "snapshot" else policy.backup_schedule
    assert expression is not None
    return expression


def resolve_window(policy: TierPolicy, operation: Operation, spec: str, now: datetime) -> str:
    """The window a run works on: ``auto`` is the last time the tier's schedule fired (at or before
    ``now``); an ISO time (what EventBridge passes as the event's ``time``) is that minute.

    Raises InvalidInput (exit 6) for an unreadable time, or one more than 10 minutes in the future.
    """
    if spec == "auto":
        moment = previous_run(schedule_of(policy, operation), now)
        if moment is None:  # an expression cron cannot read: fall back to the cadence's boundary
            interval = policy.backup_interval if operation == "backup" else timedelta(weeks=1)
            epoch = int(now.timestamp())
            moment = datetime.fromtimestamp(epoch - epoch % int(interval.total_seconds()), tz=UTC)
        return window_of(moment)
    try:
        moment = datetime.fromisoformat(spec.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"--window {spec[:40]!r} must be 'auto' or an ISO time with its zone, "
                           "e.g. 2026-11-25T03:00:00Z.", code="USAGE_ERROR")
    if moment - now > timedelta(minutes=10):
        raise InvalidInput(f"--window {spec[:40]} is in the future.", code="USAGE_ERROR")
    return window_of(moment)


@dataclass(frozen=True)
class RunOptions:
    tier: str
    snapshots: bool = False
    shard: Shard | None = None
    concurrency: int = 8
    window: str = "auto"
    lease: timedelta = DEFAULT_LEASE
    page_size: int = PAGE

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= 256:
            raise InvalidInput(f"--concurrency {self.concurrency} must be between 1 and 256.", code="USAGE_ERROR")


__all__ = ["DEFAULT_LEASE", "PAGE", "Operation", "RunOptions", "Shard", "parse_shard", "resolve_window",
           "schedule_of", "shard_of"]
