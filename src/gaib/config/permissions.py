"""Discord permission names ↔ bit sets.

The table is Discord's (bit ``n`` means ``1 << n``, bits 0–52, bit 47 unassigned). Bit sets are
Python ints, so bits this table does not know round-trip unchanged: :func:`parse_permissions`
keeps them and :func:`permission_names` reports them separately instead of dropping them.

What changes is shown permission by permission (plans, snapshot compares, restore dry runs):
:func:`role_permission_changes` and :func:`overwrite_changes` list each :class:`PermissionChange` by
Discord's name (``BIT_<n>`` for a bit it has not named), :func:`permission_lines` renders them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


# --- showing what changes, permission by permission -------------------------------------------------------

ROLE_FIELD = "permissions"
OVERWRITE_FIELD = "permission_overwrites"
PERMISSION_FIELDS = frozenset({ROLE_FIELD, OVERWRITE_FIELD, "overwrites"})
"""Field names whose values are permission bit sets (a role's) or overwrites (a channel's or category's)."""


def permission_label(bit: int) -> str:
    """Discord's name of bit ``bit`` (``ATTACH_FILES`` for 15), or ``BIT_<n>`` for one it has not named."""
    return _BY_BIT.get(bit, f"BIT_{bit}")


def _bits(value: int) -> list[int]:
    return [bit for bit in range(value.bit_length()) if value >> bit & 1]


@dataclass(frozen=True)
class PermissionChange:
    """One permission of one role or member that changes.

    ``field`` is ``permissions`` (a role's own permissions: ``before``/``after`` are ``allow`` or
    ``none``) or ``permission_overwrites`` (an overwrite on a channel or category: ``allow``, ``deny``,
    ``none`` — neither, so it is inherited — or ``allow+deny`` when both bits are set)."""

    field: str
    target: str
    target_type: str  # "role" | "member"
    permission: str
    before: str
    after: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "target": self.target, "target_type": self.target_type,
                "permission": self.permission, "before": self.before, "after": self.after}


def role_permission_changes(role: str, old: int, new: int) -> list[PermissionChange]:
    """Each permission granted to or taken from ``role`` going from bit set ``old`` to ``new``, in bit order."""
    return [PermissionChange(ROLE_FIELD, role, "role", permission_label(bit),
                             "allow" if old >> bit & 1 else "none", "allow" if new >> bit & 1 else "none")
            for bit in _bits(old ^ new)]


Overwrites = Mapping[tuple[str, str], tuple[int, int]]
"""(target type ``role``/``member``, target name or id) -> (allow, deny)."""


def _state(allow: int, deny: int, bit: int) -> str:
    a, d = allow >> bit & 1, deny >> bit & 1
    return "allow+deny" if a and d else "allow" if a else "deny" if d else "none"


def overwrite_changes(old: Overwrites, new: Overwrites) -> list[PermissionChange]:
    """Each permission whose overwrite changes for each role or member, going from ``old`` to ``new``
    (a target missing from one side holds no overwrite there); targets sorted (``@everyone`` first)."""
    out = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (k[0] != "role", k[1] != "@everyone", k[1].casefold(), k)):
        oa, od = old.get(key, (0, 0))
        na, nd = new.get(key, (0, 0))
        for bit in _bits(oa | od | na | nd):
            before, after = _state(oa, od, bit), _state(na, nd, bit)
            if before != after:
                out.append(PermissionChange(OVERWRITE_FIELD, key[1], key[0], permission_label(bit), before, after))
    return out


def permission_lines(changes: Sequence[PermissionChange]) -> list[str]:
    """The changes for people, one permission a line: a role's own as ``+ ATTACH_FILES`` / ``- SEND_MESSAGES``;
    overwrites under each role or member as ``+ ATTACH_FILES (allow)`` (newly set), ``- VIEW_CHANNEL (deny)``
    (no longer set: inherited again) and ``~ ATTACH_FILES: deny -> allow`` (moved)."""
    lines: list[str] = []
    heading: tuple[str, str, str] | None = None
    for c in changes:
        if c.field == ROLE_FIELD:
            lines.append(f"+ {c.permission}" if c.after == "allow" else f"- {c.permission}")
            continue
        if heading != (c.field, c.target_type, c.target):
            heading = (c.field, c.target_type, c.target)
            lines.append(f"{c.target}:" if c.target_type == "role" else f"member {c.target}:")
        if c.before == "none":
            lines.append(f"  + {c.permission} ({c.after})")
        elif c.after == "none":
            lines.append(f"  - {c.permission} ({c.before})")
        else:
            lines.append(f"  ~ {c.permission}: {c.before} -> {c.after}")
    return lines
