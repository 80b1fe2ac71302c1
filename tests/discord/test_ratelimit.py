"""Unit tests of the rate limiter and retry policy with a fake clock (no real sleeping)."""

from __future__ import annotations

import random

import pytest

from gaib.discord.ratelimit import (
    GLOBAL_SPAN,
    RESET_MARGIN,
    TRUSTED_ROUND_TRIPS,
    RateLimiter,
    RetryPolicy,
    Route,
    Sent,
)
from tests.support.clocks import FakeClock

ROLES_G1 = Route("POST", "/guilds/{guild_id}/roles", {"guild_id": "1"})
ROLES_G2 = Route("POST", "/guilds/{guild_id}/roles", {"guild_id": "2"})
LIST_G1 = Route("GET", "/guilds/{guild_id}/roles", {"guild_id": "1"})


def headers(bucket: str | None = "abc", remaining: int = 0, reset_after: float = 2.5,
            limit: int = 5) -> dict[str, str]:
    out = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
           "X-RateLimit-Reset-After": str(reset_after)}
    if bucket is not None:
        out["X-RateLimit-Bucket"] = bucket
    return out


def test_fresh_route_is_sent_without_waiting(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    for _ in range(10):
        assert limiter.acquire(ROLES_G1) == 0.0
    assert clock.sleeps == []


def test_exhausted_bucket_waits_until_reset_and_the_margin(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.acquire(ROLES_G1)
    limiter.update(ROLES_G1, headers(remaining=0, reset_after=2.5))
    clock.advance(0.5)  # time passes while the caller works
    assert limiter.acquire(ROLES_G1) == pytest.approx(2.0 + RESET_MARGIN)
    assert clock.sleeps == [pytest.approx(2.0 + RESET_MARGIN)]
    # after the reset the bucket is fresh again (limit 5): no more waiting
    assert limiter.acquire(ROLES_G1) == 0.0
    assert len(clock.sleeps) == 1


def test_last_remaining_request_goes_out_then_the_next_waits(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.acquire(ROLES_G1)
    limiter.update(ROLES_G1, headers(remaining=1, reset_after=3.0))
    assert limiter.acquire(ROLES_G1) == 0.0   # uses the last slot
    assert limiter.acquire(ROLES_G1) == pytest.approx(3.0 + RESET_MARGIN)  # no response yet, but we counted it


def test_buckets_are_split_by_major_parameter(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.acquire(ROLES_G1)
    limiter.update(ROLES_G1, headers(remaining=0, reset_after=4.0))
    assert limiter.acquire(ROLES_G2) == 0.0
    assert clock.sleeps == []
    assert limiter.bucket_key(ROLES_G1) != limiter.bucket_key(ROLES_G2)


def test_routes_sharing_a_bucket_hash_share_the_wait(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.update(LIST_G1, headers(bucket="shared", remaining=5))
    limiter.update(ROLES_G1, headers(bucket="shared", remaining=0, reset_after=1.5))
    assert limiter.bucket_key(LIST_G1) == limiter.bucket_key(ROLES_G1) == ("bucket", "shared", "guild_id=1")
    assert limiter.acquire(LIST_G1) == pytest.approx(1.5 + RESET_MARGIN)


def test_before_the_first_response_state_is_keyed_by_route(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    assert limiter.bucket_key(ROLES_G1) == ("route", "POST", "/guilds/{guild_id}/roles", "guild_id=1")
    # a 429 before any bucket is known blocks only that (method, route, major id)
    limiter.on_429(ROLES_G1, 0.8, is_global=False)
    assert limiter.acquire(LIST_G1) == 0.0
    assert limiter.acquire(ROLES_G2) == 0.0
    assert limiter.acquire(ROLES_G1) == pytest.approx(0.8 + RESET_MARGIN)


def test_provisional_state_moves_to_the_learned_bucket(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.on_429(ROLES_G1, 2.0, is_global=False)
    limiter.update(ROLES_G1, {"X-RateLimit-Bucket": "hash1"})  # bucket revealed, no counts
    assert limiter.bucket_key(ROLES_G1) == ("bucket", "hash1", "guild_id=1")
    assert limiter.acquire(ROLES_G1) == pytest.approx(2.0 + RESET_MARGIN)


def test_global_cap_allows_50_per_second_then_waits_for_the_window(clock: FakeClock) -> None:
    limiter = RateLimiter(clock, global_per_second=50)
    routes = [Route("GET", "/channels/{channel_id}", {"channel_id": str(i)}) for i in range(1, 61)]
    for route in routes[:50]:
        assert limiter.acquire(route) == 0.0
    # a send without a ticket counts for a second plus the margin from now
    assert limiter.acquire(routes[50]) == pytest.approx(GLOBAL_SPAN)
    # sliding window: spread sends only wait for the oldest one to leave the window
    clock2 = FakeClock()
    limiter2 = RateLimiter(clock2, global_per_second=50)
    for route in routes[:50]:
        limiter2.acquire(route)
        clock2.advance(0.01)  # 50 sends over 0.5 s
    assert limiter2.acquire(routes[50]) == pytest.approx(GLOBAL_SPAN - 0.5)


def test_a_request_counts_against_the_global_limit_until_its_answer_bounds_its_arrival(clock: FakeClock) -> None:
    limiter = RateLimiter(clock, global_per_second=2)
    route = Route("GET", "/guilds/{guild_id}/channels", {"guild_id": "1"})
    slow, quick = Sent(), Sent()
    limiter.acquire(route, ticket=slow)
    limiter.acquire(route, ticket=quick)
    clock.advance(0.2)
    limiter.update(route, {}, ticket=quick)  # answered after 0.2 s: Discord may have counted it just now
    clock.advance(GLOBAL_SPAN + 0.01)  # the quick one has left the window; the slow one is still out
    assert limiter.usage().recent == (0.0,)
    limiter.acquire(route)
    clock.advance(5.0)
    limiter.update(route, {}, ticket=slow)  # answered 6.2 s after its send: it holds its place from now
    assert limiter.acquire(route) == 0.0
    clock.advance(GLOBAL_SPAN - 0.5)
    assert limiter.acquire(route) == pytest.approx(0.5)


def test_the_fastest_round_trip_is_trusted_after_enough_answers(clock: FakeClock) -> None:
    limiter = RateLimiter(clock, global_per_second=1)
    route = Route("GET", "/guilds/{guild_id}/channels", {"guild_id": "1"})
    for _ in range(TRUSTED_ROUND_TRIPS):
        sent = Sent()
        assert limiter.acquire(route, ticket=sent) >= 0.0
        clock.advance(0.3)  # 0.15 s each way
        limiter.update(route, {}, ticket=sent)
    # every answer so far counted from the answer itself (0.3 s after its send); the last one with
    # the trusted round trip taken off: its second started at the latest 0.3 s before its answer
    assert limiter.acquire(route) == pytest.approx(GLOBAL_SPAN - 0.3)


def test_429_retry_after_is_honoured_for_its_bucket_only(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.update(ROLES_G1, headers(remaining=3))
    limiter.on_429(ROLES_G1, 1.25, is_global=False)
    assert limiter.acquire(ROLES_G2) == 0.0
    assert limiter.acquire(ROLES_G1) == pytest.approx(1.25 + RESET_MARGIN)


def test_global_429_blocks_every_route(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.on_429(ROLES_G1, 0.6, is_global=True)
    assert limiter.acquire(ROLES_G2) == pytest.approx(0.6 + RESET_MARGIN)
    assert limiter.acquire(LIST_G1) == 0.0


def test_garbage_headers_are_ignored(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.update(ROLES_G1, {"X-RateLimit-Remaining": "many", "X-RateLimit-Reset-After": "nan",
                              "X-RateLimit-Bucket": "b"})
    limiter.update(ROLES_G1, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "-5"})
    assert limiter.acquire(ROLES_G1) == 0.0  # reset time unknown/past: nothing to wait for


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0, jitter=0.0)
    rng = random.Random(1)
    assert [policy.backoff(n, rng) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert policy.backoff(10_000, rng) == 8.0  # no overflow for absurd retry counts


def test_jitter_stays_within_its_bounds_and_varies() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=0.5)
    rng = random.Random(42)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (9, 4.0)):
        samples = [policy.backoff(retry, rng) for _ in range(500)]
        assert all(ceiling * 0.5 <= s <= ceiling for s in samples)
        assert max(samples) - min(samples) > ceiling * 0.3  # really jittered


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"jitter": 1.5}, {"base_delay": -1}])
def test_retry_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_webhook_route_never_exposes_its_token() -> None:
    route = Route("POST", "/webhooks/{webhook_id}/{webhook_token}",
                  {"webhook_id": "77", "webhook_token": "sekrit-token-value"})
    assert "sekrit" not in route.display
    assert route.display == "POST /webhooks/77/[redacted]"
    assert "sekrit" not in route.major and route.major.startswith("webhook_id=77:")


def test_once_trusted_the_fastest_round_trip_also_frees_the_earlier_answers(clock: FakeClock) -> None:
    limiter = RateLimiter(clock, global_per_second=TRUSTED_ROUND_TRIPS)
    route = Route("GET", "/guilds/{guild_id}/channels", {"guild_id": "1"})
    tickets = [Sent() for _ in range(TRUSTED_ROUND_TRIPS)]
    for sent in tickets:
        limiter.acquire(route, ticket=sent)
    clock.advance(0.3)
    for sent in tickets:  # the last answer makes the round trip trusted: every one arrived by 0.15 s
        limiter.update(route, {}, ticket=sent)
    clock.advance(GLOBAL_SPAN - 0.3 + 0.01)
    assert limiter.acquire(route) == 0.0
    assert limiter.acquire(route) == 0.0  # not held until a second after the earlier answers
