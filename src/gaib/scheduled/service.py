"""The use cases of scheduled runs, as the CLI calls them (``gaib.cli`` imports this module of the package only).

* ``gaib server backup run-scheduled``: :func:`run_options` reads the command's options (raises
  InvalidInput, exit 6, for a bad shard or concurrency), :func:`run_scheduled` does one window of the
  tier (:mod:`gaib.scheduled.run`; per-server failures are in its report, never raised) and
  :func:`run_metrics` gives the report's metrics.
* ``gaib server backup verify``: :func:`verify` re-reads stored backups and snapshots, :func:`check`
  raises when some failed (IntegrityError, exit 3; PartialFailure, exit 8), :func:`verify_metrics`
  gives a tier verification's metrics (:mod:`gaib.scheduled.verify`).
* ``gaib server schedule show | enable | disable``: :func:`show`, :func:`enable`, :func:`disable`
  (:mod:`gaib.scheduled.schedules`).
* ``gaib server backup migrate --to s3``: :func:`migrate` copies the server's history from the local store
  to the configured S3 store, each bundle verified there (:mod:`gaib.scheduled.migrate`).
* :func:`emf_line`: metrics as one CloudWatch embedded-metric-format line (:mod:`gaib.scheduled.metrics`).

Importing this module stays cheap: a run and a verification load what they need (backups, snapshots,
the IaC export) when they are called, so ``gaib server schedule`` never pays for them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from gaib.ports import Ports, RunPorts, server_id_of
from gaib.scheduled.metrics import Metric, emf_line
from gaib.scheduled.report import RunReport, run_metrics
from gaib.scheduled.schedules import Schedule, ScheduleView, Written, disable, enable, show
from gaib.scheduled.window import RunOptions, parse_shard

if TYPE_CHECKING:
    from gaib.scheduled.migrate import MigrationReport
    from gaib.scheduled.reseal import ResealReport
    from gaib.scheduled.verify import VerifyReport


def run_options(tier: str, *, snapshots: bool, shard: str | None, concurrency: int, window: str,
                lease: timedelta) -> RunOptions:
    """The options of ``run-scheduled`` as given on its command line (``shard`` as ``I/N``, or None for
    every server); raises InvalidInput (exit 6) for a shard or a concurrency out of range."""
    return RunOptions(tier=tier, snapshots=snapshots, shard=parse_shard(shard) if shard else None,
                      concurrency=concurrency, window=window, lease=lease)


def run_scheduled(ports: RunPorts, options: RunOptions, *,
                  progress: Callable[[str], None] | None = None) -> RunReport:
    """One window of the tier's scheduled backups or snapshots: :func:`gaib.scheduled.run.run_scheduled`."""
    from gaib.scheduled import run

    return run.run_scheduled(ports, options, progress=progress)


def verify(ports: Ports, *, everything: bool = False, sample: int = 0, tier: str | None = None) -> VerifyReport:
    """Verify the current server, or every server of ``tier``: :func:`gaib.scheduled.verify.verify`."""
    from gaib.scheduled import verify as verification

    return verification.verify(ports, everything=everything, sample=sample, tier=tier)


def check(report: VerifyReport) -> None:
    """Raise the verification's error when something failed: :func:`gaib.scheduled.verify.check`."""
    from gaib.scheduled import verify as verification

    verification.check(report)


def verify_metrics(report: VerifyReport) -> list[Metric]:
    """A tier verification's metrics: :func:`gaib.scheduled.verify.verify_metrics`."""
    from gaib.scheduled import verify as verification

    return verification.verify_metrics(report)


def migrate(ports: Ports, *, to: str, dry_run: bool = False,
            progress: Callable[[str], None] | None = None) -> MigrationReport:
    """Copy this server's backups, snapshots, deployments, tier and schedule from the local store to the
    configured S3 store, verified and never overwriting: :func:`gaib.scheduled.migrate.migrate`."""
    from gaib.scheduled import migrate as migration

    return migration.migrate(ports, server_id_of(ports), to=to, dry_run=dry_run, progress=progress)


def reseal(ports: Ports, *, dry_run: bool = False) -> ResealReport:
    """Seal this server's bundles written before manifests carried a MAC, each after checking it whole:
    :func:`gaib.scheduled.reseal.reseal`."""
    from gaib.scheduled import reseal as resealing

    return resealing.reseal(ports, dry_run=dry_run)


__all__ = ["Metric", "RunOptions", "RunReport", "Schedule", "ScheduleView", "Written", "check", "disable",
           "emf_line", "enable", "migrate", "reseal", "run_metrics", "run_options", "run_scheduled", "show", "verify",
           "verify_metrics"]
