"""A theme's manifest (``theme.yaml``) and its typed variables.

Variables have a ``type`` (string, int, bool, color), and either ``required: true`` or a
``default`` (never both, never neither); a ``pattern`` (a Python regular expression that must
match the whole value) is allowed on string variables. Defaults are checked like given values.
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

VariableType = Literal["string", "int", "bool", "color"]
VARIABLE_TYPES: tuple[str, ...] = ("string", "int", "bool", "color")
THEME_NAME = re.compile(NAME_PATTERN)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def coerce_variable(var_type: str, value: Any) -> str | int | bool:
    """Convert a given value to the variable's type; ValueError saying what was expected.

    Strings from the environment are accepted for every type ("5", "true", "#aabbcc"); colours
    come out as ``"#rrggbb"``.
    """
    if var_type == "string":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"expected text, got {_shown(value)}")
        return str(value)
    if var_type == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got {_shown(value)}")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
            return int(value.strip())
        raise ValueError(f"expected an integer, got {_shown(value)}")
    if var_type == "bool":
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
    description: str = ""
    default: str | int | bool | None = None
    required: bool = False
    pattern: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in VARIABLE_TYPES:
            guess = suggest(value, VARIABLE_TYPES, cutoff=0.4)
            more = f"; did you mean '{guess}'?" if guess else ""
            raise custom_error("var_type", f"unknown variable type {value!r}{more} (expected one of: "
                               "string, int, bool, color)")
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
        if self.required and self.default is not None:
            raise custom_error("variable", "a required variable takes no default")
        if not self.required and self.default is None:
            raise custom_error("variable", "give a default, or mark the variable required: true")
        if self.pattern is not None and self.type != "string":
            raise custom_error("variable", "pattern applies only to string variables")
        if self.default is not None:
            try:
                self.check(self.default)
            except ValueError as err:
                raise custom_error("variable", f"default: {err}") from None
        return self

    def check(self, value: Any) -> str | int | bool:
        """The value converted to this variable's type; ValueError if wrong type or pattern."""
        out = coerce_variable(self.type, value)
        if self.pattern is not None and not re.fullmatch(self.pattern, str(out)):
            raise ValueError(f"{_shown(out)} does not match the pattern {self.pattern!r}")
        return out


class ThemeManifest(_Model):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    version: str
    description: str = ""
    author: str | None = None
    variables: dict[str, VariableSpec] = Field(default_factory=dict)

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

    def resolve_variables(self, given: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Every declared variable's value (given, else default) and a list of (name, problem).

        Problems: an undeclared name given (with a did-you-mean), a required one missing, a value
        of the wrong type or not matching its pattern.
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
            if name in given:
                try:
                    values[name] = spec.check(given[name])
                except ValueError as err:
                    problems.append((name, f"variable {name!r}: {err}"))
            elif spec.required:
                problems.append((name, f"theme {self.name!r} needs the variable {name!r} ({spec.type}"
                                       + (f": {spec.description}" if spec.description else "") + ")"))
            else:
                values[name] = spec.check(spec.default)
        return values, problems
