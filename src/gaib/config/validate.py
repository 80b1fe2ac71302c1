"""Whole-config checks: duplicate names, references, guild limits, and risky-grant warnings.

These run after a theme is merged in, so a user's channel may sit in a theme's category. Every
problem is located through a :data:`Locator`, which maps a path in the checked config back to the
file and line it came from (the user's file or the theme's ``server.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from gaib.config.permissions import PERMISSIONS, permission_names, suggest
from gaib.config.schema import (
    EVERYONE,
    MAX_TOPIC,
    MAX_USER_LIMIT,
    ChannelConfig,
    OverwriteConfig,
    RoleConfig,
    ServerConfig,
    ThemeBody,
)
from gaib.config.source import Document, PathT, Problem, format_path

MAX_ROLES = 250
MAX_CHANNELS = 500  # categories count
MAX_PER_CATEGORY = 50
MAX_OVERWRITES = 100  # in one create/modify request

Locator = Callable[[PathT], tuple[Document, PathT]]
"""Maps a path in the checked config to (the document it came from, its path there)."""

_RISKY_FOR_EVERYONE = (*sorted(n for n in PERMISSIONS if n.startswith("MANAGE_")), "MENTION_EVERYONE")
_TEXT_KINDS = ("text", "announcement", "forum", "media")
_DISCORD_TEXT_NAME = re.compile(r"[^\sA-Z]+")


def document_locator(doc: Document) -> Locator:
    return lambda path: (doc, path)


def problem(locate: Locator, path: PathT, message: str) -> Problem:
    doc, where = locate(path)
    return Problem(doc.filename, doc.line_of(where), format_path(where), message)


def check_duplicates(config: ServerConfig | ThemeBody, locate: Locator) -> list[Problem]:
    """Names must be unique, case-insensitively: roles, categories, channels within one category."""
    problems: list[Problem] = []
    seen: dict[tuple[str, ...], int] = {}
    for i, role in enumerate(config.roles):
        key: tuple[str, ...] = ("role", role.name.casefold())
        if role.name == EVERYONE:
            problems.append(problem(locate, ("roles", i, "name"),
                                    "'@everyone' is Discord's default role; it cannot be declared as a role"))
        elif key in seen:
            problems.append(problem(locate, ("roles", i, "name"),
                                    f"duplicate role {role.name!r} (also roles[{seen[key]}])"))
        else:
            seen[key] = i
    for i, cat in enumerate(config.categories):
        key = ("category", cat.name.casefold())
        if key in seen:
            problems.append(problem(locate, ("categories", i, "name"),
                                    f"duplicate category {cat.name!r} (also categories[{seen[key]}])"))
        else:
            seen[key] = i
    for i, chan in enumerate(config.channels):
        key = ("channel", (chan.category or "").casefold(), chan.name.casefold())
        if key in seen:
            where = f"category {chan.category!r}" if chan.category else "no category"
            problems.append(problem(locate, ("channels", i, "name"),
                                    f"duplicate channel {chan.name!r} in {where} (also channels[{seen[key]}])"))
        else:
            seen[key] = i
    return problems


def canonical_references(config: ServerConfig, locate: Locator) -> tuple[ServerConfig, list[Problem]]:
    """References spelled in another case than the item they name (``category: general`` for the
    category ``General``, ``member:`` for the role ``Member``) rewritten to the item's spelling, as the
    original Gaib matches them case-insensitively. Two overwrites that name one role are a warning;
    the later one is used. References to nothing are left for :func:`check_config` to report."""
    roles = {r.name.casefold(): r.name for r in config.roles}
    roles.setdefault(EVERYONE.casefold(), EVERYONE)
    exact = {r.name for r in config.roles} | {EVERYONE}  # an exact spelling always names itself
    cats = {c.name.casefold(): c.name for c in config.categories}
    warnings: list[Problem] = []

    def fix(perms: dict[str, OverwriteConfig], base: PathT) -> dict[str, OverwriteConfig] | None:
        out: dict[str, OverwriteConfig] = {}
        changed = False
        first: dict[str, str] = {}
        for target, ow in perms.items():
            name = target if target in exact else roles.get(target.casefold(), target)
            changed |= name != target
            if name in out:
                warnings.append(problem(locate, (*base, "permissions", target),
                                        f"{target!r} and {first[name]!r} name the same role; {target!r} is used"))
                changed = True
            first[name] = target
            out[name] = ow
        return out if changed else None

    new_cats = []
    for i, cat in enumerate(config.categories):
        perms = fix(cat.permissions, ("categories", i))
        new_cats.append(cat if perms is None else cat.model_copy(update={"permissions": perms}))
    new_chans = []
    for i, chan in enumerate(config.channels):
        update: dict[str, object] = {}
        if chan.category is not None and chan.category not in cats.values():
            fixed = cats.get(chan.category.casefold())
            if fixed is not None:
                update["category"] = fixed
        perms = fix(chan.permissions, ("channels", i))
        if perms is not None:
            update["permissions"] = perms
        new_chans.append(chan.model_copy(update=update) if update else chan)
    return config.model_copy(update={"categories": new_cats, "channels": new_chans}), warnings


def check_config(config: ServerConfig, locate: Locator) -> tuple[list[Problem], list[Problem]]:
    """Check references, limits and channel fields; return (errors, warnings)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    roles = [r.name for r in config.roles]
    categories = [c.name for c in config.categories]

    if len(config.roles) > MAX_ROLES:
        errors.append(problem(locate, ("roles",), f"{len(config.roles)} roles; Discord allows at most {MAX_ROLES}"))
    total = len(config.categories) + len(config.channels)
    if total > MAX_CHANNELS:
        errors.append(problem(locate, ("channels",),
                              f"{total} channels and categories; Discord allows at most {MAX_CHANNELS} in all"))
    per_category: dict[str, int] = {}

    for i, role in enumerate(config.roles):
        warnings.extend(_role_warnings(role, ("roles", i), locate))
    for i, cat in enumerate(config.categories):
        errors.extend(_check_overwrites(cat.permissions, ("categories", i), roles, locate, warnings))
    for i, chan in enumerate(config.channels):
        base: PathT = ("channels", i)
        if chan.category is not None:
            if chan.category not in categories:
                guess = suggest(chan.category, categories)
                more = f"; did you mean {guess!r}?" if guess else _defined("categories", categories)
                errors.append(problem(locate, (*base, "category"), f"undefined category {chan.category!r}{more}"))
            else:
                per_category[chan.category] = per_category.get(chan.category, 0) + 1
                if per_category[chan.category] == MAX_PER_CATEGORY + 1:
                    errors.append(problem(locate, (*base, "category"),
                                          f"category {chan.category!r} has more than {MAX_PER_CATEGORY} channels"))
        channel_errors, channel_warnings = _channel_fields(chan, base, locate)
        errors.extend(channel_errors)
        warnings.extend(channel_warnings)
        errors.extend(_check_overwrites(chan.permissions, base, roles, locate, warnings))
        if chan.type in _TEXT_KINDS and not _DISCORD_TEXT_NAME.fullmatch(chan.name):
            fixed = re.sub(r"\s+", "-", chan.name.lower())
            warnings.append(problem(locate, (*base, "name"),
                                    f"Discord stores {chan.type} channel names in lower case without spaces; "
                                    f"{chan.name!r} would become {fixed!r} and never match"))
    return errors, warnings


def _defined(what: str, names: Sequence[str]) -> str:
    if not names:
        return f" (no {what} are defined)"
    shown = ", ".join(repr(n) for n in names[:8])
    return f" (defined {what}: {shown}{', ...' if len(names) > 8 else ''})"


def _channel_fields(chan: ChannelConfig, base: PathT, locate: Locator) -> tuple[list[Problem], list[Problem]]:
    errors, warnings = [], []
    if chan.type not in ("forum", "media") and chan.topic is not None and len(chan.topic) > MAX_TOPIC:
        errors.append(problem(locate, (*base, "topic"),
                              f"topic is {len(chan.topic)} characters; a {chan.type} channel allows {MAX_TOPIC}"))
    if chan.type == "voice" and chan.user_limit is not None and chan.user_limit > MAX_USER_LIMIT:
        errors.append(problem(locate, (*base, "user_limit"),
                              f"user_limit is {chan.user_limit}; a voice channel allows at most {MAX_USER_LIMIT} "
                              "(a stage channel 10000)"))
    for field in ("bitrate", "user_limit"):
        if getattr(chan, field) is not None and chan.type not in ("voice", "stage"):
            warnings.append(problem(locate, (*base, field),
                                    f"{field} applies only to voice and stage channels, not {chan.type}; ignored"))
    return errors, warnings


def _role_warnings(role: RoleConfig, base: PathT, locate: Locator) -> list[Problem]:
    if role.permissions & PERMISSIONS["ADMINISTRATOR"]:
        return [problem(locate, (*base, "permissions"),
                        f"role {role.name!r} is granted ADMINISTRATOR: it bypasses every channel overwrite")]
    return []


def _check_overwrites(overwrites: dict[str, OverwriteConfig], base: PathT, roles: list[str],
                      locate: Locator, warnings: list[Problem]) -> list[Problem]:
    errors: list[Problem] = []
    if len(overwrites) > MAX_OVERWRITES:
        errors.append(problem(locate, (*base, "permissions"),
                              f"{len(overwrites)} permission overwrites; at most {MAX_OVERWRITES} are allowed"))
    for target, ow in overwrites.items():
        path: PathT = (*base, "permissions", target)
        if target != EVERYONE and target not in roles:
            guess = suggest(target, [*roles, EVERYONE])
            more = f"; did you mean {guess!r}?" if guess else _defined("roles", roles)
            errors.append(problem(locate, path, f"undefined role {target!r}{more}"))
        both = ow.allow & ow.deny
        if both:
            names, unknown = permission_names(both)
            shown = ", ".join(names) + (f" (and bits {unknown})" if unknown else "")
            errors.append(problem(locate, path, f"{shown} both allowed and denied"))
        if ow.allow & PERMISSIONS["ADMINISTRATOR"]:
            warnings.append(problem(locate, (*path, "allow"),
                                    f"overwrite for {target!r} allows ADMINISTRATOR, which bypasses every "
                                    "permission"))
        if target == EVERYONE:
            risky = [n for n in _RISKY_FOR_EVERYONE if ow.allow & PERMISSIONS[n]]
            if risky:
                warnings.append(problem(locate, (*path, "allow"),
                                        f"@everyone is allowed {', '.join(risky)}: every member gets it"))
    return errors
