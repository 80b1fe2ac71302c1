"""gaib server tier show | set"""

from __future__ import annotations

import click

from gaib.cli.base import any_workspace, get_ctx, group, server_options
from gaib.cli.text import printable
from gaib.tiers import service
from gaib.tiers.manager import TierReport

tier = group("tier", "The server's service tier: show it, or set it (operators).")


def size(n: int) -> str:
    """Bytes for people: B, KiB, MiB, GiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def count(n: int, noun: str) -> str:
    """``1 object``, ``2 objects``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _limit(value: int | None, unit: str) -> str:
    return "unlimited" if value is None else f"{value} {unit}"


def _show_text(report: TierReport) -> str:
    s, p, u = report.state, report.state.policy, report.usage
    who = f" (set by {printable(s.set_by)} at {s.set_at})" if s.set_by else \
        (" (default: no tier was ever set)" if not s.registered else "")
    lines = [f"Server {s.server_id}: {p.name} tier{who}"]
    if s.stored:
        lines.append(f"  warning: the stored tier {printable(s.stored)} is not a tier name; it reads as free")
    snapshots = "weekly, automatic" if p.snapshots == "weekly" else "manual"
    themes = "unlimited" if p.theme_history_keep_last is None else f"the last {p.theme_history_keep_last}"
    lines += [
        "Limits:",
        f"  scheduled backups     {p.scheduled_cadence} ({p.backup_schedule})",
        f"  on-demand backups     {_limit(p.on_demand_per_day, 'per UTC day')}",
        f"  on-demand snapshots   {_limit(p.on_demand_snapshots_per_day, 'per UTC day')}",
        f"  full snapshots        {snapshots}",
        f"  retention             {p.backup_retention().describe()} (backups and snapshots)",
        f"  theme history         {themes}",
        f"  cross-region copy     {'yes, to ' + str(p.replica_region) if p.cross_region else 'no'}",
        "  storage class         Standard" + (f", then Glacier Instant Retrieval after {p.glacier_ir_after_days} days"
                                               if p.glacier_ir_after_days is not None else ""),
        f"Today ({u.day} UTC; quotas reset at {u.resets_at}):",
    ]
    for kind, use in u.on_demand.items():
        quota = f"{use.used} of {use.limit} used" if use.limit is not None else "unlimited"
        lines.append(f"  on-demand {kind}s: {quota}; {use.created} created today and still listed")
    lines.append("Stored:")
    for kind, ku in u.storage.items():
        lines.append(f"  {kind:<10} {ku.objects:>6} objects  {size(ku.bytes):>10}")
    total = sum(k.bytes for k in u.storage.values())
    lines.append(f"  {'total':<10} {sum(k.objects for k in u.storage.values()):>6} objects  {size(total):>10}")
    lines.append(f"Next scheduled backup run: {report.next_backup or 'unknown'}")
    if p.snapshot_schedule is not None:
        lines.append(f"Next scheduled snapshot run: {report.next_snapshot or 'unknown'}")
    return "\n".join(lines)


@tier.command("show")
@server_options
@any_workspace
def show() -> None:
    """Tier, limits, today's usage, stored bytes, retention and the next scheduled runs."""
    ctx = get_ctx()
    report = service.show(ctx.app())
    local = service.local_history(ctx.app()) if not report.state.registered else None
    text = _show_text(report) + (f"\n{local.notice()}" if local else "")
    ctx.out.result({**report.to_dict(), "local_store": local.to_dict() if local else None}, text)


@tier.command("set")
@click.argument("tier_name", metavar="free|premium")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
@any_workspace
def set_(tier_name: str, yes: bool) -> None:
    """Move the server to another tier (an operator's command): writes the tier with who and when,
    records an audit entry and re-tags the server's stored objects."""
    ctx = get_ctx()
    ports = ctx.app(own_credentials=True)  # the operator's own credentials, never a server's role session
    state, target = service.current(ports, tier_name)
    ctx.confirm(f"Move server {state.server_id} from the {state.policy.name} tier to {target} "
                f"(and re-tag its stored objects Tier={target})?", yes)
    change = service.set_tier(ports, target,
                              progress=lambda n: ctx.out.info(f"re-tagged {n} objects") if n % 500 == 0 else None)
    r = change.retagged
    head = (f"Server {change.server_id} moved from the {change.previous.name} tier to {change.new.name}"
            if change.previous.name != change.new.name else
            f"Server {change.server_id} is on the {change.new.name} tier (unchanged)")
    text = [f"{head}, set by {printable(change.set_by)} at {change.set_at} (audit {change.audit_id}).",
            f"Re-tagged {count(r.changed, 'object')} ({size(r.changed_bytes)}) Tier={change.new.name}; "
            f"{r.unchanged} already carried it."]
    text += [f"Note: {n}" for n in change.notes]
    ctx.out.result(change.to_dict(), "\n".join(text))
