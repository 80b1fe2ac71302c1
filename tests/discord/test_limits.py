"""The client against Discord's measured limits: concurrency within buckets, day-long caps, the
name/topic sub-limit, waits announced, the Cloudflare ban. Scripted server, fake clock."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from gaib.discord import limits as L
from gaib.discord.client import DiscordClient
from gaib.discord.models import channel_body, role_body
from gaib.discord.ratelimit import GLOBAL_SPAN, RESET_MARGIN, RateLimiter, RetryPolicy, Route, WaitTooLong
from gaib.errors import EXIT_DISCORD, DiscordRateLimited
from tests.discord.stub import Reply, Stub
from tests.support.clocks import FakeClock

TOKEN = "limits-test-token.abcdefghijklmnopqrstuvwxyz0123"
GUILD = "111111111111111111"
CHANNEL = "333333333333333333"
ROLE = {"id": "222222222222222222", "name": "Mods", "permissions": "8", "position": 1, "color": 0,
        "hoist": False, "managed": False, "mentionable": False}
CHAN = {"id": CHANNEL, "name": "general", "type": 0, "position": 0, "guild_id": GUILD, "flags": 0,
        "permission_overwrites": [], "nsfw": False}
ROLES = Route("POST", "/guilds/{guild_id}/roles", {"guild_id": GUILD})
EDIT = Route("PATCH", "/channels/{channel_id}", {"channel_id": CHANNEL})


def make(stub: Stub, clock: FakeClock, **kw: Any) -> DiscordClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=0.4, jitter=0.0))
    return DiscordClient(stub.base_url, token=TOKEN, guild_id=GUILD, clock=clock, **kw)


def window_headers(remaining: int, reset_after: float, limit: int = 250, bucket: str = "roles") -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": str(reset_after), "X-RateLimit-Bucket": bucket}


# --- the limiter ------------------------------------------------------------------------------------


def test_an_unknown_bucket_lets_one_request_out_until_its_answer_shows_the_size(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.acquire(ROLES, track=True)
    released = threading.Event()

    def second() -> None:
        limiter.acquire(ROLES, track=True)
        released.set()

    worker = threading.Thread(target=second)
    worker.start()
    time.sleep(0.05)
    assert not released.is_set()  # held: the first answer has not come back
    limiter.update(ROLES, window_headers(remaining=249, reset_after=172_800))
    limiter.release(ROLES)
    worker.join(timeout=2)
    assert released.is_set()
    # now the size is known: many go out at once
    for _ in range(5):
        limiter.acquire(ROLES, track=True)


def test_a_route_without_headers_is_not_held_after_its_first_answer(clock: FakeClock) -> None:
    reads = Route("GET", "/guilds/{guild_id}/roles", {"guild_id": GUILD})
    limiter = RateLimiter(clock)
    limiter.acquire(reads, track=True)
    limiter.update(reads, {})
    limiter.release(reads)
    for _ in range(3):
        limiter.acquire(reads, track=True)  # no answer yet, but nothing holds them


def test_a_long_window_seen_by_an_earlier_run_sets_how_many_go_out_before_an_answer(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.prime(L.Usage(windows={"role_creates": L.WindowState(250, 3, 3600.0)}))
    for _ in range(3):
        limiter.acquire(ROLES, track=True)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (limiter.acquire(ROLES, track=True), done.set()))
    worker.start()
    time.sleep(0.05)
    assert not done.is_set()  # the fourth waits for Discord's word
    limiter.update(ROLES, window_headers(remaining=10, reset_after=3000))
    limiter.release(ROLES)
    worker.join(timeout=2)
    assert done.is_set()


def test_late_answers_never_give_back_what_others_used(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.update(ROLES, window_headers(remaining=5, reset_after=100))
    for _ in range(3):
        limiter.acquire(ROLES)  # 2 left as far as we know
    limiter.update(ROLES, window_headers(remaining=4, reset_after=100))  # the answer to the first one
    assert limiter.usage().windows["role_creates"].remaining == 2


def test_a_wait_longer_than_allowed_raises_without_counting(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.update(ROLES, window_headers(remaining=0, reset_after=172_800))
    with pytest.raises(WaitTooLong) as err:
        limiter.acquire(ROLES, max_wait=900)
    assert err.value.seconds == pytest.approx(172_800) and "used up" in err.value.reason
    assert clock.sleeps == []
    assert limiter.usage().windows["role_creates"] == L.WindowState(250, 0, pytest.approx(172_800))


def test_the_third_name_or_topic_edit_within_ten_minutes_waits_and_is_announced(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    heard: list[L.Wait] = []
    assert limiter.acquire(EDIT, sub=CHANNEL, on_wait=heard.append) == 0.0
    clock.advance(100)
    assert limiter.acquire(EDIT, sub=CHANNEL, on_wait=heard.append) == 0.0
    waited = limiter.acquire(EDIT, sub=CHANNEL, on_wait=heard.append)
    assert 500 < waited <= 502  # until the first edit leaves the window, plus the arrival margin
    assert [w.reason for w in heard] == ["Discord allows 2 per 10 min name/topic changes per channel"]
    other = Route("PATCH", "/channels/{channel_id}", {"channel_id": "444444444444444444"})
    assert limiter.acquire(other, sub="444444444444444444") == 0.0  # per channel
    assert len(limiter.usage().name_topic[CHANNEL]) == 2  # the first left the 10 minutes


def test_edits_an_earlier_run_made_count_but_are_not_reported_again(clock: FakeClock) -> None:
    limiter = RateLimiter(clock)
    limiter.prime(L.Usage(name_topic={CHANNEL: (300.0, 60.0)}))
    assert limiter.usage().name_topic == {}
    waited = limiter.acquire(EDIT, sub=CHANNEL)
    assert 300 < waited <= 302
    assert list(limiter.usage().name_topic) == [CHANNEL]


# --- the client -------------------------------------------------------------------------------------


def test_a_used_up_day_long_cap_raises_at_once_naming_the_window(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(200, ROLE, window_headers(remaining=0, reset_after=172_000))]
    with make(stub, clock) as client:
        client.create_role(role_body(name="Mods"))
        assert client.limit_usage().windows["role_creates"].remaining == 0
        with pytest.raises(DiscordRateLimited) as err:
            client.create_role(role_body(name="More"))
    assert err.value.exit_code == EXIT_DISCORD
    assert err.value.details["window"] == "role_creates"
    assert err.value.details["retry_after"] == pytest.approx(172_000)
    assert "250 per 48 h" in err.value.message and "1 d 23 h" in err.value.message
    assert len(stub.requests) == 1 and clock.sleeps == []  # nothing sent, nothing slept


def test_a_429_for_a_day_long_window_is_reported_as_the_cap(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(429, {"message": "You are being rate limited.", "retry_after": 86_000.5, "global": False},
                         {**window_headers(0, 86_000.5, limit=500, bucket="chans"), "Retry-After": "86001",
                          "X-RateLimit-Scope": "user"})]
    with make(stub, clock) as client, pytest.raises(DiscordRateLimited) as err:
        client.create_channel(channel_body(name="x"))
    assert err.value.details["window"] == "channel_creates"
    assert len(stub.requests) == 1 and clock.sleeps == []


def test_a_name_429_with_requests_left_blocks_only_that_channels_names(stub: Stub, clock: FakeClock) -> None:
    sub_limited = Reply(429, {"message": "You are being rate limited.", "retry_after": 480.0, "global": False},
                        {**window_headers(4, 15.0, limit=5, bucket="edit"), "Retry-After": "480",
                         "X-RateLimit-Scope": "user"})
    ok = Reply(200, CHAN, window_headers(3, 15.0, limit=5, bucket="edit"))
    stub.script = [sub_limited, ok, ok]
    heard: list[L.Wait] = []
    with make(stub, clock) as client:
        client.on_wait(heard.append)
        client.update_channel(CHANNEL, channel_body(name="general"))
        assert clock.sleeps == [pytest.approx(480.0 + RESET_MARGIN)]  # what the 429 said, and the margin
        client.update_channel(CHANNEL, channel_body(nsfw=True))  # no name or topic: no wait
    assert len(clock.sleeps) == 1 and len(stub.requests) == 3
    assert heard and "name/topic" in heard[0].reason and heard[0].seconds == pytest.approx(480.0 + RESET_MARGIN)


def test_a_cloudflare_ban_stops_every_later_request(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(429, raw=L.BAN_BODY.encode(), headers={"Retry-After": "3600",
                                                                 "Content-Type": "text/plain"})]
    with make(stub, clock) as client:
        with pytest.raises(DiscordRateLimited) as err:
            client.list_roles()
        assert err.value.error_code == "DISCORD_IP_BANNED" and "Cloudflare" in err.value.message
        with pytest.raises(DiscordRateLimited) as again:
            client.create_role(role_body(name="x"))
    assert again.value.error_code == "DISCORD_IP_BANNED"
    assert len(stub.requests) == 1 and clock.sleeps == []


def test_a_sequential_client_reads_one_request_at_a_time_a_concurrent_one_together(stub: Stub,
                                                                                    clock: FakeClock) -> None:
    inflight, peak = 0, 0
    lock = threading.Lock()

    def slow(seen: Any) -> Reply:
        nonlocal inflight, peak
        with lock:
            inflight += 1
            peak = max(peak, inflight)
        time.sleep(0.05)
        with lock:
            inflight -= 1
        return Reply(200, {"id": GUILD, "name": "g"} if seen.path.endswith(GUILD) else [])

    stub.handler = slow
    with make(stub, clock, max_concurrency=1) as client:
        client.get_guild()
    assert peak == 1
    peak = 0
    with make(stub, clock) as client:
        client.get_guild()
    assert peak == 2  # the guild (no roles in this one, so they are read after it) and its channels


def test_requests_an_earlier_run_sent_this_second_count_against_the_global_limit(clock: FakeClock) -> None:
    limiter = RateLimiter(clock, global_per_second=50)
    limiter.prime(L.Usage(recent=tuple(0.3 for _ in range(50))))
    waited = limiter.acquire(Route("GET", "/guilds/{guild_id}", {"guild_id": GUILD}))
    assert waited == pytest.approx(GLOBAL_SPAN - 0.3, abs=0.01)  # until the earlier sends leave the window
    assert limiter.usage().recent == (0.0,)  # the earlier sends have left the window; this one is new
