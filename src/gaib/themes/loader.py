"""Finding themes by name and reading them.

A theme is a folder ``<name>/`` holding ``theme.yaml`` (the manifest, see
:mod:`gaib.themes.manifest`) and content files with ``${variable}`` placeholders. Which file holds
what comes from the manifest's ``files`` (the original Gaib's layout): ``server.yaml`` the server's
name and description, ``roles.yaml`` the roles, ``channels.yaml`` the channels and, unless
``files.categories`` names another file, the categories too. A content file is a mapping
(``roles:``, ``categories:``, ``channels:``) or, for a roles or channels file, a bare list. Gaib's own
themes keep everything in ``server.yaml``; both layouts load, and a theme may use both.

A theme may ``extends`` another: the base theme's items come first and the theme's items replace
those of the same name (case-insensitively; channels by name alone).

Folders are searched in the original's order, the first match winning: the built-in themes shipped
in the package, then ``<project_dir>/themes/``, then ``<home>/.gaib/themes/``. With ``source:
local`` the built-in themes are skipped. With a version range, the first theme of that name whose
version satisfies it wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaib.config.schema import ServerMeta, ThemeBody
from gaib.config.source import Document, PathT, Problem, format_path, parse_yaml, raise_problems, read_file
from gaib.errors import ConfigError
from gaib.semver import VersionRange, parse_range
from gaib.themes.manifest import THEME_NAME, ThemeManifest, VariableSpec

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
MANIFEST = "theme.yaml"
BODY = "server.yaml"
DEFAULT_ROLES = "roles.yaml"
DEFAULT_CHANNELS = "channels.yaml"
MAX_EXTENDS = 8
KINDS = ("roles", "categories", "channels")

Origins = dict[PathT, tuple[Document, PathT]]
"""Where each item of a rendered theme was written: ``("roles", 2)`` -> (its document, its path there)."""


@dataclass(frozen=True)
class ThemeSearch:
    """Where to look for themes; both folders are given by the caller (never read from globals)."""

    project_dir: Path | None = None
    home: Path | None = None
    builtin_dir: Path = BUILTIN_DIR

    def locations(self, source: str | None = None) -> list[tuple[str, Path]]:
        """(origin, folder) pairs in search order; ``source="local"`` leaves out the built-in themes."""
        out: list[tuple[str, Path]] = [] if source == "local" else [("builtin", self.builtin_dir)]
        if self.project_dir is not None:
            out.append(("project", self.project_dir / "themes"))
        if self.home is not None:
            out.append(("home", self.home / ".gaib" / "themes"))
        return out


@dataclass(frozen=True)
class RenderedTheme:
    """A theme's content with its variables substituted: the items, where each was written, the
    server meta (name, description) and warnings (placeholders kept as written, ignored keys)."""

    body: ThemeBody
    origins: Origins
    meta: ServerMeta | None = None
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Theme:
    """A theme found on disk with a valid manifest. The content is read on demand (it needs variables)."""

    manifest: ThemeManifest
    origin: str  # "project", "home" or "builtin"
    directory: Path
    base: Theme | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def variables(self) -> dict[str, VariableSpec]:
        """Its variables and those of the themes it extends (its own declaration wins)."""
        inherited = self.base.variables if self.base is not None else {}
        return {**inherited, **self.manifest.variables}

    def effective_manifest(self) -> ThemeManifest:
        """The manifest with the inherited variables, to resolve the user's variables against."""
        return self.manifest.model_copy(update={"variables": self.variables})

    def render(self, values: Mapping[str, Any]) -> RenderedTheme:
        """Read the content files with ``values`` substituted; ConfigError with file:line on any problem."""
        base = self.base.render(values) if self.base is not None else None
        own = self._render_own(values)
        if base is None:
            return own
        return _extend(base, own)

    def render_defaults(self) -> RenderedTheme:
        """The content with every variable at its default; ConfigError if a variable is required."""
        values, problems = self.effective_manifest().resolve_variables({})
        if problems:
            raise ConfigError(f"theme {self.name!r}: " + "; ".join(p for _, p in problems),
                              hint="Give the variables under theme.variables in discord-server.yaml.")
        return self.render(values)

    def content_files(self) -> dict[str, set[str]]:
        """File name -> what it holds ("meta", "roles", "categories", "channels"), in reading order."""
        files = self.manifest.files
        channels = files.channels or DEFAULT_CHANNELS
        wanted: dict[str, set[str]] = {}
        wanted.setdefault(files.server or BODY, set()).update({"meta", *KINDS})
        wanted.setdefault(files.roles or DEFAULT_ROLES, set()).add("roles")
        wanted.setdefault(files.categories or channels, set()).add("categories")
        wanted.setdefault(channels, set()).add("channels")
        return wanted

    def _render_own(self, values: Mapping[str, Any]) -> RenderedTheme:
        from gaib.config.interpolate import variable_interpolator
        from gaib.config.load import drop_unknown_keys, validate_document
        from gaib.config.validate import check_duplicates

        items: dict[str, list[Any]] = {k: [] for k in KINDS}
        origins: Origins = {}
        warnings: list[Problem] = []
        meta: dict[str, Any] = {}
        named = {v for v in self.manifest.files.model_dump().values() if v}
        for fname, holds in self.content_files().items():
            path = self.directory / fname
            if not path.is_file():
                if fname in named:
                    warnings.append(Problem(str(self.directory / MANIFEST), None, "files",
                                            f"{fname} is named but does not exist"))
                continue
            display, raw = read_file(path)
            lists = [k for k in ("roles", "channels", "categories") if k in holds]
            doc = parse_yaml(raw, display, variable_interpolator(values), allow_empty=True,
                             list_key=lists[0] if "meta" not in holds and lists else None)
            warnings.extend(doc.unresolved)
            drop_unknown_keys(doc, ThemeBody)
            for key in [k for k in KINDS if k in doc.data and k not in holds]:
                warnings.append(Problem(display, doc.line_of((key,)), key,
                                        f"{key} ignored here: theme.yaml's files names another file for them"))
                del doc.data[key]
            if "meta" not in holds:
                for key in [k for k in ("name", "description") if k in doc.data]:
                    warnings.append(Problem(display, doc.line_of((key,)), key,
                                            f"{key} ignored here: the server's name and description belong in "
                                            f"{self.manifest.files.server or BODY}"))
                    del doc.data[key]
            warnings.extend(doc.warnings)
            content = validate_document(doc, ThemeBody)
            if "meta" in holds:
                meta.update({k: v for k, v in (("name", content.name), ("description", content.description))
                             if v is not None})
            for kind in KINDS:
                for j, item in enumerate(getattr(content, kind)):
                    origins[(kind, len(items[kind]))] = (doc, (kind, j))
                    items[kind].append(item)
        body = ThemeBody(roles=items["roles"], categories=items["categories"], channels=items["channels"])
        raise_problems(check_duplicates(body, _locator(origins, self.directory)))
        return RenderedTheme(body, origins, ServerMeta(**meta) if meta else None, tuple(warnings))


def _locator(origins: Origins, directory: Path) -> Any:
    fallback = Document(str(directory / BODY), {})

    def locate(path: PathT) -> tuple[Document, PathT]:
        for end in range(len(path), 0, -1):
            hit = origins.get(path[:end])
            if hit is not None:
                return hit[0], (*hit[1], *path[end:])
        return fallback, path

    return locate


def _extend(base: RenderedTheme, own: RenderedTheme) -> RenderedTheme:
    """``own``'s items replace ``base``'s of the same name (channels by name alone), in place; new
    ones follow. Server meta: ``own``'s where given."""
    items: dict[str, list[Any]] = {}
    origins: Origins = {}
    for kind in KINDS:
        merged: list[Any] = []
        where: list[tuple[Document, PathT]] = []
        index: dict[str, int] = {}
        for source in (base, own):
            for j, item in enumerate(getattr(source.body, kind)):
                key = item.name.casefold()
                spot = source.origins[(kind, j)]
                if key in index:
                    merged[index[key]] = item
                    where[index[key]] = spot
                else:
                    index[key] = len(merged)
                    merged.append(item)
                    where.append(spot)
        items[kind] = merged
        origins.update({(kind, i): spot for i, spot in enumerate(where)})
    meta = base.meta
    if own.meta is not None:
        meta = own.meta if meta is None else meta.model_copy(update=own.meta.model_dump(exclude_none=True))
    body = ThemeBody(roles=items["roles"], categories=items["categories"], channels=items["channels"])
    return RenderedTheme(body, origins, meta, base.warnings + own.warnings)


def check_theme_name(name: str) -> str:
    """Return ``name`` if it is a valid theme name (no separators, dots or '..'); ConfigError otherwise."""
    if not isinstance(name, str) or not THEME_NAME.fullmatch(name):
        raise ConfigError(f"invalid theme name {str(name)[:40]!r}: use letters, digits, '-' and '_', starting "
                          "with a letter or digit", hint="Run 'gaib server theme ls' to see the themes.")
    return name


def read_theme(directory: Path, origin: str) -> Theme:
    """Read and validate ``directory/theme.yaml``; the folder name must equal the manifest's name.
    Keys the manifest schema does not know are warnings on the returned theme."""
    from gaib.config.load import drop_unknown_keys, validate_document

    name, raw = read_file(directory / MANIFEST)
    doc = parse_yaml(raw, name)
    drop_unknown_keys(doc, ThemeManifest)
    manifest = validate_document(doc, ThemeManifest)
    if manifest.name != directory.name:
        raise ConfigError(f"{doc.where(('name',))}: name: the manifest names {manifest.name!r} but the folder is "
                          f"{directory.name!r}", hint="Rename the folder or the theme so that they match.")
    return Theme(manifest=manifest, origin=origin, directory=directory, warnings=tuple(str(w) for w in doc.warnings))


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


def find_theme(name: str, search: ThemeSearch, version: str | VersionRange | None = None,
               source: str | None = None) -> Theme:
    """The first theme called ``name`` (in search order) whose version satisfies ``version``, with the
    themes it extends loaded.

    Raises ConfigError: invalid name, no such theme (with a did-you-mean), no version matching
    (listing the versions found), a broken theme folder standing first in line, or an ``extends``
    chain that loops or is deeper than MAX_EXTENDS.
    """
    return _find(name, search, version, source, ())


def _find(name: str, search: ThemeSearch, version: str | VersionRange | None, source: str | None,
          chain: tuple[str, ...]) -> Theme:
    check_theme_name(name)
    wanted = parse_range(version) if isinstance(version, str) else version
    seen: list[Theme] = []
    for origin, folder in search.locations(source):
        directory = folder / name
        if not (directory / MANIFEST).is_file():
            continue
        theme = read_theme(directory, origin)
        if wanted is None or wanted.matches(theme.manifest.semver):
            return _with_base(_note_shadowed(theme, search), search, chain)
        seen.append(theme)
    if seen:
        found = ", ".join(f"{t.version} ({t.origin})" for t in seen)
        raise ConfigError(f"no version of theme {name!r} matches {wanted}; found {found}",
                          hint="Change theme.version in discord-server.yaml, or install a matching theme.")
    themes, _ = discover(search)
    from gaib.config.permissions import suggest

    guess = suggest(name, sorted({t.name for t in themes}))
    more = f"; did you mean {guess!r}?" if guess else ""
    where = ", ".join(str(folder) for origin, folder in search.locations() if origin != "builtin") or "nowhere else"
    raise ConfigError(f"theme {name!r} not found{more}",
                      hint=f"Run 'gaib server theme ls'. Themes are looked up in the built-in ones, then {where}.")


def _note_shadowed(theme: Theme, search: ThemeSearch) -> Theme:
    """A built-in theme chosen over a local folder of the same name says so (``source: local`` picks it)."""
    if theme.origin != "builtin":
        return theme
    hidden = [folder / theme.name for origin, folder in search.locations("local")
              if (folder / theme.name / MANIFEST).is_file()]
    if not hidden:
        return theme
    note = (f"the built-in theme {theme.name!r} is used; {hidden[0]} has the same name and is not (set "
            "theme.source: local to use it)")
    return Theme(theme.manifest, theme.origin, theme.directory, theme.base, (*theme.warnings, note))


def _with_base(theme: Theme, search: ThemeSearch, chain: tuple[str, ...]) -> Theme:
    parent = theme.manifest.extends
    if not parent:
        return theme
    trail = (*chain, theme.name)
    if parent in trail:
        raise ConfigError(f"theme {theme.name!r} extends {parent!r}, which extends it again: "
                          + " -> ".join((*trail, parent)), hint="Remove one of the extends.")
    if len(trail) >= MAX_EXTENDS:
        raise ConfigError(f"theme {theme.name!r}: extends goes deeper than {MAX_EXTENDS} themes")
    try:
        base = _find(parent, search, None, None, trail)
    except ConfigError as err:
        raise ConfigError(f"{theme.directory / MANIFEST}: extends: {err.message}", hint=err.hint) from None
    return Theme(theme.manifest, theme.origin, theme.directory, base, theme.warnings)


__all__ = ["BUILTIN_DIR", "BrokenTheme", "RenderedTheme", "Theme", "ThemeSearch", "check_theme_name", "discover",
           "find_theme", "format_path", "read_theme"]
