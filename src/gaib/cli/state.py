"""gaib server state ls|show|rm|mv|pull"""

from __future__ import annotations

import json

import click

from gaib.cli.base import get_ctx, group, server_options
from gaib.cli.text import printable
from gaib.iac import state_service

state = group("state", "Inspect and edit the state of the current workspace.", aliases={"list": "ls"})


@state.command("ls")
@server_options
def ls() -> None:
    """List the addresses of the resources in the state (names with spaces are shown quoted)."""
    from gaib.state.edit import display_address

    ctx = get_ctx()
    s = ctx.settings()
    current = state_service.current(ctx.app())
    if current is None:
        ctx.out.result({"workspace": s.workspace, "serial": None, "resources": []},
                       f"Workspace '{s.workspace}' has no state yet.")
        return
    rows = [{"address": r.address, "id": r.id, "name": r.attributes.get("name")} for r in current.resources]
    ctx.out.result({"workspace": s.workspace, "serial": current.serial, "lineage": current.lineage,
                    "resources": rows}, "\n".join(printable(display_address(str(r["address"]))) for r in rows))


@state.command("show")
@click.argument("address")
@server_options
def show(address: str) -> None:
    """Show one resource's attributes."""
    from gaib.state.edit import display_address

    ctx = get_ctx()
    res = state_service.show(ctx.app(), address)
    current = state_service.current(ctx.app())
    stored = current.resource_dict(res) if current is not None else res.to_dict()  # as the file holds it
    attributes = stored["instances"][0]["attributes"] if stored.get("instances") else {}
    ctx.out.result(stored, printable(f"# {display_address(res.address)}\n" + json.dumps(attributes, indent=2,
                                                                                         ensure_ascii=False),
                                     keep_newlines=True))


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
def rm(addresses: tuple[str, ...], yes: bool) -> None:
    """Forget resources: Gaib stops managing them; Discord is not touched.

    Asks first on a terminal; without one (or with --json) it needs --yes, like every destructive
    command ('gaib server import' takes a forgotten object back).
    """
    ctx = get_ctx()
    ctx.confirm(f"Forget {', '.join(addresses)} (Discord is not touched)?", yes)
    new = state_service.remove(ctx.app(), list(addresses))
    ctx.out.result({"removed": list(addresses), "serial": new.serial},
                   f"Removed {len(addresses)} resource(s) from the state (serial {new.serial}).")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@server_options
def mv(source: str, destination: str) -> None:
    """Rename a resource's address; its Discord object is kept."""
    ctx = get_ctx()
    new = state_service.move(ctx.app(), source, destination)
    ctx.out.result({"source": source, "destination": destination, "serial": new.serial},
                   f"Moved {source} to {destination} (serial {new.serial}).")


@state.command("pull")
@server_options
def pull() -> None:
    """Refresh the state from Discord (forgets objects deleted by hand) and print it."""
    ctx = get_ctx()
    from gaib.iac import service as iac

    new, gone = iac.pull(ctx.app())
    ctx.out.result({"serial": new.serial, "forgotten": gone, "state": new.to_dict()},
                   printable(new.to_json().decode() + (f"\nForgot {len(gone)} resource(s) gone from Discord: "
                                                       + ", ".join(gone) if gone else ""), keep_newlines=True))
