"""``gaib server backup run-scheduled``: one window of a tier's scheduled runs (the ECS task's command).

EventBridge starts N identical Fargate tasks per window; the catalog coordinates them:

1. The tier's servers come from the catalog's tier index, a page at a time (``Catalog.index_query``).
   ``--shard I/N`` keeps the servers whose id hashes to shard I (sha256, deterministic). The listing is
   cut into blocks (:mod:`gaib.scheduled.blocks`, ~64 servers, the same cuts in every task): a task
   works first on the blocks it took before any other task (one conditional put per block), then goes
   back through the others' blocks that are not yet done, backwards, for the servers nobody claimed (a
   dead task's). Listing and taking blocks run in their own thread while the workers back up.
2. Just before a batch of servers is started, one batched read (``Catalog.get_many``) fetches their
   ``SCHEDULE`` items and their claims for this window (:mod:`gaib.scheduled.claims`); servers another task
   finished or is working on are skipped without another request.
3. Per server (``--concurrency`` at once), for state backups: read each workspace's state where the
   schedule says it lives, and compare it with the last backup the scheduled runs wrote (its sha256,
   kept in the ``SCHEDULE`` item's ``status``). When nothing changed and nothing else is due, the
   claim is created with its outcome (``unchanged``) in one conditional put — an unchanged server costs
   the state read and that put. Otherwise the server is claimed (``running``, leased), each changed
   workspace is backed up (trigger ``scheduled``), the config is exported if the schedule asks,
   backups are pruned when a removal is due (at most daily per server), and the claim gets its outcome.
   For ``--snapshots`` runs (premium, weekly): a snapshot of the live guild and the state, then
   snapshots are pruned.
4. One server's failure (a missing or corrupt state, a damaged schedule, Discord or storage failing)
   fails that server only: it is recorded on its claim, published as a ``*.failed`` event, and the run
   goes on. The report says what happened; the command exits 8 when some server failed.
5. When the pass is over, the heartbeat item ``SCHEDULER#{tier} / HEARTBEAT#{operation}`` records the
   window, and the report carries the heartbeat metric; one ``scheduled-run.summary`` event is published.

Claims make retries, overlaps and duplicates harmless: whatever number of tasks run a window, each
server is backed up at most once in it; a task that dies leaves its unclaimed servers to the others,
and its claimed-but-unfinished ones to a task that takes over the claim once its lease has passed (or to
the next window).
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from gaib.backups.store import BackupManager
from gaib.bundles.retention import Decision
from gaib.errors import (
    Conflict,
    GaibError,
    InternalError,
    InvalidInput,
    StateError,
    StateNotFound,
    StorageError,
)
from gaib.notify.events import ErrorInfo, Event
from gaib.ports import RunPorts, ServerPorts
from gaib.scheduled.blocks import Block, BlockClaims, cut_blocks
from gaib.scheduled.claims import ClaimKey, Claims, claim_state, iso, still_leased
from gaib.scheduled.metrics import Metric
from gaib.scheduled.schedules import Schedule, check_local_path, schedule_of_item
from gaib.state.location import StateLocation
from gaib.state.model import State
from gaib.storage.base import TIER_INDEX, Item, NotFound
from gaib.storage.keys import (
    BACKUP_SK_PREFIX,
    SCHEDULE_SK,
    SNAPSHOT_SK_PREFIX,
    export_latest_key,
    heartbeat_sk,
    parse_id,
    scheduler_pk,
    server_of_pk,
    server_pk,
    window_of,
)
from gaib.tiers import events
from gaib.tiers.cron import previous_run
from gaib.tiers.table import POLICIES, TierPolicy, check_tier

Operation = Literal["backup", "snapshot"]
Outcome = Literal["created", "unchanged", "failed", "claimed", "unscheduled"]
PAGE: Final = 1000
"""Servers per index page (the catalog's largest): a DynamoDB query returns up to 1 MB, ~100 bytes a key
here; its keys are confirmed live by consistent reads of 100 keys each."""
BATCH: Final = 50
"""Servers whose schedule and claim are read together (100 keys: one ``BatchGetItem``) just before they
are worked on."""
SECOND_PASS_BATCH: Final = 10
"""The same in another task's block: smaller, so the two tasks meet on fewer servers read by both."""
DEFAULT_LEASE: Final = timedelta(minutes=15)
PRUNE_SLACK: Final = timedelta(days=1)
"""A server's backups are pruned at most once a day: removals wait up to a day past their retention."""
MAX_FAILURES_LISTED: Final = 100


# --- options -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

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


# --- report ------------------------------------------------------------------------------------------


@dataclass
class ServerResult:
    server_id: str
    outcome: Outcome
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[tuple[str | None, GaibError]] = field(default_factory=list)
    stored_bytes: int = 0
    written: int = 0
    retried: bool = False
    final: bool = True
    """False when another task may still be working on the server (its block is not done yet)."""


@dataclass
class RunReport:
    tier: str
    operation: Operation
    window: str
    task: str
    shard: Shard | None
    started_at: datetime
    finished_at: datetime | None = None
    complete: bool = False
    listed: int = 0
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    claimed_elsewhere: int = 0
    unscheduled: int = 0
    retried: int = 0
    written: int = 0
    stored_bytes: int = 0
    duration_ms: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    requests: dict[str, int] | None = None
    """AWS requests this run sent, by ``service.Operation`` (None on the local store)."""

    def add(self, result: ServerResult) -> None:
        self.listed += 1
        if result.outcome == "claimed":
            self.claimed_elsewhere += 1
        elif result.outcome == "unscheduled":
            self.unscheduled += 1
        elif result.outcome == "created":
            self.created += 1
        elif result.outcome == "unchanged":
            self.unchanged += 1
        else:
            self.failed += 1
        self.retried += int(result.retried)
        self.written += result.written
        self.stored_bytes += result.stored_bytes
        for workspace, error in result.errors:
            if len(self.failures) < MAX_FAILURES_LISTED:
                self.failures.append({"server_id": result.server_id, "workspace": workspace,
                                      "error": {"code": error.error_code, "message": ErrorInfo.of(error).message}})

    @property
    def ok(self) -> int:
        return self.created + self.unchanged

    @property
    def skipped(self) -> int:
        return self.claimed_elsewhere + self.unscheduled

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "operation": self.operation, "window": self.window, "task": self.task,
                "shard": str(self.shard) if self.shard else None, "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at) if self.finished_at else None, "complete": self.complete,
                "servers": {"listed": self.listed, "created": self.created, "unchanged": self.unchanged,
                            "failed": self.failed, "claimed_by_other_tasks": self.claimed_elsewhere,
                            "unscheduled": self.unscheduled, "taken_over": self.retried},
                "written": self.written, "stored_bytes": self.stored_bytes, "duration_ms": self.duration_ms,
                "aws_requests": dict(sorted(self.requests.items())) if self.requests is not None else None,
                "failures": list(self.failures)}


# --- the run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Read:
    location: StateLocation
    state: State
    data: bytes
    digest: str


class _Run:
    """One task's pass over one window (the module docstring tells the steps)."""

    def __init__(self, ports: RunPorts, options: RunOptions, policy: TierPolicy, operation: Operation,
                 window: str, progress: Callable[[str], None] | None) -> None:
        self.ports = ports
        self.options = options
        self.policy = policy
        self.operation = operation
        self.window = window
        self.progress = progress
        self.task = f"{window}-{secrets.token_hex(4)}"
        self.claims = Claims(ports.catalog, clock=ports.clock, task=self.task, lease=options.lease)
        self.backups = BackupManager(ports.store, ports.catalog, clock=ports.clock)
        shard = f"{options.shard.index}of{options.shard.count}" if options.shard else "all"
        self.blocks = BlockClaims(ports.catalog, clock=ports.clock, task=self.task, tier=policy.name,
                                  window=window, operation=operation, shard=shard)

    # --- listing -------------------------------------------------------------------------------------

    def read_blocks(self, out: queue.Queue[Block | BaseException | None], stop: threading.Event) -> None:
        """The reading side of a run, in its own thread while the workers back up: list the tier's servers,
        cut the listing into blocks and take the free ones (first pass), then revisit the blocks other tasks
        took, last first (second pass; :mod:`gaib.scheduled.blocks`). Hands the blocks on, then None, or
        the exception that stopped it."""
        try:
            others: list[Block] = []
            for servers in cut_blocks(self.listing()):
                if stop.is_set():
                    return
                block = self.blocks.take(servers)
                if block.owned:
                    out.put(block)
                else:
                    others.append(block)
            for block in reversed(others):
                if stop.is_set():
                    return
                out.put(self.blocks.revisit(block))
            out.put(None)
        except BaseException as exc:  # handed to the run's thread, which raises it
            out.put(exc)

    def listing(self) -> Iterator[str]:
        """The servers of the tier in this task's shard, from the tier index, a page at a time."""
        cursor: str | None = None
        while True:
            page = self.ports.catalog.index_query(TIER_INDEX, self.policy.name, limit=self.options.page_size,
                                                  cursor=cursor)
            for pk, _sk in page.keys:
                try:
                    sid = server_of_pk(pk)
                except GaibError:
                    continue  # not a server's item: nothing a run can do with it
                if self.options.shard is None or self.options.shard.holds(sid):
                    yield sid
            cursor = page.next_cursor
            if cursor is None:
                return

    def batch(self, servers: list[str]) -> list[tuple[str, Item | None, Item | None]]:
        """(server id, schedule item, claim item) of ``servers``, in one batched read."""
        keys = [self.key(sid) for sid in servers]
        found = self.ports.catalog.get_many([(server_pk(s), SCHEDULE_SK) for s in servers] +
                                            [(k.pk, k.sk) for k in keys])
        return [(s, found.get((server_pk(s), SCHEDULE_SK)), found.get((k.pk, k.sk)))
                for s, k in zip(servers, keys, strict=True)]

    def key(self, server_id: str) -> ClaimKey:
        return ClaimKey(server_id, self.policy.name, self.window, self.operation)

    # --- one server ----------------------------------------------------------------------------------

    def server(self, server_id: str, schedule_item: Item | None, claim: Item | None) -> ServerResult:
        """Everything the window needs for one server; never raises (failures are in the result)."""
        key = self.key(server_id)
        state = claim_state(claim, self.ports.clock())
        if state in ("final", "running"):
            return ServerResult(server_id, "claimed", final=state == "final")
        if schedule_item is None:
            return ServerResult(server_id, "unscheduled")
        try:
            schedule = schedule_of_item(schedule_item, server_id)
            assert schedule is not None
            check_local_path(schedule, self.ports.settings.project_dir)
        except GaibError as exc:
            return self.fail_unclaimed(key, claim if state == "stale" else None, None, exc)
        if not schedule.enabled or (self.operation == "snapshot" and not schedule.snapshots):
            return ServerResult(server_id, "unscheduled")
        status = schedule_item.get("status")
        try:
            if self.operation == "snapshot":
                return self.snapshot(key, schedule, claim if state == "stale" else None)
            return self.backup(key, schedule, status if isinstance(status, dict) else {},
                               claim if state == "stale" else None)
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

    def read_states(self, schedule: Schedule) -> tuple[dict[str, _Read], dict[str, GaibError]]:
        reads: dict[str, _Read] = {}
        errors: dict[str, GaibError] = {}
        for loc in schedule.workspaces:
            try:
                backend = self.ports.state_for(loc)
                state = backend.get(loc.backend_workspace)
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
        return reads, errors

    def backup(self, key: ClaimKey, schedule: Schedule, status: dict[str, Any],
               stale: Item | None) -> ServerResult:
        sid = key.server_id
        reads, errors = self.read_states(schedule)
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
        if stale is None and not changed and not schedule.export_config and (prune_due is None or prune_due > now):
            # Nothing to write: the claim and its outcome are one conditional put.
            outcome: Outcome = "failed" if errors else "unchanged"
            if not self.claims.settle(key, outcome, {"workspaces": result.workspaces}):
                return ServerResult(sid, "claimed", final=False)
            result.outcome = outcome
        else:
            lease, first_started = self.hold(key, stale)
            if lease is None:
                return ServerResult(sid, "claimed", final=False)
            result.retried = stale is not None
            extra = self.write_backups(schedule, status, pointers, reads, changed, prune_due, lease,
                                       _parse_iso(first_started) if stale is not None else None, result)
            created = any(w.get("outcome") == "created" for w in result.workspaces.values())
            result.outcome = "failed" if result.errors else ("created" if created else "unchanged")
            self.claims.finish(key, result.outcome, {"workspaces": result.workspaces, **extra})
        for where, failure in result.errors:
            self.publish_failure(sid, where, failure)
        return result

    def write_backups(self, schedule: Schedule, status: dict[str, Any], pointers: dict[str, Any],
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
                record = self.existing_backup(sid, ws, read.digest, since) if since is not None else None
                if record is None:
                    if not still_leased(lease, self.ports.clock()):
                        raise StorageError(f"The claim's lease ran out before workspace {ws} was backed up; "
                                           "another task may take the server over.",
                                           hint="Give the run more time (--lease) or more tasks.")
                    rec = self.backups.create(read.state, server_id=sid, workspace=ws, trigger="scheduled",
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
            extra["export"] = self.export(schedule, result)
        new_status = {**status, "backups": new_pointers, "retention_days": self.policy.retention_days}
        if prune_due is not None and prune_due <= now:
            extra["prune"] = self.prune(sid, "backup", new_status, result)
        elif prune_due is not None:
            new_status["prune_due_at"] = iso(prune_due)
        if new_status != status:
            # NotFound: the schedule was removed meanwhile; the next enable starts afresh.
            with contextlib.suppress(NotFound):
                self.ports.catalog.update(server_pk(sid), SCHEDULE_SK, {"status": new_status})
        return extra

    def hold(self, key: ClaimKey, stale: Item | None) -> tuple[datetime | None, str | None]:
        """Claim the server (or take a dead task's claim over): (lease end, first attempt's start)."""
        if stale is None:
            return self.claims.take(key), None
        taken = self.claims.take_over(key, stale)
        return (None, None) if taken is None else taken

    def existing_backup(self, sid: str, workspace: str, digest: str,
                        since: datetime | None) -> dict[str, Any] | None:
        """A scheduled backup of this state that a dead task wrote in this window (so none is written twice)."""
        page = self.ports.catalog.query(server_pk(sid), BACKUP_SK_PREFIX, limit=20)
        for item in page.items:
            try:
                record = self.backups.record_of(sid, item)
            except GaibError:
                continue
            part = record.manifest.part("state")
            if record.workspace == workspace and record.trigger == "scheduled" and part.plain_sha256 == digest \
                    and (since is None or parse_id(record.id) >= since):
                return {"id": record.id, "stored_size": record.stored_size}
        return None

    def export(self, schedule: Schedule, result: ServerResult) -> dict[str, Any]:
        """Export the live guild's config (the bot token from the schedule's secret); written only when it
        differs from the latest export."""
        from gaib.backups.exports import store_export
        from gaib.iac.export import export_config

        sid = schedule.server_id
        try:
            assert schedule.bot_token_secret is not None
            token = self.ports.secrets.get(schedule.bot_token_secret)
            with _closing(self.ports.for_server(sid, workspace=schedule.workspaces[0].workspace,
                                                bot_token=token)) as guild_ports:
                text = export_config(guild_ports.discord.get_guild())
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

    def prune(self, sid: str, kind: Literal["backup", "snapshot"], new_status: dict[str, Any],
              result: ServerResult) -> dict[str, Any]:
        """Prune the server's backups or snapshots by its tier; for backups, note when the next is due."""
        from gaib.prune.service import execute_prune, plan_prune

        try:
            plan = plan_prune(self.ports, kind, server_id=sid)
            outcome = execute_prune(self.ports, plan)
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

    def snapshot(self, key: ClaimKey, schedule: Schedule, stale: Item | None) -> ServerResult:
        from gaib.snapshots import service as snapshot_service

        sid = key.server_id
        lease, first_started = self.hold(key, stale)
        if lease is None:
            return ServerResult(sid, "claimed", final=False)
        result = ServerResult(sid, "created", retried=stale is not None)
        extra: dict[str, Any] = {}
        location = schedule.workspaces[0]
        try:
            existing = self.existing_snapshot(sid, _parse_iso(first_started)) if stale is not None else None
            if existing is not None:
                extra["snapshot"] = existing
            else:
                reads, errors = self.read_states(Schedule(server_id=sid, enabled=True, workspaces=(location,)))
                if errors:
                    raise errors[location.workspace]
                assert schedule.bot_token_secret is not None
                token = self.ports.secrets.get(schedule.bot_token_secret)
                with _closing(self.ports.for_server(sid, workspace=location.workspace,
                                                    state=self.ports.state_for(location),
                                                    bot_token=token)) as guild_ports:
                    if not still_leased(lease, self.ports.clock()):
                        raise StorageError("The claim's lease ran out before the snapshot was taken.")
                    rec = snapshot_service.take(guild_ports, server_id=sid, trigger="scheduled",
                                                message=f"scheduled weekly snapshot, window {self.window}",
                                                state=reads[location.workspace].state)
                    result.written += 1
                    result.stored_bytes += rec.manifest.stored_size
                    extra["snapshot"] = {"id": rec.id, "stored_bytes": rec.manifest.stored_size}
        except GaibError as exc:
            result.errors.append((location.workspace, exc))
        if not result.errors:
            extra["prune"] = self.prune(sid, "snapshot", {}, result)
        result.outcome = "failed" if result.errors else "created"
        if result.errors:
            extra["error"] = _error(result.errors[0][1])
        self.claims.finish(key, result.outcome, extra)
        for ws, failure in result.errors:
            self.publish_failure(sid, ws, failure)
        return result

    def existing_snapshot(self, sid: str, since: datetime | None) -> dict[str, Any] | None:
        """A scheduled snapshot a dead task took in this window (so none is taken twice)."""
        page = self.ports.catalog.query(server_pk(sid), SNAPSHOT_SK_PREFIX, limit=5)
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


# --- entry point -------------------------------------------------------------------------------------


def run_scheduled(ports: RunPorts, options: RunOptions, *,
                  progress: Callable[[str], None] | None = None) -> RunReport:
    """Do one window of the tier's scheduled backups (or snapshots) for this task's share of servers.

    Raises InvalidInput (exit 6) for a bad tier, window or shard, or ``--snapshots`` on a tier without
    automatic snapshots. Storage failures while listing stop the run (nothing else can go on); every
    per-server failure is in the report instead.
    """
    policy = POLICIES[check_tier(options.tier)]
    operation: Operation = "snapshot" if options.snapshots else "backup"
    if options.snapshots and policy.snapshot_schedule is None:
        raise InvalidInput(f"The {policy.name} tier takes no automatic snapshots (they are manual).",
                           hint="Run --snapshots for the premium tier only.", code="USAGE_ERROR")
    started = ports.clock()
    window = resolve_window(policy, operation, options.window, started)
    run = _Run(ports, options, policy, operation, window, progress)
    report = RunReport(tier=policy.name, operation=operation, window=window, task=run.task, shard=options.shard,
                       started_at=started)
    clock = time.monotonic()
    before = ports.request_counts()
    blocks: queue.Queue[Block | BaseException | None] = queue.Queue(2)
    stop = threading.Event()
    reader = threading.Thread(target=run.read_blocks, args=(blocks, stop), name="gaib-run-reader", daemon=True)
    reader.start()
    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="gaib-run") as pool:
        work = _Work(run, pool, report, progress)
        try:
            while (block := blocks.get()) is not None:
                if isinstance(block, BaseException):
                    raise block
                work.block(block)
            work.drain(0)
        except BaseException:
            stop.set()
            work.cancel()
            raise
    report.complete = True
    report.finished_at = ports.clock()
    report.duration_ms = int((time.monotonic() - clock) * 1000)
    _heartbeat(ports, report)
    _summary(ports, report)
    after = ports.request_counts()
    if before is not None and after is not None:
        report.requests = {op: n - before.get(op, 0) for op, n in after.items() if n > before.get(op, 0)}
    return report


class _Work:
    """The run's side of the workers: starts each block's servers a batch at a time (at most
    ``--concurrency`` waiting beyond a batch), collects their results into the report, and marks a block
    done once every server in it has a final claim."""

    def __init__(self, run: _Run, pool: ThreadPoolExecutor, report: RunReport,
                 progress: Callable[[str], None] | None) -> None:
        self.run = run
        self.pool = pool
        self.report = report
        self.progress = progress
        self.limit = run.options.concurrency
        self.pending: dict[Future[ServerResult], Block] = {}
        self.left: dict[str, int] = {}
        self.final: dict[str, bool] = {}

    def block(self, block: Block) -> None:
        if block.done:  # another task finished it: nothing to read
            for sid in block.servers:
                self.report.add(ServerResult(sid, "claimed"))
            return
        self.left[block.sk] = len(block.servers)
        self.final[block.sk] = True
        size = BATCH if block.owned else SECOND_PASS_BATCH
        for start in range(0, len(block.servers), size):
            self.drain(self.limit)
            for sid, schedule_item, claim in self.run.batch(list(block.servers[start:start + size])):
                state = claim_state(claim, self.run.ports.clock())
                if state in ("final", "running"):
                    self.settle(block, ServerResult(sid, "claimed", final=state == "final"))
                else:
                    self.pending[self.pool.submit(self.run.server, sid, schedule_item, claim)] = block

    def drain(self, limit: int) -> None:
        """Collect results until at most ``limit`` servers are still in the workers' hands."""
        while len(self.pending) > limit:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                self.settle(self.pending.pop(future), future.result())

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()

    def settle(self, block: Block, result: ServerResult) -> None:
        report, progress = self.report, self.progress
        report.add(result)
        if progress is not None and result.outcome == "failed":
            codes = ", ".join(e.error_code for _, e in result.errors)
            progress(f"server {result.server_id}: failed ({codes})")
        if progress is not None and report.listed % 1000 == 0:
            progress(f"{report.listed} servers: {report.created} backed up, {report.unchanged} unchanged, "
                     f"{report.failed} failed, {report.skipped} skipped")
        self.final[block.sk] = self.final[block.sk] and result.final
        self.left[block.sk] -= 1
        if self.left[block.sk] == 0:
            del self.left[block.sk]
            if self.final.pop(block.sk):
                try:
                    self.run.blocks.finish(block, self.run.ports.clock())
                except GaibError as exc:  # only the next tasks' shortcut is lost
                    self.run.ports.notice(f"block {block.sk} could not be marked done: {exc.message}")


def _heartbeat(ports: RunPorts, report: RunReport) -> None:
    """Record the completed window in ``SCHEDULER#{tier} / HEARTBEAT#{operation}`` (never moving it back)."""
    pk, sk = scheduler_pk(report.tier), heartbeat_sk(report.operation)
    fields = {"kind": "heartbeat", "tier": report.tier, "operation": report.operation, "window": report.window,
              "completed_at": iso(report.finished_at or ports.clock()), "task": report.task,
              "shard": str(report.shard) if report.shard else None,
              "counts": {"ok": report.ok, "failed": report.failed, "skipped": report.skipped}}
    try:
        current = ports.catalog.get(pk, sk)
        if current is None:
            try:
                ports.catalog.put_if_absent(pk, sk, fields)
                return
            except Conflict:
                current = ports.catalog.get(pk, sk)
        if current is not None and str(current.get("window", "")) <= report.window:
            ports.catalog.update(pk, sk, fields)
    except GaibError as exc:
        ports.notice(f"the heartbeat item could not be written: {exc.message}")


def _summary(ports: RunPorts, report: RunReport) -> None:
    what = "snapshots" if report.operation == "snapshot" else "backups"
    message = (f"Scheduled {report.tier} {what}, window {report.window}"
               + (f", shard {report.shard}" if report.shard else "")
               + f": {report.created} written, {report.unchanged} unchanged, {report.failed} failed, "
                 f"{report.claimed_elsewhere} already claimed in this window, {report.unscheduled} without a schedule")
    event = Event.summary(tier=policy_name(report.tier), at=ports.clock(), ok=report.ok, failed=report.failed,
                          skipped=report.skipped, run_id=report.task, message=message,
                          duration_ms=report.duration_ms)
    events.publish(ports, event)


def policy_name(tier: str) -> Literal["free", "premium"]:
    return "premium" if tier == "premium" else "free"


__all__ = ["RunOptions", "RunReport", "Shard", "parse_shard", "resolve_window", "run_scheduled",
           "shard_of"]


def run_metrics(report: RunReport) -> list[Metric]:
    """The run's metrics (docs/infrastructure.md, "Metrics"): per tier and operation, never per server.
    The heartbeat is 1 only for a run that went through its whole pass."""
    return [Metric("BackupSuccess", report.ok), Metric("BackupCreated", report.created),
            Metric("BackupUnchanged", report.unchanged), Metric("BackupErrors", report.failed),
            Metric("BackupSkipped", report.skipped), Metric("BackupBytes", report.stored_bytes, "Bytes"),
            Metric("RunDuration", report.duration_ms, "Milliseconds"),
            Metric("ScheduledRunHeartbeat", 1 if report.complete else 0)]
