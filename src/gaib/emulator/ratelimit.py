"""The ``discord`` rate-limit profile: Discord's limits as measured (figures and sources in
:mod:`gaib.discord.limits`), on the emulator's clock.

Route buckets (fixed windows that start with their first request, per major id — the guild id,
channel id or webhook id + token in the path, as Discord splits them):

=====================================================  =================  ==========
route                                                  limit              per
=====================================================  =================  ==========
POST /guilds/{guild_id}/roles                          250 per 48 h       guild
POST /guilds/{guild_id}/channels                       500 per 24 h       guild
PATCH /guilds/{guild_id}/roles/{role_id}               1000 per 24 h      guild
PATCH /channels/{channel_id}                           5 per 15 s         channel
  … that sets ``name`` or ``topic``                    2 per 10 min       channel
PUT/DELETE /channels/{channel_id}/permissions/{id}     10 per 15 s        channel (one bucket)
POST /webhooks/{webhook_id}/{webhook_token}            5 per 2 s          webhook
  … into one channel, by any webhook                   30 per 60 s        channel
GET /channels/{channel_id}/messages                    5 per 5 s          channel
GET /guilds/{guild_id}/bans                            10 per 10 s        guild
POST /guilds/{guild_id}/emojis                         50 per 1 h         guild
PATCH/DELETE /guilds/{guild_id}/emojis/{id}            1 per 2 s          guild (one bucket)
POST /guilds/{guild_id}/stickers                       50 per 1 h         guild
PATCH/DELETE /guilds/{guild_id}/stickers/{id}          1 per 2 s          guild (one bucket)
any route, per bot token                               50 per 1 s         (global)
=====================================================  =================  ==========

Other routes (reads, deletes, reorders) have no measured bucket: they answer without
``X-RateLimit-*`` headers and only the global limit applies.

* A bucket's 429 has scope ``user``, ``Remaining: 0`` and ``retry_after`` up to its reset.
* The name/topic sub-limit answers 429 (scope ``user``) with the channel bucket's headers unchanged,
  so ``X-RateLimit-Remaining`` still shows requests left, as Discord does; so does the per-channel
  webhook limit.
* Invalid requests — answers 401, 403 and 429 except scope ``shared`` — are counted per 10 minutes;
  past 10,000 every request is answered like Cloudflare's ban (429, ``error code: 1015`` as text, a
  ``Retry-After`` of an hour, no rate-limit headers) until the ban ends.

With ``enforce=False`` (``--rate-limits off``) nothing is refused and nobody is banned, but headers
are still sent and invalid requests still counted. Every window runs on :class:`EmulatorClock`, which
tests move forward through the control endpoint ``POST /_emulator/clock``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gaib.discord import limits as L

WEBHOOK_EXECUTE = "/webhooks/{webhook_id}/{webhook_token}"


@dataclass(frozen=True)
class Rule:
    """A route's bucket: routes with the same ``bucket`` name share one (the hash of the name is the
    ``X-RateLimit-Bucket`` header)."""

    bucket: str
    limit: L.Limit


RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/guilds/{guild_id}/roles"): Rule("role-create", L.ROLE_CREATES),
    ("POST", "/guilds/{guild_id}/channels"): Rule("channel-create", L.CHANNEL_CREATES),
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}"): Rule("role-edit", L.ROLE_EDITS),
    ("PATCH", "/channels/{channel_id}"): Rule("channel-edit", L.CHANNEL_EDITS),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"): Rule("overwrite", L.OVERWRITE_EDITS),
    ("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}"): Rule("overwrite", L.OVERWRITE_EDITS),
    ("POST", WEBHOOK_EXECUTE): Rule("webhook-execute", L.WEBHOOK_EXECUTES),
    ("GET", "/channels/{channel_id}/messages"): Rule("message-read", L.MESSAGE_READS),
    ("GET", "/guilds/{guild_id}/bans"): Rule("ban-read", L.BAN_READS),
    ("POST", "/guilds/{guild_id}/emojis"): Rule("emoji-create", L.EMOJI_CREATES),
    ("PATCH", "/guilds/{guild_id}/emojis/{emoji_id}"): Rule("emoji-edit", L.EMOJI_EDITS),
    ("DELETE", "/guilds/{guild_id}/emojis/{emoji_id}"): Rule("emoji-edit", L.EMOJI_EDITS),
    ("POST", "/guilds/{guild_id}/stickers"): Rule("sticker-create", L.STICKER_CREATES),
    ("PATCH", "/guilds/{guild_id}/stickers/{sticker_id}"): Rule("sticker-edit", L.STICKER_EDITS),
    ("DELETE", "/guilds/{guild_id}/stickers/{sticker_id}"): Rule("sticker-edit", L.STICKER_EDITS),
}
#: Long windows by the names plans use (``role_creates`` …) → the bucket that holds them.
CAP_BUCKETS = {"role_creates": "role-create", "channel_creates": "channel-create", "role_edits": "role-edit"}
NAME_TOPIC_ROUTE = ("PATCH", "/channels/{channel_id}")


def bucket_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


class EmulatorClock:
    """The emulator's time: the real clock plus an offset that only ever grows (:meth:`advance`)."""

    def __init__(self, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._mono = mono
        self.offset = 0.0

    def time(self) -> float:
        """Unix epoch seconds, as the emulator sees them."""
        return self._wall() + self.offset

    def monotonic(self) -> float:
        return self._mono() + self.offset

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (ValueError if negative or not finite)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the emulator's clock only moves forward by a finite number of seconds")
        self.offset += seconds


@dataclass
class _Window:
    limit: int
    period: float
    reset_at: float  # on EmulatorClock.monotonic
    used: int = 0


@dataclass(frozen=True)
class Decision:
    """Outcome for one request: ``allowed`` plus the headers (and, if refused, the 429 details)."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


class RateLimiter:
    """The ``discord`` profile's state. Not thread-safe by itself: callers hold the emulator lock."""

    def __init__(self, enforce: bool = True, clock: EmulatorClock | None = None) -> None:
        self.enforce = enforce
        self.clock = clock or EmulatorClock()
        self._buckets: dict[str, _Window] = {}
        self._global: dict[str, _Window] = {}
        self._invalid: _Window | None = None
        self._banned_until = 0.0
        self.invalid_total = 0

    def reset(self) -> None:
        """Forget every bucket, the invalid-request count and any ban."""
        self._buckets.clear()
        self._global.clear()
        self._invalid = None
        self._banned_until = 0.0
        self.invalid_total = 0

    def _window(self, table: dict[str, _Window], key: str, limit: L.Limit) -> _Window:
        now = self.clock.monotonic()
        window = table.get(key)
        if window is None or now >= window.reset_at:
            window = _Window(limit=limit.limit, period=limit.seconds, reset_at=now + limit.seconds)
            table[key] = window
        return window

    # --- the Cloudflare ban -----------------------------------------------------------------------

    def ban_remaining(self) -> float:
        """Seconds left of the ban (0 when not banned)."""
        return max(0.0, self._banned_until - self.clock.monotonic())

    def count_answer(self, status: int, scope: str | None) -> None:
        """Count an answer that Discord counts as invalid (401, 403, 429 unless scope ``shared``)."""
        if status not in (401, 403, 429) or (status == 429 and scope == "shared"):
            return
        self.invalid_total += 1
        now = self.clock.monotonic()
        window = self._invalid
        if window is None or now >= window.reset_at:
            limit = L.INVALID_REQUESTS
            window = self._invalid = _Window(limit.limit, limit.seconds, now + limit.seconds)
        window.used += 1
        if self.enforce and window.used > window.limit and not self.ban_remaining():
            self._banned_until = self.clock.monotonic() + L.BAN_SECONDS

    def invalid_in_window(self) -> int:
        window = self._invalid
        if window is None or self.clock.monotonic() >= window.reset_at:
            return 0
        return window.used

    # --- route buckets ---------------------------------------------------------------------------

    def _headers(self, rule: Rule, window: _Window) -> dict[str, str]:
        reset_after = max(window.reset_at - self.clock.monotonic(), 0.0)
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.limit - window.used, 0)),
            "X-RateLimit-Reset": f"{self.clock.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(rule.bucket),
        }

    @staticmethod
    def _refusal(headers: dict[str, str], retry: float) -> Decision:
        retry = max(retry, 0.001)
        headers = {**headers, "Retry-After": str(math.ceil(retry)), "X-RateLimit-Scope": "user"}
        return Decision(False, headers, retry_after=round(retry, 3))

    def check(self, method: str, template: str, major: str, token_key: str | None,
              body_fields: Iterable[str] = (), channel: str | None = None) -> Decision:
        """Count one request. ``token_key`` (None for webhook-token routes) selects the global window;
        ``body_fields`` are the top-level keys of the JSON body (for the name/topic sub-limit);
        ``channel`` is the channel a webhook execution posts into (30 per minute per channel)."""
        if self.enforce and token_key is not None:
            glob = self._window(self._global, token_key, L.GLOBAL)
            if glob.used >= glob.limit:
                retry = max(glob.reset_at - self.clock.monotonic(), 0.001)
                headers = {"Retry-After": str(math.ceil(retry)), "X-RateLimit-Global": "true",
                           "X-RateLimit-Scope": "global"}
                return Decision(False, headers, retry_after=round(retry, 3), is_global=True)
            glob.used += 1
        rule = RULES.get((method, template))
        if rule is None:
            return Decision(True, {})
        window = self._window(self._buckets, f"{rule.bucket}\x00{major}", rule.limit)
        headers = self._headers(rule, window)
        if self.enforce and window.used >= window.limit:
            headers["X-RateLimit-Remaining"] = "0"
            return self._refusal(headers, window.reset_at - self.clock.monotonic())
        sub: _Window | None = None
        if (method, template) == NAME_TOPIC_ROUTE and set(body_fields) & set(L.NAME_TOPIC_FIELDS):
            sub = self._window(self._buckets, f"name-topic\x00{major}", L.NAME_TOPIC_EDITS)
            if self.enforce and sub.used >= sub.limit:
                # Discord's headers do not show this limit: the channel bucket still has requests left.
                return self._refusal(headers, sub.reset_at - self.clock.monotonic())
            sub.used += 1
        if channel is not None:
            per_channel = self._window(self._buckets, f"webhook-channel\x00{channel}", L.WEBHOOK_CHANNEL_MESSAGES)
            if self.enforce and per_channel.used >= per_channel.limit:
                return self._refusal(headers, per_channel.reset_at - self.clock.monotonic())
            per_channel.used += 1
        window.used += 1
        return Decision(True, self._headers(rule, window))

    # --- long windows (caps) ---------------------------------------------------------------------

    def spend(self, cap: str, major: str, used: int) -> None:
        """Start the guild's ``cap`` window (``role_creates``, ``channel_creates``, ``role_edits``) now with
        ``used`` requests already counted (ValueError for an unknown cap or a count out of range)."""
        bucket = CAP_BUCKETS.get(cap)
        if bucket is None:
            raise ValueError(f"unknown cap {cap!r}; known: {', '.join(CAP_BUCKETS)}")
        limit = L.LONG_WINDOWS[cap]
        if not 0 <= used <= limit.limit:
            raise ValueError(f"{cap} takes 0-{limit.limit} requests already used")
        now = self.clock.monotonic()
        self._buckets[f"{bucket}\x00{major}"] = _Window(limit.limit, limit.seconds, now + limit.seconds, used)

    def caps(self, major: str) -> dict[str, dict[str, float]]:
        """The guild's long windows: ``{cap: {limit, used, remaining, reset_after}}``."""
        out: dict[str, dict[str, float]] = {}
        now = self.clock.monotonic()
        for cap, bucket in CAP_BUCKETS.items():
            window = self._buckets.get(f"{bucket}\x00{major}")
            limit = L.LONG_WINDOWS[cap]
            if window is None or now >= window.reset_at:
                out[cap] = {"limit": limit.limit, "used": 0, "remaining": limit.limit, "reset_after": 0.0}
            else:
                out[cap] = {"limit": window.limit, "used": window.used,
                            "remaining": max(window.limit - window.used, 0),
                            "reset_after": round(window.reset_at - now, 3)}
        return out
