"""Claims: how any number of scheduled tasks split a window's servers with no coordinator.

A task works on a server only after it created the claim item ``SERVER#{id} / RUN#{tier}#{window}``
(``...#snapshot`` for snapshot runs) with a conditional put (``Catalog.put_if_absent``): exactly one
task wins it, every other task skips the server. A claim is:

* **final** (``created``, ``unchanged``, ``failed``): the window is done for this server;
* **running**, within its lease: a task is working on it — others skip it;
* **running**, past its lease (``lease_until``): the task died. Another task may **take it over** with
  ``Catalog.increment`` of its ``count`` under the ceiling ``count + 1``, so of several tasks that saw the
  same dead claim exactly one wins; the winner then checks what the dead task had already stored before
  writing anything (:class:`gaib.scheduled.jobs.ServerJobs` looks for a backup of this window first).

A task never writes a backup once its own lease has passed (it gives the server up as failed instead),
so a slow task and the task that took over from it never both write. Every claim carries an
``expires_at`` a week after its window (``KEEP``; after the run, for a window run late): DynamoDB's TTL
removes it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from gaib.clock import Clock
from gaib.errors import Conflict, NotFound
from gaib.storage.base import COUNTER_FIELD, Catalog, CeilingReached, Item
from gaib.storage.keys import parse_window, run_claim_sk, server_pk

KEEP: Final = timedelta(days=7)
"""How long a claim stays after its window (to see what each run did), before TTL removes it."""
FINAL: Final = frozenset({"created", "unchanged", "failed"})
ClaimState = Literal["free", "final", "running", "stale"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ClaimKey:
    server_id: str
    tier: str
    window: str
    operation: str

    @property
    def pk(self) -> str:
        return server_pk(self.server_id)

    @property
    def sk(self) -> str:
        return run_claim_sk(self.tier, self.window, self.operation)


def claim_state(item: Item | None, now: datetime) -> ClaimState:
    """What a claim item (as read) means for a task that wants the server."""
    if item is None:
        return "free"
    if item.get("status") in FINAL:
        return "final"
    lease = item.get("lease_until")
    if isinstance(lease, int) and not isinstance(lease, bool) and lease <= int(now.timestamp()):
        return "stale"
    return "running"


class Claims:
    """Claims of one task (``task``) over one catalog."""

    def __init__(self, catalog: Catalog, *, clock: Clock, task: str, lease: timedelta) -> None:
        self.catalog = catalog
        self.clock = clock
        self.task = task
        self.lease = lease

    def _expiry(self, key: ClaimKey) -> int:
        # From the window, or from now for a window run late (a claim must outlive its own run).
        return int((max(parse_window(key.window), self.clock()) + KEEP).timestamp())

    def _base(self, key: ClaimKey, now: datetime) -> dict[str, Any]:
        return {"kind": "run-claim", "server_id": key.server_id, "tier": key.tier, "window": key.window,
                "operation": key.operation, "task": self.task, "started_at": iso(now),
                "expires_at": self._expiry(key)}

    def take(self, key: ClaimKey) -> datetime | None:
        """Claim a free server (``running``, leased); returns the lease's end, or None when another task
        claimed it first."""
        now = self.clock()
        until = now + self.lease
        try:
            self.catalog.put_if_absent(key.pk, key.sk, {**self._base(key, now), "status": "running",
                                                        "lease_until": int(until.timestamp()), COUNTER_FIELD: 1})
        except Conflict:
            return None
        return until

    def settle(self, key: ClaimKey, status: str, fields: dict[str, Any]) -> bool:
        """Claim a free server and record its outcome in one write (a server with nothing to write);
        False when another task claimed it first."""
        now = self.clock()
        try:
            self.catalog.put_if_absent(key.pk, key.sk, {**self._base(key, now), "status": status,
                                                        "finished_at": iso(now), COUNTER_FIELD: 1, **fields})
        except Conflict:
            return False
        return True

    def take_over(self, key: ClaimKey, seen: Item) -> tuple[datetime, str] | None:
        """Take a stale claim (its task died); returns (the new lease's end, when the first attempt
        started), or None when another task took it first or it is no longer stale."""
        count = seen.get(COUNTER_FIELD)
        attempt = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
        try:
            self.catalog.increment(key.pk, key.sk, by=1, ceiling=attempt + 1)
        except CeilingReached:
            return None
        now = self.clock()
        until = now + self.lease
        try:
            self.catalog.update(key.pk, key.sk, {"status": "running", "task": self.task,
                                                 "lease_until": int(until.timestamp()),
                                                 "taken_over_at": iso(now)})
        except NotFound:
            return None
        started = seen.get("started_at")
        return until, started if isinstance(started, str) else iso(now)

    def finish(self, key: ClaimKey, status: str, fields: dict[str, Any]) -> None:
        """Record the outcome of a claim this task holds (``created``, ``unchanged`` or ``failed``)."""
        self.catalog.update(key.pk, key.sk, {"status": status, "finished_at": iso(self.clock()), **fields})

    def get_many(self, keys: list[ClaimKey]) -> dict[str, Item]:
        """The claim items of ``keys`` that exist, by server id (one batched read)."""
        found = self.catalog.get_many([(k.pk, k.sk) for k in keys])
        return {k.server_id: found[(k.pk, k.sk)] for k in keys if (k.pk, k.sk) in found}


def still_leased(until: datetime, now: datetime, margin: timedelta = timedelta(seconds=30)) -> bool:
    """True while a task may still write under a lease ending at ``until`` (with a safety margin)."""
    return now + margin < until

