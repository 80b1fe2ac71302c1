"""gaib server schedule show | enable | disable, and gaib server notify set | show | test | clear"""

from __future__ import annotations

import click

from gaib.cli.base import any_workspace, get_ctx, group, server_options
from gaib.cli.text import printable
from gaib.scheduled import notify_service, service
from gaib.scheduled.notify_service import NotifyView
from gaib.scheduled.service import Schedule, ScheduleView

schedule = group("schedule", "Scheduled backups of the server: show, enable, disable.")


def _describe(s: Schedule) -> list[str]:
    lines = [f"  enabled          {'yes' if s.enabled else 'no (disabled)'}"]
    for loc in s.workspaces:
        lines.append(f"  workspace        {loc.workspace}: {printable(loc.describe())}")
    lines.append(f"  config export    {'yes' if s.export_config else 'no'}")
    lines.append(f"  snapshots        {'weekly (premium tier)' if s.snapshots else 'no'}")
    if s.bot_token_secret:
        lines.append(f"  bot token from   secret {printable(s.bot_token_secret)} (read at run time, never stored)")
    if s.updated_at:
        lines.append(f"  updated          {s.updated_at} by {printable(s.updated_by or 'unknown')}")
    return lines


def _show_text(view: ScheduleView) -> str:
    p = view.tier
    head = f"Server {view.server_id}: {p.name} tier, backups {p.scheduled_cadence} ({p.backup_schedule})"
    if p.snapshot_schedule:
        head += f", snapshots {p.snapshots} ({p.snapshot_schedule})"
    lines = [head]
    if view.schedule is None:
        lines.append("No schedule: scheduled runs skip this server ('gaib server schedule enable' registers it).")
    else:
        lines.append("Schedule (catalog item, what scheduled runs read):")
        lines += _describe(view.schedule)
    if view.item_error:
        lines.append(f"  warning: {printable(view.item_error)}")
    if view.document_error:
        lines.append(f"  warning: the document is unreadable: {printable(view.document_error)}")
    elif view.schedule is not None and not view.agree:
        lines.append("  note: the document metadata/.../backup-schedule.json differs from the catalog item; the item "
                     "is what runs use ('schedule enable' writes both again)")
    backups = view.status.get("backups")
    if isinstance(backups, dict) and backups:
        lines.append("Last scheduled backups:")
        for ws, pointer in backups.items():
            if isinstance(pointer, dict):
                lines.append(f"  {printable(str(ws))}: {printable(str(pointer.get('id')))} "
                             f"(serial {printable(str(pointer.get('serial')))})")
    done = ", ".join(f"{op} {window}" for op, window in view.last_windows.items() if window)
    if done:
        lines.append(f"Last completed windows of the {p.name} tier: {done}")
    if view.next_backup:
        lines.append(f"Next scheduled backup run: {view.next_backup}")
    if view.next_snapshot:
        lines.append(f"Next scheduled snapshot run: {view.next_snapshot}")
    return "\n".join(lines)


@schedule.command("show")
@server_options
@any_workspace
def show() -> None:
    """The server's schedule (document and catalog item), its tier's cadence and the next runs."""
    ctx = get_ctx()
    view = service.show(ctx.app())
    ctx.out.result(view.to_dict(), _show_text(view))


@schedule.command("enable")
@click.option("--all-workspaces", is_flag=True, help="Back up every workspace of the state backend "
                                                      "(default: the current one).")
@click.option("--export-config/--no-export-config", default=False, show_default=True,
              help="Also export the live server's config on each run (needs the bot token).")
@click.option("--snapshots/--no-snapshots", default=False, show_default=True,
              help="Take the premium tier's weekly snapshots (needs the bot token).")
@click.option("--bot-token-secret", default=None, metavar="NAME",
              help="Secrets Manager secret (name or ARN) holding the bot token; the token is never stored.")
@server_options
def enable(all_workspaces: bool, export_config: bool, snapshots: bool, bot_token_secret: str | None) -> None:
    """Register the server for scheduled backups (writes metadata/{server}/backup-schedule.json and its
    catalog item)."""
    ctx = get_ctx()
    written = service.enable(ctx.app(), all_workspaces=all_workspaces, export_config=export_config,
                             snapshots=snapshots, bot_token_secret=bot_token_secret)
    s = written.schedule
    text = [f"Scheduled backups enabled for server {s.server_id} ({s.tier} tier):", *_describe(s)]
    text += [f"Note: {n}" for n in written.notes]
    ctx.out.result(written.to_dict(), "\n".join(text))


@schedule.command("disable")
@server_options
@any_workspace
def disable() -> None:
    """Stop scheduled backups of the server (the schedule is kept, disabled)."""
    ctx = get_ctx()
    written = service.disable(ctx.app())
    ctx.out.result(written.to_dict(), f"Scheduled backups disabled for server {written.schedule.server_id}.")


notify = group("notify", "The server's own notifications: set, show, test, clear its webhook secret.")


def _notify_text(view: NotifyView) -> str:
    if view.webhook_secret is None:
        return (f"Server {view.server_id}: no webhook; its events reach no owner channel "
                "('gaib server notify set --webhook-secret gaib/webhooks/NAME' registers one).")
    text = f"Server {view.server_id}: events go to the webhook in secret {printable(view.webhook_secret)}"
    if view.updated_at:
        text += f" (set {view.updated_at} by {printable(view.updated_by or 'unknown')})"
    return text + "."


@notify.command("set")
@click.option("--webhook-secret", required=True, metavar="NAME",
              help="Secret (gaib/webhooks/NAME or its ARN) holding the server's Discord webhook URL, tagged "
                   "ServerId=<server id>; the URL is never stored or shown.")
@server_options
@any_workspace
def notify_set(webhook_secret: str) -> None:
    """Send this server's events to the Discord webhook held by a secret (checked first)."""
    ctx = get_ctx()
    view = notify_service.set_webhook(ctx.app(), webhook_secret)
    ctx.out.result(view.to_dict(), f"Notifications of server {view.server_id} now go to the webhook in secret "
                                   f"{printable(view.webhook_secret or '')}.")


@notify.command("show")
@server_options
@any_workspace
def notify_show() -> None:
    """Name the secret holding the server's webhook (never its URL)."""
    ctx = get_ctx()
    view = notify_service.show(ctx.app())
    ctx.out.result(view.to_dict(), _notify_text(view))


@notify.command("test")
@server_options
@any_workspace
def notify_test() -> None:
    """Post one test message to the server's own webhook, and nowhere else."""
    ctx = get_ctx()
    view = notify_service.send_test(ctx.app())
    ctx.out.result(view.to_dict(), f"Test message delivered to the webhook in secret "
                                   f"{printable(view.webhook_secret or '')} (HTTP {view.status}).")


@notify.command("clear")
@server_options
@any_workspace
def notify_clear() -> None:
    """Stop sending the server's events to its webhook (the secret itself is left alone)."""
    ctx = get_ctx()
    view = notify_service.clear(ctx.app())
    text = (f"Server {view.server_id} no longer sends its events to a webhook." if view.changed
            else f"Server {view.server_id} had no webhook; nothing changed.")
    ctx.out.result(view.to_dict(), text)
