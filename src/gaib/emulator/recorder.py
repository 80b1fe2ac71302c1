"""What leaves the emulator about its requests: the request log with its stats, and the recording.

Secrets: the bot token is never logged or recorded (``Authorization`` becomes ``Bot [redacted]``),
and webhook tokens are replaced by ``redacted`` in logged and recorded URLs and bodies; as a last
line of defence :meth:`Redactor.scrub` removes every known secret from each line that leaves.

Recording (``record=PATH``) appends one JSON line per Discord-route exchange in the format of
``validate_pairs.py``. Exchanges answered by an injected 5xx or drop are *not* recorded (Discord's
spec declares no 5xx, so they would read as spec violations); they still appear in the request log
with their ``fault`` kind. A ``drop-after`` request was processed (its effect is kept) but never
answered: it is not recorded either, and its log entry has ``status`` None and ``route`` set.
Injected latency is recorded normally. Ban answers are not recorded either: they come from
Cloudflare, not from the API the spec describes. Nor are multipart requests (the validator reads
JSON bodies only) or paths outside ``/api/v10``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from gaib.emulator.outcome import Outcome
from gaib.emulator.routes import API_PREFIX

REDACTED = "[redacted]"
URL_REDACTED = "redacted"
_WEBHOOK_PATH = re.compile(r"^((?:/api/v10)?/webhooks/[^/?]+/)([^/?]+)")
_WEBHOOK_CREATE = "/channels/{channel_id}/webhooks"


def redact_path(path: str) -> str:
    """``/api/v10/webhooks/1/SECRET?wait=true`` → ``/api/v10/webhooks/1/redacted?wait=true``."""
    return _WEBHOOK_PATH.sub(lambda m: m.group(1) + URL_REDACTED, path)


def redact_authorization(value: str) -> str:
    return f"Bot {REDACTED}" if value.startswith("Bot ") else REDACTED


class Redactor:
    """Knows the secrets: the bot token and, through ``webhook_tokens``, every current webhook's token."""

    def __init__(self, token: str, webhook_tokens: Callable[[], Iterable[str]]) -> None:
        self.token = token
        self.webhook_tokens = webhook_tokens

    def scrub(self, text: str) -> str:
        """Last line of defence: no known secret may leave in a log line or recording."""
        for secret in [self.token, *self.webhook_tokens()]:
            encoded = json.dumps(secret)[1:-1]
            if encoded:
                text = text.replace(encoded, REDACTED)
        return text

    def path(self, raw_path: str) -> str:
        return self.scrub(redact_path(raw_path))


class RequestLog:
    """Every request in order (``seq`` numbers them from 1), and counters by kind, route and status.

    ``on_line`` (``--verbose``) gets one line per request: method, redacted path, status, fault.
    """

    def __init__(self, clock: Callable[[], float], redactor: Redactor,
                 on_line: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.redactor = redactor
        self.on_line = on_line
        self.entries: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.number = 0

    def next_number(self) -> int:
        self.number += 1
        return self.number

    def clear(self) -> None:
        """Forget every entry and counter; numbering starts again at 1."""
        self.entries.clear()
        self.counts.clear()
        self.by_route.clear()
        self.by_status.clear()
        self.number = 0

    def account(self, number: int, method: str, raw_path: str, out: Outcome, started: float) -> None:
        """Log one answered (or dropped) request; ``started`` is its ``time.monotonic()`` at arrival."""
        status = None if out.drop else out.status
        entry = {
            "seq": number, "time": round(self.clock(), 3), "method": method,
            "path": self.redactor.path(raw_path),
            "route": out.route, "status": status, "fault": out.fault,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        self.entries.append(entry)
        self.counts["requests"] += 1
        if out.fault in ("5xx", "drop", "drop-after", "429"):
            self.counts["faults"] += 1
        self.by_route[f"{method} {out.route or '<unknown>'}"] += 1
        self.by_status["dropped" if status is None else str(status)] += 1
        if self.on_line is not None:
            self.on_line(f"{method} {entry['path']} -> {status if status is not None else 'dropped'}"
                         + (f" [fault {out.fault}]" if out.fault else ""))

    def requests(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self.entries]

    def stats(self) -> dict[str, Any]:
        c = self.counts
        return {
            "requests": c["requests"], "rate_limited": c["rate_limited"],
            "global_rate_limited": c["global_rate_limited"], "faults": c["faults"],
            "invalid_requests": c["invalid_requests"], "banned": c["banned"],
            "by_route": dict(self.by_route), "by_status": dict(self.by_status),
        }


class Recorder:
    """Appends exchanges to ``path`` as JSON Lines while open (see the module doc for what is left out).

    ``origin`` gives the server's ``http://host:port`` for the recorded URLs.
    """

    def __init__(self, path: Path, redactor: Redactor, origin: Callable[[], str]) -> None:
        self.path = path
        self.redactor = redactor
        self.origin = origin
        self._file: IO[str] | None = None

    def open(self) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def record(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, out: Outcome) -> None:
        """Append the exchange if it is one to record."""
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        if not out.record or multipart or self._file is None or not raw_path.startswith(API_PREFIX + "/"):
            return
        try:
            req_body: Any = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            req_body = body.decode("utf-8", "replace")
        req_headers = {k: (redact_authorization(v) if k.lower() == "authorization" else v)
                       for k, v in headers.items()}
        resp_body = out.body
        if out.route == _WEBHOOK_CREATE and isinstance(resp_body, dict) and "token" in resp_body:
            resp_body = {**resp_body, "token": REDACTED, "url": redact_path(str(resp_body.get("url", "")))}
        resp_headers = dict(out.headers)
        if resp_body is not None:
            resp_headers["Content-Type"] = "application/json"
        line = json.dumps({
            "request": {"method": method, "url": self.origin() + redact_path(raw_path), "headers": req_headers,
                        "body": req_body},
            "response": {"status": out.status, "headers": resp_headers, "body": resp_body},
        })
        line = self.redactor.scrub(line)
        self._file.write(line + "\n")
        self._file.flush()
