"""Field validation for request bodies, reporting problems the way Discord does (50035 trees).

Each reader returns the validated value, ``None`` for an explicit JSON null (when allowed), or
:data:`MISSING` when the key is absent *or invalid*; callers must call ``errs.raise_if_any()``
before applying anything, so a request with any bad field changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from gaib.emulator.apierrors import FormErrors, Path, form_error


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

# Permission bit sets: arbitrary precision, but a value with more digits than this is hostile input.
MAX_BITS_DIGITS = 100
# Snowflakes are unsigned 64-bit integers written in decimal.
MAX_SNOWFLAKE = 2**64 - 1


def shown(value: object) -> str:
    """A short printable form of a client value for error messages (never echoes huge input)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_snowflake(value: object) -> int | None:
    """The integer of a snowflake given as a digit string (or a non-bool int); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_SNOWFLAKE else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
        if number <= MAX_SNOWFLAKE and (value == "0" or not value.startswith("0")):
            return number
    return None


def parse_bits(value: object) -> int | None:
    """A permission bit set given as a non-negative int or a decimal string; None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_BITS_DIGITS:
        return int(value)
    return None


class Fields:
    """Reads keys of one JSON object, recording each problem in ``errs`` under ``prefix``."""

    def __init__(self, body: dict[str, Any], errs: FormErrors, prefix: Path = ()) -> None:
        self.body = body
        self.errs = errs
        self.prefix = prefix

    def _err(self, key: str, code: str, message: str) -> _Missing:
        self.errs.add((*self.prefix, key), code, message)
        return MISSING

    def _raw(self, key: str, required: bool, nullable: bool) -> Any:
        if key not in self.body:
            if required:
                return self._err(key, "BASE_TYPE_REQUIRED", "This field is required")
            return MISSING
        value = self.body[key]
        if value is None and (required or not nullable):
            return self._err(key, "BASE_TYPE_REQUIRED", "This field is required")
        return value

    def string(self, key: str, lo: int, hi: int, *, required: bool = False,
               nullable: bool = True) -> str | _Missing | None:
        value = self._raw(key, required, nullable)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, str):
            return self._err(key, "BASE_TYPE_STRING", f'Could not interpret "{shown(value)}" as string.')
        if len(value) > hi and lo == 0:
            return self._err(key, "BASE_TYPE_MAX_LENGTH", f"Must be {hi} or fewer in length.")
        if not lo <= len(value) <= hi:
            return self._err(key, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length.")
        return value

    def integer(self, key: str, lo: int | None = None, hi: int | None = None, *, required: bool = False,
                nullable: bool = True, choices: Iterable[int] | None = None) -> int | _Missing | None:
        value = self._raw(key, required, nullable)
        if value is None or value is MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            return self._err(key, "NUMBER_TYPE_COERCE", f'Value "{shown(value)}" is not int.')
        if choices is not None:
            allowed = sorted(set(choices))
            if value not in allowed:
                listed = ", ".join(str(c) for c in allowed)
                return self._err(key, "BASE_TYPE_CHOICES", f"Value must be one of {{{listed}}}.")
        if lo is not None and value < lo:
            return self._err(key, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {lo}.")
        if hi is not None and value > hi:
            return self._err(key, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {hi}.")
        return value

    def boolean(self, key: str, *, nullable: bool = True) -> bool | _Missing | None:
        value = self._raw(key, False, nullable)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, bool):
            return self._err(key, "BASE_TYPE_BOOLEAN", "Must be either true or false.")
        return value

    def bits(self, key: str) -> int | _Missing | None:
        value = self._raw(key, False, True)
        if value is None or value is MISSING:
            return value
        number = parse_bits(value)
        if number is None:
            return self._err(key, "NUMBER_TYPE_COERCE", f'Value "{shown(value)}" is not int.')
        return number

    def snowflake(self, key: str, *, required: bool = False, nullable: bool = True) -> str | _Missing | None:
        value = self._raw(key, required, nullable)
        if value is None or value is MISSING:
            return value
        number = parse_snowflake(value)
        if number is None:
            return self._err(key, "NUMBER_TYPE_COERCE", f'Value "{shown(value)}" is not snowflake.')
        return str(number)

    def array(self, key: str, max_items: int) -> list[Any] | _Missing | None:
        value = self._raw(key, False, True)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, list):
            return self._err(key, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        if len(value) > max_items:
            return self._err(key, "BASE_TYPE_MAX_LENGTH", f"Must be {max_items} or fewer in length.")
        return value

    def obj(self, key: str) -> dict[str, Any] | _Missing | None:
        value = self._raw(key, False, True)
        if value is None or value is MISSING:
            return value
        if not isinstance(value, dict):
            return self._err(key, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return value


def require_object(body: Any) -> dict[str, Any]:
    """The body as a JSON object (absent body → ``{}``); a 50035 at the top level otherwise."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise form_error((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    return body


def require_list(body: Any) -> list[Any]:
    """The body as a JSON array; a 50035 at the top level otherwise."""
    if not isinstance(body, list):
        raise form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    return body
