"""Merging a theme under a user's config.

Rules (the original Gaib's; also in docs/config.md, "Themes"):

- Items are matched by name, case-insensitively: roles by name, categories by name, channels by name
  alone (a theme with one name in several categories gives it to the user item of the same
  category, else to the first); the theme's spelling of the name is kept, so the theme's own
  references to it still hold. A user item matching a theme item overrides only the fields the
  user wrote; the theme's other fields stay. A user item matching nothing is added after the
  theme's items.
- ``permissions`` maps are merged by target, and each overwrite key by key: a user's ``allow``
  replaces the theme's ``allow`` for that target, and the theme's ``deny`` stays unless the user
  writes ``deny`` too (bits the user allows are taken out of the kept ``deny``, and the other way
  round). The theme's other targets stay. Lists (permission names) are replaced, never concatenated.
- The theme's server ``name`` and ``description`` apply unless the user's ``server`` gives them.
- Theme items the user does not mention stay. To drop some, list them under
  ``theme.exclude.roles|categories|channels``. Excluding a category drops the theme's channels in
  it; excluding a role drops the theme's overwrites for it. Excluding what the theme lacks is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.config.permissions import suggest
from gaib.config.schema import (
    CategoryConfig,
    ChannelConfig,
    OverwriteConfig,
    RoleConfig,
    ServerConfig,
    ServerMeta,
    ThemeBody,
)
from gaib.config.source import Document, PathT, Problem, format_path, raise_problems
from gaib.config.validate import Locator
from gaib.errors import ConfigError
from gaib.themes.loader import RenderedTheme, Theme, ThemeSearch, find_theme


@dataclass(frozen=True)
class AppliedTheme:
    """Which theme a config was merged with, for the deployment registry and ``info`` output."""

    name: str
    version: str
    origin: str
    path: str
    variables: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "origin": self.origin, "path": self.path,
                "variables": dict(self.variables)}


@dataclass(frozen=True)
class Merged:
    config: ServerConfig
    locate: Locator
    applied: AppliedTheme
    warnings: tuple[Problem, ...] = ()


def apply_theme(user_doc: Document, user: ServerConfig, search: ThemeSearch) -> Merged:
    """Find, render and merge ``user.theme``; ConfigError located in the user's file or the theme's."""
    ref = user.theme
    assert ref is not None
    try:
        theme = find_theme(ref.name, search, ref.version, ref.source)
    except ConfigError as err:
        where = ("theme", "version") if ref.version and "matches" in err.message else ("theme", "name")
        raise ConfigError(f"{user_doc.where(where)}: {format_path(where)}: {err.message}", hint=err.hint,
                          details=err.details) from None
    notes: list[str] = []
    values, var_problems = theme.effective_manifest().resolve_variables(dict(ref.variables), notes)
    raise_problems([_at_variable(user_doc, ref.variables, name, message) for name, message in var_problems])
    rendered = theme.render(values)
    config, origins = merge(rendered, user_doc, user)
    applied = AppliedTheme(theme.name, theme.version, theme.origin, str(theme.directory), values)
    warnings = [Problem(str(theme.directory / "theme.yaml"), None, "", w) for w in theme.warnings]
    warnings += [_at_variable(user_doc, ref.variables, n.split("'")[1], n) for n in notes]
    return Merged(config, _locator(origins, user_doc), applied, (*warnings, *rendered.warnings))


def _at_variable(user_doc: Document, given: dict[str, Any], name: str, message: str) -> Problem:
    path: PathT = ("theme", "variables", name) if name in given else ("theme",)
    return Problem(user_doc.filename, user_doc.line_of(path), format_path(path), message)


Origins = dict[PathT, tuple[Document, PathT]]
_KEY_FIELDS = {"name", "category"}  # matching keys: the theme's spelling is kept, so its references hold


def _locator(origins: Origins, default: Document) -> Locator:
    def locate(path: PathT) -> tuple[Document, PathT]:
        for end in range(len(path), 0, -1):
            hit = origins.get(path[:end])
            if hit is not None:
                doc, prefix = hit
                return doc, (*prefix, *path[end:])
        return default, path

    return locate


def merge(theme: RenderedTheme, user_doc: Document, user: ServerConfig) -> tuple[ServerConfig, Origins]:
    """Merge a rendered theme under ``user``; returns the config (no theme reference) and a map from
    each merged item's path to where it was written."""
    assert user.theme is not None
    body = theme.body
    excluded_roles, excluded_cats, excluded_chans = _exclusions(body, user, user_doc)
    origins: Origins = {}

    def kept(kind: str, pairs: list[tuple[int, Any]]) -> list[tuple[Any, tuple[Document, PathT]]]:
        return [(item, theme.origins[(kind, j)]) for j, item in pairs]

    roles = _merge_items(
        "roles", kept("roles", [(j, r) for j, r in enumerate(body.roles) if r.name.casefold() not in excluded_roles]),
        list(enumerate(user.roles)), _by_name, user_doc, origins)
    cats = _merge_items(
        "categories", kept("categories", [(j, _strip(c, excluded_roles)) for j, c in enumerate(body.categories)
                                          if c.name.casefold() not in excluded_cats]),
        list(enumerate(user.categories)), _by_name, user_doc, origins)
    chans = _merge_items(
        "channels", kept("channels", [(j, _strip(c, excluded_roles)) for j, c in enumerate(body.channels)
                                      if j not in excluded_chans
                                      and (c.category or "").casefold() not in excluded_cats]),
        list(enumerate(user.channels)), _by_name, user_doc, origins, prefer=_same_category)
    server = user.server
    if theme.meta is not None:
        given = user.server.model_dump(exclude_none=True) if user.server is not None else {}
        server = ServerMeta(**{**theme.meta.model_dump(exclude_none=True), **given})
    config = ServerConfig(version=user.version, server=server, theme=None, roles=roles, categories=cats,
                          channels=chans, outputs=user.outputs)
    return config, origins


def _by_name(item: Any) -> str:
    return str(item.name).casefold()


def _same_category(theme_item: Any, user_item: Any) -> bool:
    return "category" in user_item.model_fields_set and \
        (theme_item.category or "").casefold() == (user_item.category or "").casefold()


def _strip(item: Any, roles: set[str]) -> Any:
    """Drop overwrites that target an excluded role."""
    if not roles or not any(t.casefold() in roles for t in item.permissions):
        return item
    kept = {t: ow for t, ow in item.permissions.items() if t.casefold() not in roles}
    return item.model_copy(update={"permissions": kept})


def _merge_items(kind: str, theme_items: list[tuple[Any, tuple[Document, PathT]]], user_items: list[tuple[int, Any]],
                 key: Any, user_doc: Document, origins: Origins, prefer: Any = None) -> list[Any]:
    """Theme items (with where they were written), then user items: a user item takes an unclaimed
    theme item of the same key (one ``prefer`` says fits first), else it is added."""
    out: list[Any] = []
    index: dict[Any, list[int]] = {}
    for item, where in theme_items:
        index.setdefault(key(item), []).append(len(out))
        origins[(kind, len(out))] = where
        out.append(item)
    claimed: set[int] = set()
    for k, item in user_items:
        free = [p for p in index.get(key(item), []) if p not in claimed]
        if prefer is not None:
            free.sort(key=lambda p: not prefer(out[p], item))
        if not free:
            origins[(kind, len(out))] = (user_doc, (kind, k))
            out.append(item)
            continue
        pos = free[0]
        claimed.add(pos)
        base = out[pos]
        theme_path = origins[(kind, pos)]
        update: dict[str, Any] = {}
        for name in item.model_fields_set - _KEY_FIELDS:
            origins[(kind, pos, name)] = (user_doc, (kind, k, name))
            update[name] = getattr(item, name)
        if "category" in item.model_fields_set and (item.category or "").casefold() != (base.category or "").casefold():
            update["category"] = item.category  # the user moves the theme's channel
            origins[(kind, pos, "category")] = (user_doc, (kind, k, "category"))
        if "permissions" in item.model_fields_set:
            merged: dict[str, OverwriteConfig] = dict(base.permissions)
            by_fold = {t.casefold(): t for t in base.permissions}
            for target in base.permissions:
                origins[(kind, pos, "permissions", target)] = (theme_path[0], (*theme_path[1], "permissions", target))
            for target, ow in item.permissions.items():
                existing = by_fold.get(target.casefold())
                if existing is not None:
                    merged[existing] = merge_overwrite(merged[existing], ow)
                    target = existing
                else:
                    merged[target] = ow
                origins[(kind, pos, "permissions", target)] = (user_doc, (kind, k, "permissions", target))
            update["permissions"] = merged
        origins[(kind, pos, "name")] = (user_doc, (kind, k, "name"))
        out[pos] = base.model_copy(update=update)
    return out


def merge_overwrite(theme: OverwriteConfig, user: OverwriteConfig) -> OverwriteConfig:
    """The user's overwrite over the theme's, key by key: what the user writes replaces, what it leaves
    out stays; bits the user allows leave the kept deny (and the other way round)."""
    given = user.model_fields_set
    allow = user.allow if "allow" in given else theme.allow & ~user.deny
    deny = user.deny if "deny" in given else theme.deny & ~user.allow
    return OverwriteConfig(allow=allow, deny=deny)


def _exclusions(body: ThemeBody, user: ServerConfig, user_doc: Document) -> tuple[set[str], set[str], set[int]]:
    assert user.theme is not None
    ex = user.theme.exclude
    problems: list[Problem] = []

    def missing(path: PathT, what: str, name: str, names: list[str]) -> None:
        guess = suggest(name, names)
        more = f"; did you mean {guess!r}?" if guess else ""
        problems.append(Problem(user_doc.filename, user_doc.line_of(path), format_path(path),
                                f"the theme has no {what} {name!r}{more}"))

    role_names = [r.name for r in body.roles]
    roles: set[str] = set()
    for i, name in enumerate(ex.roles):
        if name.casefold() in {n.casefold() for n in role_names}:
            roles.add(name.casefold())
        else:
            missing(("theme", "exclude", "roles", i), "role", name, role_names)
    cat_names = [c.name for c in body.categories]
    cats: set[str] = set()
    for i, name in enumerate(ex.categories):
        if name.casefold() in {n.casefold() for n in cat_names}:
            cats.add(name.casefold())
        else:
            missing(("theme", "exclude", "categories", i), "category", name, cat_names)
    chans: set[int] = set()
    for i, sel in enumerate(ex.channels):
        path: PathT = ("theme", "exclude", "channels", i)
        hits = [j for j, c in enumerate(body.channels) if c.name.casefold() == sel.name.casefold()
                and (sel.category is None or (c.category or "").casefold() == sel.category.casefold())]
        if not hits:
            missing(path, "channel", sel.name, [c.name for c in body.channels])
        elif len(hits) > 1:
            cats_of = ", ".join(repr(body.channels[j].category) for j in hits)
            problems.append(Problem(user_doc.filename, user_doc.line_of(path), format_path(path),
                                    f"the theme has several channels {sel.name!r} (in {cats_of}); add category: "
                                    "to pick one"))
        else:
            chans.update(hits)
    raise_problems(problems)
    return roles, cats, chans


__all__ = ["AppliedTheme", "CategoryConfig", "ChannelConfig", "Merged", "RoleConfig", "Theme", "apply_theme", "merge"]
