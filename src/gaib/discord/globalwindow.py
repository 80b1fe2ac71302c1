"""The global limit (50 requests per second per bot token), kept with a margin whatever delays a request.

Discord counts a request when it arrives, somewhere between its send and its answer; the client cannot
see when. :class:`GlobalWindow` therefore counts each request (given a :class:`Sent` ticket) from its
send until :data:`GLOBAL_SPAN` after the latest moment it can have arrived: its answer less the fastest
round trip seen, the least any request spends on the way out and back. A request held up on its way —
a busy CPU, a loaded server — thus keeps its place longer instead of landing in the next second's
count; at a steady latency each request counts for ``GLOBAL_SPAN`` from its send. Why this holds:
a new request arrives at least its way out after it is let go, an old one at most its way back before
its answer, and the two ways together take at least the fastest round trip.

Not thread-safe by itself: :class:`gaib.discord.ratelimit.RateLimiter` calls it under its lock.
"""

from __future__ import annotations

import bisect
import math

#: How long a request counts against the global limit after the latest moment Discord can have
#: counted it: the limit's second (Discord's rate-limit documentation: 50 requests per second) plus
#: 20 ms. The uncertainty of *when* a request arrived is not in this margin: it is bounded by the
#: request's own round trip, which grows with whatever slows it. The 20 ms cover the rest — requests
#: whose ways out and back are a little faster than the fastest round trip's, two clocks' rates over a
#: second, timer granularity, a window boundary that is inclusive — and cost 2 % of the throughput (the
#: maximum guild's 752 requests: 15.3 s of windows instead of 15.0 s).
GLOBAL_MARGIN = 0.02
GLOBAL_SPAN = 1.0 + GLOBAL_MARGIN
#: Round trips seen before the fastest one is trusted as the least any request spends on the way out
#: and back (one request held up on its way — a stalled CPU, a slow first answer — must not pass for
#: the network's own delay). Until then a request counts from its answer; once trusted, the fastest
#: round trip is taken off those earlier answers too.
TRUSTED_ROUND_TRIPS = 8


class Sent:
    """One request's place in the global window, from :meth:`RateLimiter.acquire` (``ticket=``) to its
    answer (:meth:`RateLimiter.update`) or failure (:meth:`RateLimiter.release`)."""

    __slots__ = ("at", "done")

    def __init__(self) -> None:
        self.at: float | None = None  # when it was let out (the limiter's clock); None before
        self.done = False


class GlobalWindow:
    """``limit`` requests that Discord may count within one second, on the caller's monotonic clock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # When each answered (or untracked) request's second may start at the latest, sorted: it counts
        # until then + GLOBAL_SPAN. The requests still out count until answered.
        self._starts: list[float] = []
        self._out: set[Sent] = set()
        self._fastest = math.inf  # the fastest round trip seen, send to answer
        self._round_trips = 0
        self._untrusted: list[float] = []  # answers before the fastest round trip was trusted

    def wait(self, now: float) -> float:
        """Seconds until one more request may count; inf while the requests still out fill the window
        alone (only an answer frees a place then)."""
        expired = bisect.bisect_right(self._starts, now - GLOBAL_SPAN)
        if expired:
            del self._starts[:expired]
        over = len(self._starts) + len(self._out) - self.limit
        if over < 0:
            return 0.0
        if over >= len(self._starts):
            return math.inf
        return self._starts[over] + GLOBAL_SPAN - now

    def take(self, now: float, ticket: Sent | None) -> None:
        """Count a request let go at ``now``: until its ticket is answered, or (no ticket) from now."""
        if ticket is not None:
            ticket.at, ticket.done = now, False
            self._out.add(ticket)
        else:
            bisect.insort(self._starts, now)

    def answered(self, ticket: Sent, now: float, *, reply: bool) -> None:
        """``ticket``'s request is over at ``now``: it counts until GLOBAL_SPAN after the latest moment it
        can have arrived — its answer less the fastest round trip seen (``reply``), else now."""
        if ticket.done or ticket not in self._out:
            return
        self._out.discard(ticket)
        ticket.done = True
        latest = now
        if reply and ticket.at is not None:
            self._fastest = min(self._fastest, max(0.0, now - ticket.at))
            self._round_trips += 1
            if self._round_trips < TRUSTED_ROUND_TRIPS:
                self._untrusted.append(now)
            else:
                latest = now - self._fastest
                # The answers that came before the fastest round trip could be trusted: it bounds when
                # those requests arrived as well (one that has left the window already stays out).
                for earlier in self._untrusted:
                    at = bisect.bisect_left(self._starts, earlier)
                    if at < len(self._starts) and self._starts[at] == earlier:
                        del self._starts[at]
                        bisect.insort(self._starts, earlier - self._fastest)
                self._untrusted = []
        bisect.insort(self._starts, latest)

    def recent(self, now: float) -> tuple[float, ...]:
        """For each request still in the window, how long ago its second started at the latest (a
        request still out: now)."""
        starts = [*(t for t in self._starts if now - t < GLOBAL_SPAN), *(now for _ in self._out)]
        return tuple(round(now - t, 4) for t in sorted(starts))

    def prime(self, ages: tuple[float, ...], now: float) -> None:
        """Count requests an earlier run sent (``ages`` as :meth:`recent` gives them) as if sent here."""
        earlier = [now - age for age in ages if 0 <= age < GLOBAL_SPAN]
        if earlier:
            self._starts = sorted([*earlier, *self._starts])
