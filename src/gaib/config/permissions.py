"""Discord permission names ↔ bit sets.

The table is Discord's (bit ``n`` means ``1 << n``, bits 0–52, bit 47 unassigned). Bit sets are
Python ints, so bits this table does not know round-trip unchanged: :func:`parse_permissions`
keeps them and :func:`permission_names` reports them separately instead of dropping them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from gaib.errors import ConfigError

PERMISSION_BITS: dict[str, int] = {
    "CREATE_INSTANT_INVITE": 0,
    "KICK_MEMBERS": 1,
    "BAN_MEMBERS": 2,
    "ADMINISTRATOR": 3,
    "MANAGE_CHANNELS": 4,
    "MANAGE_GUILD": 5,
    "ADD_REACTIONS": 6,
    "VIEW_AUDIT_LOG": 7,
    "PRIORITY_SPEAKER": 8,
    "STREAM": 9,
    "VIEW_CHANNEL": 10,
    "SEND_MESSAGES": 11,
    "SEND_TTS_MESSAGES": 12,
    "MANAGE_MESSAGES": 13,
    "EMBED_LINKS": 14,
    "ATTACH_FILES": 15,
    "READ_MESSAGE_HISTORY": 16,
    "MENTION_EVERYONE": 17,
    "USE_EXTERNAL_EMOJIS": 18,
    "VIEW_GUILD_INSIGHTS": 19,
    "CONNECT": 20,
    "SPEAK": 21,
    "MUTE_MEMBERS": 22,
    "DEAFEN_MEMBERS": 23,
    "MOVE_MEMBERS": 24,
    "USE_VAD": 25,
    "CHANGE_NICKNAME": 26,
    "MANAGE_NICKNAMES": 27,
    "MANAGE_ROLES": 28,
    "MANAGE_WEBHOOKS": 29,
    "MANAGE_GUILD_EXPRESSIONS": 30,
    "USE_APPLICATION_COMMANDS": 31,
    "REQUEST_TO_SPEAK": 32,
    "MANAGE_EVENTS": 33,
    "MANAGE_THREADS": 34,
    "CREATE_PUBLIC_THREADS": 35,
    "CREATE_PRIVATE_THREADS": 36,
    "USE_EXTERNAL_STICKERS": 37,
    "SEND_MESSAGES_IN_THREADS": 38,
    "USE_EMBEDDED_ACTIVITIES": 39,
    "MODERATE_MEMBERS": 40,
    "VIEW_CREATOR_MONETIZATION_ANALYTICS": 41,
    "USE_SOUNDBOARD": 42,
    "CREATE_GUILD_EXPRESSIONS": 43,
    "CREATE_EVENTS": 44,
    "USE_EXTERNAL_SOUNDS": 45,
    "SEND_VOICE_MESSAGES": 46,
    "SET_VOICE_CHANNEL_STATUS": 48,
    "SEND_POLLS": 49,
    "USE_EXTERNAL_APPS": 50,
    "PIN_MESSAGES": 51,
    "BYPASS_SLOWMODE": 52,
}

PERMISSIONS: dict[str, int] = {name: 1 << bit for name, bit in PERMISSION_BITS.items()}
"""Permission name → its value (``1 << bit``)."""

ALL_KNOWN: int = 0
for _value in PERMISSIONS.values():
    ALL_KNOWN |= _value
del _value

_BY_BIT: dict[int, str] = {bit: name for name, bit in PERMISSION_BITS.items()}
_DECIMAL = re.compile(r"[0-9]{1,40}")
MAX_BITS = 1 << 128
"""Bit sets at or above this are rejected: far beyond any bit Discord assigns, so surely a mistake."""


def suggest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The closest of ``candidates`` to ``word`` (case-insensitively), or None."""
    pool = list(candidates)
    by_upper = {c.upper(): c for c in pool}
    if word.upper() in by_upper:
        return by_upper[word.upper()]
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=cutoff)
    return by_upper[close[0]] if close else None


def permission_value(name: str) -> int:
    """The value of one permission name; raises ConfigError with a did-you-mean if unknown."""
    value = PERMISSIONS.get(name)
    if value is None:
        guess = suggest(name, PERMISSIONS)
        hint = f"did you mean '{guess}'?" if guess else "see docs/config.md for the permission names"
        raise ConfigError(f"unknown permission {name!r}; {hint}",
                               hint="Use Discord's permission names, e.g. VIEW_CHANNEL or SEND_MESSAGES.")
    return value


def parse_permissions(value: object) -> int:
    """Turn a list of names (or bit values), an int, or a decimal string into a bit set.

    Raises ConfigError for unknown names (with a did-you-mean), negative numbers, booleans and
    anything else. Unknown bits given as numbers are kept, never dropped. ``None`` means no bits.
    """
    if value is None:
        return 0
    if isinstance(value, list | tuple):
        total = 0
        for index, item in enumerate(value):
            try:
                if isinstance(item, list | tuple | dict) or item is None:
                    raise ConfigError(f"expected a permission name, not {_kind(item)}")
                total |= _one(item)
            except ConfigError as err:
                raise ConfigError(err.message, hint=err.hint, details={"index": index}) from None
        return total
    return _one(value)


def _one(value: object) -> int:
    if isinstance(value, bool):
        raise ConfigError("expected permission names or a non-negative integer, not a boolean")
    if isinstance(value, int):
        return _bounded(value)
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            return _bounded(int(text))
        return permission_value(text)
    raise ConfigError(f"expected permission names or a non-negative integer, not {_kind(value)}")


def _bounded(value: int) -> int:
    if value < 0:
        raise ConfigError(f"permission bit set {value} is negative")
    if value >= MAX_BITS:
        raise ConfigError("permission bit set is too large (Discord uses fewer than 128 bits)")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def permission_names(value: int) -> tuple[list[str], int]:
    """Split a bit set into its known names (in bit order) and the leftover unknown bits."""
    if value < 0:
        raise ConfigError(f"permission bit set {value} is negative")
    names = [_BY_BIT[bit] for bit in sorted(_BY_BIT) if value >> bit & 1]
    return names, value & ~ALL_KNOWN


def format_permissions(value: int) -> list[str | int]:
    """The YAML form of a bit set: its names in bit order, then the unknown bits as one integer."""
    names, unknown = permission_names(value)
    out: list[str | int] = list(names)
    if unknown:
        out.append(unknown)
    return out


def has(value: int, name: str) -> bool:
    return bool(value & PERMISSIONS[name])
