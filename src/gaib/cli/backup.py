"""gaib server backup create | list | restore | delete | prune (and run-scheduled | verify | migrate, in
cli/scheduled.py)"""

from __future__ import annotations

import click

from gaib.backups import service
from gaib.backups.store import BackupRecord
from gaib.bundles.order import describe
from gaib.cli.base import any_workspace, get_ctx, group, server_options
from gaib.cli.text import printable

backup = group("backup", "State backups: create, list, restore, delete, prune, run-scheduled, verify, migrate, "
                         "reseal.",
               aliases={"ls": "list", "rm": "delete"},
               lazy={  # in cli/scheduled.py, loaded only when one of them runs
                   "run-scheduled": ("gaib.cli.scheduled:run_scheduled",
                                     "Run one window of a tier's scheduled backups."),
                   "verify": ("gaib.cli.scheduled:verify",
                              "Re-read stored bundles and check every part."),
                   "migrate": ("gaib.cli.scheduled:migrate",
                               "Copy this server's local history to S3."),
                   "reseal": ("gaib.cli.scheduled:reseal",
                              "Seal this server's bundles written before manifests carried a MAC."),
               })


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def _line(r: BackupRecord) -> list[object]:
    return [r.id, r.workspace, r.serial, r.resources, r.trigger, _size(r.stored_size), printable(r.message)]


@backup.command("create")
@click.option("-m", "--message", default="", help="A note stored with the backup.")
@server_options
def create(message: str) -> None:
    """Back up the current workspace's state."""
    ctx = get_ctx()
    rec = service.create(ctx.app(), message)
    ctx.out.result(rec.to_dict(), f"Created backup {rec.id} of workspace '{rec.workspace}' (serial {rec.serial}, "
                                  f"{rec.resources} resources, {_size(rec.stored_size)}; {rec.manifest.tier} tier).")


@backup.command("list")
@click.option("-l", "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many.")
@click.option("--cursor", default=None, help="Continue after a previous page (from its next_cursor).")
@click.option("--all-workspaces", is_flag=True, help="List the backups of every workspace.")
@server_options
def list_(limit: int, cursor: str | None, all_workspaces: bool) -> None:
    """List backups, newest first."""
    ctx = get_ctx()
    damaged: list[str] = []
    records, next_cursor = service.list_backups(ctx.app(), limit=limit, cursor=cursor, all_workspaces=all_workspaces,
                                                damaged=damaged)
    for backup_id in damaged:
        ctx.out.warn(f"backup {backup_id} has a damaged catalog item and is not listed; "
                     f"remove it with 'gaib server backup delete {backup_id}'")
    ahead = service.future_dated(ctx.app(), records)
    for backup_id, by in ahead.items():
        ctx.out.warn(f"backup {backup_id} is dated {describe(by)} ahead of the storage's clock (its writer's clock "
                     "ran ahead): it does not count as newer than the backups written after it")
    text = ctx.out.table(["ID", "WORKSPACE", "SERIAL", "RESOURCES", "TRIGGER", "SIZE", "MESSAGE"],
                         [_line(r) for r in records]) if records else "No backups."
    if next_cursor:
        text += f"\nMore: --cursor {next_cursor}"
    local = service.local_history(ctx.app()) if not records and cursor is None else None
    if local is not None:
        text += f"\n{local.notice()}"
    ctx.out.result({"backups": [r.to_dict() for r in records], "next_cursor": next_cursor, "damaged": damaged,
                    "local_store": local.to_dict() if local else None,
                    "future_dated": {i: int(by.total_seconds()) for i, by in ahead.items()}}, text)


@backup.command("restore")
@click.argument("backup_id")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--force", is_flag=True, help="Restore a backup of another lineage.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
def restore(backup_id: str, dry_run: bool, force: bool, yes: bool) -> None:
    """Restore a backup as the workspace's new state (the current one is backed up first)."""
    ctx = get_ctx()
    plan = service.plan_restore(ctx.app(), backup_id, force=force)
    over = "no state yet" if plan.current_serial is None else f"serial {plan.current_serial}"
    header = printable(f"Restore backup {backup_id} (serial {plan.backup.serial}) over workspace "
                       f"'{ctx.settings().workspace}' ({over}):\n{plan.diff.render()}", keep_newlines=True)
    if dry_run:
        ctx.out.result({"dry_run": True, "plan": plan.to_dict()}, header)
        return
    if not ctx.out.json_mode:
        ctx.out.info(header)
    ctx.confirm(f"Restore backup {backup_id}?", yes)
    result = service.execute_restore(ctx.app(), plan)
    undo = (f" Undo with: gaib server backup restore {result.pre_restore_backup_id}"
            if result.pre_restore_backup_id else "")
    ctx.out.result({"dry_run": False, "plan": plan.to_dict(), "result": result.to_dict()},
                   f"Restored backup {backup_id}: state serial "
                   + (f"{result.previous_serial} -> {result.new_serial}." if result.previous_serial is not None
                      else f"{result.new_serial} (the workspace had no state).") + undo)


@backup.command("delete")
@click.argument("backup_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
def delete(backup_id: str, yes: bool) -> None:
    """Delete a backup."""
    ctx = get_ctx()
    record = service.find(ctx.app(), backup_id)  # None: damaged, and still deletable
    what = f"backup {backup_id} (serial {record.serial}, {printable(record.created_at)})" if record else \
        f"damaged backup {backup_id}"
    ctx.confirm(f"Delete {what}?", yes)
    service.delete(ctx.app(), backup_id)
    ctx.out.result({"deleted": record.to_dict() if record else {"id": backup_id, "damaged": True}},
                   f"Deleted {what}.")


@backup.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be removed and why; remove nothing.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
@any_workspace
def prune(dry_run: bool, yes: bool) -> None:
    """Remove the backups the server's tier no longer keeps (every workspace; the newest of each stays)."""
    from gaib.cli import prune as pruning

    pruning.run("backup", dry_run, yes)

