"""gaib server init | plan | diff | apply | destroy | export | import"""

from __future__ import annotations

import click

from gaib.cli.base import Ctx, get_ctx, server_options
from gaib.cli.text import printable
from gaib.errors import ConfirmationRequired
from gaib.iac import service
from gaib.iac.plan import Plan, render


def _plan_data(plan: Plan, warnings: list[str]) -> dict[str, object]:
    data = plan.to_dict()
    data["warnings"] = warnings
    return data


@click.command("init")
@click.option("--theme", "theme_name", metavar="NAME", help="Start from a theme (see 'gaib server theme ls').")
@click.option("--name", "server_name", metavar="NAME", help="Server name written into the config.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@server_options
def init(theme_name: str | None, server_name: str | None, force: bool) -> None:
    """Create discord-server.yaml (optionally from a theme) and the .gaib folder."""
    ctx = get_ctx()
    path = service.init_project(ctx.settings(), theme_name=theme_name, server_name=server_name, force=force)
    ctx.out.result({"config": str(path), "theme": theme_name}, f"Wrote {path.name}"
                   + (f" using theme '{theme_name}'" if theme_name else "") + ". Next: gaib server plan")


def _show_plan(ctx: Ctx, destroy: bool) -> None:
    planned = service.make_plan(ctx.app(), destroy=destroy)
    for w in planned.warnings:
        ctx.out.warn(w)
    ctx.out.result(_plan_data(planned.plan, planned.warnings), printable(render(planned.plan), keep_newlines=True))


@click.command("plan")
@server_options
def plan() -> None:
    """Show what apply would change in Discord (reads only)."""
    _show_plan(get_ctx(), destroy=False)


@click.command("diff")
@server_options
def diff() -> None:
    """Show the differences between the config and Discord, field by field (same as plan)."""
    _show_plan(get_ctx(), destroy=False)


def _run_apply(ctx: Ctx, *, destroy: bool, approve: bool, dry_run: bool) -> None:
    verb = "destroy" if destroy else "apply"

    def confirm(p: Plan) -> None:
        if approve:
            return
        if not ctx.env.interactive() or ctx.out.json_mode:
            raise ConfirmationRequired(f"Refusing to {verb} without confirmation: no terminal to ask on.",
                                       hint="Pass --auto-approve (or --yes) to run it unattended.")
        ctx.env.stderr.write(printable(render(p), keep_newlines=True) + "\n")
        ctx.confirm(f"Do you want to {verb} these changes?", False)

    the_plan, result = service.apply(ctx.app(), progress=ctx.out.info, confirm=confirm, destroy=destroy,
                                     dry_run=dry_run)
    data: dict[str, object] = {"plan": the_plan.to_dict(), "dry_run": dry_run,
                               "result": result.to_dict() if result else None}
    if dry_run:
        ctx.out.result(data, printable(render(the_plan), keep_newlines=True))
    elif result is None or the_plan.empty:
        ctx.out.result(data, "No changes. The server matches the configuration.")
    else:
        ctx.out.result(data, f"{verb.capitalize()} complete: {len(result.created)} created, "
                             f"{len(result.updated)} updated, {len(result.deleted)} deleted "
                             f"(state serial {result.serial}).")


@click.command("apply")
@click.option("--auto-approve", "--yes", "-y", "approve", is_flag=True, help="Do not ask before applying.")
@click.option("--dry-run", is_flag=True, help="Only print the plan; change nothing.")
@server_options
def apply(approve: bool, dry_run: bool) -> None:
    """Make Discord match the config, recording every object in the state."""
    _run_apply(get_ctx(), destroy=False, approve=approve, dry_run=dry_run)


@click.command("destroy")
@click.option("--auto-approve", "--yes", "-y", "approve", is_flag=True, help="Do not ask before destroying.")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
@server_options
def destroy(approve: bool, dry_run: bool) -> None:
    """Delete every object the state manages from Discord."""
    _run_apply(get_ctx(), destroy=True, approve=approve, dry_run=dry_run)


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the YAML here instead of stdout.")
@click.option("--backup", "keep", is_flag=True,
              help="Also store it in the backup store (exports/<server>/config.<id>.yaml and config.latest.yaml).")
@server_options
def export(output: str | None, keep: bool) -> None:
    """Write the live server as a config that re-applies with zero changes."""
    ctx = get_ctx()
    text = service.export(ctx.app())
    data: dict[str, object] = {}
    notes = []
    if keep:
        from gaib.backup.exports import store_export

        stored = store_export(ctx.app(), ctx.settings().require_guild(), text)
        data["backup"] = stored.to_dict()
        notes.append(f"Stored as {stored.key} and {stored.latest_key}.")
    if output:
        target = service.write_file(ctx.settings(), output, text)
        data.update({"output": str(target), "bytes": len(text.encode())})
        ctx.out.result(data, " ".join([f"Wrote {target}.", *notes]))
    else:
        data["yaml"] = text
        for note in notes:
            ctx.out.info(note)
        ctx.out.result(data, text)


@click.command("import")
@click.argument("address")
@click.argument("object_id", metavar="ID")
@server_options
def import_(address: str, object_id: str) -> None:
    """Start managing an existing Discord object under ADDRESS."""
    ctx = get_ctx()
    from gaib.names import check_snowflake

    check_snowflake(object_id, "Discord id")
    state = service.import_resource(ctx.app(), address, object_id)
    ctx.out.result({"address": address, "id": object_id, "serial": state.serial},
                   f"Imported {object_id} as {address} (serial {state.serial}).")
