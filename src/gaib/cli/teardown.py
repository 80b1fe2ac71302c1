"""gaib server teardown: empty a (test) server completely, as the original Gaib's command does."""

from __future__ import annotations

import click

from gaib.cli.base import get_ctx, server_options
from gaib.errors import ConfirmationRequired, StateNotFound
from gaib.iac import service
from gaib.iac.service import TeardownPlan


def _listing(plan: TeardownPlan) -> str:
    lines = [f"Teardown of server {plan.server_name!r} ({plan.guild_id}) deletes:"]
    for title, items in (("channels", plan.channels), ("categories", plan.categories), ("roles", plan.roles)):
        lines.append(f"  {len(items)} {title}" + (": " + ", ".join(n for _, n in items) if items else ""))
    if plan.preserved:
        lines.append("  kept categories: " + ", ".join(plan.preserved))
    return "\n".join(lines)


@click.command("teardown")
@click.option("--confirm-teardown", is_flag=True, help="Required to delete anything.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--preserve-categories", "preserve", multiple=True, metavar="NAME",
              help="Keep these categories (repeatable, or comma-separated).")
@click.option("-y", "--yes", "--force", "yes", is_flag=True,
              help="Do not ask for the server name (still needs --confirm-teardown).")
@click.option("--skip-checkpoint", is_flag=True, help="Do not back up the state first.")
@server_options
def teardown(confirm_teardown: bool, dry_run: bool, preserve: tuple[str, ...], yes: bool,
             skip_checkpoint: bool) -> None:
    """DANGEROUS: delete EVERY channel, category and role of the server, not only what Gaib manages.

    Kept: @everyone, roles managed by an integration (bots, boosts) and --preserve-categories (their
    channels are deleted too). Messages of deleted channels are gone for good. The state forgets every
    deleted object; a state backup is taken first unless --skip-checkpoint (it restores the state,
    not Discord). Meant for resetting test servers.
    """
    ctx = get_ctx()
    keep = [name.strip() for item in preserve for name in item.split(",") if name.strip()]
    plan = service.plan_teardown(ctx.app(), preserve_categories=keep)
    if plan.total == 0:
        ctx.out.result({"dry_run": dry_run, "plan": plan.to_dict(), "result": None},
                       "The server is already empty. Nothing to tear down.")
        return
    if dry_run:
        ctx.out.result({"dry_run": True, "plan": plan.to_dict(), "result": None},
                       _listing(plan) + "\nTo run it, add --confirm-teardown.")
        return
    if not confirm_teardown:
        raise ConfirmationRequired(f"Teardown would delete {plan.total} objects of server {plan.server_name!r}; "
                                   "refusing without --confirm-teardown.",
                                   hint="Look first with --dry-run, then add --confirm-teardown.")
    if not yes:
        if not ctx.env.interactive() or ctx.out.json_mode:
            raise ConfirmationRequired("Refusing to tear down without confirmation: no terminal to ask on.",
                                       hint="Pass --yes together with --confirm-teardown to run it unattended.")
        ctx.env.stderr.write(_listing(plan) + f"\nType the server name ({plan.server_name}) to go ahead: ")
        ctx.env.stderr.flush()
        if ctx.answer() != plan.server_name:
            raise ConfirmationRequired("Cancelled: the server name did not match.")
    backup_id = None
    if not skip_checkpoint:
        from gaib.backups import service as backups

        try:
            backup_id = backups.create(ctx.app(), "before teardown").id
            ctx.out.info(f"Backed up the state first: {backup_id}")
        except StateNotFound:
            ctx.out.info("No state to back up first.")
    result = service.teardown(ctx.app(), plan, progress=ctx.out.info)
    ctx.out.result({"dry_run": False, "plan": plan.to_dict(), "result": result.to_dict(), "backup_id": backup_id},
                   f"Teardown complete: {len(result.deleted)} deleted, {len(result.forgotten)} forgotten in the "
                   "state." + (f" State backup: {backup_id}" if backup_id else ""))
