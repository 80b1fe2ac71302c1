"""``${...}`` interpolation, one namespace per file (see docs/config.md, "Interpolation").

- ``discord-server.yaml`` reads the **environment**: ``${NAME}`` (a missing variable is an error
  naming it) and ``${NAME:-default}`` (the default when NAME is unset or empty).
- A theme's ``server.yaml`` reads the theme's **declared variables**: ``${name}``; an undeclared
  name is an error, and defaults belong in ``theme.yaml``. The environment is never read there.
- In both, ``$${`` is a literal ``${``; a ``$`` not followed by ``{`` is left alone.

Interpolation works on parsed string values, never on the raw text, so a value cannot inject
YAML structure. A string that is exactly one ``${...}`` takes the variable's own value (a theme's
int or bool stays an int or bool); otherwise values are joined as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from gaib.config.permissions import suggest

_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_EXPR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)
VAR_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def render(text: str, lookup: Callable[[str], Any]) -> Any:
    """Replace every ``${expr}`` in ``text`` by ``lookup(expr)``; ValueError for a bad expression."""
    parts: list[Any] = []
    pos = 0
    whole: Any = _NOTHING
    for m in _TOKEN.finditer(text):
        parts.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token == "$${":
            parts.append("${")
            continue
        if m.group(1) is None:
            raise ValueError(f"unterminated '${{' in {text[:80]!r}")
        value = lookup(m.group(1))
        if m.start() == 0 and m.end() == len(text):
            whole = value
        parts.append(value)
    if whole is not _NOTHING:
        return whole
    parts.append(text[pos:])
    return "".join(_text(p) for p in parts)


_NOTHING = object()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_interpolator(environ: Mapping[str, str]) -> Callable[[str], Any]:
    """The interpolator of ``discord-server.yaml``: ``${NAME}`` and ``${NAME:-default}``."""

    def lookup(expr: str) -> str:
        m = _ENV_EXPR.fullmatch(expr)
        if m is None:
            raise ValueError(f"invalid expression '${{{expr}}}'; use ${{NAME}} or ${{NAME:-default}}")
        name, default = m.group(1), m.group(2)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is not None:
                return default
            raise ValueError(f"environment variable {name} is not set (use ${{{name}:-default}} to give "
                             "a default)")
        return value

    return lambda text: render(text, lookup)


def variable_interpolator(values: Mapping[str, Any]) -> Callable[[str], Any]:
    """The interpolator of a theme body: ``${name}`` from the theme's declared variables only."""

    def lookup(expr: str) -> Any:
        name = expr.strip()
        if name in values:
            return values[name]
        if ":-" in expr or not VAR_NAME.fullmatch(name):
            raise ValueError(f"invalid expression '${{{expr}}}' in a theme; use ${{variable}} with a variable "
                             "declared in theme.yaml (defaults go there too)")
        guess = suggest(name, values)
        more = f"; did you mean '{guess}'?" if guess else ""
        raise ValueError(f"undeclared theme variable {name!r}{more}")

    return lambda text: render(text, lookup)
