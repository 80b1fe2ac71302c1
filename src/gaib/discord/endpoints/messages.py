"""Message endpoints: read a channel's messages, newest first.

Contract: ``list_messages`` returns up to ``limit`` messages (at least 1, else InvalidInput), newest first,
paging 100 at a time: each page older than the last (``before``), or, with ``after``, the messages
right after that id, each page newer than the last. ``before`` and ``after`` must be snowflakes
(InvalidName otherwise); only one of them may be given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import Message
from gaib.discord.endpoints.common import parse_list, route
from gaib.errors import InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Transport


class Messages:
    """Channel messages, through ``transport``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def list_messages(self, channel_id: str, *, limit: int, before: str | None = None,
                      after: str | None = None) -> list[Message]:
        """Newest first, 100 per request: older and older pages (``before`` the oldest message of the
        previous one), or with ``after`` newer and newer pages (after the newest of the previous one)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("A message listing needs a limit of at least 1.")
        if before is not None and after is not None:
            raise InvalidInput("A message listing takes before or after, not both.")
        get = route("GET", "/channels/{channel_id}/messages", channel_id=channel_id)
        out: list[Message] = []
        key = "after" if after is not None else "before"
        given = after if after is not None else before
        cursor = check_snowflake(given, "message id") if given is not None else None
        while len(out) < limit:
            want = min(L.MESSAGE_PAGE, limit - len(out))
            query = {"limit": str(want), **({key: cursor} if cursor else {})}
            page = parse_list("message", Message.from_api, self._transport.request(get, query=query))
            out.extend(page)
            if len(page) < want:
                break
            pick = max if key == "after" else min
            cursor = pick(page, key=lambda m: int(m.id)).id
        return sorted(out, key=lambda m: int(m.id), reverse=True)

    def raw_after(self, channel_id: str, after: str) -> list[dict[str, Any]]:
        """Up to 100 messages right after ``after``, oldest first, as Discord sent them (a probe reads it)."""
        get = route("GET", "/channels/{channel_id}/messages", channel_id=channel_id)
        query = {"limit": str(L.MESSAGE_PAGE), "after": check_snowflake(after, "message id")}
        data = self._transport.request(get, query=query)
        items = [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
        return sorted(items, key=lambda m: int(m.get("id") or 0))
