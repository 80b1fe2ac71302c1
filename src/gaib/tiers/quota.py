"""Daily on-demand quotas, held atomically in the catalog.

A tier may limit on-demand backups and snapshots per UTC day (``TierPolicy.on_demand_limit``). Each
server and kind has one counter per day, ``SERVER#{id} / QUOTA#{kind}#{yyyymmdd}``, taken with
``Catalog.increment(ceiling=limit)``: a conditional ``UpdateItem`` on DynamoDB, one ``BEGIN IMMEDIATE``
transaction on SQLite. Nothing is read before it is written, so ten processes racing for the free
tier's one backup get exactly one unit; the nine others get ``TierLimit`` (exit 7) saying when the
quota resets and that the premium tier lifts it.

* A unit is taken before anything is stored and given back (``increment(by=-1)``) when the
  operation then fails, so a failed create never uses up the day.
* Unlimited tiers take no unit (and so pay no request): their usage is counted from the catalog
  (``used_today`` vs. ``created_today``).
* The counter's ``expires_at`` is the end of the next UTC day: it stays readable for a late give-back
  and DynamoDB's TTL removes it afterwards (a counter of a past day is never consulted anyway).
* The quota never refuses the only recovery point: when the counter is full, the stored items are
  counted (a few queries, only then), and a server with no snapshot — for backups, a workspace with no
  backup — takes one anyway (the day's item was deleted). Otherwise the refusal names what is stored
  (how many, the newest's id and time) and when the next one is allowed.
* That exception must not let racing creates through while another one is still writing its item
  (nothing is listed yet). So a create that stored its item settles its unit (``SETTLED#{kind}#{yyyymmdd}``,
  one more ``increment``), and the exception takes one more unit with the ceiling ``settled + 1``: it is
  granted only when every unit of the day is settled, and to one create at a time. Ten processes racing on
  a server with nothing stored still get exactly one unit; a create that died after taking its unit leaves
  the day refused, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal

from gaib.clock import Clock
from gaib.errors import GaibError, TierLimit
from gaib.ports import Ports
from gaib.storage.base import COUNTER_FIELD, Catalog, CeilingReached, damaged_reason
from gaib.storage.keys import BACKUP_SK_PREFIX, SNAPSHOT_SK_PREFIX, parse_id, quota_sk, server_pk, settled_sk
from gaib.tiers.table import TierPolicy, tier_of

QuotaKind = Literal["backup", "snapshot"]
QUOTA_KINDS: Final[tuple[QuotaKind, ...]] = ("backup", "snapshot")
_ITEM_PREFIX: Final[dict[str, str]] = {"backup": BACKUP_SK_PREFIX, "snapshot": SNAPSHOT_SK_PREFIX}
_COMMANDS: Final[dict[str, str]] = {"backup": "gaib server backup create", "snapshot": "gaib server snapshot create"}
_NOT_COUNTED: Final[dict[str, str]] = {"backup": "Scheduled and pre-restore backups are not limited.",
                                       "snapshot": "Pre-restore and scheduled snapshots are not limited."}


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def resets_at(day: date) -> datetime:
    """When the quota of ``day`` resets: the next midnight UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Held:
    """A unit taken for one operation (``counted`` is False on an unlimited tier: nothing to give back)."""

    server_id: str
    kind: QuotaKind
    day: date
    counted: bool


@dataclass(frozen=True)
class Stored:
    """The recovery points a refusal names: how many ``kind`` items the catalog lists (of one workspace for
    backups), and the newest one's id and creation time (None when there is none)."""

    count: int
    newest_id: str | None = None
    newest_at: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        return {"count": self.count, "newest": None if self.newest_id is None else {
            "id": self.newest_id, "created_at": _stamp(self.newest_at, "%Y-%m-%dT%H:%M:%SZ")}}


class Quota:
    """Takes and gives back on-demand units of one catalog, by the day of ``clock``."""

    def __init__(self, catalog: Catalog, *, clock: Clock) -> None:
        self.catalog = catalog
        self.clock = clock

    def take(self, server_id: str, kind: QuotaKind, policy: TierPolicy, *, workspace: str | None = None) -> Held:
        """Take one unit of today's ``kind`` quota; raises ``TierLimit`` (exit 7) when it is used up,
        unless nothing of ``kind`` is stored (of ``workspace``, for backups) and every unit of the day is
        settled: the only recovery point is never refused.

        One conditional write on a limited tier, none on an unlimited one; the stored items are only
        counted when the quota is used up.
        """
        limit = policy.on_demand_limit(kind)
        day = utc_day(self.clock())
        if limit is None:
            return Held(server_id, kind, day, counted=False)
        try:
            self.catalog.increment(server_pk(server_id), quota_sk(kind, day), by=1, ceiling=limit,
                                   expires_at=_expiry(day))
        except CeilingReached:
            settled = self._count(settled_sk(kind, day), server_id)  # read before listing: see the module docstring
            stored = self.stored(server_id, kind, workspace)
            if stored.count == 0:  # the only recovery point, unless another create is still writing one
                with contextlib.suppress(CeilingReached):
                    self.catalog.increment(server_pk(server_id), quota_sk(kind, day), by=1, ceiling=settled + 1,
                                           expires_at=_expiry(day))
                    return Held(server_id, kind, day, counted=True)
            raise self._refusal(server_id, kind, policy, limit, day, stored, workspace) from None
        return Held(server_id, kind, day, counted=True)

    def settle(self, held: Held) -> None:
        """Record that a counted unit's operation stored its item (see the module docstring). Never
        raises: the operation succeeded; a unit left unsettled only keeps the day's exception closed."""
        if not held.counted:
            return
        with contextlib.suppress(Exception):
            self.catalog.increment(server_pk(held.server_id), settled_sk(held.kind, held.day), by=1,
                                   expires_at=_expiry(held.day))

    def stored(self, server_id: str, kind: QuotaKind, workspace: str | None = None) -> Stored:
        """The ``kind`` items the catalog lists for the server (only ``workspace``'s when given), whatever
        their trigger; a damaged item is no recovery point and is not counted."""
        count, newest, cursor = 0, None, None
        while True:
            page = self.catalog.query(server_pk(server_id), _ITEM_PREFIX[kind], limit=500, cursor=cursor)
            for item in page.items:  # newest first
                if damaged_reason(item) is not None or (workspace is not None and item.get("workspace") != workspace):
                    continue
                count += 1
                newest = newest or item
            cursor = page.next_cursor
            if cursor is None:
                break
        if newest is None:
            return Stored(count)
        ident = str(newest.get("id", ""))
        try:
            at: datetime | None = parse_id(ident)
        except GaibError:
            at = None
        return Stored(count, ident[:80], at)

    def give_back(self, held: Held) -> bool:
        """Return a unit taken for an operation that failed; True if it was returned.

        Never raises: the operation's own error is what the caller reports. A unit that cannot be
        returned (storage unreachable) stays used until the quota resets.
        """
        if not held.counted:
            return True
        try:
            self.catalog.increment(server_pk(held.server_id), quota_sk(held.kind, held.day), by=-1,
                                   expires_at=_expiry(held.day))
        except Exception:  # see the docstring: never mask the operation's own error
            return False
        return True

    @contextlib.contextmanager
    def hold(self, server_id: str, kind: QuotaKind, policy: TierPolicy) -> Iterator[Held]:
        """Take a unit for the ``with`` block; give it back if the block raises (anything), settle it if not."""
        held = self.take(server_id, kind, policy)
        try:
            yield held
        except BaseException:
            self.give_back(held)
            raise
        self.settle(held)

    def used_today(self, server_id: str, kind: QuotaKind) -> int:
        """Units of today's quota counter (0 when none was taken, or on an unlimited tier)."""
        return self._count(quota_sk(kind, utc_day(self.clock())), server_id)

    def _count(self, sk: str, server_id: str) -> int:
        item = self.catalog.get(server_pk(server_id), sk)
        count = item.get(COUNTER_FIELD) if item else 0
        return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 0

    def created_today(self, server_id: str, kind: QuotaKind) -> int:
        """On-demand ``kind`` items created today (UTC) that the catalog still lists.

        Ids carry their creation time, so today's items are one sort-key prefix (a few queries).
        """
        today = utc_day(self.clock()).strftime("%Y%m%d")
        prefix = f"{_ITEM_PREFIX[kind]}{today}"
        count, cursor = 0, None
        while True:
            page = self.catalog.query(server_pk(server_id), prefix, limit=500, cursor=cursor)
            count += sum(1 for item in page.items if item.get("trigger") == "on-demand")
            cursor = page.next_cursor
            if cursor is None:
                return count

    def _refusal(self, server_id: str, kind: QuotaKind, policy: TierPolicy, limit: int, day: date,
                 stored: Stored, workspace: str | None) -> TierLimit:
        reset = resets_at(day)
        wait = reset - self.clock().astimezone(UTC)
        plural = kind if limit == 1 else f"{kind}s"
        owner = f"Workspace '{workspace}' of server {server_id}" if workspace is not None else f"Server {server_id}"
        if stored.count == 0:  # refused only while another create is still writing the day's one
            has = f"{owner} has no {kind} stored yet: the day's unit is held by a create still writing its {kind} " \
                  "(or one that died)"
        else:
            has = f"{owner} has {stored.count} {kind}{'' if stored.count == 1 else 's'}, the newest " \
                  f"{stored.newest_id}" + (f" ({_stamp(stored.newest_at, '%Y-%m-%d %H:%M UTC')})"
                                           if stored.newest_at is not None else "")
        return TierLimit(
            f"Server {server_id} has used its {limit} on-demand {plural} of today on the {policy.name} tier "
            f"('{_COMMANDS[kind]}'). {has}. The next on-demand {kind} is allowed when the "
            f"quota resets at {reset.strftime('%Y-%m-%d %H:%M')} UTC (in {_wait(wait)}). {_NOT_COUNTED[kind]}",
            hint=f"Wait until {reset.strftime('%H:%M')} UTC, or move the server to the premium tier "
                 "('gaib server tier set premium'), which has no on-demand limit.",
            details={"server_id": server_id, "tier": policy.name, "kind": kind, "limit": limit,
                     "day": day.isoformat(), "resets_at": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "workspace": workspace, "stored": stored.to_dict()},
        )


def _stamp(moment: datetime | None, fmt: str) -> str | None:
    return moment.astimezone(UTC).strftime(fmt) if moment is not None else None


def _expiry(day: date) -> int:
    return int((resets_at(day) + timedelta(days=1)).timestamp())


def _wait(delta: timedelta) -> str:
    minutes = max(1, -(-int(delta.total_seconds()) // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@contextlib.contextmanager
def on_demand(ports: Ports, server_id: str, kind: QuotaKind) -> Iterator[Held]:
    """Hold one unit of the server's ``kind`` quota (its current tier's) for the ``with`` block.

    A refusal publishes ``quota.reached`` and raises ``TierLimit``; a block that raises gets its
    unit back.
    """
    policy = tier_of(ports.catalog, server_id)
    quota = Quota(ports.catalog, clock=ports.clock)
    try:
        held = quota.take(server_id, kind, policy)
    except TierLimit as exc:
        from gaib.tiers import events  # only a refusal publishes

        events.quota_reached(ports, exc, server_id=server_id, tier=policy.name)
        raise
    try:
        yield held
    except BaseException:
        quota.give_back(held)
        raise
    quota.settle(held)
