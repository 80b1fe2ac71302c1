"""``gaib server theme``: list and inspect themes.

The group is shared: ``registry``, ``history`` and ``rollback`` are added to it elsewhere (either
with ``theme.add_command(...)`` or by adding entries to ``THEME_COMMANDS``, which the group loads
lazily). Nothing heavy (pydantic, yaml) is imported until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gaib.cli.base import get_ctx, group, server_options
from gaib.cli.text import printable

if TYPE_CHECKING:
    from gaib.themes.loader import Theme, ThemeSearch

THEME_COMMANDS: dict[str, tuple[str, str]] = {}
"""Lazily loaded sub-commands: name → ("module:attribute", "short help")."""

theme = group("theme", "List and inspect themes (ls, info).", lazy=THEME_COMMANDS)


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
    """List the themes found in ./themes, ~/.gaib/themes and the built-in ones."""
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
    variables = {
        key: {"type": spec.type, "required": spec.required, "default": spec.default, "pattern": spec.pattern,
              "description": spec.description}
        for key, spec in t.manifest.variables.items()
    }
    data: dict[str, Any] = {**_summary(t), "author": t.manifest.author, "variables": variables}
    required = [k for k, v in t.manifest.variables.items() if v.required]
    if required:
        data["counts"] = None
        data["note"] = f"counts need the required variables: {', '.join(required)}"
    else:
        _, body = t.render_defaults()
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
