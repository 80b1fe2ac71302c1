"""Scrub secrets (the bot token, webhook tokens) from any text before it is shown or stored.

A secret of at least ``SUBSTRING_MIN`` characters (every real Discord bot token or webhook token) is
replaced wherever it appears. A shorter one — a test or emulator token such as ``t`` or ``demo`` —
is replaced only where it stands as a whole word, so ordinary words that merely contain it are never
mangled ("Connection refused" stays readable with the token ``t``). Secrets under ``MIN_SECRET``
characters are not secrets worth hiding and are left alone.

A Discord bot token is three dot-separated segments: the bot's id in base64 (public: anyone who sees
the bot can compute it), a timestamp and an HMAC. The last two are the secret, so each alone and both
together are hidden too (:func:`secret_forms`), matched as base64url words; the first segment is not.
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
_B64_WORD = r"A-Za-z0-9_\-"


def secret_segments(secret: str) -> list[str]:
    """The secret parts of a bot token shaped ``id.timestamp.hmac`` (``timestamp.hmac``, ``hmac``,
    ``timestamp``), those of at least ``MIN_SECRET`` characters; ``[]`` for any other value."""
    parts = secret.split(".")
    if len(parts) != 3 or not all(parts) or any(re.fullmatch(rf"[{_B64_WORD}]+", p) is None for p in parts):
        return []
    return [s for s in (f"{parts[1]}.{parts[2]}", parts[2], parts[1]) if len(s) >= MIN_SECRET]


def secret_pattern(secret: str) -> str:
    """A regex matching ``secret`` as this module hides it: anywhere when long, as a whole word when short."""
    if len(secret) >= SUBSTRING_MIN:
        return re.escape(secret)
    return rf"(?<![{_WORD}]){re.escape(secret)}(?![{_WORD}])"


def segment_pattern(segment: str) -> str:
    """A regex matching a token's secret segment: anywhere when long, else not inside a longer base64 word
    (a dot next to it is a boundary, so ``x.<segment>`` is caught)."""
    if len(segment) >= SUBSTRING_MIN:
        return re.escape(segment)
    return rf"(?<![{_B64_WORD}]){re.escape(segment)}(?![{_B64_WORD}])"


def secret_patterns(secrets: Iterable[str]) -> list[str]:
    """The patterns of every secret long enough to matter and of its token segments, longest first."""
    whole = {s for s in secrets if s and len(s) >= MIN_SECRET}
    segments = {seg for s in whole for seg in secret_segments(s)} - whole
    ordered = sorted([(s, secret_pattern(s)) for s in whole] + [(s, segment_pattern(s)) for s in segments],
                     key=lambda item: len(item[0]), reverse=True)
    return [pattern for _, pattern in ordered]


def secrets_from(environ: Mapping[str, str]) -> list[str]:
    """The secret values present in ``environ`` (long enough to be worth hiding)."""
    return [environ[name] for name in SECRET_VARIABLES if len(environ.get(name, "")) >= MIN_SECRET]


def replace_secrets(text: str, secrets: Iterable[str], replacement: str = REDACTED) -> str:
    """Replace each secret (and a bot token's secret segments) in ``text``: anywhere when long, as a whole
    word when short (see above)."""
    for pattern in secret_patterns(secrets):
        text = re.sub(pattern, lambda _: replacement, text)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret, webhook token and ``Bot <token>`` in ``text``."""
    text = replace_secrets(text, secrets)
    if "/webhooks/" in text:
        text = re.sub(_WEBHOOK_RE, lambda m: m.group(1) + REDACTED, text)
    if "Bot" in text:
        text = re.sub(_BOT_RE, lambda m: m.group(1) + REDACTED, text)
    return text
