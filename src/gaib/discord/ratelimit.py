"""Client-side rate limiting and retry policy for Discord's REST API.

Discord's limits are read from the response headers, never hard-coded (NOTES §5):

* **Route buckets.** Each response carries ``X-RateLimit-Bucket`` (an opaque hash shared by routes in
  the same bucket), ``-Remaining`` and ``-Reset-After``. Buckets are split by the top-level ("major")
  resource in the path, so state is kept per ``(bucket hash, major id)``. Until the first response of a
  route reveals its hash, state is kept per ``(method, route template, major id)``.
  When ``Remaining`` reaches 0 the next request in that bucket waits until the reset plus
  :data:`RESET_MARGIN` (50 ms, the offset discord.js's REST client adds to every reset).
* **Global cap.** At most ``global_per_second`` (50) requests that Discord may count within one
  second, each counted until a second (and 20 ms) after the latest moment it can have arrived, which
  its answer bounds (:mod:`gaib.discord.globalwindow`; the transport gives each request a ticket).
* **429.** ``retry_after`` (body) or ``Retry-After`` (header) blocks the bucket, or every request when
  the 429 is global, for that long plus :data:`RESET_MARGIN`.
* **Concurrency.** With ``track=True`` (the client's requests) a bucket whose size is not known yet
  lets one request out and holds the rest until its response reveals the bucket (or shows the route
  has none); after that the count in ``Remaining`` is what goes out at once. Answers that arrive out
  of order never raise ``Remaining`` within the same window.
* **Name/topic edits** (``sub=`` a channel id): at most 2 per 10 minutes per channel
  (:data:`gaib.discord.limits.NAME_TOPIC_EDITS`), which Discord's headers never show; a 429 with
  requests still remaining in the bucket blocks only that channel's name/topic edits. Webhook
  executions (``sub=webhook:{id}``) count the same way against 30 per minute
  (:data:`gaib.discord.limits.WEBHOOK_CHANNEL_MESSAGES`).
* **Long waits.** ``acquire(max_wait=...)`` raises :class:`WaitTooLong` instead of sleeping longer;
  ``on_wait`` hears about every wait before it starts.

There are no fixed sleeps anywhere: a request only ever waits for a known reset time. Time comes from
an injectable :class:`Clock`, so the unit tests drive the limiter with a fake clock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from gaib import interrupt
from gaib.discord import limits as L
from gaib.discord.globalwindow import GLOBAL_MARGIN, GLOBAL_SPAN, TRUSTED_ROUND_TRIPS, GlobalWindow, Sent
from gaib.discord.route import MAJOR_PARAMETERS as MAJOR_PARAMETERS
from gaib.discord.route import Route as Route

__all__ = ["GLOBAL_MARGIN", "GLOBAL_SPAN", "RESET_MARGIN", "TRUSTED_ROUND_TRIPS", "Clock", "RateLimiter",
           "RetryPolicy", "Route", "Sent", "SystemClock", "WaitTooLong"]


class Clock(Protocol):
    """Monotonic time and sleeping; the only thing tests replace."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic``, and sleeps that end at once (raising
    :class:`gaib.interrupt.Stopped`) when the run is interrupted, in whichever thread they run."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        interrupt.sleep(seconds)


@dataclass
class RetryPolicy:
    """How often and how long to retry.

    ``max_attempts`` counts every try including the first. Backoff for retry ``n`` (1-based) is
    ``min(max_delay, base_delay * 2**(n-1))``, of which the last ``jitter`` fraction is random: the delay
    always lies in ``[d * (1 - jitter), d]``. A wait longer than ``max_retry_after`` seconds (a 429's
    ``retry_after``, or a used-up bucket's reset) is not waited for: the caller gets DiscordRateLimited
    at once. The default, 15 minutes, covers the 10-minute name/topic limit but not the day-long caps.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 900.0

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


class WaitTooLong(Exception):
    """Sending would mean waiting ``seconds`` (more than the caller allows) because of ``reason``."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


@dataclass
class _Bucket:
    remaining: int | None = None
    limit: int | None = None
    reset_at: float = 0.0


@dataclass
class _Edits:
    """Name/topic edits of one channel: send times (with those an earlier run reported), the ones this
    client sent, and a block learned from a 429."""

    sent: deque[float] = field(default_factory=deque)
    own: list[float] = field(default_factory=list)
    blocked_until: float = 0.0


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


#: Two responses whose reset times differ by less than this belong to the same window (the times
#: differ only by network jitter; windows Discord uses are at least 2 s apart).
SAME_WINDOW = 0.5
#: Sends are counted from before they leave, Discord counts them when they arrive; a send stays in a
#: channel's name/topic window (10 minutes) ten times this longer than the window itself.
ARRIVAL_MARGIN = 0.1
#: Waited beyond every reset Discord announces (a bucket's ``Reset-After``, a 429's ``retry_after``):
#: the header is rounded to the millisecond and Discord's timers are not ours. 50 ms, as discord.js's
#: REST client (``offset``, default 50 ms) adds to every reset.
RESET_MARGIN = 0.05
class RateLimiter:
    """Per-bucket and global throttling driven by Discord's headers.

    Call :meth:`acquire` before sending, :meth:`update` with every response's headers, :meth:`on_429`
    when a request was rate limited and, for tracked requests, :meth:`release` when the answer (or a
    failure) is in. Safe to share between threads: waits happen outside the lock.
    """

    def __init__(self, clock: Clock | None = None, *, global_per_second: int = 50) -> None:
        if global_per_second < 1:
            raise ValueError("global_per_second must be at least 1")
        self.clock: Clock = clock or SystemClock()
        self.global_per_second = global_per_second
        self._cond = threading.Condition()
        self._route_bucket: dict[tuple[str, str], str] = {}
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._headerless: set[tuple[str, str]] = set()
        self._inflight: dict[tuple[str, ...], int] = {}
        self._global = GlobalWindow(global_per_second)
        self._global_until = 0.0
        self._edits: dict[str, _Edits] = {}
        self._long: dict[str, tuple[int, int, float]] = {}  # window -> (limit, remaining, reset_at)
        self._hints: dict[str, tuple[int, int, float]] = {}  # the same, from an earlier run

    # -- keys -------------------------------------------------------------------------------------

    def _key(self, route: Route) -> tuple[str, ...]:
        bucket = self._route_bucket.get((route.method, route.template))
        if bucket is not None:
            return ("bucket", bucket, route.major)
        return ("route", route.method, route.template, route.major)

    def bucket_key(self, route: Route) -> tuple[str, ...]:
        """The key this route's state is kept under right now (for tests and diagnostics)."""
        with self._cond:
            return self._key(route)

    # -- waiting ----------------------------------------------------------------------------------

    def _wait_time(self, route: Route, sub: str | None, now: float) -> tuple[float, str]:
        wait, reason = max(0.0, self._global_until - now), "Discord asked every request to wait (global 429)"
        glob = self._global.wait(now)
        if glob > wait:
            wait, reason = glob, f"Discord allows {self.global_per_second} requests per second per bot"
        bucket = self._buckets.get(self._key(route))
        if bucket is not None and bucket.remaining is not None and bucket.remaining <= 0:
            if now < bucket.reset_at + RESET_MARGIN:
                if bucket.reset_at + RESET_MARGIN - now > wait:
                    wait = bucket.reset_at + RESET_MARGIN - now
                    reason = f"the rate-limit bucket of {route.method} {route.template} is used up"
            else:
                # The window has reset; until a response says otherwise assume a fresh bucket.
                bucket.remaining = bucket.limit
        if sub is not None:
            edits = self._edits.get(sub)
            if edits is not None:
                limit = L.sub_limit(sub)
                while edits.sent and now - edits.sent[0] >= limit.seconds:
                    edits.sent.popleft()
                until = edits.blocked_until
                if len(edits.sent) >= limit.limit:
                    until = max(until, edits.sent[0] + limit.seconds + ARRIVAL_MARGIN * 10)
                if until - now > wait:
                    wait = until - now
                    what = "webhook messages" if sub.startswith(L.WEBHOOK_SUB) else "name/topic changes"
                    reason = f"Discord allows {limit.describe()} {what} per channel"
        return wait, reason

    def _must_hold(self, route: Route, key: tuple[str, ...], now: float) -> bool:
        """Requests to a bucket of unknown size are already out: wait for an answer first. One goes out
        at a time, or, for a long window an earlier run reported on, what that run saw left."""
        inflight = self._inflight.get(key, 0)
        if inflight <= 0 or (route.method, route.template) in self._headerless:
            return False
        bucket = self._buckets.get(key)
        if bucket is not None and bucket.remaining is not None:
            return False
        window = L.LONG_WINDOW_ROUTES.get((route.method, route.template))
        hint = self._hints.get(window) if window is not None else None
        if hint is not None:
            limit, remaining, reset_at = hint
            return inflight >= (remaining if now < reset_at else limit)
        return True

    def acquire(self, route: Route, *, sub: str | None = None, track: bool = False,
                max_wait: float = math.inf, on_wait: Callable[[L.Wait], None] | None = None,
                ticket: Sent | None = None) -> float:
        """Block until ``route`` may be sent, then count it as sent. Returns the seconds waited.

        Never sleeps unless a bucket is exhausted, a 429 is pending, the global cap is reached or (with
        ``sub``, a channel id) the channel's name/topic edits are used up; then it sleeps until that
        reset, after telling ``on_wait``. A wait longer than ``max_wait`` raises :class:`WaitTooLong`
        without counting anything. ``track=True`` counts the request as in flight until
        :meth:`release`. With a ``ticket`` the request holds its place in the global window until
        its answer (``update(..., ticket=)``) or failure (``release(..., ticket=)``) says how late it
        can have arrived; without one it counts from now.
        """
        waited = 0.0
        while True:
            with self._cond:
                now = self.clock.monotonic()
                wait, reason = self._wait_time(route, sub, now)
                key = self._key(route)
                if wait == math.inf:  # the global window is full of requests still out: wait for answers
                    self._cond.wait(timeout=GLOBAL_SPAN)
                    continue
                if wait <= 0:
                    if track and self._must_hold(route, key, now):
                        self._cond.wait(timeout=1.0)
                        interrupt.check()
                        continue
                    self._global.take(now, ticket)
                    bucket = self._buckets.get(key)
                    if bucket is not None and bucket.remaining is not None:
                        bucket.remaining -= 1
                    if track:
                        self._inflight[key] = self._inflight.get(key, 0) + 1
                    if sub is not None:
                        edits = self._edits.setdefault(sub, _Edits())
                        edits.sent.append(now)
                        edits.own.append(now)
                    return waited
                if wait > max_wait:
                    raise WaitTooLong(wait, reason)
            if on_wait is not None:
                on_wait(L.Wait(route.display, wait, reason))
            self.clock.sleep(wait)
            waited += wait

    def release(self, route: Route, *, ticket: Sent | None = None) -> None:
        """A tracked request is answered (or failed): let the next one to its bucket go. A ``ticket``
        not yet answered (a request that failed) counts in the global window until GLOBAL_SPAN after now."""
        with self._cond:
            if ticket is not None:
                self._global.answered(ticket, self.clock.monotonic(), reply=False)
            for key in {self._key(route), ("route", route.method, route.template, route.major)}:
                if self._inflight.get(key, 0) > 0:
                    self._inflight[key] -= 1
                    break
            self._cond.notify_all()

    # -- learning ---------------------------------------------------------------------------------

    def update(self, route: Route, headers: Mapping[str, str], status: int = 200, *,
               ticket: Sent | None = None) -> None:
        """Learn the bucket state from a response's ``X-RateLimit-*`` headers (any status; an answer
        without them shows the route has no bucket, unless it is a 429, which may carry none). The
        answer also ends ``ticket``'s uncertainty about when Discord counted it."""
        bucket_hash = _header(headers, "X-RateLimit-Bucket")
        remaining = _int(_header(headers, "X-RateLimit-Remaining"))
        limit = _int(_header(headers, "X-RateLimit-Limit"))
        reset_after = _float(_header(headers, "X-RateLimit-Reset-After"))
        with self._cond:
            if ticket is not None:
                self._global.answered(ticket, self.clock.monotonic(), reply=True)
            if bucket_hash is None and remaining is None:
                if status != 429:
                    self._headerless.add((route.method, route.template))
                self._cond.notify_all()
                return
            self._headerless.discard((route.method, route.template))
            now = self.clock.monotonic()
            route_key = ("route", route.method, route.template, route.major)
            if bucket_hash:
                self._route_bucket[(route.method, route.template)] = bucket_hash
                key: tuple[str, ...] = ("bucket", bucket_hash, route.major)
                provisional = self._buckets.pop(route_key, None)
                if key not in self._buckets and provisional is not None:
                    self._buckets[key] = provisional
                moved = self._inflight.pop(route_key, 0)
                if moved:
                    self._inflight[key] = self._inflight.get(key, 0) + moved
            else:
                key = self._key(route)
            state = self._buckets.setdefault(key, _Bucket())
            new_reset = now + reset_after if reset_after is not None else None
            same_window = (new_reset is not None and state.remaining is not None
                           and abs(new_reset - state.reset_at) < SAME_WINDOW)
            if limit is not None:
                state.limit = limit
            if remaining is not None:
                # Within one window an answer that arrives late never gives back what others used.
                state.remaining = min(state.remaining, remaining) if same_window else remaining  # type: ignore[type-var]
            if new_reset is not None and not same_window:
                state.reset_at = new_reset
            window = L.LONG_WINDOW_ROUTES.get((route.method, route.template))
            if window is not None and state.limit is not None and state.remaining is not None:
                self._long[window] = (state.limit, max(state.remaining, 0), state.reset_at)
            self._cond.notify_all()

    def on_429(self, route: Route, retry_after: float, *, is_global: bool, sub: str | None = None) -> None:
        """Block the route's bucket (or everything, when global; or only the channel's name/topic edits,
        when ``sub`` is given) for ``retry_after`` seconds plus RESET_MARGIN."""
        with self._cond:
            until = self.clock.monotonic() + max(0.0, retry_after)
            if is_global:
                self._global_until = max(self._global_until, until + RESET_MARGIN)
                return
            if sub is not None:
                edits = self._edits.setdefault(sub, _Edits())
                edits.blocked_until = max(edits.blocked_until, until + RESET_MARGIN)
                return
            state = self._buckets.setdefault(self._key(route), _Bucket())
            state.remaining = 0
            state.reset_at = until  # the 429 says how long (the wait adds RESET_MARGIN); it wins over Reset-After
            window = L.LONG_WINDOW_ROUTES.get((route.method, route.template))
            if window is not None:
                limit = state.limit if state.limit is not None else L.LONG_WINDOWS[window].limit
                self._long[window] = (limit, 0, until)

    # -- what was learned -------------------------------------------------------------------------

    def usage(self) -> L.Usage:
        """The long windows seen and the name/topic edits this client sent in the last 10 minutes,
        relative to now."""
        with self._cond:
            now = self.clock.monotonic()
            windows = {name: L.WindowState(limit, remaining, max(0.0, reset_at - now))
                       for name, (limit, remaining, reset_at) in self._long.items() if reset_at > now}
            edits = {}
            for channel, log in self._edits.items():
                if channel.startswith(L.WEBHOOK_SUB):
                    continue
                ages = tuple(round(now - t, 3) for t in log.own if now - t < L.NAME_TOPIC_EDITS.seconds)
                if ages:
                    edits[channel] = ages
            return L.Usage(windows=windows, name_topic=edits, recent=self._global.recent(now))

    def prime(self, usage: L.Usage) -> None:
        """Count name/topic edits an earlier run made (``usage.name_topic`` ages) and the requests it sent
        within the global window (``usage.recent``: how long ago each one's second started at the
        latest) as if sent here, and take its long windows
        (``usage.windows``) as the first guess of how many creates may go out at once (they never hold
        a request back: only Discord's answers do). Call it once, before sending anything."""
        with self._cond:
            now = self.clock.monotonic()
            self._global.prime(usage.recent, now)
            for window, state in usage.windows.items():
                if window in L.LONG_WINDOWS:
                    self._hints[window] = (state.limit, state.remaining, now + state.reset_after)
            for channel, ages in usage.name_topic.items():
                log = self._edits.setdefault(channel, _Edits())
                times = sorted([*log.sent, *(now - age for age in ages if 0 <= age < L.NAME_TOPIC_EDITS.seconds)])
                log.sent = deque(times)
