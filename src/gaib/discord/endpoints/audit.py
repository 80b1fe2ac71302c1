"""Audit-log endpoint: read a guild's audit-log entries (the bot needs View Audit Log).

Contract: ``audit_log`` returns one page of up to ``limit`` (1-100) entries of one action type, newest
first, older than ``before`` when given; a bot without View Audit Log gets DiscordPermissionError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gaib.discord.endpoints.common import parse, require_guild, route
from gaib.discord.models import AuditEntry
from gaib.errors import DiscordError, InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Transport

PAGE_MAX = 100


class AuditLog:
    """The audit log of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def audit_log(self, action_type: int, *, limit: int = PAGE_MAX, before: str | None = None) -> list[AuditEntry]:
        """Up to ``limit`` entries of ``action_type``, newest first (older than ``before``)."""
        if isinstance(action_type, bool) or not isinstance(action_type, int) or action_type < 1:
            raise InvalidInput("An audit-log read needs an action type (a positive number).")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise InvalidInput(f"An audit-log page holds 1-{PAGE_MAX} entries.")
        query = {"action_type": str(action_type), "limit": str(limit)}
        if before is not None:
            query["before"] = check_snowflake(before, "audit-log entry id")
        get = route("GET", "/guilds/{guild_id}/audit-logs", guild_id=require_guild(self._guild_id))
        data = self._transport.request(get, query=query)

        def entries(d: dict[str, Any]) -> list[AuditEntry]:
            raw = d["audit_log_entries"]
            if not isinstance(raw, list):
                raise TypeError("audit_log_entries")
            return [parse("audit-log entry", AuditEntry.from_api, e) for e in raw]

        found = parse("audit log", entries, data)
        if any(e.action_type != action_type for e in found):
            raise DiscordError("Discord sent audit-log entries of another action type than asked for.")
        return sorted(found, key=lambda e: int(e.id), reverse=True)
