"""gaib server state ls|show|rm|mv"""

from __future__ import annotations

import json

import click

from gaib.cli.base import get_ctx, group, server_options
from gaib.cli.text import printable
from gaib.state import service

state = group("state", "Inspect and edit the state of the current workspace.")


@state.command("ls")
@server_options
def ls() -> None:
    """List the addresses of the resources in the state."""
    ctx = get_ctx()
    s = ctx.settings()
    current = service.current(ctx.app())
    if current is None:
        ctx.out.result({"workspace": s.workspace, "serial": None, "resources": []},
                       f"Workspace '{s.workspace}' has no state yet.")
        return
    rows = [{"address": r.address, "id": r.id, "name": r.attributes.get("name")} for r in current.resources]
    ctx.out.result({"workspace": s.workspace, "serial": current.serial, "lineage": current.lineage,
                    "resources": rows}, "\n".join(printable(r["address"]) for r in rows))


@state.command("show")
@click.argument("address")
@server_options
def show(address: str) -> None:
    """Show one resource's attributes."""
    ctx = get_ctx()
    res = service.show(ctx.app(), address)
    ctx.out.result(res.to_dict(), printable(f"# {address}\n" + json.dumps(res.attributes, indent=2, ensure_ascii=False),
                                            keep_newlines=True))


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True)
@server_options
def rm(addresses: tuple[str, ...]) -> None:
    """Forget resources: Gaib stops managing them; Discord is not touched."""
    ctx = get_ctx()
    new = service.remove(ctx.app(), list(addresses))
    ctx.out.result({"removed": list(addresses), "serial": new.serial},
                   f"Removed {len(addresses)} resource(s) from the state (serial {new.serial}).")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@server_options
def mv(source: str, destination: str) -> None:
    """Rename a resource's address; its Discord object is kept."""
    ctx = get_ctx()
    new = service.move(ctx.app(), source, destination)
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
