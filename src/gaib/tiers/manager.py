"""TierManager: a server's tier (one catalog item), its usage, and changing it.

The tier of a server is the item ``SERVER#{id} / TIER`` (``gaib.tiers.table.tier_item`` plus who set
it, when, and the tier before); no item means free. Its limits come from the one policy table
(``gaib.tiers.table.POLICIES``).

Usage (:meth:`TierManager.usage`): today's on-demand backups and snapshots (the quota counter a
limited tier holds, and what the catalog lists as created today), and per kind of stored object
(backups, snapshots, exports, themes, metadata) the number of objects and their stored bytes.

Changing the tier (:meth:`TierManager.set`), in this order:

1. the ``TIER`` item is written (new tier, ``set_by``, ``set_at``, ``previous_tier``), so every later
   backup, quota check, prune and scheduled run uses the new tier;
2. an audit record ``AUDIT#{ts}#{id}`` is created (who, when, from, to);
3. every object of the server is re-tagged ``Tier=<new tier>`` (``ObjectStore.set_tags``; other tags
   are kept), so S3 lifecycle and replication rules select them. Objects already carrying the tag are
   skipped, so running ``set`` again finishes an interrupted re-tagging (and tags an object a racing
   writer stored with the old tier).

S3 replication acts on writes: objects re-tagged ``premium`` are not copied to the replica region by
the change itself; only objects written afterwards are. Older ones are copied with S3 Batch
Replication (docs/infrastructure.md, "Copying older objects").
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable
from concurrent.futures import CancelledError, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gaib.clock import Clock
from gaib.errors import Conflict, GaibError, NotFound
from gaib.interrupt import Workers
from gaib.names import check_snowflake
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.keys import TIER_SK, audit_sk, new_id, server_pk, server_prefixes
from gaib.tiers.cron import next_run
from gaib.tiers.quota import QUOTA_KINDS, Quota, resets_at, utc_day
from gaib.tiers.table import DEFAULT_TIER, POLICIES, TIERS, Tier, TierPolicy, check_tier, policy_for, tier_item

MAX_ACTOR = 200
RETAG_WORKERS = 8
"""Objects re-tagged at once by ``tier set`` (S3 takes each tag change as its own request)."""
_SET_ATTEMPTS = 5


def default_actor() -> str:
    """``user@host`` of this process (used when no ``GAIB_ACTOR`` is set)."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object, limit: int = MAX_ACTOR) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    clean = "".join(ch if ch.isprintable() else " " for ch in value).strip()
    return clean[:limit] or None


def limits(policy: TierPolicy) -> dict[str, Any]:
    """The policy row as shown by ``tier show`` (None: unlimited)."""
    return {"scheduled_backups": policy.scheduled_cadence, "backup_schedule": policy.backup_schedule,
            "on_demand_backups_per_day": policy.on_demand_per_day,
            "on_demand_snapshots_per_day": policy.on_demand_snapshots_per_day,
            "retention_days": policy.retention_days, "cross_region": policy.cross_region,
            "replica_region": policy.replica_region, "snapshots": policy.snapshots,
            "snapshot_schedule": policy.snapshot_schedule, "theme_history_keep_last": policy.theme_history_keep_last,
            "storage_class": policy.storage_class, "glacier_ir_after_days": policy.glacier_ir_after_days}


@dataclass(frozen=True)
class TierState:
    """A server's tier as stored. ``stored`` is the raw value when it is not a tier name (read as free)."""

    server_id: str
    policy: TierPolicy
    registered: bool
    set_by: str | None = None
    set_at: str | None = None
    previous: str | None = None
    stored: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "tier": self.policy.name, "registered": self.registered,
                "set_by": self.set_by, "set_at": self.set_at, "previous_tier": self.previous,
                "unreadable_value": self.stored}


@dataclass(frozen=True)
class KindUsage:
    objects: int
    bytes: int

    def to_dict(self) -> dict[str, int]:
        return {"objects": self.objects, "bytes": self.bytes}


@dataclass(frozen=True)
class OnDemandUsage:
    """Today's on-demand ``kind``: ``used`` units of the quota (limited tiers), ``created`` items listed."""

    kind: str
    limit: int | None
    used: int
    created: int

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "used": self.used, "created_today": self.created,
                "remaining": None if self.limit is None else max(0, self.limit - self.used)}


@dataclass(frozen=True)
class Usage:
    day: str
    resets_at: str
    on_demand: dict[str, OnDemandUsage]
    storage: dict[str, KindUsage]

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "resets_at": self.resets_at,
                "on_demand": {k: v.to_dict() for k, v in self.on_demand.items()},
                "storage": {k: v.to_dict() for k, v in self.storage.items()},
                "stored_bytes": sum(v.bytes for v in self.storage.values()),
                "objects": sum(v.objects for v in self.storage.values())}


@dataclass(frozen=True)
class TierReport:
    state: TierState
    usage: Usage
    next_backup: str | None
    next_snapshot: str | None

    def to_dict(self) -> dict[str, Any]:
        p = self.state.policy
        return {**self.state.to_dict(), "limits": limits(p),
                "retention": {"backups": p.backup_retention().to_dict(), "snapshots": p.snapshot_retention().to_dict(),
                              "theme_history": p.theme_history_retention().to_dict()},
                "usage": self.usage.to_dict(),
                "next_scheduled_run": {"backup": self.next_backup, "snapshot": self.next_snapshot}}


@dataclass
class Retagged:
    """The re-tagging of a server's objects: how many changed, how many already carried the tag."""

    tier: str
    changed: int = 0
    unchanged: int = 0
    changed_bytes: int = 0
    error: GaibError | None = None
    failed_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "changed": self.changed, "unchanged": self.unchanged,
                "changed_bytes": self.changed_bytes, "complete": self.error is None,
                "error": self.error.to_dict() if self.error else None, "failed_key": self.failed_key}


@dataclass(frozen=True)
class TierChange:
    server_id: str
    previous: TierPolicy
    new: TierPolicy
    set_by: str
    set_at: str
    audit_id: str
    retagged: Retagged
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "previous_tier": self.previous.name, "tier": self.new.name,
                "changed": self.previous.name != self.new.name, "set_by": self.set_by, "set_at": self.set_at,
                "audit_id": self.audit_id, "retagged": self.retagged.to_dict(), "notes": list(self.notes),
                "limits": limits(self.new)}


class TierManager:
    """Read, report and change the tier of servers over one store and catalog."""

    def __init__(self, store: ObjectStore, catalog: Catalog, *, clock: Clock) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock

    def get(self, server_id: str) -> TierState:
        """The server's tier as stored; an absent or unreadable item reads as free."""
        check_snowflake(server_id, "server id")
        item = self.catalog.get(server_pk(server_id), TIER_SK)
        if item is None:
            return TierState(server_id, POLICIES[DEFAULT_TIER], registered=False)
        raw = item.get("tier")
        stored = None if isinstance(raw, str) and raw in TIERS else _text(repr(raw), 60)
        return TierState(server_id, policy_for(raw), registered=True, set_by=_text(item.get("set_by")),
                         set_at=_text(item.get("set_at"), 40), previous=_text(item.get("previous_tier"), 20),
                         stored=stored)

    def usage(self, server_id: str, policy: TierPolicy | None = None) -> Usage:
        """Today's on-demand usage and the stored objects and bytes per kind."""
        check_snowflake(server_id, "server id")
        policy = policy or self.get(server_id).policy
        quota = Quota(self.catalog, clock=self.clock)
        today = utc_day(self.clock())
        on_demand: dict[str, OnDemandUsage] = {
            kind: OnDemandUsage(kind, policy.on_demand_limit(kind), quota.used_today(server_id, kind),
                                quota.created_today(server_id, kind))
            for kind in QUOTA_KINDS}
        storage = {}
        for kind, prefix in server_prefixes(server_id).items():
            objects = size = 0
            for info in self.store.list(prefix):
                objects += 1
                size += info.size
            storage[kind] = KindUsage(objects, size)
        return Usage(day=today.isoformat(), resets_at=_iso(resets_at(today)), on_demand=on_demand, storage=storage)

    def report(self, server_id: str) -> TierReport:
        """Everything ``gaib server tier show`` prints."""
        state = self.get(server_id)
        now = self.clock()
        snapshot_next = None
        if state.policy.snapshot_schedule is not None:
            moment = next_run(state.policy.snapshot_schedule, now)
            snapshot_next = _iso(moment) if moment else None
        backup_next = next_run(state.policy.backup_schedule, now)
        return TierReport(state, self.usage(server_id, state.policy),
                          _iso(backup_next) if backup_next else None, snapshot_next)

    def set(self, server_id: str, tier: str, *, actor: str, on_s3: bool = True,
            progress: Callable[[int], None] | None = None) -> TierChange:
        """Move the server to ``tier`` (see the module docstring for the order of the steps).

        ``on_s3`` says whether the store is S3, where lifecycle and replication rules act on the tags:
        the change's notes speak of replication and Glacier only there, and of their absence otherwise.
        Raises InvalidInput (exit 6) for a tier that is not exactly ``free`` or ``premium`` and
        InvalidName for a bad server id, before anything is written. A re-tagging stopped by a storage
        failure is reported in ``retagged.error`` (the tier itself is already changed).
        """
        check_snowflake(server_id, "server id")
        name: Tier = check_tier(tier)
        who = _text(actor) or "unknown"
        now = self.clock()
        at = _iso(now)
        previous = self._write(server_id, name, who, at)
        audit_id = new_id(now)
        self.catalog.put_if_absent(server_pk(server_id), audit_sk(audit_id), {
            "id": audit_id, "kind": "audit", "action": "tier.set", "server_id": server_id,
            "from": previous.name, "to": name, "by": who, "at": at})
        retagged = self.retag(server_id, name, progress=progress)
        return TierChange(server_id, previous, POLICIES[name], who, at, audit_id, retagged,
                          notes=self._notes(previous, POLICIES[name], retagged, on_s3=on_s3))

    def _write(self, server_id: str, tier: Tier, who: str, at: str) -> TierPolicy:
        """Write the TIER item; returns the policy it replaced (free when there was none)."""
        pk = server_pk(server_id)
        for _ in range(_SET_ATTEMPTS):
            item = self.catalog.get(pk, TIER_SK)
            previous = policy_for(item.get("tier") if item else None)
            fields = {**tier_item(server_id, tier), "set_by": who, "set_at": at, "previous_tier": previous.name}
            try:
                if item is None:
                    self.catalog.put_if_absent(pk, TIER_SK, fields)
                else:
                    self.catalog.update(pk, TIER_SK, fields)
            except (Conflict, NotFound):
                continue  # created or removed meanwhile: read again
            return previous
        raise Conflict(f"The tier item of server {server_id} kept changing while it was written.",
                       hint="Run the command again.")

    def retag(self, server_id: str, tier: str, *, progress: Callable[[int], None] | None = None) -> Retagged:
        """Tag every object of the server ``Tier=<tier>`` (and ``ServerId``), keeping its other tags.

        Objects already tagged so are left alone; an object deleted meanwhile is skipped. Objects are
        re-tagged by ``RETAG_WORKERS`` threads (two requests each on S3, a sidecar write locally); the
        first storage failure stops the rest and is recorded in the result.
        """
        done = Retagged(tier)
        objects = [info for prefix in server_prefixes(server_id).values() for info in self.store.list(prefix)]
        wanted = {"Tier": tier, "ServerId": server_id}

        def tag_one(key: str) -> bool | None:
            """True: re-tagged; False: already tagged; None: gone meanwhile."""
            try:
                tags = self.store.tags(key)
                if all(tags.get(k) == v for k, v in wanted.items()):
                    return False
                self.store.set_tags(key, {**tags, **wanted})
            except NotFound:
                return None
            return True

        with Workers(max_workers=RETAG_WORKERS) as pool:
            futures = {pool.submit(tag_one, info.key): info for info in objects}
            for future in as_completed(futures):
                info = futures[future]
                try:
                    changed = future.result()
                except GaibError as exc:
                    if done.error is None:
                        done.error, done.failed_key = exc, info.key
                        for other in futures:
                            other.cancel()
                    continue
                except CancelledError:
                    continue
                if changed:
                    done.changed += 1
                    done.changed_bytes += info.size
                    if progress is not None:
                        progress(done.changed)
                elif changed is False:
                    done.unchanged += 1
        return done

    @staticmethod
    def _notes(previous: TierPolicy, new: TierPolicy, retagged: Retagged, *, on_s3: bool) -> list[str]:
        notes = []
        if not on_s3 and (new.cross_region or previous.cross_region or new.glacier_ir_after_days is not None):
            notes.append("The backups are in the local store: the tags are recorded, but lifecycle rules and "
                         "replication exist only on S3.")
        if on_s3 and new.cross_region and not previous.cross_region:
            notes.append(
                f"Replication to {new.replica_region} copies objects written from now on. Objects stored "
                f"before the change ({retagged.changed + retagged.unchanged} now) are tagged Tier={new.name} "
                "but are not copied by the change itself: copy them once with S3 Batch Replication "
                "(docs/infrastructure.md, 'Copying older objects').")
        if on_s3 and previous.cross_region and not new.cross_region:
            notes.append(f"New objects are no longer replicated to {previous.replica_region}; copies already "
                         "there stay until you remove them.")
        if new.retention_days < previous.retention_days:
            notes.append(f"The next prune applies the {new.name} policy ({new.backup_retention().describe()}): "
                         "see what it would remove with 'gaib server backup prune --dry-run' and "
                         "'gaib server snapshot prune --dry-run'.")
        if on_s3 and new.glacier_ir_after_days is not None and previous.glacier_ir_after_days is None:
            notes.append(f"Objects over the lifecycle's size threshold move to Glacier Instant Retrieval "
                         f"{new.glacier_ir_after_days} days after they were written.")
        return notes
