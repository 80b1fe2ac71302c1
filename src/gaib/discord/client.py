"""The Discord REST client: the only place Gaib speaks HTTP to Discord (or to the bundled emulator).

Contract, for every method:

* Requests go to ``{base_url}{path}`` with ``Authorization: Bot <token>``, a ``DiscordBot (url, version)``
  User-Agent and, when ``reason`` is given, an ``X-Audit-Log-Reason`` header (URL-encoded, the reason
  cut to 512 characters). Bodies are JSON; permission bit sets are sent as decimal strings.
* Ids passed in are checked with :func:`gaib.names.check_snowflake` before anything is sent; a bad id
  (``../x``, unicode, huge) raises InvalidName (exit 6) and sends nothing.
* Rate limits are read from every response (:mod:`gaib.discord.ratelimit`), so a well-behaved run
  sees no 429. A 429 is retried after exactly ``retry_after``; 500/502/503/504 and network failures
  (connect error, timeout, dropped connection) are retried with capped, jittered exponential backoff,
  up to ``RetryPolicy.max_attempts`` tries in all. A wait longer than ``RetryPolicy.max_retry_after``
  (a used-up day-long cap) is not waited for: DiscordRateLimited names the window
  (``details["window"]``, e.g. ``role_creates``) and the seconds until it resets, and nothing is sent.
* The client is safe to share between threads; requests to a bucket whose size is not known yet go
  one at a time until the first answer shows it. ``max_concurrency`` bounds the requests in flight
  (1 gives a strictly sequential client).
* A 429 that is Cloudflare's ban (no rate-limit headers, no JSON ``retry_after``) raises
  DiscordRateLimited with code ``DISCORD_IP_BANNED`` and every later call fails without sending, so
  the ban is never made longer.
* Failures raise the GaibError subclasses of :mod:`gaib.discord.errors` (exit code 4). 401 and 403 are
  never retried; after a 401 every later call raises DiscordAuthError without sending anything. A
  webhook that answered 404 is never called again by this client.
* The bot token and webhook tokens never appear in an error message, a log line, ``repr`` or a
  recording.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gaib import __version__
from gaib.discord import limits as L
from gaib.discord.community_client import CommunityRequests
from gaib.discord.errors import error_from_response, scrub
from gaib.discord.models import (
    Channel,
    ChannelType,
    Guild,
    Overwrite,
    Role,
    Webhook,
    overwrite_body,
    to_api_body,
)
from gaib.discord.ratelimit import Clock, RateLimiter, RetryPolicy, Route, SystemClock, WaitTooLong
from gaib.discord.recording import Recorder, redact_webhook_url
from gaib.errors import (
    ConfigError,
    DiscordAuthError,
    DiscordError,
    DiscordNotFound,
    DiscordRateLimited,
    DiscordUnavailable,
    InvalidInput,
    MissingSetting,
)
from gaib.names import check_snowflake

DEFAULT_API_URL = "https://discord.com/api/v10"
USER_AGENT = f"DiscordBot (https://github.com/gaib/gaib, {__version__})"
MAX_AUDIT_REASON = 512
RETRY_STATUSES = frozenset({500, 502, 503, 504})

T = TypeVar("T")

log = logging.getLogger("gaib.discord")

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_WEBHOOK_URL_RE = re.compile(r"(https?://[^/?#\s]+(?:/[^?#\s]*?)?)/webhooks/([0-9]{1,20})/([A-Za-z0-9_.\-]{1,200})/?")



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

#: A dedupe probe: returns the raw JSON of an object that a possibly-processed create left behind.
_Probe = Callable[[], Any]


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


class DiscordClient(CommunityRequests):
    """Synchronous client for the Discord REST endpoints Gaib uses (NOTES §3).

    ``base_url`` is the API root including the version (``https://discord.com/api/v10`` or an
    emulator's ``http://127.0.0.1:PORT/api/v10``), ``token`` the bot token (a leading ``Bot `` is
    accepted and dropped), ``guild_id`` the server the guild-level methods work on (they raise
    MissingSetting without it).
    ``record_path`` appends every exchange to a JSON Lines file (:mod:`gaib.discord.recording`).
    ``clock`` and ``rng`` are injectable for tests; ``retry`` sets the retry policy; the timeouts are
    in seconds. Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        token: str,
        guild_id: str | None = None,
        record_path: str | Path | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        global_per_second: int = 50,
        max_concurrency: int = 32,
    ) -> None:
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
        self.__token = token
        self.guild_id = check_snowflake(guild_id, "server id") if guild_id is not None else None
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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **kwargs: Any) -> DiscordClient:
        """Build from ``DISCORD_BOT_TOKEN``, ``DISCORD_GUILD_ID`` (optional), ``GAIB_DISCORD_API_URL``
        (default Discord's v10 API) and ``GAIB_DISCORD_RECORD`` (optional recording path).

        Keyword arguments override the environment (e.g. ``guild_id=``). Raises MissingSetting (exit 2)
        when no token is set.
        """
        token = environ.get("DISCORD_BOT_TOKEN", "")
        if not token.strip():
            raise MissingSetting("DISCORD_BOT_TOKEN is not set.",
                                 hint="Export DISCORD_BOT_TOKEN with the bot's token.")
        kwargs.setdefault("guild_id", environ.get("DISCORD_GUILD_ID") or None)
        kwargs.setdefault("record_path", environ.get("GAIB_DISCORD_RECORD") or None)
        base_url = kwargs.pop("base_url", None) or environ.get("GAIB_DISCORD_API_URL") or DEFAULT_API_URL
        return cls(base_url, token=token, **kwargs)

    def __repr__(self) -> str:
        return f"DiscordClient(base_url={self.base_url!r}, guild_id={self.guild_id!r}, token=[redacted])"

    def close(self) -> None:
        self._http.close()
        self.close_cdn()

    def __enter__(self) -> DiscordClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    # -- the request loop -------------------------------------------------------------------------

    def _secrets(self, route: Route) -> list[str]:
        return [self.__token, route.params.get("webhook_token", "")]

    def _request(
        self,
        route: Route,
        *,
        body: Any = None,
        reason: str | None = None,
        query: Mapping[str, str] | None = None,
        url_root: str | None = None,
        probe: _Probe | None = None,
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
        while True:
            attempt += 1
            try:
                self.limiter.acquire(route, sub=sub, track=True, max_wait=self.retry.max_retry_after,
                                     on_wait=self._notify_wait)
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
                self.limiter.update(route, response.headers, response.status_code)
            except httpx.TransportError as exc:
                self.limiter.release(route)
                what = scrub(redact_webhook_url(f"{type(exc).__name__}: {exc}"), self._secrets(route))
                if not _retryable(exc):
                    raise DiscordUnavailable(f"Could not reach Discord for {route.display}: {what}.",
                                             details={"route": route.display}) from None
                last_try = attempt >= self.retry.max_attempts
                if not last_try:
                    self._backoff(route, attempt, what)
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
                last_try = attempt >= self.retry.max_attempts
                if not last_try:
                    self._backoff(route, attempt, f"HTTP {status}")
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
            raise error_from_response(status, data, route.display, secrets=self._secrets(route))

    @staticmethod
    def _probe(route: Route, probe: _Probe, what: str) -> Any:
        # Probing after the backoff gives a slow server time to finish the first request.
        found = probe()
        if found is not None:
            log.warning("%s failed (%s) but the server had created the object; not sending it again",
                        route.display, what)
        return found

    def _backoff(self, route: Route, attempt: int, what: str) -> None:
        delay = self.retry.backoff(attempt, self._rng)
        log.warning("%s failed (%s); retry %d/%d in %.2fs", route.display, what, attempt,
                    self.retry.max_attempts - 1, delay)
        self.clock.sleep(delay)

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

    # -- helpers ----------------------------------------------------------------------------------

    def _guild(self) -> str:
        if self.guild_id is None:
            raise MissingSetting("No Discord server id was given.", hint="Set DISCORD_GUILD_ID.")
        return self.guild_id

    def _route(self, method: str, template: str, **params: str) -> Route:
        for name, value in params.items():
            check_snowflake(value, name.replace("_", " "))
        return Route(method, template, params)

    @staticmethod
    def _fields(fields: Mapping[str, Any], what: str) -> dict[str, Any]:
        if not isinstance(fields, Mapping):
            raise InvalidInput(f"The {what} fields must be a mapping of Discord field names to values.")
        return dict(fields)

    @staticmethod
    def _parse(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> T:
        if not isinstance(data, dict):
            raise DiscordError(f"Discord sent an unexpected {kind} response (not an object).")
        try:
            return build(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise DiscordError(
                f"Discord sent a {kind} object Gaib cannot read ({type(exc).__name__})."
            ) from None

    @staticmethod
    def _parse_list(kind: str, build: Callable[[dict[str, Any]], T], data: Any) -> list[T]:
        if data is None:
            return []
        if not isinstance(data, list):
            raise DiscordError(f"Discord sent an unexpected {kind} list response (not an array).")
        return [DiscordClient._parse(kind, build, item) for item in data]

    # -- reads ------------------------------------------------------------------------------------

    def get_guild(self) -> Guild:
        """The guild with its roles and channels: two GETs, sent together (the guild object carries
        its roles; a guild object without them costs a third GET of the roles).

        Roles are sorted by (position, id), channels by (position, id); raises DiscordNotFound when the
        guild does not exist or the bot is not in it.
        """
        gid = self._guild()

        def guild() -> tuple[str, list[Role]]:
            data = self._request(self._route("GET", "/guilds/{guild_id}", guild_id=gid))
            name = self._parse("guild", lambda d: str(d["name"]), data)
            raw = data.get("roles") if isinstance(data, dict) else None
            if not isinstance(raw, list):
                return name, self.list_roles()
            roles = self._parse_list("role", Role.from_api, raw)
            return name, sorted(roles, key=lambda r: (r.position, int(r.id)))

        if self.max_concurrency == 1:
            name, roles = guild()
            return Guild(id=gid, name=name, roles=tuple(roles), channels=tuple(self.list_channels()))
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gaib-read") as pool:
            got, channels = pool.submit(guild), pool.submit(self.list_channels)
            name, roles = got.result()
            return Guild(id=gid, name=name, roles=tuple(roles), channels=tuple(channels.result()))

    def list_roles(self) -> list[Role]:
        """Every role of the guild (including @everyone, whose id is the guild id), by (position, id)."""
        roles = self._parse_list("role", Role.from_api, self._list_roles_raw())
        return sorted(roles, key=lambda r: (r.position, int(r.id)))

    def _list_roles_raw(self) -> Any:
        return self._request(self._route("GET", "/guilds/{guild_id}/roles", guild_id=self._guild()))

    def list_channels(self) -> list[Channel]:
        """Every guild channel (no threads), by (position, id). Channel types Gaib does not model are
        skipped."""
        data = self._list_channels_raw()
        known = {int(t) for t in ChannelType}
        items = [c for c in (data or []) if not isinstance(c, dict) or c.get("type") in known]
        channels = self._parse_list("channel", Channel.from_api, items)
        return sorted(channels, key=lambda c: (c.position, int(c.id)))

    def _list_channels_raw(self) -> Any:
        return self._request(self._route("GET", "/guilds/{guild_id}/channels", guild_id=self._guild()))

    def get_channel(self, channel_id: str) -> Channel:
        """One channel; raises DiscordNotFound (code 10003) when it does not exist."""
        data = self._request(self._route("GET", "/channels/{channel_id}", channel_id=channel_id))
        return self._parse("channel", Channel.from_api, data)

    # -- roles ------------------------------------------------------------------------------------

    def create_role(self, fields: Mapping[str, Any], *, reason: str | None = None,
                    dedupe: bool = False) -> Role:
        """Create a role from a body such as :func:`gaib.discord.models.role_body` returns.

        Retrying a POST whose connection dropped (or that got a 5xx) may create the role twice: the
        server may have processed the first try. With ``dedupe=True`` the client instead re-lists the
        roles after such a failure and, if a role with exactly ``fields["name"]`` exists, returns that
        one (the newest, if several) rather than POSTing again. Only use it when role names are unique
        in the guild, which is how Gaib addresses roles. A failure before the request was sent
        (connection refused) is always resent.
        """
        body = self._fields(fields, "role")
        probe: _Probe | None = None
        if dedupe:
            if not isinstance(body.get("name"), str):
                raise InvalidInput("create_role(dedupe=True) needs a role name to look for.")
            name = body["name"]

            def probe() -> Any:
                return _newest(r for r in (self._list_roles_raw() or [])
                               if isinstance(r, dict) and r.get("name") == name)

        route = self._route("POST", "/guilds/{guild_id}/roles", guild_id=self._guild())
        return self._parse("role", Role.from_api,
                           self._request(route, body=body, reason=reason, probe=probe))

    def update_role(self, role_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Role:
        """PATCH a role with the given fields; returns the updated role. DiscordNotFound if it is gone."""
        route = self._route("PATCH", "/guilds/{guild_id}/roles/{role_id}", guild_id=self._guild(),
                            role_id=role_id)
        data = self._request(route, body=self._fields(fields, "role"), reason=reason)
        return self._parse("role", Role.from_api, data)

    def delete_role(self, role_id: str, *, reason: str | None = None) -> None:
        """Delete a role. Raises DiscordNotFound (code 10011) when it does not exist."""
        route = self._route("DELETE", "/guilds/{guild_id}/roles/{role_id}", guild_id=self._guild(),
                            role_id=role_id)
        self._request(route, reason=reason)

    def reorder_roles(self, positions: Iterable[tuple[str, int]], *,
                      reason: str | None = None) -> list[Role]:
        """Set role positions with one PATCH of ``[{id, position}]``; returns every role, by position."""
        body = []
        for role_id, position in positions:
            check_snowflake(role_id, "role id")
            if not isinstance(position, int) or isinstance(position, bool) or position < 0:
                raise InvalidInput(f"Invalid position {position!r} for role {role_id}.")
            body.append({"id": role_id, "position": position})
        if not body:
            return self.list_roles()
        route = self._route("PATCH", "/guilds/{guild_id}/roles", guild_id=self._guild())
        roles = self._parse_list("role", Role.from_api, self._request(route, body=body, reason=reason))
        return sorted(roles, key=lambda r: (r.position, int(r.id)))

    # -- channels ---------------------------------------------------------------------------------

    def create_channel(self, fields: Mapping[str, Any], *, reason: str | None = None,
                       dedupe: bool = False) -> Channel:
        """Create a channel from a body such as :func:`gaib.discord.models.channel_body` returns
        (``name`` required; ``type``, ``parent_id`` and ``permission_overwrites`` inline).

        ``dedupe=True`` works as in :meth:`create_role`: after a failure the server may have processed,
        the channels are re-listed and an existing channel with the same name, type and parent is
        returned instead of POSTing again.
        """
        body = self._fields(fields, "channel")
        if not isinstance(body.get("name"), str):
            raise InvalidInput("A channel needs a name.")
        parent = body.get("parent_id")
        if parent is not None:
            check_snowflake(parent, "parent id")
        probe: _Probe | None = None
        if dedupe:
            name, ctype = body["name"], int(body.get("type") or 0)

            def probe() -> Any:
                return _newest(
                    c for c in (self._list_channels_raw() or [])
                    if isinstance(c, dict) and c.get("name") == name and c.get("type") == ctype
                    and (c.get("parent_id") or None) == (parent or None))

        route = self._route("POST", "/guilds/{guild_id}/channels", guild_id=self._guild())
        return self._parse("channel", Channel.from_api,
                           self._request(route, body=body, reason=reason, probe=probe))

    def update_channel(self, channel_id: str, fields: Mapping[str, Any], *,
                       reason: str | None = None) -> Channel:
        """PATCH a channel with the given fields; returns the updated channel.

        A body with ``name`` or ``topic`` counts against the channel's 2-per-10-minutes name/topic
        limit: the client waits for it (telling the wait listener) rather than be refused."""
        route = self._route("PATCH", "/channels/{channel_id}", channel_id=channel_id)
        body = self._fields(fields, "channel")
        sub = channel_id if any(name in body for name in L.NAME_TOPIC_FIELDS) else None
        data = self._request(route, body=body, reason=reason, sub=sub)
        return self._parse("channel", Channel.from_api, data)

    def delete_channel(self, channel_id: str, *, reason: str | None = None) -> Channel:
        """Delete a channel and return it as it was. Children of a deleted category lose their parent."""
        route = self._route("DELETE", "/channels/{channel_id}", channel_id=channel_id)
        data = self._request(route, reason=reason)
        return self._parse("channel", Channel.from_api, data)

    def reorder_channels(self, moves: Iterable[Mapping[str, Any]], *, reason: str | None = None) -> None:
        """Move channels: each move is ``{id, position?, parent_id?, lock_permissions?}``.

        Discord accepts at most one ``parent_id`` change per request (40009), so moves that carry a
        ``parent_id`` are sent one per request, after one request with all position-only moves.
        """
        plain: list[dict[str, Any]] = []
        reparent: list[dict[str, Any]] = []
        for move in moves:
            entry = self._fields(move, "channel move")
            check_snowflake(entry.get("id"), "channel id")
            unknown = set(entry) - {"id", "position", "parent_id", "lock_permissions"}
            if unknown:
                raise InvalidInput(f"Unknown channel move fields: {', '.join(sorted(unknown))}.")
            position = entry.get("position")
            if position is not None and (not isinstance(position, int) or position < 0):
                raise InvalidInput(f"Invalid position {position!r} for channel {entry['id']}.")
            if "parent_id" in entry:
                if entry["parent_id"] is not None:
                    check_snowflake(entry["parent_id"], "parent id")
                reparent.append(entry)
            else:
                plain.append(entry)
        route = self._route("PATCH", "/guilds/{guild_id}/channels", guild_id=self._guild())
        batches = ([plain] if plain else []) + [[entry] for entry in reparent]
        for batch in batches:
            self._request(route, body=batch, reason=reason)

    # -- permission overwrites --------------------------------------------------------------------

    def set_overwrite(self, channel_id: str, overwrite: Overwrite, *, reason: str | None = None) -> None:
        """Create or replace the overwrite for ``overwrite.id`` on a channel (PUT, 204)."""
        route = self._route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}",
                            channel_id=channel_id, overwrite_id=overwrite.id)
        self._request(route, body=overwrite_body(overwrite), reason=reason)

    def delete_overwrite(self, channel_id: str, target_id: str, *, reason: str | None = None) -> None:
        """Remove the overwrite for a role or member from a channel (DELETE, 204)."""
        route = self._route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}",
                            channel_id=channel_id, overwrite_id=target_id)
        self._request(route, reason=reason)

    # -- webhooks ---------------------------------------------------------------------------------

    def create_webhook(self, channel_id: str, name: str, *, reason: str | None = None) -> Webhook:
        """Create an incoming webhook in a channel; the returned Webhook's ``url`` is a secret."""
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise InvalidInput("A webhook name must be 1-80 characters.")
        route = self._route("POST", "/channels/{channel_id}/webhooks", channel_id=channel_id)
        data = self._request(route, body={"name": name}, reason=reason)
        return self._parse(
            "webhook", lambda d: Webhook.from_api(d, base_url=self.base_url), data)

    def execute_webhook(self, url: str, payload: Mapping[str, Any], *, wait: bool = False) -> Any:
        """POST ``payload`` (``content``/``embeds``/…) to a webhook URL, without the bot token.

        Returns None (204), or the created message when ``wait=True``. An unversioned ``…/api/webhooks``
        URL is sent to ``…/api/v10/webhooks``. A webhook that answered 404 (or 401, a bad webhook
        token) is never called again: DiscordNotFound is raised without a request. The URL is never
        shown in errors or logs.
        """
        match = _WEBHOOK_URL_RE.fullmatch(url.strip()) if isinstance(url, str) else None
        if match is None:
            raise InvalidInput("Not a Discord webhook URL (expected https://…/webhooks/<id>/<token>).")
        root, webhook_id, token = match.groups()
        if root.endswith("/api"):
            root += "/v10"
        route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                      {"webhook_id": webhook_id, "webhook_token": token})
        if webhook_id in self._dead_webhooks:
            raise DiscordNotFound(f"Not calling webhook {webhook_id}: it answered 404 or 401 before.",
                                  hint="Create a new webhook and update the notification settings.",
                                  details={"route": route.display})
        body = self._fields(payload, "webhook message")
        # Also paced by the channel's 30-per-minute webhook limit (no header shows it; one webhook per
        # channel stands for the channel).
        return self._request(route, body=body, url_root=root, query={"wait": "true"} if wait else None,
                             sub=f"{L.WEBHOOK_SUB}{webhook_id}")


def _newest(candidates: Iterable[Any]) -> Any:
    """The candidate with the highest snowflake id (the most recently created), or None."""
    best: Any = None
    for item in candidates:
        try:
            key = int(item["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if best is None or key > int(best["id"]):
            best = item
    return best


__all__ = ["DEFAULT_API_URL", "USER_AGENT", "DiscordClient"]
