"""The ``prune`` command shared by ``gaib server backup`` and ``gaib server snapshot``: plan, print, ask, execute."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gaib.bundles.retention import Decision
from gaib.cli.base import get_ctx
from gaib.cli.text import printable
from gaib.cli.tier import count, size
from gaib.prune import service as prune_service
from gaib.prune.service import PruneKind, PruneOutcome, PrunePlan


def _row(plan: PrunePlan, d: Decision) -> str:
    detail = plan.bundles[d.item.id].detail
    where = f"  {printable(detail.get('workspace', ''))}" if plan.kind == "backup" else ""
    created = d.item.created_at.strftime("%Y-%m-%d %H:%M")
    return f"  - {d.item.id}{where}  {created}  {size(d.item.size)}: {printable(d.reason)}"


def _label(group: tuple[str, ...]) -> str:
    return "/".join(group)


def plan_text(plan: PrunePlan) -> str:
    what = f"{plan.kind}s"
    r = plan.retention
    lines = [f"Prune the {what} of server {plan.server_id} ({plan.tier.name} tier: {plan.policy.describe()})."]
    if r.remove:
        lines.append(f"Remove {count(len(r.remove), plan.kind)} ({size(r.removed_bytes)}):")
        lines += [_row(plan, d) for d in r.remove]
    by_group: dict[tuple[str, ...], list[Decision]] = {}
    for d in r.keep:
        by_group.setdefault(d.item.group, []).append(d)
    lines.append(f"Keep {count(len(r.keep), plan.kind)} ({size(r.kept_bytes)})" + (":" if by_group else "."))
    for group, kept in by_group.items():
        newest = kept[0]
        reasons = Counter(d.code.value for d in kept)
        why = ", ".join(f"{n} {code}" for code, n in sorted(reasons.items()))
        lines.append(f"  {_label(group)}: {len(kept)} ({why}); newest {newest.item.id} "
                     f"({newest.item.created_at.strftime('%Y-%m-%d %H:%M')})")
    if plan.orphans:
        orphan_bytes = size(sum(o.size for o in plan.orphans))
        lines.append(f"Remove {count(len(plan.orphans), 'orphan object')} ({orphan_bytes}) that no catalog item "
                     "lists (left by an interrupted write or prune, older than a day):")
        lines += [f"  - {o.key}" for o in plan.orphans[:20]]
        if len(plan.orphans) > 20:
            lines.append(f"  ... and {len(plan.orphans) - 20} more")
    for d in (*r.remove, *r.keep):
        if plan.bundles[d.item.id].detail.get("future_dated"):
            lines.append(f"warning: {plan.kind} {d.item.id} is dated more than 5 minutes ahead of the storage's clock "
                         "(its writer's clock ran ahead): it ranks where the catalog wrote it, not by its date")
    for ident in plan.damaged:
        lines.append(f"warning: {plan.kind} {printable(ident)} has a damaged catalog item: not judged, not removed "
                     f"(remove it with 'gaib server {plan.kind} delete {printable(ident)}'); orphan objects are "
                     "not swept while it is there")
    if plan.empty:
        lines.append("Nothing to prune.")
    return "\n".join(lines)


def outcome_text(outcome: PruneOutcome) -> str:
    plan, result = outcome.plan, outcome.result
    lines = [f"Removed {count(len(result.removed), plan.kind)} ({size(result.removed_bytes)}) of server "
             f"{plan.server_id} ({plan.tier.name} tier: {plan.policy.describe()}):"]
    lines += [_row(plan, d) for d in result.removed]
    if outcome.orphans_removed:
        lines.append(f"Removed {count(len(outcome.orphans_removed), 'orphan object')} no catalog item listed.")
    if outcome.media_removed:
        lines.append(f"Removed {count(len(outcome.media_removed), 'image')} no remaining snapshot uses.")
    lines.append(f"Kept {count(len(plan.retention.keep), plan.kind)} ({size(plan.retention.kept_bytes)}), "
                 "the newest of each group among them.")
    return "\n".join(lines)


def run(kind: PruneKind, dry_run: bool, yes: bool) -> None:
    """The body of ``gaib server <kind> prune [--dry-run] [--yes]``."""
    ctx = get_ctx()
    ports = ctx.app()
    plan = prune_service.plan_prune(ports, kind)
    data: dict[str, Any] = {"dry_run": dry_run, "plan": plan.to_dict()}
    if dry_run or plan.empty:
        ctx.out.result({**data, "result": None}, plan_text(plan))
        return
    if not yes and not ctx.out.json_mode and ctx.env.interactive():
        ctx.out.info(plan_text(plan))
    orphans = f" and {count(len(plan.orphans), 'orphan object')}" if plan.orphans else ""
    ctx.confirm(f"Remove {count(len(plan.retention.remove), kind)} ({size(plan.retention.removed_bytes)}){orphans} "
                f"of server {plan.server_id}?", yes)

    def progress(done: int, total: int) -> None:
        if total > 250:
            ctx.out.info(f"removed {done} of {total} {kind}s")

    outcome = prune_service.execute_prune(ports, plan, progress=progress)
    ctx.out.result({**data, "result": outcome.to_dict()}, outcome_text(outcome))
