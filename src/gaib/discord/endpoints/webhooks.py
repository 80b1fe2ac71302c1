"""Webhook endpoints: create a channel's incoming webhook, post through a webhook URL, delete a webhook.

Contract: a created webhook's ``url`` is a secret; ``execute_webhook`` sends without the bot token,
keeps to the channel's 30 messages per minute, never shows the URL in errors or logs, and never calls a
webhook again once it answered 404 or 401 (DiscordNotFound, nothing sent). A URL that is not a Discord
webhook URL raises InvalidInput.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord import limits as L
from gaib.discord.endpoints.common import as_body, parse, route
from gaib.discord.models import Webhook
from gaib.discord.ratelimit import Route
from gaib.errors import DiscordNotFound, InvalidInput

if TYPE_CHECKING:
    from gaib.discord.transport import Transport

_WEBHOOK_URL_RE = re.compile(r"(https?://[^/?#\s]+(?:/[^?#\s]*?)?)/webhooks/([0-9]{1,20})/([A-Za-z0-9_.\-]{1,200})/?")


class Webhooks:
    """Incoming webhooks, through ``transport``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def create_webhook(self, channel_id: str, name: str, *, reason: str | None = None) -> Webhook:
        """Create an incoming webhook in a channel; the returned Webhook's ``url`` is a secret."""
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise InvalidInput("A webhook name must be 1-80 characters.")
        post = route("POST", "/channels/{channel_id}/webhooks", channel_id=channel_id)
        data = self._transport.request(post, body={"name": name}, reason=reason)
        return parse("webhook", lambda d: Webhook.from_api(d, base_url=self._transport.base_url), data)

    def execute_webhook(self, url: str, payload: Mapping[str, Any], *, wait: bool = False) -> Any:
        """POST ``payload`` (``content``/``embeds``/…) to a webhook URL, without the bot token.

        Returns None (204), or the created message when ``wait=True``. An unversioned ``…/api/webhooks``
        URL is sent to ``…/api/v10/webhooks``. A webhook that answered 404 (or 401, a bad webhook
        token) is never called again: DiscordNotFound is raised without a request. The URL is never
        shown in errors or logs.
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
        # Also paced by the channel's 30-per-minute webhook limit (no header shows it; one webhook per
        # channel stands for the channel).
        return self._transport.request(post, body=body, url_root=root, query={"wait": "true"} if wait else None,
                                       sub=f"{L.WEBHOOK_SUB}{webhook_id}")

    def delete_webhook(self, webhook_id: str, *, reason: str | None = None) -> None:
        delete = route("DELETE", "/webhooks/{webhook_id}", webhook_id=webhook_id)
        self._transport.request(delete, reason=reason)
