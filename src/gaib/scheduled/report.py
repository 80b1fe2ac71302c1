"""The report of a scheduled run and what is made of it once the pass is over.

:class:`ServerResult` is one server's outcome, :class:`RunReport` adds them up (it lists at most
``MAX_FAILURES_LISTED`` failures; the counts are always whole). From a finished report:
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

Outcome = Literal["created", "unchanged", "failed", "claimed", "unscheduled"]
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


def run_metrics(report: RunReport) -> list[Metric]:
    """The run's metrics (docs/infrastructure.md, "Metrics"): per tier and operation, never per server.
    The heartbeat is 1 only for a run that went through its whole pass."""
    return [Metric("BackupSuccess", report.ok), Metric("BackupCreated", report.created),
            Metric("BackupUnchanged", report.unchanged), Metric("BackupErrors", report.failed),
            Metric("BackupSkipped", report.skipped), Metric("BackupBytes", report.stored_bytes, "Bytes"),
            Metric("RunDuration", report.duration_ms, "Milliseconds"),
            Metric("ScheduledRunHeartbeat", 1 if report.complete else 0)]


def write_heartbeat(ports: RunPorts, report: RunReport) -> None:
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


def publish_summary(ports: RunPorts, report: RunReport) -> None:
    """Publish the run's one ``scheduled-run.summary`` event."""
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


__all__ = ["MAX_FAILURES_LISTED", "Outcome", "RunReport", "ServerResult", "policy_name", "publish_summary",
           "run_metrics", "write_heartbeat"]
