"""Scrub secrets (the bot token, webhook tokens) from any text before it is shown or stored."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"
SECRET_VARIABLES = ("DISCORD_BOT_TOKEN", "GAIB_DISCORD_WEBHOOK_URL", "DISCORD_WEBHOOK_URL")
_WEBHOOK_RE = re.compile(r"(/webhooks/\d+/)[A-Za-z0-9_.\-]+")
_BOT_RE = re.compile(r"(Bot\s+)[A-Za-z0-9_.\-]{8,}")


def secrets_from(environ: Mapping[str, str]) -> list[str]:
    """The secret values present in ``environ`` (long enough to be worth hiding)."""
    return [environ[name] for name in SECRET_VARIABLES if len(environ.get(name, "")) >= 4]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret, webhook token and ``Bot <token>`` in ``text``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _WEBHOOK_RE.sub(lambda m: m.group(1) + REDACTED, text)
    return _BOT_RE.sub(lambda m: m.group(1) + REDACTED, text)
