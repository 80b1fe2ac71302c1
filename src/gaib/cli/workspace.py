"""gaib server workspace ls|new|use|show|rm"""

from __future__ import annotations

import click

from gaib.cli.base import Ctx, any_workspace, get_ctx, group, server_options, server_options_without_f
from gaib.iac import state_service
from gaib.state.workspaces import WorkspaceInfo, Workspaces

workspace = group("workspace", "Manage workspaces: isolated states of one server.",
                  aliases={"list": "ls", "select": "use", "delete": "rm"})


def _workspaces(ctx: Ctx) -> Workspaces:
    return state_service.workspaces(ctx.app())


def _row(w: WorkspaceInfo) -> dict[str, object]:
    return {"name": w.name, "current": w.current, "serial": w.serial, "resources": w.resources,
            "lineage": w.lineage}


@workspace.command("ls")
@server_options
@any_workspace
def ls() -> None:
    """List workspaces; the current one is marked with '*'."""
    ctx = get_ctx()
    items = _workspaces(ctx).list()
    text = "\n".join(f"{'*' if w.current else ' '} {w.name}" for w in items)
    ctx.out.result({"workspaces": [_row(w) for w in items], "current": ctx.settings().workspace}, text)


@workspace.command("new")
@click.argument("name")
@click.option("--no-switch", is_flag=True, help="Create it without making it current.")
@server_options
@any_workspace
def new(name: str, no_switch: bool) -> None:
    """Create a workspace and switch to it."""
    ctx = get_ctx()
    ws = _workspaces(ctx)
    ws.new(name, switch=not no_switch)
    suffix = "" if no_switch else " and switched to it"
    ctx.out.result({"workspace": name, "created": True, "current": ws.current},
                   f"Created workspace '{name}'{suffix}.")


@workspace.command("use")
@click.argument("name")
@click.option("-c", "--create", is_flag=True, help="Create the workspace if it does not exist.")
@server_options
@any_workspace
def use(name: str, create: bool) -> None:
    """Switch to a workspace."""
    ctx = get_ctx()
    created = _workspaces(ctx).select(name, create=create)
    ctx.out.result({"workspace": name, "created": created},
                   f"{'Created and switched' if created else 'Switched'} to workspace '{name}'.")


@workspace.command("show")
@click.argument("name", required=False)
@server_options
@any_workspace
def show(name: str | None) -> None:
    """Show a workspace (default: the current one)."""
    ctx = get_ctx()
    s = ctx.settings()
    info = _workspaces(ctx).info(name or s.workspace)
    data = {**_row(info), "source": s.workspace_source if info.current else None, "backend": s.backend}
    serial = "no state yet" if info.serial is None else f"serial {info.serial}, {info.resources} resources"
    ctx.out.result(data, f"{info.name}{' (current)' if info.current and name else ''} ({serial})")


@workspace.command("rm")
@click.argument("name")
@click.option("-f", "--force", is_flag=True, help="Remove even if it still manages resources (they are forgotten).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options_without_f
@any_workspace
def rm(name: str, force: bool, yes: bool) -> None:
    """Remove a workspace and its state (Discord is not touched)."""
    ctx = get_ctx()
    ws = _workspaces(ctx)
    ws.info(name)  # NotFound before asking
    ctx.confirm(f"Remove workspace '{name}' and its state?", yes)
    ws.remove(name, force=force)
    ctx.out.result({"workspace": name, "removed": True}, f"Removed workspace '{name}'.")
