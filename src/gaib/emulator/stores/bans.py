"""The guild's bans: a reason (or None) by user id.

Discord's rules kept here: bans listed by user id in pages of 1-1000 (default 1000) with
``after``/``before``; ``delete_message_seconds`` up to 7 days; bulk bans of at most 200 distinct
ids answering ``{banned_users, failed_users}`` and 500000 when none could be banned; banning a
banned user changes nothing; unknown bans raise 404 10026.
"""

from __future__ import annotations

from typing import Any

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import MISSING, Fields, parse_snowflake, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.users import UserStore


class BanStore:
    """``reasons`` maps each banned user id to the ban's reason; users are shown from ``users``."""

    def __init__(self, ctx: GuildContext, users: UserStore) -> None:
        self.ctx = ctx
        self.users = users
        self.reasons: dict[str, str | None] = {}

    def reset(self) -> None:
        self.reasons = {}

    def _api_object(self, user_id: str) -> dict[str, Any]:
        return {"user": self.users.api_object(user_id), "reason": self.reasons[user_id]}

    def listing(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Bans by user id; ``limit`` 1-1000 (default 1000), ``after``/``before`` a user id."""
        errs = FormErrors()
        limit = L.BAN_PAGE
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= L.BAN_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {L.BAN_PAGE}.")
            else:
                limit = int(raw)
        bounds = {}
        for key in ("after", "before"):
            if key in query:
                value = parse_snowflake(query[key])
                if value is None:
                    errs.add((key,), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                else:
                    bounds[key] = value
        errs.raise_if_any()
        ids = sorted(self.reasons, key=int)
        if "after" in bounds:
            ids = [u for u in ids if int(u) > bounds["after"]]
        if "before" in bounds:
            ids = [u for u in ids if int(u) < bounds["before"]][-limit:]
        return [self._api_object(u) for u in ids[:limit]]

    def get(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.reasons:
            raise E.unknown(E.UNKNOWN_BAN)
        return self._api_object(user_id)

    @staticmethod
    def _delete_seconds(data: dict[str, Any], errs: FormErrors) -> None:
        f = Fields(data, errs)
        f.integer("delete_message_seconds", 0, 604800)
        f.integer("delete_message_days", 0, 7)

    def ban(self, user_id: str, body: Any, reason: str | None) -> None:
        errs = FormErrors()
        self._delete_seconds(require_object(body), errs)
        errs.raise_if_any()
        if user_id not in self.reasons:
            self.reasons[user_id] = reason
            self.ctx.changed()

    def bulk_ban(self, body: Any, reason: str | None) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        users = f.array("user_ids", L.BULK_BAN_MAX)
        self._delete_seconds(data, errs)
        if users is MISSING or users is None:
            errs.add(("user_ids",), "BASE_TYPE_REQUIRED", "This field is required")
        ids: list[str] = []
        for i, uid in enumerate(users if isinstance(users, list) else []):
            number = parse_snowflake(uid)
            if number is None or isinstance(uid, int):
                errs.add(("user_ids", i), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
            elif str(number) in ids:
                errs.add(("user_ids",), "ARRAY_ITEM_VALUE_ALREADY_EXISTS", "The specified item already exists.")
            else:
                ids.append(str(number))
        errs.raise_if_any()
        banned = [u for u in ids if u not in self.reasons]
        failed = [u for u in ids if u in self.reasons]
        if not banned:
            raise ApiError(400, E.BULK_BAN_FAILED, "Failed to ban users")
        for uid in banned:
            self.reasons[uid] = reason
        self.ctx.changed()
        return {"banned_users": banned, "failed_users": failed}

    def unban(self, user_id: str) -> None:
        if user_id not in self.reasons:
            raise E.unknown(E.UNKNOWN_BAN)
        del self.reasons[user_id]
        self.ctx.changed()

    def seed(self, items: Any) -> int:
        """Control route: ``[{"user": {...}, "reason"}]`` banned at once (and the users made known)."""
        if not isinstance(items, list):
            raise form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errs = FormErrors()
        staged: list[tuple[str, str | None]] = []
        for i, item in enumerate(items):
            uid = self.users.remember(item.get("user") if isinstance(item, dict) else None, (i, "user"), errs)
            reason = item.get("reason") if isinstance(item, dict) else None
            if uid is not None:
                staged.append((uid, reason if isinstance(reason, str) else None))
        errs.raise_if_any()
        for uid, reason in staged:
            self.reasons[uid] = reason
        self.ctx.changed()
        return len(staged)
