"""Finding themes by name and reading them.

A theme is a folder ``<name>/`` holding ``theme.yaml`` (the manifest: name, version,
description, variables) and ``server.yaml`` (the body: roles, categories, channels in the config
format, with ``${variable}`` placeholders). Folders are searched in this order, the first match
winning: ``<project_dir>/themes/``, ``<home>/.gaib/themes/``, then the built-in themes shipped in
the package. With a version range, the first theme of that name whose version satisfies it wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaib.config.schema import ThemeBody
from gaib.config.source import Document, parse_yaml, raise_problems, read_file
from gaib.errors import ConfigError
from gaib.semver import VersionRange, parse_range
from gaib.themes.manifest import THEME_NAME, ThemeManifest

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
MANIFEST = "theme.yaml"
BODY = "server.yaml"


@dataclass(frozen=True)
class ThemeSearch:
    """Where to look for themes; both folders are given by the caller (never read from globals)."""

    project_dir: Path | None = None
    home: Path | None = None
    builtin_dir: Path = BUILTIN_DIR

    def locations(self) -> list[tuple[str, Path]]:
        """(origin, folder) pairs in search order."""
        out: list[tuple[str, Path]] = []
        if self.project_dir is not None:
            out.append(("project", self.project_dir / "themes"))
        if self.home is not None:
            out.append(("home", self.home / ".gaib" / "themes"))
        out.append(("builtin", self.builtin_dir))
        return out


@dataclass(frozen=True)
class Theme:
    """A theme found on disk with a valid manifest. The body is read on demand (it needs variables)."""

    manifest: ThemeManifest
    origin: str  # "project", "home" or "builtin"
    directory: Path

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def render(self, values: Mapping[str, Any]) -> tuple[Document, ThemeBody]:
        """Read ``server.yaml`` with ``values`` substituted; ConfigError with file:line on any problem."""
        from gaib.config.interpolate import variable_interpolator
        from gaib.config.load import validate_document
        from gaib.config.validate import check_duplicates, document_locator

        name, raw = read_file(self.directory / BODY)
        doc = parse_yaml(raw, name, variable_interpolator(values))
        body = validate_document(doc, ThemeBody)
        raise_problems(check_duplicates(body, document_locator(doc)))
        return doc, body

    def render_defaults(self) -> tuple[Document, ThemeBody]:
        """The body with every variable at its default; ConfigError if a variable is required."""
        values, problems = self.manifest.resolve_variables({})
        if problems:
            raise ConfigError(f"theme {self.name!r}: " + "; ".join(p for _, p in problems),
                              hint="Give the variables under theme.variables in discord-server.yaml.")
        return self.render(values)


def check_theme_name(name: str) -> str:
    """Return ``name`` if it is a valid theme name (no separators, dots or '..'); ConfigError otherwise."""
    if not isinstance(name, str) or not THEME_NAME.fullmatch(name):
        raise ConfigError(f"invalid theme name {str(name)[:40]!r}: use letters, digits, '-' and '_', starting "
                          "with a letter or digit", hint="Run 'gaib server theme ls' to see the themes.")
    return name


def read_theme(directory: Path, origin: str) -> Theme:
    """Read and validate ``directory/theme.yaml``; the folder name must equal the manifest's name."""
    from gaib.config.load import validate_document

    name, raw = read_file(directory / MANIFEST)
    doc = parse_yaml(raw, name)
    manifest = validate_document(doc, ThemeManifest)
    if manifest.name != directory.name:
        raise ConfigError(f"{doc.where(('name',))}: name: the manifest names {manifest.name!r} but the folder is "
                          f"{directory.name!r}", hint="Rename the folder or the theme so that they match.")
    if not (directory / BODY).is_file():
        raise ConfigError(f"{directory / BODY}: missing; a theme keeps its roles, categories and channels there")
    return Theme(manifest=manifest, origin=origin, directory=directory)


@dataclass(frozen=True)
class BrokenTheme:
    name: str
    origin: str
    directory: Path
    error: str


def discover(search: ThemeSearch) -> tuple[list[Theme], list[BrokenTheme]]:
    """Every theme folder in search order: the readable ones, and the broken ones with their error."""
    themes: list[Theme] = []
    broken: list[BrokenTheme] = []
    for origin, folder in search.locations():
        try:
            entries = sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            continue
        for entry in entries:
            if not THEME_NAME.fullmatch(entry.name) or not (entry / MANIFEST).exists():
                continue
            try:
                themes.append(read_theme(entry, origin))
            except ConfigError as err:
                broken.append(BrokenTheme(entry.name, origin, entry, err.message))
    return themes, broken


def find_theme(name: str, search: ThemeSearch, version: str | VersionRange | None = None) -> Theme:
    """The first theme called ``name`` (in search order) whose version satisfies ``version``.

    Raises ConfigError: invalid name, no such theme (with a did-you-mean), no version matching
    (listing the versions found), or a broken theme folder standing first in line.
    """
    check_theme_name(name)
    wanted = parse_range(version) if isinstance(version, str) else version
    seen: list[Theme] = []
    for origin, folder in search.locations():
        directory = folder / name
        if not (directory / MANIFEST).is_file():
            continue
        theme = read_theme(directory, origin)
        if wanted is None or wanted.matches(theme.manifest.semver):
            return theme
        seen.append(theme)
    if seen:
        found = ", ".join(f"{t.version} ({t.origin})" for t in seen)
        raise ConfigError(f"no version of theme {name!r} matches {wanted}; found {found}",
                          hint="Change theme.version in discord-server.yaml, or install a matching theme.")
    themes, _ = discover(search)
    from gaib.config.permissions import suggest

    guess = suggest(name, sorted({t.name for t in themes}))
    more = f"; did you mean {guess!r}?" if guess else ""
    where = ", ".join(str(folder) for _, folder in search.locations()[:-1]) or "nowhere else"
    raise ConfigError(f"theme {name!r} not found{more}",
                      hint=f"Run 'gaib server theme ls'. Themes are looked up in {where} and the built-in ones.")
