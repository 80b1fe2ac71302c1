"""gaib server locks | unlock"""

from __future__ import annotations

import click

from gaib.cli.base import get_ctx, server_options
from gaib.cli.text import printable
from gaib.iac import state_service


@click.command("locks")
@server_options
def locks() -> None:
    """Show who holds the state lock of the workspace."""
    ctx = get_ctx()
    s = ctx.settings()
    held = state_service.lock_info(ctx.app())
    if held is None:
        ctx.out.result({"workspace": s.workspace, "locked": False, "lock": None},
                       f"Workspace '{s.workspace}' is not locked.")
        return
    ctx.out.result({"workspace": s.workspace, "locked": True, "lock": held.to_dict()},
                   f"Workspace '{s.workspace}' is locked by {printable(held.who)} since {printable(held.created)}\n"
                   f"  operation: {printable(held.operation)}\n  lock id:   {printable(held.id)}")


@click.command("unlock")
@click.argument("lock_id", required=False, metavar="[LOCK_ID]")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
def unlock(lock_id: str | None, yes: bool) -> None:
    """Force-release the state lock (only when its holder is gone). With LOCK_ID (shown by 'locks' and in
    the lock error), only that lock: another is refused (exit 6)."""
    ctx = get_ctx()
    s = ctx.settings()
    held = state_service.lock_to_release(ctx.app(), lock_id)
    if held is None:
        ctx.out.result({"workspace": s.workspace, "released": None}, f"Workspace '{s.workspace}' is not locked.")
        return
    ctx.confirm(f"Release the lock held by {held.who} since {held.created}?", yes)
    released = state_service.force_unlock(ctx.app(), lock_id)
    ctx.out.result({"workspace": s.workspace, "released": released.to_dict() if released else None},
                   f"Released the lock of workspace '{s.workspace}'." if released is not None
                   else f"Workspace '{s.workspace}' is not locked any more.")
