"""The work of one window on one server: its state backups (or snapshot), export and prune, under its claim.

:meth:`ServerJobs.server` never raises: a server's failure (a missing or corrupt state, a damaged
schedule, Discord or storage failing) is recorded on its claim, published as a ``*.failed`` event and
returned in its :class:`~gaib.scheduled.report.ServerResult`. A server with nothing to write costs its
state reads and one conditional put (the claim with its outcome). No backup or snapshot is written once
the claim's lease has passed, and a task that took a dead task's claim over first looks for what that
task already stored in the window, so none is written twice.

Prune bookkeeping: the ``SCHEDULE`` item's ``status`` keeps the last scheduled backup of each workspace
(its sha256, so an unchanged state is seen without reading any backup) and when the server's backups
must next be pruned (``prune_due_at``): at most once a day (``PRUNE_SLACK``), a day after a server's
first run, at once when the tier's retention changed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from gaib.backups.store import BackupManager
from gaib.bundles.retention import Decision
from gaib.errors import GaibError, InternalError, StateError, StateNotFound, StorageError
from gaib.notify.events import ErrorInfo, Event
from gaib.ports import RunPorts, ServerPorts
from gaib.scheduled.claims import ClaimKey, Claims, iso, still_leased
from gaib.scheduled.report import Outcome, ServerResult
from gaib.scheduled.schedules import Schedule, check_local_path, check_secret_bound, schedule_of_item
from gaib.scheduled.window import Operation
from gaib.state.location import StateLocation
from gaib.state.model import State
from gaib.storage.base import Item, NotFound
from gaib.storage.keys import BACKUP_SK_PREFIX, SCHEDULE_SK, SNAPSHOT_SK_PREFIX, export_latest_key, parse_id, server_pk
from gaib.tiers import events
from gaib.tiers.table import TierPolicy

PRUNE_SLACK: Final = timedelta(days=1)
"""A server's backups are pruned at most once a day: removals wait up to a day past their retention."""


@dataclass(frozen=True)
class _Read:
    location: StateLocation
    state: State
    data: bytes
    digest: str


class ServerJobs:
    """One task's work on the servers of one window (``task`` names it on every claim it writes)."""

    def __init__(self, ports: RunPorts, policy: TierPolicy, operation: Operation, window: str, *, task: str,
                 lease: timedelta) -> None:
        self.ports = ports
        self.policy = policy
        self.operation = operation
        self.window = window
        self.claims = Claims(ports.catalog, clock=ports.clock, task=task, lease=lease)

    def key(self, server_id: str) -> ClaimKey:
        return ClaimKey(server_id, self.policy.name, self.window, self.operation)

    # --- one server ----------------------------------------------------------------------------------

    def server(self, server_id: str, schedule_item: Item | None, stale: Item | None) -> ServerResult:
        """Everything the window needs for one server whose claim was free (``stale`` None) or stale (the
        claim item as read: its task died); never raises (failures are in the result)."""
        key = self.key(server_id)
        if schedule_item is None:
            return ServerResult(server_id, "unscheduled")
        try:
            schedule = schedule_of_item(schedule_item, server_id)
            assert schedule is not None
            check_local_path(schedule, self.ports.settings.project_dir)
        except GaibError as exc:
            return self.fail_unclaimed(key, stale, None, exc)
        if not schedule.enabled or (self.operation == "snapshot" and not schedule.snapshots):
            return ServerResult(server_id, "unscheduled")
        status = schedule_item.get("status")
        try:
            # The server's own work (its states, bundles, schedule status, secret) goes through its ports: on
            # its role session with GAIB_SERVER_ROLE_ARN. Claims stay on the run's own (coordinator) ports.
            with _closing(self.ports.for_server(server_id, workspace=schedule.workspaces[0].workspace)) as sp:
                if self.operation == "snapshot":
                    return self.snapshot(sp, key, schedule, stale)
                return self.backup(sp, key, schedule, status if isinstance(status, dict) else {}, stale)
        except GaibError as exc:  # a storage failure around the claim itself
            return self.fail_unclaimed(key, None, None, exc, claimed=True)
        except Exception as exc:  # a bug must not stop the other servers
            return self.fail_unclaimed(key, None, None, InternalError(f"Unexpected {type(exc).__name__}: {exc}"),
                                       claimed=True)

    def fail_unclaimed(self, key: ClaimKey, stale: Item | None, workspace: str | None, error: GaibError, *,
                       claimed: bool = False) -> ServerResult:
        """Record a failure found before any write (a damaged schedule): claim the server as failed,
        then publish the event — unless another task claimed it first."""
        result = ServerResult(key.server_id, "failed", errors=[(workspace, error)])
        fields = {"error": _error(error)}
        try:
            if claimed:
                try:
                    self.claims.finish(key, "failed", fields)
                except NotFound:
                    self.claims.settle(key, "failed", fields)
            elif stale is not None:
                if self.claims.take_over(key, stale) is None:
                    return ServerResult(key.server_id, "claimed", final=False)
                self.claims.finish(key, "failed", fields)
            elif not self.claims.settle(key, "failed", fields):
                return ServerResult(key.server_id, "claimed", final=False)
        except GaibError:
            pass  # the claim could not be written either; the failure is still reported
        self.publish_failure(key.server_id, workspace, error)
        return result

    def read_states(self, sp: ServerPorts,
                    schedule: Schedule) -> tuple[dict[str, _Read], dict[str, GaibError], dict[str, str]]:
        """Each scheduled workspace's state: (read, failed, empty). A workspace that exists where its
        location says (made by ``workspace new``) but has no state yet is empty (skipped, with the reason);
        a location holding neither a state nor the workspace fails (``STATE_NOT_FOUND``)."""
        reads: dict[str, _Read] = {}
        errors: dict[str, GaibError] = {}
        empty: dict[str, str] = {}
        for loc in schedule.workspaces:
            try:
                backend = sp.state_for(loc)
                state = backend.get(loc.backend_workspace)
                if state is None and backend.workspace_exists(loc.backend_workspace):
                    empty[loc.workspace] = f"workspace {loc.workspace} has no state yet at {loc.describe()}"
                    continue
                if state is None:
                    raise StateNotFound(f"Workspace {loc.workspace} of server {schedule.server_id} has no state at "
                                        f"{loc.describe()}.",
                                        hint="Create it with 'gaib server apply', or remove the workspace from the "
                                             "schedule ('gaib server schedule enable').")
                if state.guild_id and state.guild_id != schedule.server_id:
                    raise StateError(f"The state of workspace {loc.workspace} at {loc.describe()} manages server "
                                     f"{state.guild_id}, not {schedule.server_id}.", code="STATE_SERVER_MISMATCH",
                                     hint="Fix the schedule's state location ('gaib server schedule enable').")
                data = state.to_json()
                reads[loc.workspace] = _Read(loc, state, data, hashlib.sha256(data).hexdigest())
            except GaibError as exc:
                errors[loc.workspace] = exc
        return reads, errors, empty

    def backup(self, sp: ServerPorts, key: ClaimKey, schedule: Schedule, status: dict[str, Any],
               stale: Item | None) -> ServerResult:
        sid = key.server_id
        reads, errors, empty = self.read_states(sp, schedule)
        raw_pointers = status.get("backups")
        pointers: dict[str, Any] = raw_pointers if isinstance(raw_pointers, dict) else {}
        changed = [ws for ws, r in reads.items()
                   if not isinstance(pointers.get(ws), dict) or pointers[ws].get("plain_sha256") != r.digest]
        now = self.ports.clock()
        prune_due = _prune_due(status, self.policy, now)
        result = ServerResult(sid, "unchanged")
        for ws in reads:
            if ws not in changed:
                result.workspaces[ws] = {"outcome": "unchanged", "id": pointers[ws].get("id")}
        for ws, failure in errors.items():
            result.workspaces[ws] = {"outcome": "failed", "error": _error(failure)}
            result.errors.append((ws, failure))
        for ws, why in empty.items():
            result.workspaces[ws] = {"outcome": "skipped", "reason": why}
        if stale is None and not changed and not schedule.export_config and (prune_due is None or prune_due > now):
            # Nothing to write: the claim and its outcome are one conditional put.
            outcome = _outcome(result)
            if not self.claims.settle(key, outcome, {"workspaces": result.workspaces}):
                return ServerResult(sid, "claimed", final=False)
            result.outcome = outcome
        else:
            lease, first_started = self.hold(key, stale)
            if lease is None:
                return ServerResult(sid, "claimed", final=False)
            result.retried = stale is not None
            extra = self.write_backups(sp, schedule, status, pointers, reads, changed, prune_due, lease,
                                       _parse_iso(first_started) if stale is not None else None, result)
            result.outcome = _outcome(result)
            self.claims.finish(key, result.outcome, {"workspaces": result.workspaces, **extra})
        for where, failure in result.errors:
            self.publish_failure(sid, where, failure)
        return result

    def write_backups(self, sp: ServerPorts, schedule: Schedule, status: dict[str, Any], pointers: dict[str, Any],
                      reads: dict[str, _Read], changed: list[str], prune_due: datetime | None, lease: datetime,
                      since: datetime | None, result: ServerResult) -> dict[str, Any]:
        """Under the claim: back up the changed workspaces, export, prune when due, and keep the
        ``status`` (the last backup of each workspace, when pruning is next due) on the schedule item.
        ``since`` is set when this task took a dead task's claim over: backups it wrote are not repeated."""
        sid = schedule.server_id
        now = self.ports.clock()
        names = {loc.workspace for loc in schedule.workspaces}
        new_pointers = {ws: p for ws, p in pointers.items() if ws in names}
        extra: dict[str, Any] = {}
        for ws in changed:
            read = reads[ws]
            try:
                record = self.existing_backup(sp, sid, ws, read.digest, since) if since is not None else None
                if record is None:
                    if not still_leased(lease, self.ports.clock()):
                        raise StorageError(f"The claim's lease ran out before workspace {ws} was backed up; "
                                           "another task may take the server over.",
                                           hint="Give the run more time (--lease) or more tasks.")
                    rec = _backups(sp).create(read.state, server_id=sid, workspace=ws, trigger="scheduled",
                                              message=f"scheduled {self.policy.name} backup, window {self.window}",
                                              policy=self.policy)
                    record = {"id": rec.id, "stored_size": rec.stored_size}
                    result.written += 1
                    result.stored_bytes += rec.stored_size
            except GaibError as exc:
                result.workspaces[ws] = {"outcome": "failed", "error": _error(exc)}
                result.errors.append((ws, exc))
                continue
            result.workspaces[ws] = {"outcome": "created", "id": record["id"], "stored_bytes": record["stored_size"]}
            later = _later_due(status, new_pointers.get(ws), self.policy)
            new_pointers[ws] = {"id": record["id"], "plain_sha256": read.digest, "serial": read.state.serial}
            prune_due = min((d for d in (prune_due, later) if d is not None), default=None)
        if schedule.export_config:
            extra["export"] = self.export(sp, schedule, result)
        new_status = {**status, "backups": new_pointers, "retention_days": self.policy.retention_days}
        if prune_due is not None and prune_due <= now:
            extra["prune"] = self.prune(sp, sid, "backup", new_status, result)
        elif prune_due is not None:
            new_status["prune_due_at"] = iso(prune_due)
        if new_status != status:
            # NotFound: the schedule was removed meanwhile; the next enable starts afresh.
            with contextlib.suppress(NotFound):
                sp.catalog.update(server_pk(sid), SCHEDULE_SK, {"status": new_status})
        return extra

    def hold(self, key: ClaimKey, stale: Item | None) -> tuple[datetime | None, str | None]:
        """Claim the server (or take a dead task's claim over): (lease end, first attempt's start)."""
        if stale is None:
            return self.claims.take(key), None
        taken = self.claims.take_over(key, stale)
        return (None, None) if taken is None else taken

    def existing_backup(self, sp: ServerPorts, sid: str, workspace: str, digest: str,
                        since: datetime | None) -> dict[str, Any] | None:
        """A scheduled backup of this state that a dead task wrote in this window (so none is written twice)."""
        page = sp.catalog.query(server_pk(sid), BACKUP_SK_PREFIX, limit=20)
        backups = _backups(sp)
        for item in page.items:
            try:
                record = backups.record_of(sid, item)
            except GaibError:
                continue
            part = record.manifest.part("state")
            if record.workspace == workspace and record.trigger == "scheduled" and part.plain_sha256 == digest \
                    and (since is None or parse_id(record.id) >= since):
                return {"id": record.id, "stored_size": record.stored_size}
        return None

    def export(self, sp: ServerPorts, schedule: Schedule, result: ServerResult) -> dict[str, Any]:
        """Export the live guild's config (the bot token from the schedule's secret); written only when it
        differs from the latest export."""
        from gaib.backups.exports import store_export
        from gaib.iac.export import export_config
        from gaib.secretguard import check_live

        sid = schedule.server_id
        try:
            token = _token(sp, schedule)
            with _closing(self.ports.for_server(sid, workspace=schedule.workspaces[0].workspace,
                                                bot_token=token)) as guild_ports:
                live = guild_ports.discord.get_guild()
                check_live(guild_ports.settings.environ, guild_ports.settings.bot_token, live.texts())
                text = export_config(live)
                try:
                    latest = guild_ports.store.get(export_latest_key(sid))
                except NotFound:
                    latest = b""
                if latest.split(b"\n", 1)[-1] == text.encode("utf-8"):
                    return {"outcome": "unchanged"}
                stored = store_export(guild_ports, sid, text)
        except GaibError as exc:
            result.errors.append((None, exc))
            return {"outcome": "failed", "error": _error(exc)}
        result.written += 1
        result.stored_bytes += stored.size
        return {"outcome": "created", "id": stored.id, "bytes": stored.size}

    def prune(self, sp: ServerPorts, sid: str, kind: Literal["backup", "snapshot"], new_status: dict[str, Any],
              result: ServerResult) -> dict[str, Any]:
        """Prune the server's backups or snapshots by its tier; for backups, note when the next is due."""
        from gaib.prune.service import execute_prune, plan_prune

        try:
            plan = plan_prune(sp, kind, server_id=sid)
            outcome = execute_prune(sp, plan)
        except GaibError as exc:
            result.errors.append((None, exc))
            return {"outcome": "failed", "error": _error(exc)}
        if kind == "backup":
            now = self.ports.clock()
            due = _next_due(plan.retention.keep, self.policy, now)
            new_status["pruned_at"] = iso(now)
            new_status["prune_due_at"] = iso(due) if due is not None else None
        return {"outcome": "pruned", "removed": len(outcome.result.removed),
                "removed_bytes": outcome.result.removed_bytes, "orphans_removed": len(outcome.orphans_removed)}

    def snapshot(self, sp: ServerPorts, key: ClaimKey, schedule: Schedule, stale: Item | None) -> ServerResult:
        from gaib.snapshots import service as snapshot_service

        sid = key.server_id
        lease, first_started = self.hold(key, stale)
        if lease is None:
            return ServerResult(sid, "claimed", final=False)
        result = ServerResult(sid, "created", retried=stale is not None)
        extra: dict[str, Any] = {}
        location = schedule.workspaces[0]
        try:
            existing = self.existing_snapshot(sp, sid, _parse_iso(first_started)) if stale is not None else None
            if existing is not None:
                extra["snapshot"] = existing
            else:
                # A workspace without a state yet still gets its server's snapshot (as on demand), without one.
                reads, errors, _ = self.read_states(sp, Schedule(server_id=sid, enabled=True, workspaces=(location,)))
                if errors:
                    raise errors[location.workspace]
                read = reads.get(location.workspace)
                token = _token(sp, schedule)
                with _closing(self.ports.for_server(sid, workspace=location.workspace,
                                                    state=sp.state_for(location),
                                                    bot_token=token)) as guild_ports:
                    if not still_leased(lease, self.ports.clock()):
                        raise StorageError("The claim's lease ran out before the snapshot was taken.")
                    rec = snapshot_service.take(guild_ports, server_id=sid, trigger="scheduled",
                                                message=f"scheduled weekly snapshot, window {self.window}",
                                                state=read.state if read is not None else None)
                    result.written += 1
                    result.stored_bytes += rec.manifest.stored_size
                    extra["snapshot"] = {"id": rec.id, "stored_bytes": rec.manifest.stored_size}
            result.workspaces[location.workspace] = {"outcome": "created", "id": extra["snapshot"]["id"]}
        except GaibError as exc:
            result.errors.append((location.workspace, exc))
            result.workspaces[location.workspace] = {"outcome": "failed", "error": _error(exc)}
        if not result.errors:
            extra["prune"] = self.prune(sp, sid, "snapshot", {}, result)
        result.outcome = "failed" if result.errors else "created"
        if result.errors:
            extra["error"] = _error(result.errors[0][1])
        self.claims.finish(key, result.outcome, extra)
        for ws, failure in result.errors:
            self.publish_failure(sid, ws, failure)
        return result

    def existing_snapshot(self, sp: ServerPorts, sid: str, since: datetime | None) -> dict[str, Any] | None:
        """A scheduled snapshot a dead task took in this window (so none is taken twice)."""
        page = sp.catalog.query(server_pk(sid), SNAPSHOT_SK_PREFIX, limit=5)
        for item in page.items:
            try:
                created = parse_id(item.get("id"))
            except GaibError:
                continue
            if item.get("trigger") == "scheduled" and (since is None or created >= since):
                return {"id": item.get("id"), "stored_bytes": item.get("stored_size")}
        return None

    # --- events --------------------------------------------------------------------------------------

    def publish_failure(self, server_id: str, workspace: str | None, error: GaibError) -> None:
        what: Literal["snapshot", "backup"] = "snapshot" if self.operation == "snapshot" else "backup"
        where = f" of workspace {workspace}" if workspace else ""
        event = Event.failed(what, error, tier=self.policy.name, at=self.ports.clock(), server_id=server_id,
                             workspace=workspace, id=None,
                             message=f"Scheduled {self.policy.name} {what}{where} failed (window {self.window})")
        events.publish(self.ports, event)


def _outcome(result: ServerResult) -> Outcome:
    """A server's outcome from its workspaces': failed when anything failed, else created when a backup
    was written, else unchanged, else skipped (no workspace has a state yet)."""
    outcomes = {w.get("outcome") for w in result.workspaces.values()}
    if result.errors:
        return "failed"
    return "created" if "created" in outcomes else "unchanged" if "unchanged" in outcomes else "skipped"


def _token(sp: ServerPorts, schedule: Schedule) -> str:
    """The bot token of the schedule's secret, read on the server's ports (its role session), once its
    ``ServerId`` tag is seen to name this server (``SECRET_NOT_BOUND`` otherwise: a tampered schedule)."""
    assert schedule.bot_token_secret is not None
    check_secret_bound(sp.secrets, schedule.bot_token_secret, schedule.server_id)
    return sp.secrets.get(schedule.bot_token_secret)


def _backups(sp: ServerPorts) -> BackupManager:
    return BackupManager(sp.store, sp.catalog, clock=sp.clock, mac=sp.mac, notice=sp.notice)


def _error(error: GaibError) -> dict[str, str]:
    info = ErrorInfo.of(error)
    return {"code": info.code, "message": info.message}


class _closing:
    """``with`` for server ports (closed on exit)."""

    def __init__(self, ports: ServerPorts) -> None:
        self.ports = ports

    def __enter__(self) -> ServerPorts:
        return self.ports

    def __exit__(self, *exc: object) -> None:
        self.ports.close()


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _prune_due(status: dict[str, Any], policy: TierPolicy, now: datetime) -> datetime | None:
    """When the server's backups must next be pruned (None: nothing can be removed yet).

    A server new to scheduled runs: a day after its first one (so a first window does not pay for a
    prune of every server at once). Pruned under another retention (the tier changed): now.
    """
    if "retention_days" not in status:
        return now + PRUNE_SLACK
    if status.get("retention_days") != policy.retention_days:
        return now
    return _parse_iso(status.get("prune_due_at"))


def _later_due(status: dict[str, Any], previous: object, policy: TierPolicy) -> datetime | None:
    """After a new backup, the one it replaces as newest becomes removable once it is older than the
    retention: when that is (None when unknown)."""
    if not isinstance(previous, dict):
        return None
    try:
        created = parse_id(previous.get("id"))
    except GaibError:
        return None
    due = created + policy.retention
    current = _parse_iso(status.get("prune_due_at"))
    return min(due, current) if current is not None else due


def _next_due(kept: Sequence[Decision], policy: TierPolicy, now: datetime) -> datetime | None:
    """After a prune: the first moment a kept backup becomes removable, but not before a day from now."""
    dues = [d.item.created_at + policy.retention for d in kept if d.code == "within-max-age"]
    if not dues:
        return None
    return max(min(dues), now + PRUNE_SLACK)



__all__ = ["PRUNE_SLACK", "ServerJobs"]
