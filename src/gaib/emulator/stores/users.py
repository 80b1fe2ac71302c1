"""The users the emulator knows (seeded with bans and channel messages) and Discord's user object.

A user never seen gets a made-up username (``user`` and the last six digits of the id).
"""

from __future__ import annotations

from typing import Any

from gaib.emulator.apierrors import FormErrors
from gaib.emulator.fields import Fields


class UserStore:
    """Known users by id: ``{"username", "global_name", "avatar", "bot"}``."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.by_id = {}

    def api_object(self, user_id: str) -> dict[str, Any]:
        """The user as Discord shows it (a made-up name for users the emulator never saw)."""
        known = self.by_id.get(user_id, {})
        return {"id": user_id, "username": known.get("username") or f"user{user_id[-6:]}",
                "avatar": known.get("avatar"), "discriminator": "0", "public_flags": 0, "flags": 0,
                "bot": bool(known.get("bot", False)), "global_name": known.get("global_name"), "primary_guild": None}

    def remember(self, data: Any, path: tuple[str | int, ...], errs: FormErrors) -> str | None:
        """Read a user object of a seeding request and remember it at once; its id, or None with the
        problems in ``errs``. Users are remembered even if another item of the same request is refused."""
        if not isinstance(data, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return None
        f = Fields(data, errs, path)
        uid = f.snowflake("id", required=True)
        username = f.string("username", 1, 32, required=True, nullable=False)
        global_name = f.string("global_name", 1, 32)
        avatar = f.string("avatar", 1, 64)
        bot = f.boolean("bot")
        if not isinstance(uid, str) or not isinstance(username, str):
            return None
        self.by_id[uid] = {"username": username,
                           "global_name": global_name if isinstance(global_name, str) else None,
                           "avatar": avatar if isinstance(avatar, str) else None, "bot": bot is True}
        return uid
