"""Guarded JSON decoding: the one way Gaib turns stored bytes into JSON values.

:func:`loads` never raises anything but :class:`JsonProblem` (a ``ValueError``) whose message says
in a few words what is wrong — not UTF-8, not JSON, too large, nested too deeply, a number too
large or not finite. Each kind of file has its own reader on top (state, lock, catalog item,
manifest, stored document), which turns the problem into that kind's documented error; nothing
else in Gaib calls ``json.loads`` on bytes it did not just produce itself.

The depth and number checks walk the decoded value iteratively, so a hostile document can never
exhaust the interpreter's stack, here or in the code that later walks the value recursively.
"""

from __future__ import annotations

import json
import math
from typing import Any

DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_INT_DIGITS = 40


class JsonProblem(ValueError):
    """Bytes that are not an acceptable JSON document; the message is one short clause."""


def _constant(name: str) -> Any:
    raise JsonProblem(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonProblem(f"the number {text[:20]} is too large")
    return value


def loads(raw: bytes | bytearray | str, *, max_bytes: int | None = None, max_depth: int = DEFAULT_MAX_DEPTH,
          max_int_digits: int = DEFAULT_MAX_INT_DIGITS) -> Any:
    """The JSON value of ``raw`` (UTF-8 bytes or text); raises :class:`JsonProblem`.

    Refuses: more than ``max_bytes`` bytes, text that is not UTF-8, invalid JSON, ``NaN`` and
    ``Infinity``, floats too large to be finite, integers of more than ``max_int_digits`` digits,
    and arrays or objects nested more than ``max_depth`` levels.
    """
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if max_bytes is not None and size > max_bytes:
        raise JsonProblem(f"it is {size} bytes, more than the {max_bytes} allowed")
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonProblem(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float)
    except JsonProblem:
        raise
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise JsonProblem(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise JsonProblem(f"not valid JSON: {str(exc)[:80]}") from None
    check_tree(value, max_depth=max_depth, max_int_digits=max_int_digits)
    return value


def check_tree(value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH,
               max_int_digits: int = DEFAULT_MAX_INT_DIGITS) -> None:
    """Raise :class:`JsonProblem` if ``value`` nests deeper than ``max_depth`` or holds an integer of
    more than ``max_int_digits`` digits or a non-finite float. Iterative: safe on any depth."""
    limit = 10 ** max_int_digits
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int) and not isinstance(item, bool) and not -limit < item < limit:
                raise JsonProblem(f"a number has more than {max_int_digits} digits")
            if isinstance(item, float) and not math.isfinite(item):
                raise JsonProblem("a number is not finite")
            continue
        if depth > max_depth:
            raise JsonProblem(f"nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children)


def kind_of(value: Any) -> str:
    """How a JSON value is described in error messages ("an object", "a list", "null" ...)."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
