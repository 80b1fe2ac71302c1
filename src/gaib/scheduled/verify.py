"""``gaib server backup verify``: re-read stored backups and snapshots and check every checksum.

What is checked, per server: every catalog item's manifest checksum and part keys; then each chosen
backup's part (stored sha256 before decompressing, plain sha256 after, and that it parses as a state)
and each chosen snapshot's ``manifest.json`` and five parts (the same checks, through
``SnapshotManager.load``). Which ones:

* default: the newest backup of each workspace and the newest snapshot (what a restore would use);
* ``sample=N``: those, plus N more chosen at random among the rest;
* ``everything``: every backup and snapshot.

Every failure is a ``verify.failed`` event naming the id and the error; the report counts them and the
command exits 3 when something failed its check. With a tier (the weekly scheduled task) every server
of the tier is verified, the report carries metrics (Operation ``verify``) and a heartbeat item is
written, as for scheduled backup runs.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Final

from gaib.backups.store import BackupManager
from gaib.errors import GaibError, IntegrityError, PartialFailure
from gaib.names import NAME_PATTERN
from gaib.notify.events import ErrorInfo, Event
from gaib.ports import Ports, server_id_of
from gaib.scheduled.claims import iso
from gaib.scheduled.metrics import Metric
from gaib.snapshots.store import SnapshotManager
from gaib.storage.base import TIER_INDEX
from gaib.storage.keys import BACKUP_SK_PREFIX, SNAPSHOT_SK_PREFIX, heartbeat_sk, scheduler_pk, server_of_pk, server_pk
from gaib.tiers import events
from gaib.tiers.table import POLICIES, check_tier, tier_of

PAGE: Final = 500
MAX_FAILURES_LISTED: Final = 100


@dataclass
class VerifyReport:
    tier: str | None
    servers: int = 0
    checked: int = 0
    ok: int = 0
    failed: int = 0
    integrity_failures: int = 0
    bytes_read: int = 0
    backups: int = 0
    snapshots: int = 0
    duration_ms: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None

    def fail(self, server_id: str, kind: str, ident: str, error: GaibError) -> None:
        self.failed += 1
        if error.error_code == IntegrityError.code:
            self.integrity_failures += 1
        if len(self.failures) < MAX_FAILURES_LISTED:
            info = ErrorInfo.of(error)
            self.failures.append({"server_id": server_id, "kind": kind, "id": ident,
                                  "error": {"code": info.code, "message": info.message}})

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "servers": self.servers, "checked": self.checked, "ok": self.ok,
                "failed": self.failed, "backups": self.backups, "snapshots": self.snapshots,
                "bytes_read": self.bytes_read, "duration_ms": self.duration_ms, "failures": list(self.failures)}


def _items(ports: Ports, server_id: str, prefix: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = ports.catalog.query(server_pk(server_id), prefix, limit=PAGE, cursor=cursor)
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


def _choose(items: list[dict[str, Any]], newest_keys: set[str], everything: bool, sample: int,
            rng: random.Random) -> list[dict[str, Any]]:
    if everything:
        return items
    chosen = [i for i in items if str(i.get("id")) in newest_keys]
    rest = [i for i in items if str(i.get("id")) not in newest_keys]
    return chosen + rng.sample(rest, min(sample, len(rest)))


def verify_server(ports: Ports, server_id: str, report: VerifyReport, *, everything: bool = False, sample: int = 0,
                  rng: random.Random | None = None) -> None:
    """Verify one server's backups and snapshots into ``report``; publishes ``verify.failed`` per failure."""
    rng = rng or random.Random()
    tier = tier_of(ports.catalog, server_id).name
    backups = BackupManager(ports.store, ports.catalog, clock=ports.clock)
    snapshots = SnapshotManager(ports.store, ports.catalog, clock=ports.clock)
    report.servers += 1

    backup_items = _items(ports, server_id, BACKUP_SK_PREFIX)
    newest: dict[str, str] = {}
    for item in backup_items:  # newest first: the first of each workspace is its newest
        newest.setdefault(str(item.get("workspace")), str(item.get("id")))
    for item in _choose(backup_items, set(newest.values()), everything, sample, rng):
        ident = str(item.get("id", "?"))[:80]
        report.checked += 1
        report.backups += 1
        try:
            record = backups.record_of(server_id, item)
            backups.load(record)
            report.bytes_read += record.stored_size
        except GaibError as exc:
            _failed(ports, report, server_id, "backup", ident, tier, exc, item.get("workspace"))
            continue
        report.ok += 1

    snapshot_items = _items(ports, server_id, SNAPSHOT_SK_PREFIX)
    first = {str(snapshot_items[0].get("id"))} if snapshot_items else set()
    for item in _choose(snapshot_items, first, everything, sample, rng):
        ident = str(item.get("id", "?"))[:80]
        report.checked += 1
        report.snapshots += 1
        try:
            snapshot = snapshots.get(server_id, ident)
            snapshots.load(snapshot)
            report.bytes_read += snapshot.manifest.stored_size
        except GaibError as exc:
            _failed(ports, report, server_id, "snapshot", ident, tier, exc, None)
            continue
        report.ok += 1


def _failed(ports: Ports, report: VerifyReport, server_id: str, kind: str, ident: str, tier: str, exc: GaibError,
            workspace: object) -> None:
    report.fail(server_id, kind, ident, exc)
    ws = workspace if isinstance(workspace, str) and re.fullmatch(NAME_PATTERN, workspace) else None
    safe_id = ident if re.fullmatch(NAME_PATTERN, ident) else None
    event = Event.verify_failed(exc, tier="premium" if tier == "premium" else "free", at=ports.clock(),
                                server_id=server_id, workspace=ws, id=safe_id,
                                message=f"Stored {kind} {ident} of server {server_id} failed verification")
    events.publish(ports, event)


def verify(ports: Ports, *, everything: bool = False, sample: int = 0, tier: str | None = None,
           rng: random.Random | None = None) -> VerifyReport:
    """Verify the current server (or, with ``tier``, every server of the tier); see the module docstring.
    Failures are in the report (and published); :func:`check` turns them into the command's error."""
    started = time.monotonic()
    report = VerifyReport(tier=None, started_at=iso(ports.clock()))
    if tier is None:
        verify_server(ports, server_id_of(ports), report, everything=everything, sample=sample, rng=rng)
    else:
        policy = POLICIES[check_tier(tier)]
        report.tier = policy.name
        cursor: str | None = None
        while True:
            page = ports.catalog.index_query(TIER_INDEX, policy.name, limit=99, cursor=cursor)
            for pk, _sk in page.keys:
                try:
                    sid = server_of_pk(pk)
                except GaibError:
                    continue
                try:
                    verify_server(ports, sid, report, everything=everything, sample=sample, rng=rng)
                except GaibError as exc:  # listing this server's items failed: it alone is not verified
                    _failed(ports, report, sid, "server", sid, policy.name, exc, None)
            cursor = page.next_cursor
            if cursor is None:
                break
        _heartbeat(ports, report)
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


def check(report: VerifyReport) -> None:
    """Raise ``IntegrityError`` (exit 3) when something failed its check, ``PartialFailure`` (exit 8) when
    some could not be read (storage failed) and nothing failed its check; ``details.verify`` holds the
    report. Nothing when everything passed."""
    if not report.failed:
        return
    what = f"{report.failed} of {report.checked} stored backups and snapshots failed verification"
    if report.integrity_failures:
        raise IntegrityError(f"{what}.", details={"verify": report.to_dict()},
                             hint="Each failure was published as a verify.failed event; take a new backup or "
                                  "snapshot of the servers named, and restore only from ones that pass.")
    raise PartialFailure(f"{what} (they could not be read).", details={"verify": report.to_dict()})


def _heartbeat(ports: Ports, report: VerifyReport) -> None:
    assert report.tier is not None
    pk, sk = scheduler_pk(report.tier), heartbeat_sk("verify")
    fields = {"kind": "heartbeat", "tier": report.tier, "operation": "verify", "window": report.started_at,
              "completed_at": iso(ports.clock()),
              "counts": {"ok": report.ok, "failed": report.failed, "skipped": 0}}
    try:
        if ports.catalog.get(pk, sk) is None:
            ports.catalog.put_if_absent(pk, sk, fields)
        else:
            ports.catalog.update(pk, sk, fields)
    except GaibError as exc:
        ports.notice(f"the heartbeat item could not be written: {exc.message}")


def verify_metrics(report: VerifyReport) -> list[Metric]:
    """A tier verification's metrics (Operation ``verify``): items that passed, failed, bytes read."""
    return [Metric("BackupSuccess", report.ok), Metric("BackupErrors", report.failed),
            Metric("BackupBytes", report.bytes_read, "Bytes"),
            Metric("RunDuration", report.duration_ms, "Milliseconds"), Metric("ScheduledRunHeartbeat", 1)]
