"""Member endpoints: list the guild's members and edit one member's roles and nickname.

Contract: ``list_members`` returns every member, by user id, paging 1000 at a time (``after`` the last
user id of the previous page); without the GUILD_MEMBERS privileged intent Discord answers 403 with code
50001, raised as :class:`MembersIntentMissing` (a DiscordPermissionError) so callers can tell it from
other refusals. ``edit_member`` sends one PATCH carrying the whole role list and/or the nickname (a
nickname over 32 characters is InvalidInput, nothing sent); an unknown member raises DiscordNotFound, a
role at or above the bot's highest role DiscordPermissionError (Discord's 50013). ``bot_user_id`` reads
the bot's own user id (``GET /users/@me``), which finds the bot's member and so its highest role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.community import Member
from gaib.discord.endpoints.common import as_body, parse, parse_list, require_guild, route
from gaib.errors import DiscordPermissionError, InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Transport


class MembersIntentMissing(DiscordPermissionError):
    """Discord refused the member list: the bot lacks the Server Members (GUILD_MEMBERS) intent."""

    code = "DISCORD_MEMBERS_INTENT_MISSING"
    default_hint = ("Enable the Server Members Intent in the Discord developer portal (your application, "
                    "Bot, Privileged Gateway Intents).")


class Members:
    """The members of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_members(self) -> list[Member]:
        """Every member, by user id: pages of 1000. MembersIntentMissing without the intent."""
        get = route("GET", "/guilds/{guild_id}/members", guild_id=require_guild(self._guild_id))
        out: list[Member] = []
        after = "0"
        while True:
            try:
                data = self._transport.request(get, query={"limit": str(L.MEMBER_PAGE), "after": after})
            except DiscordPermissionError as exc:
                if exc.details.get("discord_code") == L.MISSING_ACCESS:
                    raise MembersIntentMissing(
                        "Discord refused to list the server's members (Missing Access): the bot lacks the "
                        "Server Members intent.", details=exc.details) from None
                raise
            page = parse_list("member", Member.from_api, data)
            out.extend(page)
            if len(page) < L.MEMBER_PAGE:
                return sorted(out, key=lambda m: int(m.user_id))
            after = max(page, key=lambda m: int(m.user_id)).user_id

    def bot_user_id(self) -> str:
        """The bot's own user id (``GET /users/@me``)."""
        data = self._transport.request(route("GET", "/users/@me"))
        return parse("user", lambda d: check_snowflake(str(d["id"]), "user id"), data)

    def edit_member(self, user_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Member:
        """PATCH ``roles`` (the whole list of role ids) and/or ``nick`` (None clears it) of one member."""
        body = as_body(fields, "member")
        unknown = sorted(set(body) - {"roles", "nick"})
        if unknown:
            raise InvalidInput(f"A member edit takes roles and nick, not {', '.join(unknown)[:80]}.")
        if "roles" in body:
            body["roles"] = sorted({check_snowflake(r, "role id") for r in body["roles"]}, key=int)
        nick = body.get("nick")
        if nick is not None and (not isinstance(nick, str) or len(nick) > L.NICK_MAX):
            raise InvalidInput(f"A nickname is a text of at most {L.NICK_MAX} characters.")
        patch = route("PATCH", "/guilds/{guild_id}/members/{user_id}", guild_id=require_guild(self._guild_id),
                      user_id=user_id)
        return parse("member", Member.from_api, self._transport.request(patch, body=body, reason=reason))
