"""``gaib server backup prune`` and ``gaib server snapshot prune``: plan, then execute once.

:func:`plan_prune` reads every catalog item of the server's backups (all workspaces) or snapshots,
verifies each manifest, and plans with the policy of the tier the server is on **now** (so a server
moved from premium to free gets the free policy on its next prune). It writes nothing.
:func:`execute_prune` removes what the plan removes (:func:`gaib.bundles.prune.execute`: catalog items
first, then objects), then sweeps orphan objects (objects no item lists, older than a day); a
snapshot prune then removes the images in ``media/`` no remaining snapshot references
(:func:`gaib.bundles.media.sweep_orphans`, an hour's grace).

Items that cannot be read (damaged, or written by a newer Gaib) are never judged nor removed: they
are reported, and while any exists the orphan sweep is skipped (such an item may still own objects).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gaib.backups import store as backups
from gaib.bundles import media, order
from gaib.bundles.prune import (
    Bundle,
    Orphan,
    Progress,
    PruneResult,
    execute,
    find_orphans,
    id_in,
    plan,
    sweep_orphans,
)
from gaib.bundles.record import Record
from gaib.bundles.repository import BundleRepository, Layout
from gaib.bundles.retention import Retained, RetentionPlan, RetentionPolicy
from gaib.errors import GaibError, IntegrityError, PartialFailure
from gaib.ports import Ports, server_id_of
from gaib.snapshots import store as snapshots
from gaib.storage.base import Item
from gaib.storage.keys import (
    BACKUP_SK_PREFIX,
    SNAPSHOT_SK_PREFIX,
    backups_prefix,
    check_id,
    parse_id,
    server_pk,
    snapshot_prefix,
)
from gaib.tiers.table import TierPolicy, tier_of

PruneKind = Literal["backup", "snapshot"]
PAGE = 1000


@dataclass(frozen=True)
class PrunePlan:
    """What a prune of one kind would do for one server; ``retention.remove`` is what goes."""

    kind: PruneKind
    server_id: str
    tier: TierPolicy
    policy: RetentionPolicy
    retention: RetentionPlan
    bundles: dict[str, Bundle]
    damaged: list[str] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.retention.remove and not self.orphans

    def to_dict(self) -> dict[str, Any]:
        def rows(decisions: Any) -> list[dict[str, Any]]:
            return [{**d.to_dict(), **self.bundles[d.item.id].detail} for d in decisions]

        return {"kind": self.kind, "server_id": self.server_id, "tier": self.tier.name,
                "policy": self.policy.to_dict(), "now": self.retention.to_dict()["now"],
                "remove": rows(self.retention.remove), "keep": rows(self.retention.keep),
                "removed_bytes": self.retention.removed_bytes, "kept_bytes": self.retention.kept_bytes,
                "damaged": list(self.damaged), "orphans": [o.to_dict() for o in self.orphans]}


@dataclass(frozen=True)
class PruneOutcome:
    plan: PrunePlan
    result: PruneResult
    orphans_removed: list[Orphan]
    media_removed: list[str] = field(default_factory=list)
    """Checksums of the images no remaining snapshot references, removed after a snapshot prune."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "orphans_removed": [o.to_dict() for o in self.orphans_removed],
                "media_removed": list(self.media_removed)}


def _scan(ports: Ports, server_id: str, prefix: str, read: Callable[[Item], Bundle],
          damaged: list[str]) -> list[Bundle]:
    """Every live item of the server under ``prefix``, read into bundles; unreadable ones go to ``damaged``."""
    found: list[Bundle] = []
    cursor: str | None = None
    while True:
        page = ports.catalog.query(server_pk(server_id), prefix, limit=PAGE, cursor=cursor)
        for item in page.items:
            try:
                found.append(read(item))
            except GaibError:
                damaged.append(str(item.get("id", "?"))[:80])
        cursor = page.next_cursor
        if cursor is None:
            return found


def _retained(rec: Record, group: tuple[str, ...], storage_now: float | None) -> Retained:
    created = parse_id(rec.id)
    return Retained(id=rec.id, group=group, created_at=created, size=rec.stored_size, sequence=rec.sequence,
                    misdated=order.misdated(created, rec.written, storage_now))


def _detail(rec: Record, storage_now: float | None) -> dict[str, Any]:
    ahead = rec.ahead_by(storage_now)
    return {"workspace": rec.workspace, "trigger": rec.trigger, "serial": rec.serial, "message": rec.message,
            "future_dated": ahead is not None and ahead > order.CLOCK_SLACK}


def _backup_bundles(ports: Ports, server_id: str, damaged: list[str]) -> list[Bundle]:
    mgr = backups.BackupManager(ports.store, ports.catalog, clock=ports.clock, mac=ports.mac)
    records: list[Record] = []

    def read(item: Item) -> Bundle:
        rec = mgr.record_of(server_id, item)
        records.append(rec)
        return Bundle(Retained(rec.id, (server_id, rec.workspace), parse_id(rec.id)),
                      backups.layout(server_id, rec.workspace, rec.id))

    found = _scan(ports, server_id, BACKUP_SK_PREFIX, read, damaged)
    now = ports.catalog.storage_time()
    return [replace(b, retained=_retained(r, b.retained.group, now), detail=_detail(r, now))
            for b, r in zip(found, records, strict=True)]


def _snapshot_bundles(ports: Ports, server_id: str, damaged: list[str]) -> list[Bundle]:
    repo = BundleRepository(ports.store, ports.catalog, mac=ports.mac)
    records: list[Record] = []

    def read(item: Item) -> Bundle:
        ident = check_id(item.get("id"), "snapshot id")
        where: Layout = snapshots.layout(server_id, ident, snapshots.part_names(item))
        # The item is verified; manifest.json is not read (one GET per snapshot for nothing).
        m = repo.manifest(item, replace(where, manifest_key=None), f"snapshot {ident}")
        if m.id != ident or m.server_id != server_id or m.kind != "snapshot":
            raise IntegrityError(f"The catalog item of snapshot {ident} is damaged: it describes another bundle.")
        records.append(Record(m, order.written_of(item, f"snapshot {ident}")))
        return Bundle(Retained(m.id, (server_id,), parse_id(m.id)), where)

    found = _scan(ports, server_id, SNAPSHOT_SK_PREFIX, read, damaged)
    now = ports.catalog.storage_time()
    return [replace(b, retained=_retained(r, b.retained.group, now), detail=_detail(r, now))
            for b, r in zip(found, records, strict=True)]


def plan_prune(ports: Ports, kind: PruneKind, *, server_id: str | None = None) -> PrunePlan:
    """Plan the prune of the server's backups or snapshots with its current tier's policy; writes nothing."""
    sid = server_id if server_id is not None else server_id_of(ports)
    tier = tier_of(ports.catalog, sid)
    damaged: list[str] = []
    now = ports.clock()
    if kind == "backup":
        found = _backup_bundles(ports, sid, damaged)
        policy = tier.backup_retention()
        prefix, pattern = backups_prefix(sid), rf"state/{sid}/[A-Za-z0-9][A-Za-z0-9_-]*/backup\.{{id}}\.json\.gz"
    else:
        found = _snapshot_bundles(ports, sid, damaged)
        policy = tier.snapshot_retention()
        prefix, pattern = snapshot_prefix(sid), (rf"snapshots/{sid}/{{id}}/"
                                                 r"(?:[a-z][a-z.-]*|messages/[0-9]{1,20}\.jsonl\.gz)")
    retention = plan(found, policy, now)
    orphans: list[Orphan] = []
    if not damaged:
        orphans = find_orphans(ports.store, prefix, id_in(pattern), {b.id for b in found}, now)
    return PrunePlan(kind=kind, server_id=sid, tier=tier, policy=policy, retention=retention,
                     bundles={b.id: b for b in found}, damaged=damaged, orphans=orphans)


def execute_prune(ports: Ports, prune_plan: PrunePlan, *, progress: Progress | None = None) -> PruneOutcome:
    """Remove what ``prune_plan`` removes, then its orphans; raises ``PartialFailure`` (exit 8) when a
    storage failure stopped it (every bundle still listed is whole; run prune again to finish)."""
    result = execute(ports.store, ports.catalog, prune_plan.retention, prune_plan.bundles, progress=progress)
    swept: list[Orphan] = []
    if result.complete and prune_plan.orphans:
        error = sweep_orphans(ports.store, prune_plan.orphans)
        if error is None:
            swept = list(prune_plan.orphans)
        else:
            result.error = error
    images: list[str] = []
    if result.complete and prune_plan.kind == "snapshot":
        try:
            images = media.sweep_orphans(ports.store, ports.catalog, prune_plan.server_id, now=ports.clock())
        except GaibError as exc:
            result.error = exc
    outcome = PruneOutcome(prune_plan, result, swept, images)
    if result.error is not None:
        what = f"{prune_plan.kind}s"
        planned = len(prune_plan.retention.remove)
        left = (f"; {len(result.objects_left)} objects of removed {what} are still stored (no longer listed, "
                "a later prune removes them)") if result.objects_left else ""
        raise PartialFailure(
            f"Pruned {len(result.removed)} of {planned} {what} of server {prune_plan.server_id}, then the storage "
            f"failed: {result.error.message}{left}. Every {prune_plan.kind} still listed is whole.",
            hint=f"Fix the storage problem, then run 'gaib server {prune_plan.kind} prune' again to finish.",
            details={"prune": outcome.to_dict()})
    return outcome
