"""Keeping the bot token (and webhook tokens) out of every stored file.

Output is redacted (:mod:`gaib.redact`); stored data cannot be: a token written into a state, a
backup, a snapshot or an export would be kept for years and copied with every backup. So a value
holding a secret is refused with :class:`gaib.errors.SecretRefused` (exit 2) naming where it is:

- when the config is read (``file:line: field``), before anything talks to Discord;
- at every port that stores something (:mod:`gaib.guarded`: state writes, objects — compressed
  parts are looked into —, catalog items), as the last line of defence for values from anywhere
  else (a backup message, a channel topic read from Discord).

Secrets are matched as :mod:`gaib.redact` matches them: a long one (every real token) anywhere, a
short one (a test token) only as a whole word, one under four characters not at all; a bot token's
secret segments (timestamp and HMAC, alone or together) as well, its public first segment not.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from gaib.errors import SecretRefused
from gaib.redact import MIN_SECRET, SECRET_VARIABLES, secret_patterns

MAX_SCANNED_BYTES = 512 * 1024 * 1024  # gzip output scanned at most
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def secrets_in(environ: Mapping[str, str], *extra: str | None) -> list[str]:
    """The secret values of ``environ`` (bot token, webhook URLs) and ``extra``, long enough to matter."""
    found = [environ.get(name, "") for name in SECRET_VARIABLES] + [e or "" for e in extra]
    return sorted({s for s in found if len(s) >= MIN_SECRET}, key=len, reverse=True)


class SecretFinder:
    """Finds the secrets given (see the module doc for how they are matched)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        parts = secret_patterns(secrets)
        self._re = re.compile("|".join(parts)) if parts else None

    def __bool__(self) -> bool:
        return self._re is not None

    def in_text(self, text: str) -> bool:
        return self._re is not None and self._re.search(text) is not None

    def find(self, value: Any) -> tuple[str | int, ...] | None:
        """The path (``("resources", 2, "attributes", "topic")``) of the first string or key of a
        JSON-like ``value`` that holds a secret, or None. Iterative: safe on any depth."""
        if self._re is None:
            return None
        stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
        while stack:
            item, path = stack.pop()
            if isinstance(item, str):
                if self.in_text(item):
                    return path
            elif isinstance(item, Mapping):
                for key, child in reversed(list(item.items())):
                    if self.in_text(str(key)):
                        return (*path, str(key))
                    stack.append((child, (*path, str(key))))
            elif isinstance(item, (list, tuple)):
                stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(item))))
        return None

    def path_in(self, value: Any) -> str | None:
        """:meth:`find` as text (``resources[2].attributes.topic``; ``(the value)`` for the root)."""
        path = self.find(value)
        if path is None:
            return None
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        return text or "(the value)"

    def line_in(self, data: bytes) -> int | None:
        """The 1-based line of ``data`` (decompressed first when gzip or zstd) holding a secret."""
        if self._re is None:
            return None
        text = _plain(data).decode("utf-8", "replace")
        m = self._re.search(text)
        return None if m is None else text.count("\n", 0, m.start()) + 1


def _plain(data: bytes) -> bytes:
    """``data`` decompressed when it is a gzip or zstd stream (bounded); else ``data`` itself."""
    try:
        if data.startswith(_GZIP_MAGIC):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return d.decompress(data, MAX_SCANNED_BYTES)
        if data.startswith(_ZSTD_MAGIC):
            import zstandard

            out: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(data)
            return out
    except Exception:  # not really compressed (or damaged): scan the bytes as they are
        return data
    return data


def refused(where: str, what: str) -> SecretRefused:
    return SecretRefused(f"{where}: {what} holds the Discord bot token (or a webhook token); Gaib never "
                         "stores it, so nothing was written.", details={"where": where[:200]})


def check_value(finder: SecretFinder, value: Any, where: str) -> None:
    """Raise SecretRefused naming the field of ``value`` that holds a secret."""
    path = finder.path_in(value)
    if path is not None:
        raise refused(where, f"the field {path}")


def check_bytes(finder: SecretFinder, data: bytes, where: str) -> None:
    """Raise SecretRefused naming the line of ``data`` (decompressed if need be) that holds a secret."""
    line = finder.line_in(data)
    if line is not None:
        raise refused(where, f"line {line}")


class _LiveText(Protocol):
    """A text field of a live Discord object (``gaib.discord.models.LiveText``)."""

    @property
    def what(self) -> str: ...

    @property
    def field(self) -> str: ...

    @property
    def value(self) -> str: ...


def check_live(environ: Mapping[str, str], bot_token: str | None, texts: Iterable[_LiveText]) -> None:
    """Raise SecretRefused naming the live object and field (``channel #ops (123)``, ``topic``) that holds a
    secret, with advice that fits: the value was typed in Discord, not in the config.

    Called on what was read from Discord before any of it is stored (snapshots, exports, state pull and
    import), so the error names the channel rather than a line of a stored part."""
    finder = SecretFinder(secrets_in(environ, bot_token))
    if not finder:
        return
    for text in texts:
        if finder.in_text(text.value):
            raise SecretRefused(
                f"The {text.field} of {text.what} on Discord holds the Discord bot token (or a webhook "
                "token); Gaib never stores it, so nothing was written.",
                hint=f"Edit the {text.field} of {text.what} in Discord to remove the token, then run the "
                     "command again; reset the token in the Discord Developer Portal, as whoever can see the "
                     f"{text.field} has seen it.",
                details={"where": text.what[:200], "field": text.field})


def check_text(environ: Mapping[str, str], bot_token: str | None, text: str, where: str) -> None:
    """Raise SecretRefused when ``text`` given by the user (a backup or snapshot message) holds a secret.

    Called before any quota is taken or anything is read, so a refused message costs nothing."""
    if SecretFinder(secrets_in(environ, bot_token)).in_text(text):
        raise refused(where, "the text")
