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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal

from gaib.clock import Clock
from gaib.errors import TierLimit
from gaib.ports import Ports
from gaib.storage.base import COUNTER_FIELD, Catalog, CeilingReached
from gaib.storage.keys import BACKUP_SK_PREFIX, SNAPSHOT_SK_PREFIX, quota_sk, server_pk
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


class Quota:
    """Takes and gives back on-demand units of one catalog, by the day of ``clock``."""

    def __init__(self, catalog: Catalog, *, clock: Clock) -> None:
        self.catalog = catalog
        self.clock = clock

    def take(self, server_id: str, kind: QuotaKind, policy: TierPolicy) -> Held:
        """Take one unit of today's ``kind`` quota; raises ``TierLimit`` (exit 7) when it is used up.

        One conditional write on a limited tier, none on an unlimited one.
        """
        limit = policy.on_demand_limit(kind)
        day = utc_day(self.clock())
        if limit is None:
            return Held(server_id, kind, day, counted=False)
        try:
            self.catalog.increment(server_pk(server_id), quota_sk(kind, day), by=1, ceiling=limit,
                                   expires_at=_expiry(day))
        except CeilingReached:
            raise self._refusal(server_id, kind, policy, limit, day) from None
        return Held(server_id, kind, day, counted=True)

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
        """Take a unit for the ``with`` block; give it back if the block raises (anything)."""
        held = self.take(server_id, kind, policy)
        try:
            yield held
        except BaseException:
            self.give_back(held)
            raise

    def used_today(self, server_id: str, kind: QuotaKind) -> int:
        """Units of today's quota counter (0 when none was taken, or on an unlimited tier)."""
        item = self.catalog.get(server_pk(server_id), quota_sk(kind, utc_day(self.clock())))
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

    def _refusal(self, server_id: str, kind: QuotaKind, policy: TierPolicy, limit: int, day: date) -> TierLimit:
        reset = resets_at(day)
        wait = reset - self.clock().astimezone(UTC)
        plural = kind if limit == 1 else f"{kind}s"
        return TierLimit(
            f"Server {server_id} has used its {limit} on-demand {plural} of today on the {policy.name} tier "
            f"('{_COMMANDS[kind]}'). The quota resets at {reset.strftime('%Y-%m-%d %H:%M')} UTC "
            f"(in {_wait(wait)}). {_NOT_COUNTED[kind]}",
            hint=f"Wait until {reset.strftime('%H:%M')} UTC, or move the server to the premium tier "
                 "('gaib server tier set premium'), which has no on-demand limit.",
            details={"server_id": server_id, "tier": policy.name, "kind": kind, "limit": limit,
                     "day": day.isoformat(), "resets_at": reset.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )


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
