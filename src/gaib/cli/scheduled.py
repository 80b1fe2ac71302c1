"""gaib server backup run-scheduled | verify — the scheduled tasks' commands.

Both print their metrics as CloudWatch embedded-metric-format lines (one JSON object per line, namespace
``GAIB_METRICS_NAMESPACE``, default ``Gaib/Backups``): on stdout before the result, or on stderr with
``--json`` so that stdout keeps exactly one object.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from gaib.cli.base import Ctx, get_ctx, output_options, server_options
from gaib.errors import PartialFailure

if TYPE_CHECKING:  # imported by the commands that use it, as 'gaib server backup' loads this module
    from gaib.scheduled.service import Metric


def _emit_metrics(ctx: Ctx, tier: str, operation: str, metrics: list[Metric]) -> None:
    from gaib.scheduled import service

    settings = ctx.settings()
    line = service.emf_line(settings.metrics_namespace, tier=tier, operation=operation, metrics=metrics,
                            at=ctx.env.clock())
    stream = ctx.env.stderr if ctx.out.json_mode else ctx.env.stdout
    stream.write(line + "\n")
    stream.flush()


@click.command("run-scheduled")
@click.option("--tier", required=True, type=click.Choice(["free", "premium"]), help="The tier whose servers to run.")
@click.option("--snapshots", is_flag=True, help="Take the weekly snapshots (premium) instead of state backups.")
@click.option("--shard", default=None, metavar="I/N", help="Only the servers whose id hashes to shard I of N.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Servers worked on at once.")
@click.option("--window", default="auto", show_default=True, metavar="auto|ISO-TIME",
              help="The window: the schedule's last firing (auto), or the time EventBridge passes.")
@click.option("--lease", default=900, show_default=True, type=click.IntRange(60, 86400), metavar="SECONDS",
              help="How long a claimed server is this task's before another task may take it over.")
@output_options
def run_scheduled(tier: str, snapshots: bool, shard: str | None, concurrency: int, window: str, lease: int) -> None:
    """One window of a tier's scheduled backups (the ECS task's command); exit 8 if some server failed."""
    from gaib.scheduled import service

    ctx = get_ctx()
    options = service.run_options(tier, snapshots=snapshots, shard=shard, concurrency=concurrency, window=window,
                                  lease=timedelta(seconds=lease))
    report = service.run_scheduled(ctx.app(), options, progress=ctx.out.info)
    _emit_metrics(ctx, report.tier, report.operation, service.run_metrics(report))
    what = "snapshots" if report.operation == "snapshot" else "backups"
    text = (f"Scheduled {report.tier} {what}, window {report.window}"
            + (f" (shard {report.shard})" if report.shard else "")
            + f": {report.listed} servers listed; {report.created} written, {report.unchanged} unchanged, "
              f"{report.failed} failed, {report.claimed_elsewhere} already claimed in this window, "
              f"{report.unscheduled} without a schedule ({report.duration_ms / 1000:.1f} s).")
    if report.failed:
        raise PartialFailure(text + f" {report.failed} servers failed; each was published as a failure event.",
                             hint="Fix what the events name; the next window retries those servers.",
                             details={"run": report.to_dict()})
    ctx.out.result(report.to_dict(), text)


@click.command("verify")
@click.option("--all", "everything", is_flag=True, help="Every stored backup and snapshot.")
@click.option("--sample", default=0, type=click.IntRange(0, 100000), metavar="N",
              help="The newest of each, plus N more chosen at random.")
@click.option("--tier", default=None, type=click.Choice(["free", "premium"]),
              help="Every server of the tier (the weekly scheduled task), instead of this server.")
@server_options
def verify(everything: bool, sample: int, tier: str | None) -> None:
    """Re-read stored backups, snapshots and deployments, every part of each, and check every size and
    checksum (default: the newest of each); each failure is named."""
    from gaib.errors import UsageError
    from gaib.scheduled import service

    if everything and sample:
        raise UsageError("--all and --sample cannot be used together.")
    ctx = get_ctx()
    report = service.verify(ctx.app(), everything=everything, sample=sample, tier=tier)
    if report.tier is not None:
        _emit_metrics(ctx, report.tier, "verify", service.verify_metrics(report))
    for line in report.warning_lines():
        ctx.out.warn(line)
    service.check(report)
    where = f"{report.servers} servers of the {report.tier} tier" if report.tier else "this server"
    ctx.out.result(report.to_dict(), f"Verified {report.checked} stored items of {where} ({report.backups} backups, "
                                     f"{report.snapshots} snapshots, {report.deployments} deployments; every part, "
                                     f"{report.bytes_read} bytes read): all passed.")
