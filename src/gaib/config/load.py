"""Read one config file: YAML → environment interpolation → schema → duplicate names.

Merging a theme into it sits one layer up (:mod:`gaib.themes.effective`), so this package never
imports ``gaib.themes``.

Every failure is a :class:`gaib.errors.ConfigError` (exit 2) whose message starts with
``file:line: field.path: what is wrong`` — one line per problem, the first problem first — and
whose ``details["errors"]`` lists them as ``{file, line, path, message}``. Warnings (risky grants,
channel names Discord would rewrite) never fail a load; they are returned, not printed.

Files of the original Gaib load unchanged: keys it does not know are dropped with a warning (and a
did-you-mean) instead of failing the load, an empty file is an empty config, and a ``${NAME}`` of
an unset variable stays literal text with a warning — unless the file uses Gaib's own syntax
(``${NAME:-default}``, ``$${``, ``theme.version``, ``theme.exclude``, ``user_limit``), where it is an
error as before.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from gaib.config.interpolate import EnvInterpolator
from gaib.config.permissions import suggest
from gaib.config.schema import (
    MODEL_AT,
    ChannelSelector,
    OverwriteConfig,
    ServerConfig,
    ThemeBody,
)
from gaib.config.source import Document, PathT, Problem, format_path, parse_yaml, raise_problems
from gaib.config.validate import check_duplicates, document_locator
from gaib.errors import SecretRefused
from gaib.secretguard import SecretFinder, secrets_in

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

DEFAULT_FILE = "discord-server.yaml"
PROJECT_SETTING_KEYS = frozenset({"name", "discord", "backend", "guild_id", "workspace", "backup"})
"""Top-level keys of ``gaib.yaml`` that are settings, not config: skipped when gaib.yaml is the config."""
M = TypeVar("M", bound="BaseModel")


def read_config(raw: bytes | str, *, filename: str, environ: Mapping[str, str],
                project_file: bool = False) -> tuple[Document, ServerConfig]:
    """One file only: parse, interpolate the environment, validate the schema and duplicate names.

    ``project_file``: the file is a ``gaib.yaml``, whose settings keys are skipped. Warnings (unknown
    keys, variables kept literal, an empty file) are left in ``Document.warnings``. A value holding the
    bot token (``${DISCORD_BOT_TOKEN}``, another variable with the same value, or the token pasted in)
    raises SecretRefused (exit 2) naming ``file:line`` and the field: it would end up in the state, in
    backups and snapshots.
    """
    interpolate = EnvInterpolator(environ)
    doc = parse_yaml(raw, filename, interpolate, allow_empty=True,
                     skip_keys=PROJECT_SETTING_KEYS if project_file else frozenset())
    refuse_secrets(doc, environ)
    if not doc.data and not project_file:
        doc.warnings.append(Problem(filename, 1, "", "the file is empty: it declares no roles, categories or "
                                                     "channels (every object the state manages would be deleted)"))
    if doc.unresolved:
        if interpolate.gaib_syntax or _gaib_keys(doc.data):
            raise_problems(doc.unresolved)
        doc.warnings.extend(Problem(p.file, p.line, p.path, p.message.split(" (use ")[0]
                                    + "; kept as literal text, as the original Gaib reads it")
                            for p in doc.unresolved)
    drop_unknown_keys(doc, ServerConfig)
    config = validate_document(doc, ServerConfig)
    raise_problems(check_duplicates(config, document_locator(doc)))
    return doc, config


def _gaib_keys(data: dict[str, Any]) -> bool:
    """Whether the file uses keys only Gaib reads (so it is no original file)."""
    theme = data.get("theme")
    if isinstance(theme, dict) and ("version" in theme or "exclude" in theme):
        return True
    return any(isinstance(c, dict) and "user_limit" in c for c in data.get("channels") or [])


def drop_unknown_keys(doc: Document, root: type[BaseModel]) -> None:
    """Remove from ``doc.data`` every key the models do not know, each with a located warning and a
    did-you-mean (the original Gaib ignores such keys; Gaib says so)."""
    _drop(doc, doc.data, root, ())


def _known_keys(model: type[BaseModel]) -> dict[str, str]:
    """Every key a model reads (field names and their aliases) -> the field name."""
    from pydantic import AliasChoices

    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        out[name] = name
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            for choice in alias.choices:
                if isinstance(choice, str):
                    out[choice] = name
        elif isinstance(alias, str):
            out[alias] = name
    return out


def _drop(doc: Document, data: Any, model: type[BaseModel], path: PathT) -> None:
    from pydantic import BaseModel as Base

    if not isinstance(data, dict):
        return
    known = _known_keys(model)
    seen: dict[str, str] = {}
    for key in list(data):
        field = known.get(key) if isinstance(key, str) else None
        where = (*path, key)
        if field is None:
            guess = suggest(str(key), list(known), cutoff=0.5)
            more = f"; did you mean {guess!r}?" if guess else f" (expected one of: {', '.join(known)})"
            doc.warnings.append(Problem(doc.filename, doc.line_of(where), format_path(where),
                                        f"unknown key {key!r} ignored{more}"))
            del data[key]
            continue
        if field in seen:
            doc.warnings.append(Problem(doc.filename, doc.line_of(where), format_path(where),
                                        f"{key!r} repeats {seen[field]!r}; {seen[field]!r} is used"))
            del data[key]
            continue
        seen[field] = key
        kind, child = _child_model(model.model_fields[field].annotation)
        if child is None or not (isinstance(child, type) and issubclass(child, Base)):
            continue
        value = data[key]
        if kind == "model":
            _drop(doc, value, child, where)
        elif kind == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                _drop(doc, item, child, (*where, i))
        elif kind == "dict" and isinstance(value, dict):
            for k, item in value.items():
                _drop(doc, item, child, (*where, k))


def _child_model(annotation: Any) -> tuple[str, Any]:
    """("model" | "list" | "dict", the pydantic model inside ``annotation``), or ("", None)."""
    from pydantic import BaseModel as Base

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _child_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            kind, child = _child_model(arg)
            if child is not None:
                return kind, child
        return "", None
    if origin is list:
        kind, child = _child_model(typing.get_args(annotation)[0])
        return ("list", child) if kind == "model" else ("", None)
    if origin is dict:
        kind, child = _child_model(typing.get_args(annotation)[1])
        return ("dict", child) if kind == "model" else ("", None)
    if isinstance(annotation, type) and issubclass(annotation, Base):
        return "model", annotation
    return "", None


def refuse_secrets(doc: Document, environ: Mapping[str, str]) -> None:
    """Raise SecretRefused (exit 2) if a value of ``doc`` holds a secret of ``environ``."""
    path = SecretFinder(secrets_in(environ)).find(doc.data)
    if path is not None:
        problem = Problem(doc.filename, doc.line_of(path), format_path(path),
                          "holds the Discord bot token (or a webhook token); Gaib never stores the token, and "
                          "this value would be kept in the state, backups and snapshots")
        raise SecretRefused(str(problem), details={"errors": [problem.to_dict()]})


def validate_document(doc: Document, model: type[M]) -> M:
    """Validate ``doc.data`` against ``model``; raise ConfigError with file:line for each problem."""
    from pydantic import ValidationError

    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise_problems(validation_problems(exc, doc, model))
        raise  # pragma: no cover - raise_problems always raises for a non-empty list


def validation_problems(exc: ValidationError, doc: Document, root: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into located problems with readable messages."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False, include_context=True):
        kind = err["type"]
        path = _data_path(doc.data, tuple(err["loc"]), keep_last=kind == "missing")
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            key = str(path[-1])
            fields = list(_model_at(path[:-1], root).model_fields)
            guess = suggest(key, fields, cutoff=0.5)
            more = f"; did you mean {guess!r}?" if guess else f" (expected one of: {', '.join(fields)})"
            message = f"unknown key {key!r}{more}"
        elif kind == "missing":
            message = f"missing required key {path[-1]!r}"
        elif kind == "literal_error" and path[-1:] == ("version",):
            message = f"unsupported config version {err['input']!r}; this Gaib reads version \"1.0\""
        else:
            message = str(err["msg"])
            if "index" in ctx:
                path = (*path, int(ctx["index"]))
        problems.append(Problem(doc.filename, doc.line_of(path), format_path(path), message))
    return problems


def _data_path(data: Any, loc: PathT, *, keep_last: bool) -> PathT:
    """Trim pydantic's loc to the part that exists in the data (it may add union member tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        in_dict = isinstance(cur, dict) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            cur = cur[part]
        else:
            if keep_last:
                out.append(part)
            break
        out.append(part)
    return tuple(out)


def _model_at(parent: PathT, root: type[BaseModel]) -> type[BaseModel]:
    if not parent:
        return root
    if len(parent) >= 2 and parent[-2] == "permissions":
        return OverwriteConfig
    if parent[:3] == ("theme", "exclude", "channels"):
        return ChannelSelector
    if isinstance(parent[-1], int):
        parent = parent[:-1]
    return MODEL_AT.get(str(parent[-1]), root)


__all__ = [
    "DEFAULT_FILE",
    "PROJECT_SETTING_KEYS",
    "ThemeBody",
    "drop_unknown_keys",
    "read_config",
    "validate_document",
]
