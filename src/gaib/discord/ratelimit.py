"""Client-side rate limiting and retry policy for Discord's REST API.

Discord's limits are read from the response headers, never hard-coded (NOTES §5):

* **Route buckets.** Each response carries ``X-RateLimit-Bucket`` (an opaque hash shared by routes in
  the same bucket), ``-Remaining`` and ``-Reset-After``. Buckets are split by the top-level ("major")
  resource in the path, so state is kept per ``(bucket hash, major id)``. Until the first response of a
  route reveals its hash, state is kept per ``(method, route template, major id)``.
  When ``Remaining`` reaches 0 the next request in that bucket waits until the reset, and only then.
* **Global cap.** At most ``global_per_second`` (50) requests in any sliding one-second window.
* **429.** ``retry_after`` (body) or ``Retry-After`` (header) blocks the bucket, or every request when
  the 429 is global, for exactly that long.

There are no fixed sleeps anywhere: a request only ever waits for a known reset time. Time comes from
an injectable :class:`Clock`, so the unit tests drive the limiter with a fake clock.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

#: Path parameters that split a bucket (Discord's "major parameters"), in priority order.
MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id")


class Clock(Protocol):
    """Monotonic time and sleeping; the only thing tests replace."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock (``time.monotonic`` / ``time.sleep``)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class Route:
    """One API route: the method, the path template and the values of its parameters.

    ``template`` uses ``{name}`` placeholders, e.g. ``/guilds/{guild_id}/roles/{role_id}``.
    """

    method: str
    template: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.template.format(**self.params)

    @property
    def major(self) -> str:
        """The top-level id that splits buckets; the webhook token is hashed, never kept in clear."""
        for name in MAJOR_PARAMETERS:
            if name in self.params:
                value = self.params[name]
                if name == "webhook_id" and "webhook_token" in self.params:
                    digest = hashlib.sha256(self.params["webhook_token"].encode()).hexdigest()[:16]
                    value = f"{value}:{digest}"
                return f"{name}={value}"
        return ""

    @property
    def display(self) -> str:
        """``METHOD path`` safe for messages and logs: a webhook token is replaced by ``[redacted]``."""
        params = dict(self.params)
        if "webhook_token" in params:
            params["webhook_token"] = "[redacted]"
        return f"{self.method} {self.template.format(**params)}"


@dataclass
class RetryPolicy:
    """How often and how long to retry.

    ``max_attempts`` counts every try including the first. Backoff for retry ``n`` (1-based) is
    ``min(max_delay, base_delay * 2**(n-1))``, of which the last ``jitter`` fraction is random: the delay
    always lies in ``[d * (1 - jitter), d]``. A 429 asking to wait longer than ``max_retry_after``
    seconds is not waited for (the caller gets DiscordRateLimited at once).
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number ``retry`` (1 for the first retry); capped and jittered."""
        exponent = min(max(retry - 1, 0), 62)
        ceiling = min(self.max_delay, self.base_delay * (2.0**exponent))
        return ceiling * (1.0 - self.jitter) + rng.random() * ceiling * self.jitter


@dataclass
class _Bucket:
    remaining: int | None = None
    limit: int | None = None
    reset_at: float = 0.0


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        return None
    return result if result == result and result >= 0 else None  # drop NaN and negatives


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        number = _float(value)
        return int(number) if number is not None else None


class RateLimiter:
    """Per-bucket and global throttling driven by Discord's headers.

    Call :meth:`acquire` before sending, :meth:`update` with every response's headers and
    :meth:`on_429` when a request was rate limited. Safe to share between threads: waits happen
    outside the lock.
    """

    def __init__(self, clock: Clock | None = None, *, global_per_second: int = 50) -> None:
        if global_per_second < 1:
            raise ValueError("global_per_second must be at least 1")
        self.clock: Clock = clock or SystemClock()
        self.global_per_second = global_per_second
        self._lock = threading.Lock()
        self._route_bucket: dict[tuple[str, str], str] = {}
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._sent: deque[float] = deque()
        self._global_until = 0.0

    # -- keys -------------------------------------------------------------------------------------

    def _key(self, route: Route) -> tuple[str, ...]:
        bucket = self._route_bucket.get((route.method, route.template))
        if bucket is not None:
            return ("bucket", bucket, route.major)
        return ("route", route.method, route.template, route.major)

    def bucket_key(self, route: Route) -> tuple[str, ...]:
        """The key this route's state is kept under right now (for tests and diagnostics)."""
        with self._lock:
            return self._key(route)

    # -- waiting ----------------------------------------------------------------------------------

    def _wait_time(self, route: Route, now: float) -> float:
        wait = max(0.0, self._global_until - now)
        while self._sent and now - self._sent[0] >= 1.0:
            self._sent.popleft()
        if len(self._sent) >= self.global_per_second:
            wait = max(wait, self._sent[0] + 1.0 - now)
        bucket = self._buckets.get(self._key(route))
        if bucket is not None and bucket.remaining is not None and bucket.remaining <= 0:
            if now < bucket.reset_at:
                wait = max(wait, bucket.reset_at - now)
            else:
                # The window has reset; until a response says otherwise assume a fresh bucket.
                bucket.remaining = bucket.limit
        return wait

    def acquire(self, route: Route) -> float:
        """Block until ``route`` may be sent, then count it as sent. Returns the seconds waited.

        Never sleeps unless a bucket is exhausted, a 429 is pending or the global cap is reached;
        then it sleeps exactly until that reset.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock.monotonic()
                wait = self._wait_time(route, now)
                if wait <= 0:
                    self._sent.append(now)
                    bucket = self._buckets.get(self._key(route))
                    if bucket is not None and bucket.remaining is not None:
                        bucket.remaining -= 1
                    return waited
            self.clock.sleep(wait)
            waited += wait

    # -- learning ---------------------------------------------------------------------------------

    def update(self, route: Route, headers: Mapping[str, str]) -> None:
        """Learn the bucket state from a response's ``X-RateLimit-*`` headers (any status)."""
        bucket_hash = _header(headers, "X-RateLimit-Bucket")
        remaining = _int(_header(headers, "X-RateLimit-Remaining"))
        limit = _int(_header(headers, "X-RateLimit-Limit"))
        reset_after = _float(_header(headers, "X-RateLimit-Reset-After"))
        if bucket_hash is None and remaining is None:
            return
        with self._lock:
            now = self.clock.monotonic()
            route_key = ("route", route.method, route.template, route.major)
            if bucket_hash:
                self._route_bucket[(route.method, route.template)] = bucket_hash
                key: tuple[str, ...] = ("bucket", bucket_hash, route.major)
                provisional = self._buckets.pop(route_key, None)
                if key not in self._buckets and provisional is not None:
                    self._buckets[key] = provisional
            else:
                key = self._key(route)
            state = self._buckets.setdefault(key, _Bucket())
            if limit is not None:
                state.limit = limit
            if remaining is not None:
                state.remaining = remaining
            if reset_after is not None:
                state.reset_at = now + reset_after

    def on_429(self, route: Route, retry_after: float, *, is_global: bool) -> None:
        """Block the route's bucket (or everything, when global) for ``retry_after`` seconds."""
        with self._lock:
            until = self.clock.monotonic() + max(0.0, retry_after)
            if is_global:
                self._global_until = max(self._global_until, until)
                return
            state = self._buckets.setdefault(self._key(route), _Bucket())
            state.remaining = 0
            state.reset_at = until  # the 429 says exactly how long; it wins over Reset-After
