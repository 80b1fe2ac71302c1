"""gaib server init | plan | diff | apply | destroy | export | import"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gaib.cli.base import Ctx, detailed_exitcode_option, get_ctx, server_options
from gaib.cli.progress import RunProgress
from gaib.cli.text import printable
from gaib.errors import ConfirmationRequired
from gaib.iac import service
from gaib.iac.plan import Plan, limit_lines, render

F = TypeVar("F", bound=Callable[..., Any])


def _plan_data(plan: Plan, warnings: list[str], output_changes: list[dict[str, str]] | None = None,
               ) -> dict[str, object]:
    data = plan.to_dict()
    data["warnings"] = warnings
    data["output_changes"] = output_changes or []
    return data


def _render(planned: service.Planned) -> str:
    text = render(planned.plan)
    if planned.output_changes:
        sigil = {"add": "+", "change": "~", "remove": "-"}
        text += "\nOutputs:\n" + "\n".join(f"  {sigil[c['action']]} {c['name']}" for c in planned.output_changes)
    return text


def managed_only_option(f: F) -> F:
    """The original's ``--managed-only`` (its default): accepted; Gaib only ever changes what the state
    manages, and leaves every other object alone."""
    return click.option("--managed-only", is_flag=True, hidden=False,
                        help="Only IaC-managed resources (always so; accepted for the original Gaib).")(f)


@click.command("init")
@click.option("-t", "--theme", "theme_name", metavar="NAME", help="Start from a theme (see 'gaib server theme ls').")
@click.option("--name", "server_name", metavar="NAME", help="Server name written into the config.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@server_options
def init(theme_name: str | None, server_name: str | None, force: bool) -> None:
    """Create discord-server.yaml (optionally from a theme) and the .gaib folder."""
    ctx = get_ctx()
    path = service.init_project(ctx.settings(), theme_name=theme_name, server_name=server_name, force=force)
    ctx.out.result({"config": str(path), "theme": theme_name}, f"Wrote {path.name}"
                   + (f" using theme '{theme_name}'" if theme_name else "") + ". Next: gaib server plan")


def _show_plan(ctx: Ctx, destroy: bool, permissions: bool = True) -> None:
    planned = service.make_plan(ctx.app(), destroy=destroy, permissions=permissions)
    for w in planned.warnings:
        ctx.out.warn(w)
    ctx.out.result(_plan_data(planned.plan, planned.warnings, planned.output_changes),
                   printable(_render(planned), keep_newlines=True))
    if ctx.detailed_exitcode and (not planned.plan.empty or planned.output_changes):
        ctx.exit_code = 2  # Terraform's "succeeded, changes pending"


@click.command("plan")
@managed_only_option
@detailed_exitcode_option
@server_options
def plan(managed_only: bool) -> None:
    """Show what apply would change in Discord (reads only)."""
    _show_plan(get_ctx(), destroy=False)


@click.command("diff")
@click.option("--no-permissions", is_flag=True, help="Leave permission overwrite changes out of the diff.")
@managed_only_option
@detailed_exitcode_option
@server_options
def diff(no_permissions: bool, managed_only: bool) -> None:
    """Show the differences between the config and Discord, field by field (same as plan)."""
    _show_plan(get_ctx(), destroy=False, permissions=not no_permissions)


def _run_apply(ctx: Ctx, *, destroy: bool, approve: bool, dry_run: bool, targets: tuple[str, ...] = ()) -> None:
    verb = "destroy" if destroy else "apply"

    def confirm(p: Plan) -> None:
        if approve:
            return
        if p.caps is not None and p.caps.binds:
            # Discord would stop this apply at its day-long cap: only an explicit flag may start it.
            raise ConfirmationRequired(
                f"Refusing to {verb}: the plan cannot finish within Discord's caps. "
                + " ".join(limit_lines(p)),
                hint="Pass --auto-approve (or --yes) to apply what the caps allow now; the run then stops at "
                     "the cap (exit 8) and a later apply does the rest.",
                details={"caps": p.caps.to_dict()})
        if not ctx.env.interactive() or ctx.out.json_mode:
            raise ConfirmationRequired(f"Refusing to {verb} without confirmation: no terminal to ask on.",
                                       hint="Pass --auto-approve (or --yes) to run it unattended.")
        ctx.env.stderr.write(printable(render(p), keep_newlines=True) + "\n")
        ctx.confirm(f"Do you want to {verb} these changes?", False)

    if targets:
        service.check_targets(targets)
    recorded = ""
    data: dict[str, object] = {}
    with RunProgress(ctx.out, verb) as progress:
        if destroy:
            the_plan, result = service.apply(ctx.app(), progress=progress, confirm=confirm, destroy=True,
                                             dry_run=dry_run, targets=targets)
        else:
            from gaib.deployments import service as deployments

            applied = deployments.apply_and_record(ctx.app(), progress=progress, confirm=confirm, dry_run=dry_run)
            the_plan, result = applied.plan, applied.result
            data["deployment"] = applied.deployment.to_dict() if applied.deployment else None
            if applied.deployment is not None:
                recorded = f" Recorded deployment {applied.deployment.id}."
    data.update({"plan": the_plan.to_dict(), "dry_run": dry_run, "result": result.to_dict() if result else None})
    if dry_run:
        ctx.out.result(data, printable(render(the_plan), keep_newlines=True))
    elif result is None or the_plan.empty:
        ctx.out.result(data, "No changes. The server matches the configuration." + recorded
                       + _outputs_line(ctx, destroy))
    else:
        ctx.out.result(data, f"{verb.capitalize()} complete: {len(result.created)} created, "
                             f"{len(result.updated)} updated, {len(result.deleted)} deleted "
                             f"(state serial {result.serial})." + recorded + _outputs_line(ctx, destroy))


def _outputs_line(ctx: Ctx, destroy: bool) -> str:
    """The recorded outputs for people, sensitive values hidden (Terraform's way); nothing with ``--json``,
    which prints no text (and so reads no state for it)."""
    if destroy or ctx.out.json_mode:
        return ""
    from gaib.iac import state_service

    current = state_service.current(ctx.app())
    outputs = current.outputs if current is not None else {}
    if not outputs:
        return ""
    lines = ["", "Outputs:"]
    for name, out in outputs.items():
        value = out.get("value") if isinstance(out, dict) else out
        secret = isinstance(out, dict) and out.get("sensitive")
        shown = "(sensitive)" if secret else json.dumps(value, ensure_ascii=False)
        lines.append(f"  {name} = {shown}")
    return "\n".join(lines)


@click.command("apply")
@click.option("--auto-approve", "--yes", "-y", "approve", is_flag=True, help="Do not ask before applying.")
@click.option("--dry-run", is_flag=True, help="Only print the plan; change nothing.")
@managed_only_option
@server_options
def apply(approve: bool, dry_run: bool, managed_only: bool) -> None:
    """Make Discord match the config, recording every object in the state."""
    _run_apply(get_ctx(), destroy=False, approve=approve, dry_run=dry_run)


@click.command("destroy")
@click.option("--auto-approve", "--yes", "-y", "approve", is_flag=True, help="Do not ask before destroying.")
@click.option("--dry-run", is_flag=True, help="Only print what would be deleted.")
@click.option("-t", "--target", "targets", multiple=True, metavar="ADDR",
              help="Destroy only this resource (repeatable); 'role', 'category' or 'channel' targets a kind.")
@server_options
def destroy(approve: bool, dry_run: bool, targets: tuple[str, ...]) -> None:
    """Delete every object the state manages from Discord (or only the targeted ones)."""
    _run_apply(get_ctx(), destroy=True, approve=approve, dry_run=dry_run, targets=targets)


@click.command("export")
@click.option("-o", "--output", metavar="FILE",
              help="Write the YAML to this file instead of stdout (any path; ~ is expanded; missing folders are "
                   "made).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@click.option("--backup", "keep", is_flag=True,
              help="Also store it in the backup store (exports/<server>/config.<id>.yaml and config.latest.yaml).")
@click.option("--include-unmanaged", is_flag=True,
              help="Include objects the state does not manage (Gaib's default; accepted for the original Gaib).")
@click.option("--managed-only", is_flag=True, help="Only the objects the state manages.")
@server_options
def export(output: str | None, force: bool, keep: bool, include_unmanaged: bool, managed_only: bool) -> None:
    """Write the live server as a config that re-applies with zero changes (with --json: the config as JSON)."""
    ctx = get_ctx()
    target = service.output_file(ctx.settings(), output, force=force) if output is not None else None
    managed = managed_only and not include_unmanaged
    text = service.export(ctx.app(), managed_only=managed, stored=keep or bool(output))
    data: dict[str, object] = {}
    notes = []
    if keep:
        from gaib.backups import service as backups

        stored = backups.keep_export(ctx.app(), ctx.settings().require_guild(), text)
        data["backup"] = stored.to_dict()
        notes.append(f"Stored as {stored.key} and {stored.latest_key}.")
    if ctx.out.json_mode and target is None:
        for note in notes:
            ctx.out.info(note)
        ctx.out.result(service.config_document(text))
        return
    if target is not None:
        target = service.write_file(ctx.settings(), target, text, force=force)
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
    from gaib.state.edit import display_address, normalize_address

    state = service.import_resource(ctx.app(), address, object_id)
    address = normalize_address(address)
    ctx.out.result({"address": address, "id": object_id, "serial": state.serial},
                   f"Imported {object_id} as {display_address(address)} (serial {state.serial}).")
