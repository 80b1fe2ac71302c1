"""The Discord transport: the one place Gaib sends an HTTP request to Discord's REST API (or the bundled
emulator). :class:`Transport` sends a :class:`~gaib.discord.ratelimit.Route` and returns the decoded JSON;
the endpoint groups (:mod:`gaib.discord.endpoints`) build the routes and bodies.

Contract, for every request:

* It goes to ``{base_url}{path}`` with ``Authorization: Bot <token>``, a ``DiscordBot (url, version)``
  User-Agent and, when ``reason`` is given, an ``X-Audit-Log-Reason`` header (URL-encoded, the reason
  cut to 512 characters). Bodies are JSON (multipart form data when files are sent).
* Rate limits are read from every response (:mod:`gaib.discord.ratelimit`), so a well-behaved run
  sees no 429: a used-up bucket waits for its reset plus a margin, and each request holds its place in
  the global window (50 per second) until a second after the latest moment Discord can have counted
  it, which its answer bounds. A 429 is retried after ``retry_after`` (plus the same margin);
  500/502/503/504 and network failures (connect error, timeout, dropped connection) are retried with
  capped, jittered exponential backoff, up to ``RetryPolicy.max_attempts`` tries in all. A wait longer
  than ``RetryPolicy.max_retry_after`` (a used-up day-long cap) is not waited for: DiscordRateLimited
  names the window (``details["window"]``, e.g. ``role_creates``) and the seconds until it resets, and
  nothing is sent.
  Every wait is announced to the ``on_wait`` listener first.
* The transport is safe to share between threads; requests to a bucket whose size is not known yet go
  one at a time until the first answer shows it. ``max_concurrency`` bounds the requests in flight
  (1 gives a strictly sequential client).
* A 429 that is Cloudflare's ban (no rate-limit headers, no JSON ``retry_after``) raises
  DiscordRateLimited with code ``DISCORD_IP_BANNED`` and every later request fails without sending, so
  the ban is never made longer.
* A DELETE retried after a failure the server may have processed (a dropped connection after sending,
  a timeout, a 5xx) that then answers 404 ("Unknown …": already gone) has done its work: it returns
  None like a 204, and the warning says so.
* Failures raise the GaibError subclasses of :mod:`gaib.discord.errors` (exit code 4). 401 and 403 are
  never retried; after a 401 every later authenticated request raises DiscordAuthError without sending
  anything. A webhook that answered 404 (or 401) is remembered (:meth:`Transport.webhook_is_dead`).
* Once the run is interrupted (Ctrl-C, :mod:`gaib.interrupt`) every wait (rate limit, backoff) ends at
  once and no further request is sent, from any thread: :class:`gaib.interrupt.Stopped` is raised.
* The bot token and webhook tokens never appear in an error message, a log line (httpx's own request
  lines included: webhook URLs are rewritten), ``repr`` or a recording.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from gaib import __version__, interrupt
from gaib.discord import limits as L
from gaib.discord.errors import error_from_response, scrub
from gaib.discord.models import to_api_body
from gaib.discord.ratelimit import Clock, RateLimiter, RetryPolicy, Route, Sent, SystemClock, WaitTooLong
from gaib.discord.recording import Recorder, redact_webhook_url
from gaib.errors import (
    ConfigError,
    DiscordAuthError,
    DiscordRateLimited,
    DiscordUnavailable,
    MissingSetting,
)

DEFAULT_API_URL = "https://discord.com/api/v10"
USER_AGENT = f"DiscordBot (https://github.com/gaib/gaib, {__version__})"
MAX_AUDIT_REASON = 512
RETRY_STATUSES = frozenset({500, 502, 503, 504})

log = logging.getLogger("gaib.discord")

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")

#: A dedupe probe: returns the raw JSON of an object that a possibly-processed create left behind.
Probe = Callable[[], Any]


class _RedactWebhookUrls(logging.Filter):
    """httpx logs every request URL at INFO; webhook URLs carry a secret token, so rewrite them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = redact_webhook_url(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_log_redaction() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactWebhookUrls) for f in logger.filters):
            logger.addFilter(_RedactWebhookUrls())


_install_log_redaction()


def bot_token(token: object) -> str:
    """The bot token without a leading ``Bot ``; MissingSetting when empty, ConfigError when it holds
    spaces or control characters."""
    if not isinstance(token, str):
        raise MissingSetting("The Discord bot token is missing.", hint="Set DISCORD_BOT_TOKEN.")
    token = token.strip()
    if token.startswith("Bot "):
        token = token[4:].strip()
    if not token:
        raise MissingSetting("The Discord bot token is missing.", hint="Set DISCORD_BOT_TOKEN.")
    if not _TOKEN_RE.fullmatch(token):
        raise ConfigError("The Discord bot token contains spaces or control characters.",
                          hint="Copy the token again from the Discord developer portal.")
    return token


def _audit_header(reason: str | None) -> dict[str, str]:
    if not reason:
        return {}
    return {"X-Audit-Log-Reason": urllib.parse.quote(reason[:MAX_AUDIT_REASON], safe="")}


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _sent_before_failure(exc: httpx.TransportError) -> bool:
    """False when the request certainly never reached the server (it is then safe to resend)."""
    return not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _retryable(exc: httpx.TransportError) -> bool:
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def _parse_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None


class Transport:
    """Sends routes to ``base_url`` (the API root including the version) with the bot ``token``.

    ``record_path`` appends every exchange to a JSON Lines file (:mod:`gaib.discord.recording`).
    ``clock`` and ``rng`` are injectable for tests; ``retry`` sets the retry policy; the timeouts are
    in seconds. Call :meth:`close` when done.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        token: str,
        record_path: str | Path | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        global_per_second: int = 50,
        max_concurrency: int = 32,
    ) -> None:
        token = bot_token(token)
        self.__token = token
        parsed = urllib.parse.urlsplit(base_url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise ConfigError(
                f"Invalid Discord API URL {redact_webhook_url(base_url)[:80]!r}.",
                hint=f"Set GAIB_DISCORD_API_URL to an http(s) URL such as {DEFAULT_API_URL}.",
            )
        self.base_url = base_url.strip().rstrip("/")
        self.clock: Clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(self.clock, global_per_second=global_per_second)
        if max_concurrency < 1:
            raise ConfigError("The Discord client needs at least one request in flight.")
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._wait_listener: Callable[[L.Wait], None] | None = None
        self._banned_until = 0.0
        self._rng = rng or random.Random()
        self._auth_failed = False
        self._dead_webhooks: set[str] = set()
        self.recorder = Recorder(record_path, secrets=[token]) if record_path else None
        hooks: dict[str, list[Callable[..., Any]]] = {"response": [self.recorder]} if self.recorder else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                                  pool=connect_timeout),
            headers={"User-Agent": USER_AGENT},
            event_hooks=hooks,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_concurrency + 4, max_keepalive_connections=max_concurrency + 4),
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, token=[redacted])"

    def close(self) -> None:
        self._http.close()

    # -- limits -----------------------------------------------------------------------------------

    def on_wait(self, listener: Callable[[L.Wait], None] | None) -> None:
        """Call ``listener`` (from the requesting thread) before every rate-limit wait; None stops."""
        self._wait_listener = listener

    def _notify_wait(self, wait: L.Wait) -> None:
        log.info("%s waits %.1fs: %s", wait.route, wait.seconds, wait.reason)
        listener = self._wait_listener
        if listener is not None:
            listener(wait)

    def limit_usage(self) -> L.Usage:
        """The long windows the responses showed and the name/topic edits sent in the last 10 min."""
        return self.limiter.usage()

    def prime_limits(self, usage: L.Usage) -> None:
        """Count an earlier run's name/topic edits (``usage.name_topic``), so this run waits for the
        channel's 10-minute window instead of being refused."""
        self.limiter.prime(usage)

    def webhook_is_dead(self, webhook_id: str) -> bool:
        """True once the webhook answered 404 or 401: it is never called again."""
        return webhook_id in self._dead_webhooks

    # -- the request loop -------------------------------------------------------------------------

    def _secrets(self, route: Route) -> list[str]:
        return [self.__token, route.params.get("webhook_token", "")]

    def request(
        self,
        route: Route,
        *,
        body: Any = None,
        reason: str | None = None,
        query: Mapping[str, str] | None = None,
        url_root: str | None = None,
        probe: Probe | None = None,
        sub: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Send ``route`` with retries; return the decoded JSON body (None for 204).

        ``sub`` (a channel id) marks a name/topic edit, which counts against the channel's 10-minute
        sub-limit; ``webhook:{id}`` marks a webhook execution (30 per minute per channel).
        ``files`` sends the body as ``multipart/form-data`` fields with these files (sticker uploads).

        ``url_root`` replaces ``base_url`` and drops the Authorization header (webhook execution).
        ``probe`` is called after a failure that the server may have processed (a dropped connection
        after sending, a timeout, a 5xx), after the backoff delay; if it returns an object, that
        object is the result and the request is not sent again.
        """
        authenticated = url_root is None
        if authenticated and self._auth_failed:
            raise DiscordAuthError(
                f"Not sending {route.display}: Discord already rejected the bot token (401).",
                details={"route": route.display})
        banned = self._banned_until - self.clock.monotonic()
        if banned > 0:
            raise DiscordRateLimited(
                f"Not sending {route.display}: Discord's Cloudflare front banned this IP; about "
                f"{L.duration(banned)} left.", code="DISCORD_IP_BANNED",
                details={"route": route.display, "retry_after": round(banned, 3)})
        headers = _audit_header(reason)
        if authenticated:
            headers["Authorization"] = f"Bot {self.__token}"
        url = (url_root or self.base_url) + route.path
        payload = to_api_body(body) if body is not None and files is None else None
        form = {k: str(v) for k, v in body.items() if v is not None} if files is not None and body else None
        attempt = 0
        maybe_processed = False  # an earlier try may have done the work (its answer was lost)
        while True:
            attempt += 1
            interrupt.check()  # an interrupted run sends nothing more
            ticket = Sent()
            try:
                self.limiter.acquire(route, sub=sub, track=True, max_wait=self.retry.max_retry_after,
                                     on_wait=self._notify_wait, ticket=ticket)
            except WaitTooLong as exc:
                raise self._too_long(route, exc.seconds, exc.reason) from None
            try:
                with self._slots:
                    if files is not None:
                        response = self._http.request(route.method, url, data=form, files=dict(files),
                                                      headers=headers, params=query)
                    else:
                        response = self._http.request(route.method, url, json=payload, headers=headers,
                                                      params=query)
                self.limiter.update(route, response.headers, response.status_code, ticket=ticket)
            except httpx.TransportError as exc:
                self.limiter.release(route, ticket=ticket)
                what = scrub(redact_webhook_url(f"{type(exc).__name__}: {exc}"), self._secrets(route))
                if not _retryable(exc):
                    raise DiscordUnavailable(f"Could not reach Discord for {route.display}: {what}.",
                                             details={"route": route.display}) from None
                last_try = attempt >= self.retry.max_attempts
                maybe_processed = maybe_processed or _sent_before_failure(exc)
                if not last_try:
                    self.backoff(route, attempt, what)
                if probe is not None and _sent_before_failure(exc):
                    found = self._probe(route, probe, what)
                    if found is not None:
                        return found
                if last_try:
                    raise DiscordUnavailable(
                        f"Could not reach Discord for {route.display} after {attempt} attempts: {what}.",
                        details={"route": route.display, "attempts": attempt}) from None
                continue
            self.limiter.release(route)
            status = response.status_code
            log.debug("%s -> %s (attempt %d)", route.display, status, attempt)
            if status < 300:
                return _decode(response)
            data = _decode(response)
            if status == 429:
                self._on_429(route, response, data, attempt, sub)
                continue
            if status in RETRY_STATUSES:
                maybe_processed = True
                last_try = attempt >= self.retry.max_attempts
                if not last_try:
                    self.backoff(route, attempt, f"HTTP {status}")
                if probe is not None:
                    found = self._probe(route, probe, f"HTTP {status}")
                    if found is not None:
                        return found
                if last_try:
                    error = error_from_response(status, data, route.display, secrets=self._secrets(route))
                    raise DiscordUnavailable(
                        f"{error.message} Gave up after {attempt} attempts.",
                        details={**error.details, "attempts": attempt})
                continue
            if status == 401 and authenticated:
                self._auth_failed = True
            if status in (401, 404) and "webhook_id" in route.params:
                self._dead_webhooks.add(route.params["webhook_id"])
            if status == 404 and maybe_processed and route.method == "DELETE":
                log.warning("%s: retried after a lost answer, and the object is gone: the first try deleted it",
                            route.display)
                return None
            raise error_from_response(status, data, route.display, secrets=self._secrets(route))

    @staticmethod
    def _probe(route: Route, probe: Probe, what: str) -> Any:
        # Probing after the backoff gives a slow server time to finish the first request.
        found = probe()
        if found is not None:
            log.warning("%s failed (%s) but the server had created the object; not sending it again",
                        route.display, what)
        return found

    def backoff(self, route: Route, attempt: int, what: str) -> None:
        """Log the failure of try ``attempt`` and sleep the retry policy's jittered backoff for it."""
        delay = self.retry.backoff(attempt, self._rng)
        log.warning("%s failed (%s); retry %d/%d in %.2fs", route.display, what, attempt,
                    self.retry.max_attempts - 1, delay)
        self.clock.sleep(delay)

    # -- 429s and waits too long to make -----------------------------------------------------------

    def _too_long(self, route: Route, seconds: float, reason: str) -> DiscordRateLimited:
        details: dict[str, Any] = {"route": route.display, "retry_after": round(seconds, 3), "reason": reason,
                                   "scope": "user"}
        window = L.LONG_WINDOW_ROUTES.get((route.method, route.template))
        if window is not None:
            verb, noun = L.WINDOW_NOUNS[window]
            details["window"] = window
            return DiscordRateLimited(
                f"Discord's cap on {noun[:-1]} {verb} ({L.LONG_WINDOWS[window].describe()} per server) is used "
                f"up: {route.display} must wait {L.duration(seconds)}.", details=details,
                hint="Run the command again once the window has reset; everything done so far is recorded.")
        return DiscordRateLimited(
            f"{route.display} would have to wait {L.duration(seconds)} ({reason}), longer than the "
            f"{L.duration(self.retry.max_retry_after)} this run waits.", details=details)

    def _cloudflare_ban(self, route: Route, response: httpx.Response, data: Any) -> DiscordRateLimited | None:
        headers = response.headers
        if "X-RateLimit-Scope" in headers or "X-RateLimit-Global" in headers or "X-RateLimit-Bucket" in headers:
            return None
        if isinstance(data, dict) and "retry_after" in data:
            return None
        seconds = _parse_float(headers.get("Retry-After"))
        seconds = seconds if seconds is not None and seconds > 0 else L.BAN_SECONDS
        self._banned_until = self.clock.monotonic() + seconds
        return DiscordRateLimited(
            f"Discord's Cloudflare front refused {route.display} (a temporary IP ban after too many invalid "
            f"requests: 401, 403 or 429). Gaib stops so as not to make it longer; about "
            f"{L.duration(seconds)} left.", code="DISCORD_IP_BANNED",
            hint="Wait for the ban to end; check the bot token and its permissions before running again.",
            details={"route": route.display, "retry_after": round(seconds, 3), "scope": "cloudflare"})

    def _on_429(self, route: Route, response: httpx.Response, data: Any, attempt: int,
                sub: str | None = None) -> None:
        ban = self._cloudflare_ban(route, response, data)
        if ban is not None:
            raise ban
        body = data if isinstance(data, dict) else {}
        retry_after = _parse_float(body.get("retry_after"))
        if retry_after is None:
            retry_after = _parse_float(response.headers.get("Retry-After"))
        if retry_after is None:
            retry_after = _parse_float(response.headers.get("X-RateLimit-Reset-After"))
        if retry_after is None:
            retry_after = self.retry.backoff(attempt, self._rng)
        is_global = (body.get("global") is True
                     or response.headers.get("X-RateLimit-Global", "").lower() == "true"
                     or response.headers.get("X-RateLimit-Scope", "") == "global")
        scope = response.headers.get("X-RateLimit-Scope", "global" if is_global else "user")
        details: dict[str, Any] = {"route": route.display, "retry_after": retry_after, "global": is_global,
                                   "scope": scope, "attempts": attempt}
        remaining = _parse_float(response.headers.get("X-RateLimit-Remaining"))
        # A 429 while the bucket still has requests left is a sub-limit: for a name/topic edit, the
        # channel's 10-minute window (Discord's headers never show it).
        sub_limited = sub is not None and not is_global and remaining is not None and remaining > 0
        window = L.LONG_WINDOW_ROUTES.get((route.method, route.template))
        if retry_after > self.retry.max_retry_after:
            if window is not None and not sub_limited:
                self.limiter.on_429(route, retry_after, is_global=False)
                raise self._too_long(route, retry_after, "429")
            raise DiscordRateLimited(
                f"Discord rate limited {route.display} for {retry_after:.0f}s ({scope} limit), "
                f"longer than the {self.retry.max_retry_after:.0f}s this run waits.", details=details)
        if attempt >= self.retry.max_attempts:
            raise DiscordRateLimited(
                f"Discord kept rate limiting {route.display} ({scope} limit) after {attempt} attempts.",
                details=details)
        log.warning("%s rate limited (%s); waiting %.3fs", route.display, scope, retry_after)
        self.limiter.on_429(route, retry_after, is_global=is_global, sub=sub if sub_limited else None)


__all__ = ["DEFAULT_API_URL", "USER_AGENT", "Probe", "Transport", "bot_token"]
