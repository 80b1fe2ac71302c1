"""The guild's webhooks and what was posted through each.

Discord's rules kept here: at most 15 webhooks per channel (30007), none on a category (50024);
names of 1-80 characters without "clyde" or "discord"; executing needs the webhook's token (404
10015 for an unknown id or a wrong token, compared in constant time) and something to send (50006);
``thread_id`` posts into a thread of the webhook's channel (see
:meth:`gaib.emulator.stores.threads.ThreadStore.accepting`); into a forum or media channel a webhook
posts only with ``thread_id`` (220001: the emulator does not create posts from ``thread_name``). A
posted message joins its
channel's history (:class:`~gaib.emulator.stores.messages.MessageStore`); ``sent`` keeps each
webhook's bodies, also after the webhook is deleted (not after its channel is).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import Fields, require_object
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.embeds import check_embeds, check_webhook_name
from gaib.emulator.stores.messages import MessageStore, stamp
from gaib.emulator.stores.records import CATEGORY, POST_TYPES, WebhookRec

MAX_WEBHOOKS_PER_CHANNEL = 15
FORUM_NEEDS_THREAD = 220001


def _no_threads(thread_id: str, channel_id: str) -> str:
    raise E.unknown(E.UNKNOWN_CHANNEL)


class WebhookStore:
    """``by_id``: the webhooks; ``sent``: the bodies posted through each webhook id."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore, messages: MessageStore) -> None:
        self.ctx = ctx
        self.channels = channels
        self.messages = messages
        self.by_id: dict[str, WebhookRec] = {}
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.thread_target: Callable[[str, str], str] = _no_threads
        """(thread id, webhook channel) → the thread a message goes to (set by the guild: the thread store)."""

    def reset(self) -> None:
        self.by_id = {}
        self.sent = {}

    def tokens(self) -> Iterator[str]:
        """Every webhook's token (secrets the server keeps out of logs and recordings)."""
        return (h.token for h in self.by_id.values())

    def create(self, channel_id: str, body: Any, base_url: str) -> dict[str, Any]:
        channel = self.channels.find(channel_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        name = f.string("name", 1, 80, required=True, nullable=False)
        f.string("avatar", 0, 10_000_000)
        if isinstance(name, str):
            check_webhook_name(errs, ("name",), name)
        errs.raise_if_any()
        if channel.type == CATEGORY:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        if sum(1 for h in self.by_id.values() if h.channel_id == channel_id) >= MAX_WEBHOOKS_PER_CHANNEL:
            raise ApiError(400, E.MAX_WEBHOOKS, f"Maximum number of webhooks reached ({MAX_WEBHOOKS_PER_CHANNEL})")
        hook = WebhookRec(id=self.ctx.ids.next(), token=secrets.token_urlsafe(51), channel_id=channel_id,
                          name=str(name))
        self.by_id[hook.id] = hook
        self.sent[hook.id] = []
        self.ctx.changed()
        return hook.to_api(self.ctx.guild_id, base_url)

    def listing(self, channel_id: str, base_url: str) -> list[dict[str, Any]]:
        """The channel's webhooks, as Discord lists them to a bot with Manage Webhooks (incoming webhooks
        with their token and URL); 404 10003 for an unknown channel."""
        self.channels.find(channel_id)
        return [h.to_api(self.ctx.guild_id, base_url) for h in sorted(self.by_id.values(), key=lambda h: int(h.id))
                if h.channel_id == channel_id]

    def find(self, webhook_id: str, token: str) -> WebhookRec:
        """The webhook with this id and token; 404 10015 for an unknown id or a wrong token."""
        hook = self.by_id.get(webhook_id)
        if hook is None or not secrets.compare_digest(hook.token.encode(), token.encode()):
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        return hook

    def execute(self, webhook_id: str, token: str, body: Any, thread_id: str | None) -> dict[str, Any]:
        """Post a message; returns it as a MessageResponse. 50006 when there is nothing to send."""
        hook = self.find(webhook_id, token)
        data, uploads = _form(body)
        errs = FormErrors()
        f = Fields(data, errs)
        content = f.string("content", 0, 2000)
        username = f.string("username", 1, 80)
        if isinstance(username, str):
            check_webhook_name(errs, ("username",), username)
        f.string("avatar_url", 0, 2048)
        f.string("thread_name", 0, 100)
        tts = f.boolean("tts")
        flags = f.integer("flags", 0, 2**31 - 1)
        f.obj("allowed_mentions")
        f.obj("poll")
        components = f.array("components", 40)
        attachments = f.array("attachments", 10)
        embeds = f.array("embeds", 10)
        shown_embeds = check_embeds(errs, embeds) if isinstance(embeds, list) else []
        errs.raise_if_any()
        has_content = isinstance(content, str) and content.strip() != ""
        if not (has_content or shown_embeds or components or attachments or uploads
                or isinstance(data.get("poll"), dict)):
            raise ApiError(400, E.EMPTY_MESSAGE, "Cannot send an empty message")
        if thread_id is not None:
            target = self.thread_target(thread_id, hook.channel_id)
        elif self.channels.find(hook.channel_id).type in POST_TYPES:
            raise ApiError(400, FORUM_NEEDS_THREAD,
                           "Webhooks posted to forum channels must have a thread_name or thread_id")
        else:
            target = hook.channel_id
        message_id = self.ctx.ids.next()
        when = stamp(self.ctx.clock())
        message: dict[str, Any] = {
            "id": message_id, "type": 0, "content": content if isinstance(content, str) else "",
            "channel_id": target, "webhook_id": hook.id,
            "author": {"id": hook.id, "username": username if isinstance(username, str) else hook.name,
                       "avatar": None, "discriminator": "0000", "public_flags": 0, "flags": 0, "bot": True,
                       "global_name": None, "primary_guild": None},
            "attachments": self._uploads(hook.channel_id, uploads, attachments), "embeds": shown_embeds,
            "mentions": [], "mention_roles": [],
            "pinned": False, "mention_everyone": False, "tts": tts is True, "timestamp": when,
            "edited_timestamp": None, "flags": flags if isinstance(flags, int) else 0, "components": [],
        }
        stored = {**data, "id": message_id, "timestamp": when, "webhook_id": hook.id, "channel_id": target}
        self.sent.setdefault(hook.id, []).append(stored)
        self.messages.record_webhook_message(hook, data, message)
        self.ctx.changed()
        return message

    def _uploads(self, channel_id: str, uploads: dict[int, bytes], described: Any) -> list[dict[str, Any]]:
        """The message's attachments: each ``files[n]`` under the ``filename`` its ``attachments`` entry
        (``{"id": n, "filename"}``) gives."""
        names = {int(a["id"]): str(a.get("filename") or "") for a in described or ()
                 if isinstance(a, dict) and str(a.get("id", "")).isdigit()} if isinstance(described, list) else {}
        return [self.messages.attach(channel_id, names.get(n) or f"file{n}", data, None)
                for n, data in sorted(uploads.items())]

    def delete(self, webhook_id: str) -> None:
        """Delete a webhook (10015 if unknown); what it posted stays in the channel and in ``sent``."""
        if webhook_id not in self.by_id:
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        del self.by_id[webhook_id]
        self.ctx.changed()

    def sent_by(self, webhook_id: str) -> list[dict[str, Any]]:
        """Control route: what was posted through a webhook; 404 10015 for an unknown one (one deleted
        with its channel included)."""
        if webhook_id not in self.by_id and webhook_id not in self.sent:
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        return list(self.sent.get(webhook_id, []))

    def forget_channel(self, channel_id: str) -> None:
        """Part of deleting a channel: its webhooks go, with what they posted."""
        for hook_id in [h.id for h in self.by_id.values() if h.channel_id == channel_id]:
            del self.by_id[hook_id]
            self.sent.pop(hook_id, None)


_FILE_FIELD = re.compile(r"files\[([0-9])\]")


def _form(body: Any) -> tuple[dict[str, Any], dict[int, bytes]]:
    """A webhook post's JSON fields and uploaded files: a JSON body, or ``multipart/form-data`` with the
    fields in ``payload_json`` and the files as ``files[n]`` (at most 10, Discord's limit per message)."""
    if not isinstance(body, dict) or ("payload_json" not in body and not any(
            isinstance(v, bytes) for v in body.values())):
        return require_object(body), {}
    raw = body.get("payload_json", "{}")
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.")
    uploads = {}
    for key, value in body.items():
        match = _FILE_FIELD.fullmatch(key)
        if match and isinstance(value, bytes):
            uploads[int(match.group(1))] = value
    return data, uploads
