"""gaib server theme registry | history | rollback | audit"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gaib.cli.base import Ctx, get_ctx, server_options
from gaib.cli.progress import RunProgress
from gaib.cli.text import printable
from gaib.deployments import service
from gaib.deployments.service import MAX_STEPS, Deployment
from gaib.ports import server_id_of

if TYPE_CHECKING:
    from gaib.deployments.service import RollbackPlan


def _when(iso: str) -> str:
    """``2026-11-25 17:19:38Z`` from a stored ISO time."""
    return iso[:19].replace("T", " ") + "Z" if len(iso) >= 19 else iso


def _counts(d: Deployment) -> str:
    c = d.manifest.counts
    text = f"+{c.get('created', 0)} ~{c.get('updated', 0)} -{c.get('deleted', 0)}"
    return text + (f" !{c['failed']}" if c.get("failed") else "")


def _row(d: Deployment) -> list[Any]:
    theme = d.theme
    kind = d.action + (f" to {d.manifest.extra.get('rolled_back_to')}" if d.manifest.extra.get("rolled_back_to")
                       else "")
    if d.manifest.extra.get("snapshot"):
        kind += f" (snapshot {d.manifest.extra['snapshot']})"
    return [d.id, printable(theme.get("name")) if theme else "-", printable(theme.get("version")) if theme else "-",
            _when(d.created_at), printable(f"{d.manifest.extra.get('actor')} ({d.manifest.extra.get('via')})"),
            printable(kind), d.result, _counts(d), d.manifest.serial if d.manifest.serial is not None else "-"]


HEADERS = ["ID", "THEME", "VERSION", "WHEN", "WHO", "KIND", "RESULT", "CHANGES", "SERIAL"]


def _warn_damaged(ctx: Ctx, damaged: list[str]) -> None:
    for ident in damaged:
        ctx.out.warn(f"deployment {printable(ident)} has a damaged catalog item and is not listed")


@click.command("registry")
@server_options
def registry_cmd() -> None:
    """Show the current deployment and the last 5 before it."""
    ctx = get_ctx()
    ports = ctx.app()
    view = service.view(ports, server_id_of(ports))
    _warn_damaged(ctx, view.damaged)
    keeps = (f"the {view.policy.name} tier keeps the last {view.policy.theme_history_keep_last} deployments"
             if view.policy.theme_history_keep_last else f"the {view.policy.name} tier keeps every deployment")
    local = service.local_history(ports, view.server_id) if view.current is None else None
    if view.current is None:
        text = f"No deployment is recorded for server {view.server_id} yet ({keeps}). 'gaib server apply' records one."
        text += f"\n{local.notice()}" if local else ""
    else:
        cur = view.current
        lines = [f"Server {view.server_id}: current deployment {cur.id}, {printable(cur.theme_label())}, "
                 f"{cur.action}, {_when(cur.created_at)} ({keeps}).",
                 ctx.out.table(HEADERS, [_row(d) for d in [cur, *view.recent]])]
        text = "\n".join(lines)
    ctx.out.result({**view.to_dict(), "local_store": local.to_dict() if local else None}, text)


@click.command("history")
@click.option("-l", "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many.")
@click.option("--cursor", default=None, help="Continue after a previous page (from its next_cursor).")
@server_options
def history_cmd(limit: int, cursor: str | None) -> None:
    """List every kept deployment, newest first."""
    ctx = get_ctx()
    ports = ctx.app()
    damaged: list[str] = []
    found, next_cursor = service.history(ports, server_id_of(ports), limit=limit, cursor=cursor, damaged=damaged)
    _warn_damaged(ctx, damaged)
    text = ctx.out.table(HEADERS, [_row(d) for d in found]) if found else "No deployments."
    if next_cursor:
        text += f"\nMore: --cursor {next_cursor}"
    ctx.out.result({"deployments": [d.to_dict() for d in found], "next_cursor": next_cursor, "damaged": damaged},
                   text)


@click.command("audit")
@click.option("-l", "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many.")
@server_options
def audit_cmd(limit: int) -> None:
    """List the audit log of deployments, rollbacks, failures and registry reads, newest first."""
    ctx = get_ctx()
    ports = ctx.app()
    damaged: list[str] = []
    found = service.audit_log(ports, server_id_of(ports), limit=limit, damaged=damaged)
    for ident in damaged:
        ctx.out.warn(f"audit event {printable(ident)} cannot be read and is not listed")
    rows = []
    for e in found:
        error = e.get("error") or {}
        outcome = e.get("outcome", "") + (f" [{error.get('code')}]" if error else "")
        theme = e.get("theme") or {}
        rows.append([_when(str(e.get("at", ""))), printable(f"{e.get('actor')} ({e.get('via')})"),
                     printable(e.get("what")), printable(e.get("operation")), printable(e.get("from") or "-"),
                     printable(e.get("to") or "-"), printable(outcome),
                     printable(f"{theme.get('name')} {theme.get('version')}" if theme else "-")])
    text = ctx.out.table(["WHEN", "WHO", "WHAT", "OPERATION", "FROM", "TO", "OUTCOME", "THEME"], rows) \
        if rows else "No audit events."
    ctx.out.result({"events": found, "damaged": damaged}, text)


def _rollback_text(plan: RollbackPlan) -> str:
    from gaib.iac.plan import render as render_plan

    cur, target = plan.resolved.current, plan.resolved.target
    lines = [f"Roll back server {plan.server_id} from deployment {cur.id} ({cur.theme_label()}) to deployment "
             f"{target.id} ({target.theme_label()}, {target.action}, {_when(target.created_at)}).",
             "Discord:"]
    lines += ["  " + ln if ln else "" for ln in render_plan(plan.discord).splitlines()]
    for w in plan.warnings:
        lines.append(f"Warning: {w}")
    return printable("\n".join(lines), keep_newlines=True)


@click.command("rollback")
@click.option("--steps", type=click.IntRange(1, MAX_STEPS), default=None,
              help="Go this many deployments back (default 1; a rollback counts as the deployment it returned to).")
@click.option("--to", "to", metavar="DEPLOYMENT_ID", default=None, help="Go back to this deployment.")
@click.option("--dry-run", is_flag=True, help="Show the plan against the live server; change nothing.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask; also start a rollback that exceeds Discord's caps.")
@server_options
def rollback_cmd(steps: int | None, to: str | None, dry_run: bool, yes: bool) -> None:
    """Put an earlier deployment back on Discord (minimally) and record it."""
    ctx = get_ctx()
    ports = ctx.app()
    plan = service.plan_rollback(ports, steps=steps, to=to, dry_run=dry_run)
    text = _rollback_text(plan)
    if dry_run:
        ctx.out.result({"dry_run": True, "plan": plan.to_dict()}, text)
        return
    if not ctx.out.json_mode:
        ctx.out.info(text)
    target = plan.resolved.target
    ctx.confirm(f"Roll back to deployment {target.id}?", yes)
    with RunProgress(ctx.out, "rollback") as progress:
        result = service.execute_rollback(ports, plan, progress=progress, accept_caps=yes)
    a = result.apply
    changes = (f"{len(a.created)} created, {len(a.updated)} updated, {len(a.deleted)} deleted"
               if a is not None else "no changes")
    recorded = f" Recorded deployment {result.deployment.id}." if result.deployment else ""
    wrote = f" Wrote {result.config_file}." if result.config_written else ""
    kept = f" Previous config kept as {result.previous_config}." if result.previous_config else ""
    backup = f" Pre-restore backup {result.pre_restore_backup_id}." if result.pre_restore_backup_id else ""
    if not result.changed:
        summary = (f"Nothing to roll back: Discord and the state already match deployment {target.id} "
                   f"({printable(target.theme_label())}); nothing was changed and no deployment was recorded."
                   f"{wrote}{kept}")
    else:
        summary = (f"Rolled back to deployment {target.id} ({printable(target.theme_label())}): {changes} (state "
                   f"serial {result.new_serial}).{recorded}{wrote}{kept}{backup} Undo with: gaib server theme "
                   f"rollback --to {result.from_id}")
    ctx.out.result({"dry_run": False, "plan": plan.to_dict(), "result": result.to_dict()}, summary)
