"""``gaib server backup verify``: re-read stored backups, snapshots and theme deployments, every part of each.

For each chosen bundle, :func:`gaib.bundles.check.check_bundle` checks the catalog item (manifest checksum,
part keys, the bundle it names), a snapshot's ``manifest.json``, the bundle's claim against the ceiling
(``GAIB_MAX_BUNDLE_BYTES``), then **every part the manifest lists** — a backup's state; a snapshot's state,
config, theme registry, objects, guild, emojis, stickers, bans and saved messages; a deployment's config;
and any part later formats add — each streamed from storage against its recorded stored size and checksum,
decompressed against its recorded plain size and checksum, then decoded as what it holds; and every image
a snapshot lists (once per server). Every failure is reported with its kind, id, server, part and reason,
not only the first of a bundle. Which bundles:

* default: the newest of each group — each workspace's backups, the server's snapshots, its deployments —
  by the catalog's order of writes (:mod:`gaib.bundles.order`, never a writer's clock), plus any item that
  cannot be read well enough to be ordered (it fails without a read);
* ``sample=N``: those, plus N more chosen at random among the rest (of each kind);
* ``everything``: every one.

Every listed item dated more than 5 minutes ahead of the storage's clock is reported in ``future_dated``
(not a failure: its writer's clock ran ahead). Each failed bundle is a ``verify.failed`` event; the report
counts them, ``bytes_read`` is what was really read, and :func:`check` turns failures into exit 3 (or 8
when every failure was the storage failing). With a tier (the weekly scheduled task) every server of the
tier is verified, the report carries metrics (Operation ``verify``) and a heartbeat item is written.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from gaib import safejson
from gaib.backups import store as backups
from gaib.bundles import order
from gaib.bundles.check import Checked, Failure, Validate, check_bundle, check_image
from gaib.bundles.manifest import Manifest
from gaib.bundles.repository import BundleRepository, Layout, item_id
from gaib.deployments import store as deployments
from gaib.errors import BundleNotAuthentic, GaibError, IntegrityError, PartialFailure
from gaib.names import NAME_PATTERN
from gaib.notify.events import ErrorInfo, Event
from gaib.ports import Ports, server_id_of
from gaib.scheduled.claims import iso
from gaib.scheduled.metrics import Metric
from gaib.snapshots import store as snapshots
from gaib.snapshots.parts import COMMUNITY_PARTS, channel_of_part
from gaib.state.model import parse_state
from gaib.storage.base import TIER_INDEX, Item
from gaib.storage.documents import decode_json_document
from gaib.storage.keys import (
    BACKUP_SK_PREFIX,
    DEPLOY_SK_PREFIX,
    SNAPSHOT_SK_PREFIX,
    heartbeat_sk,
    parse_id,
    scheduler_pk,
    server_of_pk,
    server_pk,
)
from gaib.tiers import events
from gaib.tiers.table import POLICIES, check_tier, tier_of

PAGE: Final = 500
MAX_FAILURES_LISTED: Final = 100

_INTEGRITY = (IntegrityError.code, BundleNotAuthentic.code)
"""The codes of a bundle that failed its check (rather than one storage could not read)."""


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
    deployments: int = 0
    duration_ms: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    """One entry per failed part (the first ``MAX_FAILURES_LISTED``): kind, id, server, part, key, reason."""
    future_dated: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None

    def fail(self, server_id: str, kind: str, ident: str, failures: list[Failure]) -> None:
        """Count one bundle as failed, listing each of its failures."""
        self.failed += 1
        if any(f.error.error_code in _INTEGRITY for f in failures):
            self.integrity_failures += 1
        for f in failures:
            if len(self.failures) < MAX_FAILURES_LISTED:
                info = ErrorInfo.of(f.error)
                self.failures.append({"server_id": server_id, "kind": kind, "id": ident, "part": f.part, "key": f.key,
                                      "reason": info.message, "error": {"code": info.code, "message": info.message}})

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "servers": self.servers, "checked": self.checked, "ok": self.ok,
                "failed": self.failed, "backups": self.backups, "snapshots": self.snapshots,
                "deployments": self.deployments, "bytes_read": self.bytes_read, "duration_ms": self.duration_ms,
                "failures": list(self.failures), "future_dated": list(self.future_dated)}

    def failure_lines(self) -> list[str]:
        """One line per failure, as people read them: ``snapshot ID of server S, part bans (KEY): reason``."""
        lines = []
        for f in self.failures:
            where = f" ({f['key']})" if f.get("key") else ""
            lines.append(f"  {f['kind']} {f['id']} of server {f['server_id']}, {f['part']}{where}: {f['reason']}")
        if self.failures and len(self.failures) >= MAX_FAILURES_LISTED:
            lines.append(f"  (the first {MAX_FAILURES_LISTED} failures are listed)")
        return lines

    def warning_lines(self) -> list[str]:
        """One line per item dated ahead of the storage's clock."""
        return [f"{d['kind']} {d['id']} of server {d['server_id']} is dated {d['ahead_seconds']} s ahead of the "
                "storage's clock (its writer's clock ran ahead); it counts where the catalog wrote it, not by date"
                for d in self.future_dated]


# --- what each kind is ------------------------------------------------------------------------------------


def _json(data: bytes, key: str) -> Any:
    try:
        return safejson.loads(data)
    except safejson.JsonProblem as exc:
        raise IntegrityError(f"Stored object {key} does not hold what its part should: {exc}.",
                             details={"key": key}) from None


def _text(data: bytes, key: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError(f"Stored object {key} is not UTF-8 text.", details={"key": key}) from None


def _validate_backup(name: str, key: str, data: bytes) -> None:
    parse_state(data, key)


def _validate_snapshot(name: str, key: str, data: bytes) -> None:
    if (name == "state" and data.strip() != b"null") or name == "objects":
        parse_state(data, key)
    elif name == "theme-registry":
        decode_json_document(data, key)
    elif name == "config":
        _text(data, key)
    elif channel_of_part(name) is not None:
        for line in data.splitlines():
            if line.strip() and not isinstance(_json(line, key), dict):
                raise IntegrityError(f"Stored object {key} holds a line that is not a message.", details={"key": key})
    elif name in COMMUNITY_PARTS:
        doc = _json(data, key)
        if not isinstance(doc, dict) or doc.get("format_version") != 1:
            raise IntegrityError(f"Stored object {key} is not a version-1 {name} document.", details={"key": key})


def _validate_deployment(name: str, key: str, data: bytes) -> None:
    _text(data, key)


@dataclass(frozen=True)
class _Kind:
    name: str
    prefix: str
    layout: Callable[[str, str, Item], Layout]
    validate: Validate
    group: Callable[[Item], str] = lambda item: ""


def _identify(kind: str, server_id: str, ident: str) -> Callable[[Manifest], None]:
    def identify(m: Manifest) -> None:
        if m.id != ident or m.server_id != server_id or m.kind != kind:
            raise IntegrityError(f"The catalog item of {kind} {ident} is damaged: it describes {m.kind} "
                                 f"{m.id[:40]} of server {m.server_id[:25]}.")
        if kind == "deployment":
            deployments.verify(m, server_id, ident)

    return identify


KINDS: Final = (
    _Kind("backup", BACKUP_SK_PREFIX,
          lambda sid, ident, item: backups.layout(sid, str(item.get("workspace")), ident), _validate_backup,
          lambda item: str(item.get("workspace"))),
    _Kind("snapshot", SNAPSHOT_SK_PREFIX,
          lambda sid, ident, item: snapshots.layout(sid, ident, snapshots.part_names(item)), _validate_snapshot),
    _Kind("deployment", DEPLOY_SK_PREFIX, lambda sid, ident, item: deployments.layout(sid, ident),
          _validate_deployment),
)


# --- choosing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listed:
    ident: str
    item: Item
    group: str
    created: datetime | None = None
    written: order.Written | None = None


def _listed(ports: Ports, server_id: str, kind: _Kind) -> list[_Listed]:
    out: list[_Listed] = []
    cursor: str | None = None
    while True:
        page = ports.catalog.query(server_pk(server_id), kind.prefix, limit=PAGE, cursor=cursor)
        keys: list[str | None] = [*page.sort_keys] if len(page.sort_keys) == len(page.items) else [None] * len(
            page.items)
        for item, sk in zip(page.items, keys, strict=True):
            ident = item_id(item, sk)[:80]
            try:
                out.append(_Listed(ident, item, kind.group(item), parse_id(ident), order.written_of(item, ident)))
            except GaibError:
                out.append(_Listed(ident, item, kind.group(item)))  # unreadable: always checked, fails there
        cursor = page.next_cursor
        if cursor is None:
            return out


def _choose(listed: list[_Listed], everything: bool, sample: int, rng: random.Random,
            storage_now: float | None) -> list[_Listed]:
    if everything:
        return listed
    newest: dict[str, _Listed] = {}
    for entry in listed:
        if entry.created is None or entry.written is None:
            continue
        best = newest.get(entry.group)
        if best is None or _key(entry, storage_now) > _key(best, storage_now):
            newest[entry.group] = entry
    chosen = {id(e) for e in newest.values()} | {id(e) for e in listed if e.written is None}
    rest = [e for e in listed if id(e) not in chosen]
    picked = {id(e) for e in rng.sample(rest, min(sample, len(rest)))}
    return [e for e in listed if id(e) in chosen or id(e) in picked]


def _key(entry: _Listed, storage_now: float | None) -> tuple[object, ...]:
    assert entry.created is not None and entry.written is not None
    return order.order_key(entry.written, entry.created, entry.ident,
                           misdated=order.misdated(entry.created, entry.written, storage_now))


# --- verifying ------------------------------------------------------------------------------------------


def verify_server(ports: Ports, server_id: str, report: VerifyReport, *, everything: bool = False, sample: int = 0,
                  rng: random.Random | None = None) -> None:
    """Verify one server's backups, snapshots and deployments into ``report``; publishes ``verify.failed``
    per failed bundle."""
    rng = rng or random.Random()
    tier = tier_of(ports.catalog, server_id).name
    repo = BundleRepository(ports.store, ports.catalog, max_bundle_bytes=ports.settings.max_bundle_bytes,
                            mac=ports.mac)
    images: dict[str, GaibError | None] = {}
    report.servers += 1
    for kind in KINDS:
        listed = _listed(ports, server_id, kind)
        storage_now = ports.catalog.storage_time()
        for entry in listed:
            _flag(report, kind.name, server_id, entry, storage_now)
        for entry in _choose(listed, everything, sample, rng, storage_now):
            report.checked += 1
            setattr(report, f"{kind.name}s", getattr(report, f"{kind.name}s") + 1)
            checked = _check(repo, kind, server_id, entry)
            if checked.manifest is not None and kind.name == "snapshot":
                _check_images(repo, server_id, checked, images)
            report.bytes_read += checked.bytes_read
            if checked.failures:
                _failed(ports, report, server_id, kind.name, entry.ident, tier, checked.failures,
                        entry.item.get("workspace"))
            else:
                report.ok += 1


def _check(repo: BundleRepository, kind: _Kind, server_id: str, entry: _Listed) -> Checked:
    where = f"{kind.name} {entry.ident}"
    try:
        layout = kind.layout(server_id, entry.ident, entry.item)
    except GaibError as exc:
        return Checked(failures=[Failure("catalog item", None, IntegrityError(
            f"The catalog item of {where} is damaged: {exc.message}"))])
    return check_bundle(repo, entry.item, layout, where, identify=_identify(kind.name, server_id, entry.ident),
                        validate=kind.validate)


def _check_images(repo: BundleRepository, server_id: str, checked: Checked,
                  images: dict[str, GaibError | None]) -> None:
    assert checked.manifest is not None
    media = checked.manifest.extra.get("media")
    for digest, listed in (media.items() if isinstance(media, dict) else ()):
        if digest not in images:
            images[digest] = check_image(repo, server_id, str(digest), listed, checked)
        error = images[digest]
        if error is not None:
            checked.failures.append(Failure(f"media/{str(digest)[:64]}", error.details.get("key"), error))


def _flag(report: VerifyReport, kind: str, server_id: str, entry: _Listed, storage_now: float | None) -> None:
    if entry.created is None or entry.written is None:
        return
    ahead = order.ahead_by(entry.created, entry.written, storage_now)
    if ahead is not None and ahead > order.CLOCK_SLACK:
        report.future_dated.append({"server_id": server_id, "kind": kind, "id": entry.ident,
                                    "created_at": iso(entry.created), "ahead_seconds": int(ahead.total_seconds())})


def _failed(ports: Ports, report: VerifyReport, server_id: str, kind: str, ident: str, tier: str,
            failures: list[Failure], workspace: object) -> None:
    report.fail(server_id, kind, ident, failures)
    ws = workspace if isinstance(workspace, str) and re.fullmatch(NAME_PATTERN, workspace) else None
    safe_id = ident if re.fullmatch(NAME_PATTERN, ident) else None
    integrity = [f for f in failures if f.error.error_code in _INTEGRITY]
    parts = ", ".join(f.part for f in failures[:10])
    event = Event.verify_failed((integrity or failures)[0].error, tier="premium" if tier == "premium" else "free",
                                at=ports.clock(), server_id=server_id, workspace=ws, id=safe_id,
                                message=f"Stored {kind} {ident} of server {server_id} failed verification ({parts})")
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
                    _failed(ports, report, sid, "server", sid, policy.name, [Failure("catalog", None, exc)], None)
            cursor = page.next_cursor
            if cursor is None:
                break
        _heartbeat(ports, report)
    report.duration_ms = int((time.monotonic() - started) * 1000)
    return report


def check(report: VerifyReport) -> None:
    """Raise ``IntegrityError`` (exit 3) when something failed its check, ``PartialFailure`` (exit 8) when
    some could not be read (storage failed) and nothing failed its check; the message names every failure
    (kind, id, server, part, reason) and ``details.verify`` holds the report. Nothing when all passed."""
    if not report.failed:
        return
    what = (f"{report.failed} of {report.checked} stored backups, snapshots and deployments failed "
            "verification:\n" + "\n".join(report.failure_lines()))
    if report.integrity_failures:
        codes = {f["error"]["code"] for f in report.failures}
        raise IntegrityError(what, details={"verify": report.to_dict()},
                             code=BundleNotAuthentic.code if codes == {BundleNotAuthentic.code} else None,
                             hint="Each failure was published as a verify.failed event; take a new backup or "
                                  "snapshot of the servers named, and restore only from ones that pass.")
    raise PartialFailure(what + "\n(they could not be read: the storage failed)", details={"verify": report.to_dict()})


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
    """A tier verification's metrics (Operation ``verify``): items that passed, failed, bytes really read."""
    return [Metric("BackupSuccess", report.ok), Metric("BackupErrors", report.failed),
            Metric("BackupBytes", report.bytes_read, "Bytes"),
            Metric("RunDuration", report.duration_ms, "Milliseconds"), Metric("ScheduledRunHeartbeat", 1)]
