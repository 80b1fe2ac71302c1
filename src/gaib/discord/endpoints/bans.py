"""Ban endpoints: list, ban, bulk-ban and unban the users of a guild.

Contract: ``list_bans`` returns every ban, by user id, paging 1000 at a time; a ban deletes none of the
user's messages; ``bulk_ban`` takes 1-200 different user ids (InvalidInput otherwise, nothing sent) and,
when Discord answers that it could ban none of them (500000, what a retry of a processed request gets),
reads the bans: users all banned already are a success (``BulkBanResult.already``), else the error is
raised; unbanning a user who is not banned raises DiscordNotFound (a retried unban that finds the ban
gone succeeds, see the transport).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import Ban, BulkBanResult
from gaib.discord.endpoints.common import parse, parse_list, require_guild, route
from gaib.errors import DiscordError, InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Transport


BULK_BAN_FAILED = 500000
"""Discord's code for a bulk ban that banned nobody (every user banned already, or none bannable)."""


class Bans:
    """The bans of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_bans(self) -> list[Ban]:
        """Every ban, by user id: pages of 1000 (``after`` the last user id of the previous page)."""
        get = route("GET", "/guilds/{guild_id}/bans", guild_id=require_guild(self._guild_id))
        out: list[Ban] = []
        after: str | None = None
        while True:
            query = {"limit": str(L.BAN_PAGE), **({"after": after} if after else {})}
            page = parse_list("ban", Ban.from_api, self._transport.request(get, query=query))
            out.extend(page)
            if len(page) < L.BAN_PAGE:
                return sorted(out, key=lambda b: int(b.user_id))
            after = max(page, key=lambda b: int(b.user_id)).user_id

    def ban(self, user_id: str, *, reason: str | None = None) -> None:
        put = route("PUT", "/guilds/{guild_id}/bans/{user_id}", guild_id=require_guild(self._guild_id),
                    user_id=user_id)
        self._transport.request(put, body={"delete_message_seconds": 0}, reason=reason)

    def bulk_ban(self, user_ids: Sequence[str], *, reason: str | None = None) -> BulkBanResult:
        ids = [check_snowflake(u, "user id") for u in user_ids]
        if not 1 <= len(ids) <= L.BULK_BAN_MAX or len(set(ids)) != len(ids):
            raise InvalidInput(f"A bulk ban takes 1-{L.BULK_BAN_MAX} different user ids.")
        post = route("POST", "/guilds/{guild_id}/bulk-ban", guild_id=require_guild(self._guild_id))
        try:
            data = self._transport.request(post, body={"user_ids": ids, "delete_message_seconds": 0}, reason=reason)
        except DiscordError as exc:
            if exc.details.get("discord_code") != BULK_BAN_FAILED:
                raise
            banned = {b.user_id for b in self.list_bans()}
            if not set(ids) <= banned:
                raise
            return BulkBanResult(already=tuple(ids))

        def build(d: dict[str, Any]) -> BulkBanResult:
            return BulkBanResult(banned=tuple(str(x) for x in d["banned_users"]),
                                 failed=tuple(str(x) for x in d["failed_users"]))

        return parse("bulk ban", build, data)

    def unban(self, user_id: str, *, reason: str | None = None) -> None:
        delete = route("DELETE", "/guilds/{guild_id}/bans/{user_id}", guild_id=require_guild(self._guild_id),
                       user_id=user_id)
        self._transport.request(delete, body={}, reason=reason)  # the spec requires a (empty) body
