"""gaib server backup run-scheduled | verify — the scheduled tasks' commands — and backup migrate | reseal.

Both print their metrics as CloudWatch embedded-metric-format lines (one JSON object per line, namespace
``GAIB_METRICS_NAMESPACE``, default ``Gaib/Backups``): on stdout before the result, or on stderr with
``--json`` so that stdout keeps exactly one object.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from gaib.cli.base import Ctx, any_workspace, get_ctx, output_options, server_options
from gaib.errors import PartialFailure

if TYPE_CHECKING:  # imported by the commands that use it, as 'gaib server backup' loads this module
    from gaib.scheduled.migrate import MigrationReport
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
@any_workspace
def run_scheduled(tier: str, snapshots: bool, shard: str | None, concurrency: int, window: str, lease: int) -> None:
    """One window of a tier's scheduled backups (the ECS task's command); exit 8 if some server failed."""
    from gaib.scheduled import service

    ctx = get_ctx()
    options = service.run_options(tier, snapshots=snapshots, shard=shard, concurrency=concurrency, window=window,
                                  lease=timedelta(seconds=lease))
    report = service.run_scheduled(ctx.app(own_credentials=True), options, progress=ctx.out.info)
    _emit_metrics(ctx, report.tier, report.operation, service.run_metrics(report))
    what = "snapshots" if report.operation == "snapshot" else "backups"
    text = (f"Scheduled {report.tier} {what}, window {report.window}"
            + (f" (shard {report.shard})" if report.shard else "")
            + f": {report.counts_text()} ({report.duration_ms / 1000:.1f} s).")
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
@any_workspace
def verify(everything: bool, sample: int, tier: str | None) -> None:
    """Re-read stored backups, snapshots and deployments, every part of each, and check every size and
    checksum (default: the newest of each); each failure is named."""
    from gaib.errors import UsageError
    from gaib.scheduled import service

    if everything and sample:
        raise UsageError("--all and --sample cannot be used together.")
    ctx = get_ctx()
    report = service.verify(ctx.app(own_credentials=True), everything=everything, sample=sample, tier=tier)
    if report.tier is not None:
        _emit_metrics(ctx, report.tier, "verify", service.verify_metrics(report))
    for line in report.warning_lines():
        ctx.out.warn(line)
    service.check(report)
    where = f"{report.servers} servers of the {report.tier} tier" if report.tier else "this server"
    ctx.out.result(report.to_dict(), f"Verified {report.checked} stored items of {where} ({report.backups} backups, "
                                     f"{report.snapshots} snapshots, {report.deployments} deployments; every part, "
                                     f"{report.bytes_read} bytes read): all passed.")


def _migrate_text(r: MigrationReport) -> str:
    if not r.copied:
        held = [f"{t.already} {kind}{'' if t.already == 1 else 's'}" for kind, t in r.bundles.items() if t.already]
        head = (f"Nothing to copy from {r.source} to {r.target} for server {r.server_id}"
                + (f": {', '.join(held)} already there." if held else "."))
        return "\n".join([head, *[f"Note: {n}" for n in r.notes]])
    done = "to copy" if r.dry_run else "copied"

    def row(name: str, copied: int, already: int, what: str = "") -> str:
        return f"  {name:<14}{copied:>5} {done}, {already} already on S3{what}"

    lines = [f"{'Would copy' if r.dry_run else 'Copied'} server {r.server_id}'s history from the local store "
             f"{r.source} to {r.target}" + ("" if r.dry_run else ", each bundle verified there by its checksums")
             + ":"]
    lines += [row(kind + "s", t.copied, t.already) for kind, t in r.bundles.items()]
    lines.append(row("images", r.images.copied, r.images.already))
    lines.append(row("other objects", r.objects.copied, r.objects.already,
                     " (theme audit log, config exports, registry and schedule documents)"))
    lines.append(row("audit records", r.records.copied, r.records.already, " (tier changes)"))
    lines.append(f"  {'tier':<14}{r.tier_name or '-'} ({r.tier})")
    lines.append(f"  {'schedule':<14}{r.schedule}")
    if not r.dry_run:
        lines.append(f"{r.bytes_copied} bytes copied. Running it again copies only what is missing.")
    lines += [f"Kept S3's own {key} (it differs from the local one)." for key in r.kept]
    lines += [f"Note: {n}" for n in r.notes]
    return "\n".join(lines)


@click.command("migrate")
@click.option("--to", "target", required=True, type=click.Choice(["s3"]), help="Where to copy: the configured S3 "
                                                                                 "store.")
@click.option("--dry-run", is_flag=True, help="Say what would be copied; copy nothing.")
@server_options
def migrate(target: str, dry_run: bool) -> None:
    """Copy this server's backups, snapshots, deployments, tier and schedule from the local store to S3."""
    from gaib.scheduled import service

    ctx = get_ctx()
    report = service.migrate(ctx.app(own_credentials=True), to=target, dry_run=dry_run, progress=ctx.out.info)
    ctx.out.result(report.to_dict(), _migrate_text(report))


@click.command("reseal")
@click.option("--dry-run", is_flag=True, help="Check the bundles and say which would be sealed; write nothing.")
@server_options
def reseal(dry_run: bool) -> None:
    """Seal this server's backups, snapshots and deployments written before manifests carried a MAC, each
    after checking every part; one that fails a check or names another server is never sealed."""
    from gaib.scheduled import service

    ctx = get_ctx()
    report = service.reseal(ctx.app(), dry_run=dry_run)
    verb = "Would seal" if dry_run else "Sealed"
    lines = [f"{verb} {len(report.sealed)} bundles of server {report.server_id} "
             f"({report.already} already sealed, {len(report.refused)} left unsealed)."]
    lines += [f"  {b['kind']} {b['id']}" for b in report.sealed]
    for b in report.refused:
        ctx.out.warn(f"Not sealed: {b['kind']} {b['id']}: {b['reason']}")
    ctx.out.result(report.to_dict(), "\n".join(lines))
