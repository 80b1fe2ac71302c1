"""``${...}`` interpolation, one namespace per file (see docs/config.md, "Interpolation").

- ``discord-server.yaml`` reads the **environment**: ``${NAME}`` and ``${NAME:-default}`` (the
  default when NAME is unset or empty). A missing variable is an error naming it in a file that uses
  Gaib's own syntax; in a file the original Gaib could have written (which keeps ``${...}`` as literal
  text) the string stays literal and the loader warns (see :class:`EnvInterpolator`).
- A theme's files read the theme's **declared variables**: ``${name}``; a name the theme does not
  declare stays as it is (the original's rule), with a warning. The environment is never read there.
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


def render(text: str, lookup: Callable[[str], Any], kept: list[Unresolved] | None = None) -> Any:
    """Replace every ``${expr}`` in ``text`` by ``lookup(expr)``; ValueError for a bad expression.

    When ``lookup`` raises :class:`Unresolved` and ``kept`` is a list, that reference stays as written
    (and the exception is appended to ``kept``); otherwise it propagates.
    """
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
        try:
            value = lookup(m.group(1))
        except Unresolved as missing:
            if kept is None:
                raise
            kept.append(missing)
            value = token
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


class Unresolved(ValueError):
    """A ``${...}`` reference with no value; readers may keep it as written (see :func:`render`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class UnsetVariable(Unresolved):
    """``${NAME}`` names an environment variable that is not set (and gives no default)."""


class Undeclared(Unresolved):
    """``${name}`` in a theme names no variable with a value: the text stays as it is."""


class EnvInterpolator:
    """The interpolator of ``discord-server.yaml``: ``${NAME}`` and ``${NAME:-default}``.

    Raises :class:`UnsetVariable` for a variable that is not set (the reader decides whether that is
    an error or a warning) and records in :attr:`gaib_syntax` whether the text used Gaib's own
    syntax (``${NAME:-default}`` or the ``$${`` escape), which the original Gaib never reads.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.gaib_syntax = False
        self.kept: list[Unresolved] = []

    def __call__(self, text: str) -> Any:
        """``text`` rendered; references to unset variables stay as written and land in :attr:`kept`."""
        if "$${" in text:
            self.gaib_syntax = True
        return render(text, self._lookup, self.kept)

    def _lookup(self, expr: str) -> str:
        m = _ENV_EXPR.fullmatch(expr)
        if m is None:
            raise ValueError(f"invalid expression '${{{expr}}}'; use ${{NAME}} or ${{NAME:-default}}")
        name, default = m.group(1), m.group(2)
        if default is not None:
            self.gaib_syntax = True
        value = self.environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is not None:
                return default
            raise UnsetVariable(name, f"environment variable {name} is not set (use ${{{name}:-default}} to give "
                                      "a default)")
        return value


def env_interpolator(environ: Mapping[str, str]) -> Callable[[str], Any]:
    """The interpolator of ``discord-server.yaml`` (see :class:`EnvInterpolator`)."""
    return EnvInterpolator(environ)


class VariableInterpolator:
    """The interpolator of a theme's files: ``${name}`` from the theme's variables only.

    A name that is not among ``values`` stays as written (the original's rule) and lands in
    :attr:`kept` as an :class:`Undeclared` with a did-you-mean when one is close.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.kept: list[Unresolved] = []

    def __call__(self, text: str) -> Any:
        return render(text, self._lookup, self.kept)

    def _lookup(self, expr: str) -> Any:
        name = expr.strip()
        if name in self.values:
            return self.values[name]
        guess = suggest(name, self.values) if VAR_NAME.fullmatch(name) else None
        more = f"; did you mean '{guess}'?" if guess else ""
        raise Undeclared(name, f"'${{{expr}}}' is not a variable with a value in this theme{more}; "
                               "kept as written")


def variable_interpolator(values: Mapping[str, Any]) -> Callable[[str], Any]:
    """The interpolator of a theme's files (see :class:`VariableInterpolator`)."""
    return VariableInterpolator(values)
