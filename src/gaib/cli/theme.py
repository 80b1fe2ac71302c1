"""``gaib server theme``: list and inspect themes; the deployment registry, history, rollback and audit.

``ls`` and ``info`` live here; ``registry``, ``history``, ``rollback`` and ``audit`` live in
:mod:`gaib.cli.registry` and are loaded lazily through ``THEME_COMMANDS``. Nothing heavy (pydantic,
yaml) is imported until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gaib.cli.base import get_ctx, group, server_options
from gaib.cli.text import printable

if TYPE_CHECKING:
    from gaib.themes.loader import Theme, ThemeSearch

THEME_COMMANDS: dict[str, tuple[str, str]] = {
    "registry": ("gaib.cli.registry:registry_cmd", "The current deployment and the last 5 before it."),
    "history": ("gaib.cli.registry:history_cmd", "Every kept deployment, newest first."),
    "rollback": ("gaib.cli.registry:rollback_cmd", "Put an earlier deployment back on Discord and record it."),
    "audit": ("gaib.cli.registry:audit_cmd", "The audit log: deployments, rollbacks, failures, registry reads."),
}
"""Lazily loaded sub-commands: name → ("module:attribute", "short help")."""

theme = group("theme", "Themes (ls, info) and their deployments (registry, history, rollback, audit).",
              lazy=THEME_COMMANDS)


def _search() -> ThemeSearch:
    from gaib.themes.loader import ThemeSearch

    ctx = get_ctx()
    home = ctx.env.environ.get("HOME")
    return ThemeSearch(project_dir=Path(ctx.env.cwd), home=Path(home) if home else None)


def _summary(t: Theme) -> dict[str, Any]:
    return {"name": t.name, "version": t.version, "description": t.manifest.description, "origin": t.origin,
            "path": str(t.directory)}


@theme.command("ls")
@server_options
def ls() -> None:
    """List the themes found in the built-in ones, ./themes and ~/.gaib/themes."""
    _ls()


@theme.command("list", hidden=True)
@server_options
def list_() -> None:
    """The original Gaib's name for 'ls'."""
    _ls()


def _ls() -> None:
    from gaib.themes.loader import discover

    ctx = get_ctx()
    found, broken = discover(_search())
    winners: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for t in found:
        row = _summary(t)
        row["shadowed_by"] = winners.get(t.name)
        winners.setdefault(t.name, t.origin)
        rows.append(row)
    bad = [{"name": b.name, "origin": b.origin, "path": str(b.directory), "error": b.error} for b in broken]
    for b in broken:
        ctx.out.warn(f"theme {b.name!r} in {b.directory} cannot be read: {b.error.splitlines()[0]}")
    table = ctx.out.table(
        ["NAME", "VERSION", "ORIGIN", "DESCRIPTION"],
        [[r["name"], r["version"], r["origin"] + (f" (shadowed by {r['shadowed_by']})" if r["shadowed_by"] else ""),
          r["description"]] for r in rows])
    ctx.out.result({"themes": rows, "broken": bad}, table if rows else "No themes found.")


@theme.command("info")
@click.argument("name")
@click.option("--version", "version_range", metavar="RANGE", help="Version range, e.g. ^1.0 or 1.2.0.")
@server_options
def info(name: str, version_range: str | None) -> None:
    """Show a theme: version, variables and what it creates."""
    from gaib.errors import InvalidInput
    from gaib.names import check_name
    from gaib.themes.loader import find_theme

    ctx = get_ctx()
    check_name(name, "theme name")
    if version_range is not None:
        from gaib.semver import parse_range

        try:
            parse_range(version_range)
        except ValueError as err:
            raise InvalidInput(str(err), hint="Use an exact version (1.2.0), ^1.2, ~1.2 or *.") from None
    t = find_theme(name, _search(), version_range)
    variables: dict[str, dict[str, Any]] = {}
    for key, spec in t.variables.items():
        row: dict[str, Any] = {"type": spec.type, "required": spec.required, "default": spec.default,
                               "pattern": spec.pattern, "description": spec.description}
        row.update({k: v for k, v in (("min", spec.min), ("max", spec.max)) if v is not None})
        variables[key] = row
    data: dict[str, Any] = {**_summary(t), "author": t.manifest.author, "license": t.manifest.license,
                            "extends": t.manifest.extends, "tags": list(t.manifest.tags), "variables": variables}
    for note in t.warnings:
        ctx.out.warn(note)
    required = [k for k, v in t.variables.items() if v.required and v.default is None]
    if required:
        data["counts"] = None
        data["note"] = f"counts need the required variables: {', '.join(required)}"
    else:
        body = t.render_defaults().body
        data["counts"] = {"roles": len(body.roles), "categories": len(body.categories),
                          "channels": len(body.channels)}
        data["roles"] = [r.name for r in body.roles]
        data["categories"] = [c.name for c in body.categories]
    lines = [printable(f"{t.name} {t.version} ({t.origin}: {t.directory})")]
    if t.manifest.description:
        lines.append(printable(t.manifest.description, keep_newlines=True))
    if data["counts"]:
        c = data["counts"]
        lines.append(f"Creates {c['roles']} roles, {c['categories']} categories, {c['channels']} channels.")
    if variables:
        lines.append("")
        lines.append(ctx.out.table(
            ["VARIABLE", "TYPE", "DEFAULT", "DESCRIPTION"],
            [[k, v["type"], "(required)" if v["required"] else v["default"], v["description"]]
             for k, v in variables.items()]))
    ctx.out.result(data, "\n".join(lines))
