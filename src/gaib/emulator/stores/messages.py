"""Channel message history: what webhooks posted and what members wrote (seeded by a control route).

Messages are listed newest first, at most 100 per request (default 50), around/before/after a
message id; only text, voice, announcement and stage channels have a history (50024 otherwise,
404 10003 for an unknown channel). A webhook message pings only what its ``allowed_mentions``
allows (everything when absent). ``posted`` keeps the bodies webhooks sent, per channel.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import Fields, parse_snowflake
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.records import ChannelRec, WebhookRec
from gaib.emulator.stores.roles import RoleStore
from gaib.emulator.stores.users import UserStore

MESSAGE_TYPES_WITH_HISTORY = frozenset({0, 2, 5, 13})
_MENTION_USER = re.compile(r"<@!?([0-9]{1,20})>")
_MENTION_ROLE = re.compile(r"<@&([0-9]{1,20})>")


def stamp(seconds: float) -> str:
    """A Unix time as Discord's ISO 8601 timestamp."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class MessageStore:
    """``history``: each channel's messages, oldest first; ``posted``: webhook bodies by channel."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore, roles: RoleStore, users: UserStore) -> None:
        self.ctx = ctx
        self.channels = channels
        self.roles = roles
        self.users = users
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self.is_thread: Callable[[str], bool] = lambda _id: False
        """Whether an id is a thread's (set by the guild): threads have a history too."""
        self.files: dict[str, bytes] = {}
        """Attachment bytes by CDN path (``attachments/{channel}/{attachment}/{filename}``), served by the
        emulator's CDN; kept in memory only (not in the data file)."""

    def reset(self) -> None:
        self.history = {}
        self.posted = {}
        self.files = {}

    def attach(self, channel_id: str, filename: str, data: bytes, content_type: str | None) -> dict[str, Any]:
        """Keep an uploaded file and return its attachment object (URL on Discord's CDN host, which the
        emulator's ``/cdn/attachments/…`` serves). File names are cut to the CDN's safe characters."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", filename)[:100] or "file"
        ident = self.ctx.ids.next()
        path = f"attachments/{channel_id}/{ident}/{safe}"
        self.files[path] = data
        return {"id": ident, "filename": safe, "size": len(data), "url": f"https://cdn.discordapp.com/{path}",
                "proxy_url": f"https://media.discordapp.net/{path}",
                **({"content_type": content_type} if content_type else {})}

    def _history_channel(self, channel_id: str) -> ChannelRec | None:
        if self.is_thread(channel_id):
            return None
        channel = self.channels.find(channel_id)
        if channel.type not in MESSAGE_TYPES_WITH_HISTORY:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        return channel

    def listing(self, channel_id: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Newest first; ``limit`` 1-100 (default 50); ``before``, ``after`` or ``around`` a message id."""
        self._history_channel(channel_id)
        errs = FormErrors()
        limit = 50
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= L.MESSAGE_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 1 and {L.MESSAGE_PAGE}.")
            else:
                limit = int(raw)
        anchor: tuple[str, int] | None = None
        for key in ("around", "before", "after"):
            if key in query:
                value = parse_snowflake(query[key])
                if value is None:
                    errs.add((key,), "NUMBER_TYPE_COERCE", "Value is not snowflake.")
                elif anchor is None:
                    anchor = (key, value)
        errs.raise_if_any()
        messages = self.history.get(channel_id, [])  # oldest first
        if anchor is None:
            chosen = messages[-limit:]
        elif anchor[0] == "before":
            chosen = [m for m in messages if int(m["id"]) < anchor[1]][-limit:]
        elif anchor[0] == "after":
            chosen = [m for m in messages if int(m["id"]) > anchor[1]][:limit]
        else:
            older = [m for m in messages if int(m["id"]) < anchor[1]]
            newer = [m for m in messages if int(m["id"]) >= anchor[1]]
            chosen = older[-(limit // 2):] + newer[:limit - min(len(older), limit // 2)] if limit > 1 else newer[:1]
        return [dict(m) for m in reversed(chosen)]

    def posted_to(self, channel_id: str) -> list[dict[str, Any]]:
        """Control route: the bodies webhooks posted into a channel (empty for any unknown id)."""
        return list(self.posted.get(channel_id, []))

    def _mentions(self, content: str, allowed: Any) -> tuple[bool, list[dict[str, Any]], list[str]]:
        """(mention_everyone, mentioned users, mentioned roles) that ``allowed_mentions`` lets ping."""
        parse: list[Any]
        if isinstance(allowed, dict):
            raw = allowed.get("parse")
            parse = raw if isinstance(raw, list) else []
            users_ok = {str(u) for u in allowed.get("users") or [] if isinstance(u, str | int)}
            roles_ok = {str(r) for r in allowed.get("roles") or [] if isinstance(r, str | int)}
        else:  # no allowed_mentions: everything in the content pings
            parse, users_ok, roles_ok = ["everyone", "users", "roles"], set(), set()
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        users = [u for u in dict.fromkeys(_MENTION_USER.findall(content)) if "users" in parse or u in users_ok]
        roles = [r for r in dict.fromkeys(_MENTION_ROLE.findall(content))
                 if r in self.roles and ("roles" in parse or r in roles_ok)]
        return everyone, [self.users.api_object(u) for u in users], roles

    def record_webhook_message(self, hook: WebhookRec, data: dict[str, Any], message: dict[str, Any]) -> None:
        """A webhook message joins its channel's history; sets its mentions in ``message`` itself."""
        everyone, users, roles = self._mentions(message["content"], data.get("allowed_mentions"))
        message.update(mention_everyone=everyone, mentions=users, mention_roles=roles)
        avatar = data.get("avatar_url")
        stored = {**message, "author": {**message["author"]}}
        self.history.setdefault(message["channel_id"], []).append(stored)
        self.posted.setdefault(message["channel_id"], []).append(
            {**data, "id": message["id"], "avatar_url": avatar if isinstance(avatar, str) else None})

    def seed(self, channel_id: str, items: Any) -> list[dict[str, Any]]:
        """Control route: messages written by members (oldest first), appended to a channel's history."""
        self._history_channel(channel_id)
        if not isinstance(items, list):
            raise form_error((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        errs = FormErrors()
        staged: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            uid = self.users.remember(item.get("author"), (i, "author"), errs)
            f = Fields(item, errs, (i,))
            content = f.string("content", 0, 4000)
            embeds = f.array("embeds", 10)
            attachments = f.array("attachments", 10)
            if uid is None:
                continue
            staged.append({"uid": uid, "content": content if isinstance(content, str) else "",
                           "embeds": [e for e in embeds if isinstance(e, dict)] if isinstance(embeds, list) else [],
                           "attachments": attachments if isinstance(attachments, list) else []})
        errs.raise_if_any()
        out = [self._seeded(channel_id, item) for item in staged]
        self.ctx.changed()
        return out

    def _seeded(self, channel_id: str, item: dict[str, Any]) -> dict[str, Any]:
        message_id = self.ctx.ids.next()
        files = [self._attachment(channel_id, a) for a in item["attachments"] if isinstance(a, dict)]
        message = {
            "id": message_id, "type": 0, "content": item["content"], "channel_id": channel_id,
            "author": self.users.api_object(item["uid"]), "attachments": files,
            "embeds": [{"type": "rich", **e} for e in item["embeds"]], "mentions": [], "mention_roles": [],
            "pinned": False, "mention_everyone": False, "tts": False, "timestamp": stamp(self.ctx.clock()),
            "edited_timestamp": None, "flags": 0, "components": [],
        }
        self.history.setdefault(channel_id, []).append(message)
        return message

    def starter(self, thread_id: str, content: str, embeds: Any) -> dict[str, Any]:
        """A forum post's first message, by the bot; its id is the thread's (as on Discord)."""
        from gaib.emulator.stores.audit import BOT_USER_ID

        message = {
            "id": thread_id, "type": 0, "content": content, "channel_id": thread_id,
            "author": {**self.users.api_object(BOT_USER_ID), "username": "gaib", "bot": True}, "attachments": [],
            "embeds": [{"type": "rich", **e} for e in embeds if isinstance(e, dict)] if isinstance(embeds, list)
            else [], "mentions": [], "mention_roles": [], "pinned": False, "mention_everyone": False, "tts": False,
            "timestamp": stamp(self.ctx.clock()), "edited_timestamp": None, "flags": 0, "components": [],
        }
        self.history.setdefault(thread_id, []).append(message)
        return dict(message)

    def _attachment(self, channel_id: str, a: dict[str, Any]) -> dict[str, Any]:
        """A seeded attachment: with ``data`` (base64) the file is kept and served by the CDN; else only
        its ``url`` is shown (a link the CDN does not serve)."""
        kind = a["content_type"] if isinstance(a.get("content_type"), str) else None
        if isinstance(a.get("data"), str):
            try:
                data = base64.b64decode(a["data"], validate=True)
            except (binascii.Error, ValueError):
                raise form_error(("attachments", "data"), "BASE_TYPE_INVALID", "Not base64.") from None
            return self.attach(channel_id, str(a.get("filename") or "file"), data, kind)
        return {"id": self.ctx.ids.next(), "filename": str(a.get("filename") or "file"),
                "size": int(a.get("size") or 0),
                "url": str(a.get("url") or f"https://cdn.discordapp.com/attachments/{channel_id}/x/file"),
                "proxy_url": str(a.get("url") or "https://media.discordapp.net/attachments/x"),
                **({"content_type": kind} if kind else {})}

    def forget_channel(self, channel_id: str) -> None:
        """Part of deleting a channel: its history goes with it."""
        self.history.pop(channel_id, None)
        self.posted.pop(channel_id, None)
