"""Webhook endpoints: list and create a channel's incoming webhooks, post through a webhook URL, delete a
webhook.

Contract: a webhook's ``url`` and ``token`` are secrets; ``execute_webhook`` sends without the bot token,
keeps to the channel's 30 messages per minute, never shows the URL in errors or logs, and never calls a
webhook again once it answered 404 or 401 (DiscordNotFound, nothing sent). A URL that is not a Discord
webhook URL raises InvalidInput. With ``dedupe``, a create or a post retried after a failure the server
may have processed first looks for what the first try made (the newest webhook of that name in the
channel; the message this webhook posted with the same content and name after ``dedupe_after``) and
returns it instead of sending again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.endpoints.common import as_body, newest, parse, parse_list, route
from gaib.discord.models import Webhook
from gaib.discord.ratelimit import Route
from gaib.errors import DiscordNotFound, InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport

#: Reads raw messages of a channel newer than a message id (oldest first): what a post's probe looks at.
MessagesAfter = Callable[[str, str], list[dict[str, Any]]]

_WEBHOOK_URL_RE = re.compile(r"(https?://[^/?#\s]+(?:/[^?#\s]*?)?)/webhooks/([0-9]{1,20})/([A-Za-z0-9_.\-]{1,200})/?")


class Webhooks:
    """Incoming webhooks, through ``transport``."""

    def __init__(self, transport: Transport, messages_after: MessagesAfter | None = None) -> None:
        self._transport = transport
        self._messages_after = messages_after

    def _build(self, data: dict[str, Any]) -> Webhook:
        return Webhook.from_api(data, base_url=self._transport.base_url)

    def list_raw(self, channel_id: str) -> Any:
        get = route("GET", "/channels/{channel_id}/webhooks", channel_id=channel_id)
        return self._transport.request(get)

    def list_webhooks(self, channel_id: str) -> list[Webhook]:
        """The channel's webhooks, oldest first (incoming ones with their secret token and URL)."""
        hooks = parse_list("webhook", self._build, self.list_raw(channel_id))
        return sorted(hooks, key=lambda h: int(h.id))

    def create_webhook(self, channel_id: str, name: str, *, reason: str | None = None,
                       dedupe: bool = False) -> Webhook:
        """Create an incoming webhook in a channel; the returned Webhook's ``url`` is a secret.

        ``dedupe=True``: after a failure the server may have processed, the channel's webhooks are
        listed and the newest named ``name`` is returned instead of POSTing again (use it only when no
        other webhook of the channel has that name)."""
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise InvalidInput("A webhook name must be 1-80 characters.")
        post = route("POST", "/channels/{channel_id}/webhooks", channel_id=channel_id)
        probe: Probe | None = None
        if dedupe:
            def probe() -> Any:
                return newest(h for h in (self.list_raw(channel_id) or [])
                              if isinstance(h, dict) and h.get("name") == name and h.get("token"))

        data = self._transport.request(post, body={"name": name}, reason=reason, probe=probe)
        return parse("webhook", self._build, data)

    def execute_webhook(self, url: str, payload: Mapping[str, Any], *, wait: bool = False,
                        dedupe_channel: str | None = None, dedupe_after: str | None = None,
                        thread_id: str | None = None, files: Sequence[tuple[str, bytes]] = ()) -> Any:
        """POST ``payload`` (``content``/``embeds``/…) to a webhook URL, without the bot token; with
        ``thread_id`` into that thread of the webhook's channel (``dedupe_channel`` is then the thread).

        Returns None (204), or the created message when ``wait=True``. An unversioned ``…/api/webhooks``
        URL is sent to ``…/api/v10/webhooks``. A webhook that answered 404 (or 401, a bad webhook
        token) is never called again: DiscordNotFound is raised without a request. The URL is never
        shown in errors or logs. ``files`` (file name, bytes; at most 10) are uploaded with the message as
        ``multipart/form-data`` (``payload_json`` and ``files[n]``, each described in ``attachments``).
        """
        match = _WEBHOOK_URL_RE.fullmatch(url.strip()) if isinstance(url, str) else None
        if match is None:
            raise InvalidInput("Not a Discord webhook URL (expected https://…/webhooks/<id>/<token>).")
        root, webhook_id, token = match.groups()
        if root.endswith("/api"):
            root += "/v10"
        post = Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                     {"webhook_id": webhook_id, "webhook_token": token})
        if self._transport.webhook_is_dead(webhook_id):
            raise DiscordNotFound(f"Not calling webhook {webhook_id}: it answered 404 or 401 before.",
                                  hint="Create a new webhook and update the notification settings.",
                                  details={"route": post.display})
        body = as_body(payload, "webhook message")
        probe: Probe | None = None
        if dedupe_channel is not None:
            if not wait or self._messages_after is None:
                raise InvalidInput("A deduplicated webhook post needs wait=True.")
            channel = check_snowflake(dedupe_channel, "channel id")
            after = check_snowflake(dedupe_after, "message id") if dedupe_after is not None else channel
            probe = self._post_probe(webhook_id, channel, after, body)
        if len(files) > L.MESSAGE_FILES_MAX:
            raise InvalidInput(f"A webhook message carries at most {L.MESSAGE_FILES_MAX} files.")
        form = None
        if files:
            described = {**body, "attachments": [{"id": n, "filename": name} for n, (name, _) in enumerate(files)]}
            form = {f"files[{n}]": (name, data, "application/octet-stream") for n, (name, data) in enumerate(files)}
            body = {"payload_json": json.dumps(described, separators=(",", ":"), ensure_ascii=False)}
        # Also paced by the channel's 30-per-minute webhook limit (no header shows it; one webhook per
        # channel stands for the channel).
        query = {"wait": "true"} if wait else {}
        if thread_id is not None:
            query["thread_id"] = check_snowflake(thread_id, "thread id")
        return self._transport.request(post, body=body, url_root=root, query=query or None,
                                       sub=f"{L.WEBHOOK_SUB}{webhook_id}", probe=probe, files=form)

    def _post_probe(self, webhook_id: str, channel_id: str, after: str, body: Mapping[str, Any]) -> Probe:
        lister = self._messages_after
        assert lister is not None

        def probe() -> Any:
            for message in lister(channel_id, after):
                if message.get("webhook_id") == webhook_id and same_post(message, body):
                    return message
            return None

        return probe

    def delete_webhook(self, webhook_id: str, *, reason: str | None = None) -> None:
        """Delete a webhook (DiscordNotFound when it does not exist; a retried delete that finds it gone
        succeeds, see the transport)."""
        delete = route("DELETE", "/webhooks/{webhook_id}", webhook_id=webhook_id)
        self._transport.request(delete, reason=reason)


def same_post(message: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether ``message`` (as Discord shows it) is what posting ``body`` through a webhook makes: the same
    content (Discord trims surrounding whitespace), the same display name and as many embeds."""
    author = message.get("author")
    name = author.get("username") if isinstance(author, Mapping) else None
    wanted_name = body.get("username")
    embeds = message.get("embeds")
    return (str(message.get("content") or "").strip() == str(body.get("content") or "").strip()
            and (wanted_name is None or name == wanted_name)
            and len(embeds if isinstance(embeds, list) else []) == len(body.get("embeds") or []))
