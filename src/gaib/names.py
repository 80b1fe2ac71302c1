"""The one name pattern.

Every id, server id and workspace name passes through :func:`check_name` before it touches a key,
a path or a catalog item ("no crap in, no crap out"). The pattern admits ASCII letters, digits, ``-``
and ``_``, starting with a letter or digit, at most 64 characters: no separators, no dots, no
percent escapes, no unicode look-alikes, so a name can never climb out of its folder or prefix.
"""

from __future__ import annotations

import re

from gaib.errors import InvalidName

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_NAME_RE = re.compile(NAME_PATTERN)
_SNOWFLAKE_RE = re.compile(r"(0|[1-9][0-9]{0,19})")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def check_name(value: object, what: str = "name") -> str:
    """Return ``value`` unchanged if it matches NAME_PATTERN; raise InvalidName (exit 6) otherwise."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise InvalidName(
            f"Invalid {what} {_shown(value)}: it must be 1-64 characters of letters, digits, '-' or '_', "
            "starting with a letter or digit.",
            hint=f"Choose a {what} such as 'default', 'staging' or 'prod-eu'.",
            details={"field": what},
        )
    return value


def check_snowflake(value: object, what: str = "server id") -> str:
    """Return ``value`` if it is a Discord snowflake (decimal digits, at most 20); raise InvalidName."""
    if not isinstance(value, str) or not _SNOWFLAKE_RE.fullmatch(value):
        raise InvalidName(
            f"Invalid {what} {_shown(value)}: it must be a Discord id made of digits only.",
            hint="Copy the id from Discord (Developer Mode, right-click the server, Copy Server ID).",
            details={"field": what},
        )
    return value
