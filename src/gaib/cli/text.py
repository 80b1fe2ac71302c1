"""Making user-supplied text safe to show on a terminal.

Backup messages, snapshot messages, names from Discord and from files are shown in tables and lines;
a control character in them could move the cursor, colour the screen or fake a table row. Every such
string goes through :func:`printable`: C0 and C1 controls, DEL, and the bidirectional overrides and
isolates are shown as ``\\xNN`` / ``\\uNNNN`` escapes (newlines only where a caller keeps them).
:func:`json_safe` does the same for JSON output without changing the data: the characters JSON
leaves raw (DEL, C1 controls, bidirectional marks, line separators) become ``\\uNNNN`` escapes.
"""

from __future__ import annotations

import re

# Patterns, compiled by ``re`` on first use (and cached there): most text is printable and never
# needs them, and compiling these character classes is a good part of a listing's start-up.
_UNSAFE = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
_UNSAFE_LINES = "[\n\t]|" + _UNSAFE


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == "\t":
        return " "
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character escaped (newlines kept only with ``keep_newlines``)."""
    value = "" if text is None else str(text)
    if value.isprintable():  # no control, format or separator character: nothing to escape
        return value
    return re.sub(_UNSAFE if keep_newlines else _UNSAFE_LINES, _escape, value)


_JSON_RAW = "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"


def json_safe(encoded: str) -> str:
    """JSON text (from ``json.dumps``) with every terminal-unsafe character still raw in it escaped as
    ``\\uNNNN``: the same JSON value, harmless on a terminal."""
    return re.sub(_JSON_RAW, lambda m: f"\\u{ord(m.group(0)):04x}", encoded)
