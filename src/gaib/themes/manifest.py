"""A theme's manifest (``theme.yaml``) and its typed variables.

The manifest holds ``name``, ``version`` (semver), ``description``, ``author``, ``license``,
``extends`` (another theme's name), ``tags``, ``variables`` and ``files`` (which file holds the
server meta, roles, channels and categories). Both the original Gaib's spelling of the variable
types (``string``, ``color``, ``number``, ``boolean``) and Gaib's (``int``, ``bool``) are read.

A variable may be ``required``, have a ``default``, both (the default is then used) or neither (a
``${name}`` with no value stays as written, as the original keeps it). ``pattern`` is a regular
expression the whole value should match; a value that only contains a match is accepted with a
warning (the original tests patterns that way). ``min``/``max`` bound number variables. A default
is checked when it is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gaib.config.interpolate import VAR_NAME
from gaib.config.permissions import suggest
from gaib.config.schema import custom_error, format_color, parse_color
from gaib.names import NAME_PATTERN
from gaib.semver import Version, parse_version

VariableType = Literal["string", "int", "bool", "color", "number", "boolean"]
VARIABLE_TYPES: tuple[str, ...] = ("string", "int", "bool", "color", "number", "boolean")
THEME_NAME = re.compile(NAME_PATTERN)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce_variable(var_type: str, value: Any) -> str | int | float | bool:
    """Convert a given value to the variable's type; ValueError saying what was expected.

    Strings from the environment are accepted for every type ("5", "true", "#aabbcc"); colours
    come out as ``"#rrggbb"``.
    """
    if var_type == "string":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"expected text, got {_shown(value)}")
        return str(value)
    if var_type in ("int", "number"):
        if isinstance(value, bool):
            raise ValueError(f"expected {'an integer' if var_type == 'int' else 'a number'}, got {_shown(value)}")
        if isinstance(value, int):
            return value
        if var_type == "number" and isinstance(value, float) and value == value and abs(value) != float("inf"):
            return int(value) if value.is_integer() else value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
            return int(value.strip())
        if var_type == "number" and isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}\.[0-9]{1,18}",
                                                                             value.strip()):
            return float(value.strip())
        raise ValueError(f"expected {'an integer' if var_type == 'int' else 'a number'}, got {_shown(value)}")
    if var_type in ("bool", "boolean"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {_shown(value)}")
    if var_type == "color":
        return format_color(parse_color(value))
    raise ValueError(f"unknown variable type {var_type!r}")  # pragma: no cover - schema prevents it


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariableSpec(_Model):
    type: VariableType
    description: str | None = ""
    default: str | int | float | bool | None = None
    required: bool = False
    pattern: str | None = None
    min: float | None = None
    max: float | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in VARIABLE_TYPES:
            guess = suggest(value, VARIABLE_TYPES, cutoff=0.4)
            more = f"; did you mean '{guess}'?" if guess else ""
            raise custom_error("var_type", f"unknown variable type {value!r}{more} (expected one of: "
                               "string, color, number, boolean, int, bool)")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise custom_error("pattern", f"invalid regular expression: {err}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VariableSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise custom_error("variable", f"min {self.min} is above max {self.max}")
        return self

    def check(self, value: Any, warnings: list[str] | None = None) -> str | int | float | bool:
        """The value converted to this variable's type; ValueError if of the wrong type, outside
        ``min``/``max`` or not matching ``pattern`` (a partial match only warns, into ``warnings``)."""
        out = coerce_variable(self.type, value)
        if self.pattern is not None and self.type in ("string", "color") and \
                not re.fullmatch(self.pattern, str(out)):
            if not re.search(self.pattern, str(out)):
                raise ValueError(f"{_shown(out)} does not match the pattern {self.pattern!r}")
            if warnings is not None:
                warnings.append(f"{_shown(out)} matches the pattern {self.pattern!r} only in part; accepted "
                                "(the original Gaib accepts partial matches)")
        if isinstance(out, int | float) and not isinstance(out, bool):
            if self.min is not None and out < self.min:
                raise ValueError(f"{out} is below the minimum {_num(self.min)}")
            if self.max is not None and out > self.max:
                raise ValueError(f"{out} is above the maximum {_num(self.max)}")
        return out


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


class ThemeFiles(_Model):
    """Which file of the theme folder holds what (defaults: the original Gaib's)."""

    server: str | None = None
    roles: str | None = None
    channels: str | None = None
    categories: str | None = None

    @field_validator("server", "roles", "channels", "categories")
    @classmethod
    def _inside(cls, value: str | None) -> str | None:
        if value is not None and not _FILE_NAME.fullmatch(value):
            raise custom_error("theme_file", f"{value!r} is not a file name inside the theme folder "
                               "(letters, digits, '.', '-', '_' and '/' between folder names; no '..')")
        return value


_FILE_NAME = re.compile(r"(?!.*(^|/)\.\.?(/|$))[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


class ThemeManifest(_Model):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    version: str
    description: str | None = ""
    author: str | None = None
    license: str | None = None
    extends: str | None = None
    tags: list[str] = Field(default_factory=list)
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    files: ThemeFiles = Field(default_factory=ThemeFiles)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not THEME_NAME.fullmatch(value):
            raise custom_error("theme_name", f"invalid theme name {value!r}: use letters, digits, '-' "
                               "and '_', starting with a letter or digit")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        try:
            parse_version(value if isinstance(value, str) else repr(value))
        except ValueError as err:
            raise custom_error("semver", str(err)) from None
        return value

    @field_validator("variables")
    @classmethod
    def _var_names(cls, value: dict[str, VariableSpec]) -> dict[str, VariableSpec]:
        for name in value:
            if not VAR_NAME.fullmatch(name):
                raise custom_error("var_name", f"invalid variable name {name!r}: use lower-case letters, "
                                   "digits and '_', not starting with a digit")
        return value

    @property
    def semver(self) -> Version:
        return parse_version(self.version)

    def resolve_variables(self, given: dict[str, Any], warnings: list[str] | None = None,
                          ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Every declared variable's value (given, else default; none if it has neither) and a list of
        (name, problem).

        Problems: an undeclared name given (with a did-you-mean), a required one missing, a value
        of the wrong type, out of range or not matching its pattern. Partial pattern matches go to
        ``warnings``.
        """
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name in given:
            if name not in self.variables:
                guess = suggest(name, self.variables)
                more = f"; did you mean {guess!r}?" if guess else (
                    f" (it declares: {', '.join(self.variables)})" if self.variables else " (it declares none)")
                problems.append((name, f"theme {self.name!r} has no variable {name!r}{more}"))
        for name, spec in self.variables.items():
            value = given.get(name, spec.default)
            if name not in given and spec.default is None:
                if spec.required:
                    problems.append((name, f"theme {self.name!r} needs the variable {name!r} ({spec.type}"
                                           + (f": {spec.description}" if spec.description else "") + ")"))
                continue
            notes: list[str] = []
            try:
                values[name] = spec.check(value, notes)
            except ValueError as err:
                what = "variable" if name in given else "the default of variable"
                problems.append((name, f"{what} {name!r}: {err}"))
            if warnings is not None:
                warnings.extend(f"variable {name!r}: {n}" for n in notes)
        return values, problems
