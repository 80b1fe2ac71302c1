"""The report of a scheduled run and what is made of it once the pass is over.

:class:`ServerResult` is one server's outcome and its workspaces', :class:`RunReport` adds them up (it
lists at most ``MAX_FAILURES_LISTED`` failures; the counts are always whole). A run counts servers and,
beneath them, each scheduled workspace's outcome (``created``, ``unchanged``, ``skipped``: no state yet,
``failed``; for snapshots, the snapshot of each server); the summary, the heartbeat and the metrics count
workspaces, so a server with one workspace backed up and one without a state counts one backup written
and one skipped. From a finished report:
:func:`run_metrics` (the CloudWatch metrics, per tier and operation, never per server),
:func:`write_heartbeat` (the item ``SCHEDULER#{tier} / HEARTBEAT#{operation}``, never moved back to an
older window) and :func:`publish_summary` (one ``scheduled-run.summary`` event). Writing the heartbeat
never raises: a failure is a notice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from gaib.errors import Conflict, GaibError
from gaib.notify.events import ErrorInfo, Event
from gaib.ports import RunPorts
from gaib.scheduled.claims import iso
from gaib.scheduled.metrics import Metric
from gaib.scheduled.window import Operation, Shard
from gaib.storage.keys import heartbeat_sk, scheduler_pk
from gaib.tiers import events

Outcome = Literal["created", "unchanged", "skipped", "failed", "claimed", "unscheduled"]
WorkspaceOutcome = Literal["created", "unchanged", "skipped", "failed"]
WORKSPACE_OUTCOMES: Final[tuple[WorkspaceOutcome, ...]] = ("created", "unchanged", "skipped", "failed")
MAX_FAILURES_LISTED: Final = 100


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
    empty: int = 0
    """Servers none of whose scheduled workspaces has a state yet (outcome ``skipped``)."""
    failed: int = 0
    claimed_elsewhere: int = 0
    unscheduled: int = 0
    retried: int = 0
    workspaces: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORKSPACE_OUTCOMES, 0))
    """Each scheduled workspace's outcome, counted (snapshots: each server's snapshot)."""
    errors: int = 0
    """Failures: of workspaces, and of a server's other steps (its schedule, the export, the prune)."""
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
        elif result.outcome == "skipped":
            self.empty += 1
        else:
            self.failed += 1
        for info in result.workspaces.values():
            outcome = info.get("outcome")
            if outcome in self.workspaces:
                self.workspaces[outcome] += 1
        self.errors += len(result.errors)
        self.retried += int(result.retried)
        self.written += result.written
        self.stored_bytes += result.stored_bytes
        for workspace, error in result.errors:
            if len(self.failures) < MAX_FAILURES_LISTED:
                self.failures.append({"server_id": result.server_id, "workspace": workspace,
                                      "error": {"code": error.error_code, "message": ErrorInfo.of(error).message}})

    @property
    def ok(self) -> int:
        """Workspaces backed up or found unchanged (snapshots: servers snapshotted)."""
        return self.workspaces["created"] + self.workspaces["unchanged"]

    @property
    def skipped(self) -> int:
        """Workspaces without a state yet, and servers claimed by another task or without a schedule."""
        return self.workspaces["skipped"] + self.claimed_elsewhere + self.unscheduled

    def counts_text(self) -> str:
        """``1 written, 0 unchanged, 1 skipped (no state yet), 0 failed`` (of workspaces, or snapshots)."""
        w = self.workspaces
        what = "snapshots" if self.operation == "snapshot" else "workspaces"
        return (f"{what}: {w['created']} written, {w['unchanged']} unchanged, {w['skipped']} skipped (no state "
                f"yet), {self.errors} failed; servers: {self.listed} listed, {self.failed} failed, "
                f"{self.claimed_elsewhere} already claimed in this window, {self.unscheduled} without a schedule")

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "operation": self.operation, "window": self.window, "task": self.task,
                "shard": str(self.shard) if self.shard else None, "started_at": iso(self.started_at),
                "finished_at": iso(self.finished_at) if self.finished_at else None, "complete": self.complete,
                "servers": {"listed": self.listed, "created": self.created, "unchanged": self.unchanged,
                            "failed": self.failed, "claimed_by_other_tasks": self.claimed_elsewhere,
                            "unscheduled": self.unscheduled, "taken_over": self.retried,
                            "without_state": self.empty},
                "workspaces": dict(self.workspaces), "errors": self.errors,
                "written": self.written, "stored_bytes": self.stored_bytes, "duration_ms": self.duration_ms,
                "aws_requests": dict(sorted(self.requests.items())) if self.requests is not None else None,
                "failures": list(self.failures)}


def run_metrics(report: RunReport) -> list[Metric]:
    """The run's metrics (docs/infrastructure.md, "Metrics"): per tier and operation, never per server;
    they count workspaces (snapshots: servers), failures and skips as :class:`RunReport` does. The
    heartbeat is 1 only for a run that went through its whole pass."""
    return [Metric("BackupSuccess", report.ok), Metric("BackupCreated", report.workspaces["created"]),
            Metric("BackupUnchanged", report.workspaces["unchanged"]), Metric("BackupErrors", report.errors),
            Metric("BackupSkipped", report.skipped), Metric("BackupBytes", report.stored_bytes, "Bytes"),
            Metric("RunDuration", report.duration_ms, "Milliseconds"),
            Metric("ScheduledRunHeartbeat", 1 if report.complete else 0)]


def write_heartbeat(ports: RunPorts, report: RunReport) -> None:
    """Record the completed window in ``SCHEDULER#{tier} / HEARTBEAT#{operation}`` (never moving it back)."""
    pk, sk = scheduler_pk(report.tier), heartbeat_sk(report.operation)
    fields = {"kind": "heartbeat", "tier": report.tier, "operation": report.operation, "window": report.window,
              "completed_at": iso(report.finished_at or ports.clock()), "task": report.task,
              "shard": str(report.shard) if report.shard else None,
              "counts": {"ok": report.ok, "failed": report.errors, "skipped": report.skipped}}
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


def publish_summary(ports: RunPorts, report: RunReport) -> None:
    """Publish the run's one ``scheduled-run.summary`` event."""
    what = "snapshots" if report.operation == "snapshot" else "backups"
    message = (f"Scheduled {report.tier} {what}, window {report.window}"
               + (f", shard {report.shard}" if report.shard else "") + f": {report.counts_text()}")
    event = Event.summary(tier=policy_name(report.tier), at=ports.clock(), ok=report.ok, failed=report.errors,
                          skipped=report.skipped, run_id=report.task, message=message,
                          duration_ms=report.duration_ms)
    events.publish(ports, event)


def policy_name(tier: str) -> Literal["free", "premium"]:
    return "premium" if tier == "premium" else "free"


__all__ = ["MAX_FAILURES_LISTED", "WORKSPACE_OUTCOMES", "Outcome", "RunReport", "ServerResult", "WorkspaceOutcome",
           "policy_name", "publish_summary", "run_metrics", "write_heartbeat"]
