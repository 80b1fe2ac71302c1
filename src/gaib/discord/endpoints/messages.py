"""Message endpoints: read a channel's messages, newest first.

Contract: ``list_messages`` returns up to ``limit`` messages (at least 1, else InvalidInput), paging 100
at a time, each page older than the last; ``before`` must be a message id (InvalidName otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

    def list_messages(self, channel_id: str, *, limit: int, before: str | None = None) -> list[Message]:
        """Newest first, 100 per request, ``before`` the oldest message of the previous page."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("A message listing needs a limit of at least 1.")
        get = route("GET", "/channels/{channel_id}/messages", channel_id=channel_id)
        out: list[Message] = []
        cursor = check_snowflake(before, "message id") if before is not None else None
        while len(out) < limit:
            want = min(L.MESSAGE_PAGE, limit - len(out))
            query = {"limit": str(want), **({"before": cursor} if cursor else {})}
            page = parse_list("message", Message.from_api, self._transport.request(get, query=query))
            out.extend(page)
            if len(page) < want:
                break
            cursor = min(page, key=lambda m: int(m.id)).id
        return out
