"""Discord-style rate limits: per-route buckets plus a global per-token window, on real time.

Buckets are fixed windows keyed by (bucket name, major id), where the bucket name is the method and
route template and the major id is the guild id, channel id or webhook id + token in the path, as
Discord does. Windows use ``time.monotonic``; the ``X-RateLimit-Reset`` header is wall-clock epoch.

Bucket sizes (chosen to be Discord-like while keeping real-time tests short):

==========================================  =========  ========
route kind                                  limit      window
==========================================  =========  ========
GET (reads)                                 50         1.0 s
POST/PATCH/PUT/DELETE on guilds & channels  5          1.0 s
POST /webhooks/{id}/{token} (execute)       5          2.0 s
global, per bot token (all routes)          50         1.0 s
==========================================  =========  ========

With ``enforce=False`` (``--rate-limits off``) no request is refused but the headers are still sent.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

READ_LIMIT = (50, 1.0)
WRITE_LIMIT = (5, 1.0)
WEBHOOK_LIMIT = (5, 2.0)
GLOBAL_LIMIT = (50, 1.0)


def bucket_size(method: str, template: str) -> tuple[int, float]:
    """(limit, window seconds) for a route, per the table in this module's docstring."""
    if method == "GET":
        return READ_LIMIT
    if template == "/webhooks/{webhook_id}/{webhook_token}":
        return WEBHOOK_LIMIT
    return WRITE_LIMIT


@dataclass
class _Window:
    limit: int
    period: float
    reset_at: float  # monotonic
    used: int = 0


@dataclass(frozen=True)
class Decision:
    """Outcome for one request: ``allowed`` plus the headers (and, if refused, the 429 details)."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


class RateLimiter:
    """Thread-compatible (callers hold the emulator lock). ``clock`` defaults to time.monotonic."""

    def __init__(self, enforce: bool = True, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.enforce = enforce
        self._clock = clock
        self._wall = wall
        self._buckets: dict[str, _Window] = {}
        self._global: dict[str, _Window] = {}

    def reset(self) -> None:
        self._buckets.clear()
        self._global.clear()

    @staticmethod
    def _window(table: dict[str, _Window], key: str, limit: int, period: float, now: float) -> _Window:
        window = table.get(key)
        if window is None or now >= window.reset_at:
            window = _Window(limit=limit, period=period, reset_at=now + period)
            table[key] = window
        return window

    def check(self, method: str, template: str, major: str, token_key: str | None) -> Decision:
        """Count one request. ``token_key`` (None for webhook-token routes) selects the global window."""
        now = self._clock()
        if self.enforce and token_key is not None:
            glob = self._window(self._global, token_key, *GLOBAL_LIMIT, now)
            if glob.used >= glob.limit:
                retry = max(glob.reset_at - now, 0.001)
                headers = {"Retry-After": str(math.ceil(retry)), "X-RateLimit-Global": "true",
                           "X-RateLimit-Scope": "global"}
                return Decision(False, headers, retry_after=round(retry, 3), is_global=True)
            glob.used += 1
        name = f"{method} {template}"
        limit, period = bucket_size(method, template)
        window = self._window(self._buckets, f"{name}\x00{major}", limit, period, now)
        reset_after = max(window.reset_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Reset": f"{self._wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.sha256(name.encode()).hexdigest()[:16],
        }
        if self.enforce and window.used >= window.limit:
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = str(math.ceil(reset_after))
            headers["X-RateLimit-Scope"] = "user"
            return Decision(False, headers, retry_after=round(max(reset_after, 0.001), 3))
        window.used += 1
        headers["X-RateLimit-Remaining"] = str(max(window.limit - window.used, 0))
        return Decision(True, headers)
