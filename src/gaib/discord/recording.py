"""Record every Discord HTTP exchange as JSON Lines, with secrets redacted.

Each line has the shape ``validate_pairs.py`` reads (see /work/shared/discord-api/NOTES.md §9)::

    {"request":  {"method", "url", "headers", "body"},
     "response": {"status", "headers", "body"}}

Redaction (the file never holds a secret):

* ``Authorization`` becomes ``Bot [redacted]``;
* the token segment of ``/webhooks/{id}/{token}`` URLs becomes ``redacted``;
* ``token`` and ``url`` fields of webhook objects in bodies are redacted the same way;
* any known secret (the bot token, every webhook token seen) is scrubbed from the whole line.

Enable it with ``GAIB_DISCORD_RECORD=path`` or ``DiscordClient(record_path=...)``. The file is created
with mode 0600 and only ever appended to.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaib.redact import replace_secrets

if TYPE_CHECKING:
    import httpx

REDACTED_AUTH = "Bot [redacted]"
REDACTED_TOKEN = "redacted"

_WEBHOOK_PATH = re.compile(r"(/webhooks/[0-9]+/)([^/?#\s]+)")


def redact_webhook_url(url: str) -> str:
    """``https://x/api/v10/webhooks/1/SECRET?wait=true`` → ``https://x/api/v10/webhooks/1/redacted?wait=true``.

    Applies to every occurrence, so it is safe on whole log lines too.
    """
    return _WEBHOOK_PATH.sub(lambda m: m.group(1) + REDACTED_TOKEN, url)


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def _redact_body(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        is_webhook = "token" in value and ("channel_id" in value or "url" in value)
        for key, item in value.items():
            if is_webhook and key == "token" and isinstance(item, str):
                if item:
                    secrets.add(item)
                out[key] = REDACTED_TOKEN
            elif key == "url" and isinstance(item, str):
                out[key] = redact_webhook_url(item)
            else:
                out[key] = _redact_body(item, secrets)
        return out
    if isinstance(value, list):
        return [_redact_body(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_webhook_url(value)
    return value


class Recorder:
    """An httpx response hook appending one redacted JSON line per exchange to ``path``.

    ``secrets`` are strings that must never reach the file (the bot token); webhook tokens seen in
    responses are added to them automatically. Thread-safe; never raises into the HTTP call (an
    unwritable file stops recording silently after the first failure is noted in ``self.error``).
    """

    def __init__(self, path: str | Path, *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secrets = {s for s in secrets if s}
        self._lock = threading.Lock()
        self.error: str | None = None

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        self.record(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            body=_decode(request.content),
            status=response.status_code,
            response_headers=dict(response.headers),
            response_body=_decode(response.content),
        )

    def record(
        self,
        *,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        status: int,
        response_headers: dict[str, str],
        response_body: Any,
    ) -> None:
        """Redact and append one exchange."""
        with self._lock:
            secrets = set(self._secrets)
            request_headers = {}
            for key, value in headers.items():
                if key.lower() == "authorization":
                    value = REDACTED_AUTH
                request_headers[key] = value
            # Webhook tokens also appear in the request path; learn them before scrubbing.
            for match in _WEBHOOK_PATH.finditer(url):
                secrets.add(match.group(2))
            line = {
                "request": {
                    "method": method,
                    "url": redact_webhook_url(url),
                    "headers": request_headers,
                    "body": _redact_body(body, secrets),
                },
                "response": {
                    "status": status,
                    "headers": dict(response_headers),
                    "body": _redact_body(response_body, secrets),
                },
            }
            # Learned webhook tokens are scrubbed from later lines too (short strings would match
            # unrelated text, and real tokens are long).
            self._secrets |= {s for s in secrets - self._secrets if len(s) >= 8}
            text = json.dumps(line, ensure_ascii=False)
            text = replace_secrets(text, self._secrets - {REDACTED_TOKEN})
            if self.error is not None:
                return
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as sink:
                    sink.write(text + "\n")
            except OSError as exc:
                self.error = f"{type(exc).__name__}: {exc.strerror}"
