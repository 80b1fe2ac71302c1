"""The guild's audit log: one entry per change made through the API, with the request's reason.

Discord keeps an audit-log entry for each create, update and delete of a role, channel, webhook, emoji
or sticker, for each ban added or lifted (one per user of a bulk ban) and for each settings change,
with the ``X-Audit-Log-Reason`` the request carried. ``GET /guilds/{guild_id}/audit-logs`` lists them
newest first with Discord's filters (``user_id``, ``target_id``, ``action_type``, ``before``, ``after``,
``limit`` 1-100, default 50) in Discord's envelope (``audit_log_entries``, ``users`` and the empty
lists the spec requires). Entries are kept in memory (not in the data file), at most ``MAX_ENTRIES``.
"""

from __future__ import annotations

from typing import Any

from gaib.emulator.apierrors import FormErrors
from gaib.emulator.fields import parse_snowflake
from gaib.emulator.snowflake import SnowflakeGenerator
from gaib.emulator.stores.context import GuildContext

MAX_ENTRIES = 50_000
AUDIT_WORKER = 2
"""Entries get their snowflakes from a generator of their own (another worker id, as Discord's services
have), so logging a change never shifts the ids of the objects the guild makes."""
PAGE_MAX = 100
PAGE_DEFAULT = 50
BOT_USER_ID = "1100000000000000100"
"""The user id the emulator's bot acts as (what ``user_id`` of every entry names)."""

GUILD_UPDATE, CHANNEL_CREATE, CHANNEL_UPDATE, CHANNEL_DELETE = 1, 10, 11, 12
MEMBER_BAN_ADD, MEMBER_BAN_REMOVE = 22, 23
ROLE_CREATE, ROLE_UPDATE, ROLE_DELETE = 30, 31, 32
WEBHOOK_CREATE, WEBHOOK_DELETE = 50, 52
EMOJI_CREATE, EMOJI_UPDATE, EMOJI_DELETE = 60, 61, 62
STICKER_CREATE, STICKER_UPDATE, STICKER_DELETE = 90, 91, 92

#: (method, route template) -> (action type, where the target id is: a path parameter, "body" for the
#: created object's id, "guild" for the guild, "banned" for each user a bulk ban banned).
AUDITED: dict[tuple[str, str], tuple[int, str]] = {
    ("PATCH", "/guilds/{guild_id}"): (GUILD_UPDATE, "guild"),
    ("POST", "/guilds/{guild_id}/roles"): (ROLE_CREATE, "body"),
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}"): (ROLE_UPDATE, "role_id"),
    ("DELETE", "/guilds/{guild_id}/roles/{role_id}"): (ROLE_DELETE, "role_id"),
    ("POST", "/guilds/{guild_id}/channels"): (CHANNEL_CREATE, "body"),
    ("PATCH", "/channels/{channel_id}"): (CHANNEL_UPDATE, "channel_id"),
    ("DELETE", "/channels/{channel_id}"): (CHANNEL_DELETE, "channel_id"),
    ("POST", "/channels/{channel_id}/webhooks"): (WEBHOOK_CREATE, "body"),
    ("DELETE", "/webhooks/{webhook_id}"): (WEBHOOK_DELETE, "webhook_id"),
    ("POST", "/guilds/{guild_id}/emojis"): (EMOJI_CREATE, "body"),
    ("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}"): (EMOJI_UPDATE, "emoji_id"),
    ("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}"): (EMOJI_DELETE, "emoji_id"),
    ("POST", "/guilds/{guild_id}/stickers"): (STICKER_CREATE, "body"),
    ("PATCH", "/guilds/{guild_id}/stickers/{sticker_id}"): (STICKER_UPDATE, "sticker_id"),
    ("DELETE", "/guilds/{guild_id}/stickers/{sticker_id}"): (STICKER_DELETE, "sticker_id"),
    ("PUT", "/guilds/{guild_id}/bans/{user_id}"): (MEMBER_BAN_ADD, "user_id"),
    ("DELETE", "/guilds/{guild_id}/bans/{user_id}"): (MEMBER_BAN_REMOVE, "user_id"),
    ("POST", "/guilds/{guild_id}/bulk-ban"): (MEMBER_BAN_ADD, "banned"),
}
ACTION_TYPES = frozenset(action for action, _ in AUDITED.values())


def bot_user() -> dict[str, Any]:
    """The emulator's bot as Discord shows a user."""
    return {"id": BOT_USER_ID, "username": "gaib", "avatar": None, "discriminator": "0", "public_flags": 0,
            "flags": 0, "bot": True, "global_name": None, "primary_guild": None}


class AuditLog:
    """``entries``: oldest first, each ``{id, action_type, user_id, target_id, changes, reason?}``."""

    def __init__(self, ctx: GuildContext) -> None:
        self.ctx = ctx
        self.ids = SnowflakeGenerator(ctx.clock, worker=AUDIT_WORKER)
        self.entries: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.entries = []

    def record(self, method: str, template: str, params: dict[str, str], body: Any, reason: str | None) -> None:
        """Log a change the API just made (a route :data:`AUDITED` does not name is ignored)."""
        found = AUDITED.get((method, template))
        if found is None:
            return
        action, where = found
        if where == "body":
            targets = [str(body["id"])] if isinstance(body, dict) and "id" in body else []
        elif where == "banned":
            raw = body.get("banned_users") if isinstance(body, dict) else None
            targets = [str(u) for u in raw] if isinstance(raw, list) else []
        elif where == "guild":
            targets = [self.ctx.guild_id]
        else:
            targets = [params[where]] if where in params else []
        for target in targets:
            entry: dict[str, Any] = {"id": self.ids.next(), "action_type": action, "user_id": BOT_USER_ID,
                                     "target_id": target, "changes": []}
            if reason:
                entry["reason"] = reason
            self.entries.append(entry)
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[:len(self.entries) - MAX_ENTRIES]

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        """The entries matching the query, newest first, in Discord's envelope."""
        errs = FormErrors()
        limit = PAGE_DEFAULT
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= PAGE_MAX:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {PAGE_MAX}.")
            else:
                limit = int(raw)
        numbers: dict[str, int] = {}
        for key in ("user_id", "target_id", "before", "after"):
            if key in query:
                value = parse_snowflake(query[key])
                if value is None:
                    errs.add((key,), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                else:
                    numbers[key] = value
        action: int | None = None
        if "action_type" in query:
            text = query["action_type"]
            if not text.isdigit():
                errs.add(("action_type",), "NUMBER_TYPE_COERCE", f'Value "{text[:20]}" is not int.')
            else:
                action = int(text)
        errs.raise_if_any()
        chosen = [e for e in self.entries
                  if (action is None or e["action_type"] == action)
                  and ("user_id" not in numbers or int(e["user_id"]) == numbers["user_id"])
                  and ("target_id" not in numbers or int(e["target_id"] or 0) == numbers["target_id"])
                  and ("before" not in numbers or int(e["id"]) < numbers["before"])
                  and ("after" not in numbers or int(e["id"]) > numbers["after"])]
        # Oldest first here: ``after`` pages forward from its id, everything else takes the newest.
        page = chosen[:limit] if "after" in numbers and "before" not in numbers else chosen[-limit:]
        return {"audit_log_entries": [dict(e) for e in reversed(page)],
                "users": [bot_user()] if page else [], "integrations": [], "webhooks": [],
                "guild_scheduled_events": [], "threads": [], "application_commands": [],
                "auto_moderation_rules": []}
