"""The guild's members: each one's roles, nickname and join time (users are shown from the user store).

Discord's rules kept here, each with its source:

* ``GET /guilds/{id}/members`` lists members by user id, ``limit`` 1-1000 (default 1) and ``after`` a
  user id (Discord's OpenAPI spec, ``list_guild_members``: limit minimum 1, maximum 1000; the default of 1
  is Discord's guild resource documentation, "List Guild Members").
* Without the GUILD_MEMBERS privileged intent (``intent`` False, ``--no-members-intent``) the list answers
  403 ``{"message": "Missing Access", "code": 50001}`` (NOTES.md §2 for the code; the answer bots get
  with the intent off is reported in discord/discord-api-docs#2174 and PR #8321, discordgo#820 and
  Discord.Net#1908: "Missing Access" 50001 until the Server Members intent is enabled). Reading or
  editing one member does not need the intent.
* ``PATCH /guilds/{id}/members/{user}`` takes ``nick`` (0-32 characters, null or "" clears it; spec
  ``maxLength 32``) and ``roles`` (at most 350 distinct role ids, spec ``maxItems 350, uniqueItems``);
  the answer is the member (200). An unknown member is 404 10007; an unknown role 404 10011; adding or
  removing a role at or above the bot's highest role is 403 50013 (Discord's permission hierarchy:
  a bot manages only roles below its highest role, NOTES.md "Permissions" and the Roles topic).
* The bot's highest role is the highest of the roles its own member (user id
  :data:`gaib.emulator.stores.audit.BOT_USER_ID`) holds; while the bot is not a member of the
  emulated guild it is treated as holding a role above every other (everything is assignable).
* ``DELETE /guilds/{id}/members/{user}`` removes (kicks) a member: 204, 10007 when not a member.
* Deleting a role takes it away from every member (:class:`gaib.emulator.guild.GuildState`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import Fields, parse_snowflake, require_object
from gaib.emulator.stores.audit import BOT_USER_ID
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.messages import stamp
from gaib.emulator.stores.records import DataFileError
from gaib.emulator.stores.roles import RoleStore
from gaib.emulator.stores.users import UserStore

UNKNOWN_MEMBER = 10007
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
MEMBER_PAGE = 1000
MEMBER_PAGE_DEFAULT = 1
MAX_NICK = 32
MAX_MEMBER_ROLES = 350


@dataclass
class MemberRec:
    roles: list[str] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"roles": list(self.roles), "nick": self.nick, "joined_at": self.joined_at}

    @classmethod
    def from_json(cls, data: Any) -> MemberRec:
        try:
            roles = [str(r) for r in data["roles"]]
            nick = data.get("nick")
            return cls(roles=roles, nick=str(nick) if nick is not None else None, joined_at=str(data["joined_at"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataFileError(f"malformed member ({type(exc).__name__})") from None


class MemberStore:
    """``by_id`` maps each member's user id to its roles and nickname; ``intent`` is whether the bot has
    the GUILD_MEMBERS intent (a setting of the emulator, kept across resets)."""

    def __init__(self, ctx: GuildContext, users: UserStore, roles: RoleStore, *, intent: bool = True) -> None:
        self.ctx = ctx
        self.users = users
        self.roles = roles
        self.intent = intent
        self.by_id: dict[str, MemberRec] = {}

    def reset(self) -> None:
        self.by_id = {}

    def _api_object(self, user_id: str) -> dict[str, Any]:
        rec = self.by_id[user_id]
        return {"user": self.users.api_object(user_id), "roles": list(rec.roles), "nick": rec.nick,
                "avatar": None, "banner": None, "communication_disabled_until": None, "flags": 0,
                "joined_at": rec.joined_at, "pending": False, "premium_since": None, "mute": False, "deaf": False}

    def _find(self, user_id: str) -> MemberRec:
        rec = self.by_id.get(user_id)
        if rec is None:
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member")
        return rec

    def listing(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Members by user id; ``limit`` 1-1000 (default 1), ``after`` a user id; 403 50001 without the intent."""
        if not self.intent:
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        errs = FormErrors()
        limit = MEMBER_PAGE_DEFAULT
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= MEMBER_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {MEMBER_PAGE}.")
            else:
                limit = int(raw)
        after = 0
        if "after" in query:
            value = parse_snowflake(query["after"])
            if value is None and query["after"] != "0":
                errs.add(("after",), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
            else:
                after = value or 0
        errs.raise_if_any()
        ids = [u for u in sorted(self.by_id, key=int) if int(u) > after]
        return [self._api_object(u) for u in ids[:limit]]

    def get(self, user_id: str) -> dict[str, Any]:
        self._find(user_id)
        return self._api_object(user_id)

    def bot_top(self) -> int | None:
        """The position of the bot's highest role (None: the bot is not a member, nothing is above it)."""
        bot = self.by_id.get(BOT_USER_ID)
        if bot is None:
            return None
        return max((self.roles.by_id[r].position for r in bot.roles if r in self.roles.by_id), default=0)

    def update(self, user_id: str, body: Any) -> dict[str, Any]:
        """PATCH a member's ``nick`` and ``roles`` (see the module docstring)."""
        rec = self._find(user_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        nick = f.string("nick", 0, MAX_NICK)
        roles = f.array("roles", MAX_MEMBER_ROLES)
        wanted: list[str] | None = None
        if isinstance(roles, list):
            wanted = []
            for i, rid in enumerate(roles):
                number = parse_snowflake(rid)
                if number is None or isinstance(rid, int):
                    errs.add(("roles", i), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                elif str(number) in wanted:
                    errs.add(("roles",), "ARRAY_ITEM_VALUE_ALREADY_EXISTS", "The specified item already exists.")
                else:
                    wanted.append(str(number))
        errs.raise_if_any()
        if wanted is not None:
            wanted = [r for r in wanted if r != self.ctx.guild_id]  # @everyone is implied
            for rid in wanted:
                self.roles.find(rid)  # 10011
            top = self.bot_top()
            changed = set(wanted) ^ set(rec.roles)
            if top is not None and any(self.roles.by_id[r].position >= top for r in changed if r in self.roles.by_id):
                raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
        if wanted is not None:
            rec.roles = sorted(wanted, key=int)
        if isinstance(nick, str) or nick is None:
            rec.nick = nick or None
        self.ctx.changed()
        return self._api_object(user_id)

    def remove(self, user_id: str) -> None:
        """Kick a member (``DELETE /guilds/{id}/members/{user}``, 204); 10007 when not a member."""
        self._find(user_id)
        del self.by_id[user_id]
        self.ctx.changed()

    def forget_role(self, role_id: str) -> None:
        """A deleted role leaves every member who held it."""
        for rec in self.by_id.values():
            if role_id in rec.roles:
                rec.roles.remove(role_id)

    def seed(self, data: Any) -> int:
        """Control route: ``{"members": [{"id", "username", "roles": [...], "nick"}]}`` join the guild (or
        replace the member of that id); roles must exist. Nothing changes when one item is refused."""
        items = data.get("members") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise form_error(("members",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errs = FormErrors()
        staged: list[tuple[str, MemberRec]] = []
        users: list[tuple[str, dict[str, Any]]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add(("members", i), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            f = Fields(item, errs, ("members", i))
            uid = f.snowflake("id", required=True)
            username = f.string("username", 1, 32, required=True, nullable=False)
            nick = f.string("nick", 0, MAX_NICK)
            roles = f.array("roles", MAX_MEMBER_ROLES)
            role_ids = [str(r) for r in roles] if isinstance(roles, list) else []
            for r in role_ids:
                if r not in self.roles.by_id or r == self.ctx.guild_id:
                    errs.add(("members", i, "roles"), "UNKNOWN_ROLE", f"Unknown role {r[:24]}.")
            if isinstance(uid, str) and isinstance(username, str):
                users.append((uid, {"username": username, "global_name": None, "avatar": None,
                                    "bot": uid == BOT_USER_ID}))
                staged.append((uid, MemberRec(roles=sorted(set(role_ids), key=int),
                                              nick=nick if isinstance(nick, str) and nick else None,
                                              joined_at=stamp(self.ctx.clock()))))
        errs.raise_if_any()
        for uid, user in users:
            self.users.by_id[uid] = user
        for uid, rec in staged:
            self.by_id[uid] = rec
        self.ctx.changed()
        return len(staged)
