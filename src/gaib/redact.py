"""Scrub secrets (the bot token, webhook tokens) from any text before it is shown or stored.

A secret of at least ``SUBSTRING_MIN`` characters (every real Discord bot token or webhook token) is
replaced wherever it appears. A shorter one — a test or emulator token such as ``t`` or ``demo`` —
is replaced only where it stands as a whole word, so ordinary words that merely contain it are never
mangled ("Connection refused" stays readable with the token ``t``). Secrets under ``MIN_SECRET``
characters are not secrets worth hiding and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"
SECRET_VARIABLES = ("DISCORD_BOT_TOKEN", "GAIB_DISCORD_WEBHOOK_URL", "DISCORD_WEBHOOK_URL")
MIN_SECRET = 4
SUBSTRING_MIN = 20
_WORD = r"A-Za-z0-9_.\-"
# Compiled by ``re`` on first use (and cached there): most text holds neither and never needs them.
_WEBHOOK_RE = r"(/webhooks/\d+/)[A-Za-z0-9_.\-]+"
_BOT_RE = r"(Bot\s+)[A-Za-z0-9_.\-]{8,}"


def secrets_from(environ: Mapping[str, str]) -> list[str]:
    """The secret values present in ``environ`` (long enough to be worth hiding)."""
    return [environ[name] for name in SECRET_VARIABLES if len(environ.get(name, "")) >= MIN_SECRET]


def replace_secrets(text: str, secrets: Iterable[str], replacement: str = REDACTED) -> str:
    """Replace each secret in ``text``: anywhere when long, as a whole word when short (see above)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= SUBSTRING_MIN:
            text = text.replace(secret, replacement)
        elif len(secret) >= MIN_SECRET:
            text = re.sub(rf"(?<![{_WORD}]){re.escape(secret)}(?![{_WORD}])", lambda _: replacement, text)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret, webhook token and ``Bot <token>`` in ``text``."""
    text = replace_secrets(text, secrets)
    if "/webhooks/" in text:
        text = re.sub(_WEBHOOK_RE, lambda m: m.group(1) + REDACTED, text)
    if "Bot" in text:
        text = re.sub(_BOT_RE, lambda m: m.group(1) + REDACTED, text)
    return text
