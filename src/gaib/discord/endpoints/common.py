"""What every endpoint group shares: routes with checked ids, the guild id, and reading Discord's JSON.

Contract: :func:`route` checks every id with :func:`gaib.names.check_snowflake` before a request can be
built, so a bad id (``../x``, unicode, huge) raises InvalidName (exit 6) and sends nothing;
:func:`require_guild` raises MissingSetting when the client was made without a server id; :func:`parse`
and :func:`parse_list` raise DiscordError when Discord's answer is not the object (or array) expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from gaib.discord.ratelimit import Route
from gaib.errors import DiscordError, InvalidInput, MissingSetting
from gaib.names import check_snowflake

T = TypeVar("T")


def require_guild(guild_id: str | None) -> str:
    """The server id the guild-level endpoints work on; MissingSetting when there is none."""
    if guild_id is None:
        raise MissingSetting("No Discord server id was given.", hint="Set DISCORD_GUILD_ID.")
    return guild_id


def route(method: str, template: str, **params: str) -> Route:
    """A route whose parameters are all checked snowflakes (InvalidName otherwise)."""
    for name, value in params.items():
        check_snowflake(value, name.replace("_", " "))
    return Route(method, template, params)


def as_body(fields: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A copy of a body given as a mapping of Discord field names; InvalidInput for anything else."""
    if not isinstance(fields, Mapping):
        raise InvalidInput(f"The {what} fields must be a mapping of Discord field names to values.")
    return dict(fields)


def parse(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> T:
    """``build(data)`` for a JSON object; DiscordError when it is not one or ``build`` cannot read it."""
    if not isinstance(data, dict):
        raise DiscordError(f"Discord sent an unexpected {kind} response (not an object).")
    try:
        return build(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise DiscordError(
            f"Discord sent a {kind} object Gaib cannot read ({type(exc).__name__})."
        ) from None


def parse_list(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> list[T]:
    """:func:`parse` for each item of a JSON array (None, a 204, is an empty list)."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise DiscordError(f"Discord sent an unexpected {kind} list response (not an array).")
    return [parse(kind, build, item) for item in data]


def newest(candidates: Iterable[Any]) -> Any:
    """The candidate with the highest snowflake id (the most recently created), or None."""
    best: Any = None
    for item in candidates:
        try:
            key = int(item["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if best is None or key > int(best["id"]):
            best = item
    return best
