"""Read one config file: YAML → environment interpolation → schema → duplicate names.

Merging a theme into it sits one layer up (:mod:`gaib.themes.effective`), so this package never
imports ``gaib.themes``.

Every failure is a :class:`gaib.errors.ConfigError` (exit 2) whose message starts with
``file:line: field.path: what is wrong`` — one line per problem, the first problem first — and
whose ``details["errors"]`` lists them as ``{file, line, path, message}``. Warnings (risky grants,
channel names Discord would rewrite) never fail a load; they are returned, not printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from gaib.config.interpolate import env_interpolator
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
M = TypeVar("M", bound="BaseModel")


def read_config(raw: bytes | str, *, filename: str, environ: Mapping[str, str]) -> tuple[Document, ServerConfig]:
    """One file only: parse, interpolate the environment, validate the schema and duplicate names.

    A value holding the bot token (``${DISCORD_BOT_TOKEN}``, another variable with the same value,
    or the token pasted in) raises SecretRefused (exit 2) naming ``file:line`` and the field: it
    would end up in the state, in backups and snapshots.
    """
    doc = parse_yaml(raw, filename, env_interpolator(environ))
    refuse_secrets(doc, environ)
    config = validate_document(doc, ServerConfig)
    raise_problems(check_duplicates(config, document_locator(doc)))
    return doc, config


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
    "ThemeBody",
    "read_config",
    "validate_document",
]
