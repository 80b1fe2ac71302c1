"""Thread endpoints: list the guild's active threads and a channel's archived public ones, start a thread
or a forum post, change a thread.

Contract: lists return every thread (archived ones paged by ``before``, the archive time of the last
thread of the page, until Discord says there are no more); ``create_thread(dedupe=True)`` never starts a
second thread with the same name in the same parent when a retried POST had in fact been processed (the
active threads are looked at first); a missing thread or parent raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.endpoints.common import as_body, newest, parse, parse_list, require_guild, route
from gaib.discord.models import Thread
from gaib.errors import DiscordError, InvalidInput

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport


def _threads(data: Any) -> tuple[list[Thread], bool]:
    if not isinstance(data, dict) or not isinstance(data.get("threads"), list):
        raise DiscordError("Discord sent an unexpected thread list response (no 'threads' array).")
    return parse_list("thread", Thread.from_api, data["threads"]), bool(data.get("has_more"))


class Threads:
    """The threads of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def active_raw(self) -> Any:
        gid = require_guild(self._guild_id)
        return self._transport.request(route("GET", "/guilds/{guild_id}/threads/active", guild_id=gid))

    def list_active_threads(self) -> list[Thread]:
        """Every active (not archived) thread of the guild, in one request."""
        return _threads(self.active_raw())[0]

    def list_archived_threads(self, channel_id: str) -> list[Thread]:
        """Every archived public thread of a channel, newest archive first (100 per request)."""
        out: list[Thread] = []
        get = route("GET", "/channels/{channel_id}/threads/archived/public", channel_id=channel_id)
        before: str | None = None
        while True:
            query = {"limit": str(L.ARCHIVED_THREADS_PAGE), **({"before": before} if before else {})}
            page, more = _threads(self._transport.request(get, query=query))
            out += page
            if not more or not page or page[-1].archive_timestamp in ("", before):
                return out
            before = page[-1].archive_timestamp

    def create_thread(self, channel_id: str, fields: Mapping[str, Any], *, reason: str | None = None,
                      dedupe: bool = False) -> Thread:
        """Start a thread in a text or announcement channel, or a post in a forum or media channel (the
        body then carries its first ``message``). ``dedupe``: after a failure the server may have
        processed, an active thread of that name in that channel is the one the first try made."""
        body = as_body(fields, "thread")
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise InvalidInput("A thread needs a name of 1-100 characters.")
        probe: Probe | None = None
        if dedupe:
            def probe() -> Any:
                raw = self.active_raw()
                items = raw.get("threads") if isinstance(raw, dict) else None
                return newest(t for t in (items or []) if isinstance(t, dict) and t.get("name") == name
                              and t.get("parent_id") == channel_id)

        post = route("POST", "/channels/{channel_id}/threads", channel_id=channel_id)
        return parse("thread", Thread.from_api, self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_thread(self, thread_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Thread:
        """PATCH a thread (``archived``, ``locked``, ``applied_tags``, ``auto_archive_duration`` …)."""
        patch = route("PATCH", "/channels/{channel_id}", channel_id=thread_id)
        body = as_body(fields, "thread")
        sub = thread_id if "name" in body else None
        return parse("thread", Thread.from_api, self._transport.request(patch, body=body, reason=reason, sub=sub))
