"""A server's own Discord webhook: what a webhook secret must hold, and the test message.

Contracts:

- :func:`parse_webhook_url` accepts only a Discord webhook URL, ``https://{discord.com | discordapp.com |
  canary.discord.com | ptb.discord.com}/api[/vN]/webhooks/{id}/{token}`` (``http://`` only to a loopback
  host, for the emulator and tests), given as the secret's whole text or as JSON ``{"url": ...}`` /
  ``{"webhook_url": ...}``. Anything else raises :class:`WebhookSecretInvalid` (exit 2) whose message
  never repeats the value. The notifier Lambda applies the same rule (a test holds them equal).
- :class:`WebhookSender` is the port a command posts through; its adapter (``gaib.notify.http``) is
  built only by the composition root. A sender never puts the URL in an error.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Protocol

from gaib import safejson
from gaib.errors import ConfigError
from gaib.notify.events import format_at

DISCORD_HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_URL_RE = re.compile(r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]+|\[::1\])(?::(?P<port>\d{1,5}))?"
                     r"/api(?:/v\d{1,2})?/webhooks/(?P<id>\d{1,20})/(?P<token>[A-Za-z0-9_-]{1,128})")
URL_KEYS = ("url", "webhook_url")
COLOR_TEST = 0x5865F2


class WebhookSecretInvalid(ConfigError):
    """A webhook secret does not hold a Discord webhook URL, or is bound to another server."""

    code = "WEBHOOK_SECRET_INVALID"
    default_hint = ("Store the webhook URL (Server Settings > Integrations > Webhooks > Copy Webhook URL) as the "
                    "secret's value, tagged ServerId=<the server id>.")


def parse_webhook_url(raw: str, secret: str) -> str:
    """The Discord webhook URL held by the text of secret ``secret``; raises WebhookSecretInvalid."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            doc = safejson.loads(text)
        except safejson.JsonProblem:
            doc = None
        found = [doc.get(k) for k in URL_KEYS] if isinstance(doc, dict) else []
        candidates = [c for c in found if isinstance(c, str)]
        if not candidates:
            raise WebhookSecretInvalid(f"Secret {secret} holds JSON without a string 'url' or 'webhook_url'.")
        text = candidates[0].strip()
    match = _URL_RE.fullmatch(text)
    if match is None:
        raise WebhookSecretInvalid(f"Secret {secret} does not hold a Discord webhook URL "
                                   "(https://discord.com/api/webhooks/ID/TOKEN).")
    host = match["host"].lower()
    port = match["port"]
    allowed = ((match["scheme"] == "https" and host in DISCORD_HOSTS and port is None)
               or (host in LOOPBACK_HOSTS and (port is None or 0 < int(port) < 65536)))
    if not allowed:
        raise WebhookSecretInvalid(f"Secret {secret} holds a webhook URL on a host that is not Discord's "
                                   "(https://discord.com/api/webhooks/ID/TOKEN; http:// only to a loopback test host).")
    return text


def probe_payload(server_id: str, secret: str, at: datetime) -> dict[str, Any]:
    """The one message ``gaib server notify test`` posts: an embed naming the server and the secret's name."""
    embed = {
        "title": "Gaib test notification",
        "description": f"This webhook receives the notifications of server {server_id}.",
        "color": COLOR_TEST,
        "fields": [{"name": "Server", "value": server_id, "inline": True},
                   {"name": "Webhook secret", "value": secret, "inline": True}],
        "footer": {"text": "gaib · notify.test"},
        "timestamp": format_at(at),
    }
    return {"username": "Gaib backups", "embeds": [embed], "allowed_mentions": {"parse": []}}


class WebhookSender(Protocol):
    def post(self, url: str, payload: dict[str, Any]) -> int:
        """POST ``payload`` as JSON to the webhook; the HTTP status of a 2xx answer. Raises ``NotifyError``
        (never naming the URL) for any other answer or when the webhook cannot be reached."""
        ...
