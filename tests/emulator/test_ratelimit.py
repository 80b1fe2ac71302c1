"""Rate limits on real time: bucket headers, 429 shape, per-major-id buckets, the global cap, 'off'."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from gaib.emulator.ratelimit import GLOBAL_LIMIT, WRITE_LIMIT
from tests.emulator.conftest import Api
from tests.support.emulator import EmulatorHandle, running_emulator


@pytest.fixture(scope="module")
def emu_rl() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "discord")) as emu:
        yield emu


@pytest.fixture
def rl(emu_rl: EmulatorHandle) -> Iterator[Api]:
    emu_rl.reset()  # also empties the buckets
    client = Api(emu_rl)
    yield client
    client.close()


def test_success_responses_carry_bucket_headers(rl: Api) -> None:
    first = rl("POST", f"/guilds/{rl.gid}/roles", {"name": "a"})
    second = rl("POST", f"/guilds/{rl.gid}/roles", {"name": "b"})
    limit, _ = WRITE_LIMIT
    assert first.headers["X-RateLimit-Limit"] == str(limit)
    assert int(first.headers["X-RateLimit-Remaining"]) == limit - 1
    assert int(second.headers["X-RateLimit-Remaining"]) == limit - 2
    assert first.headers["X-RateLimit-Bucket"] == second.headers["X-RateLimit-Bucket"]
    assert 0 < float(first.headers["X-RateLimit-Reset-After"]) <= 1.0
    assert abs(float(first.headers["X-RateLimit-Reset"]) - time.time()) < 5
    assert "X-RateLimit-Scope" not in first.headers and "X-RateLimit-Global" not in first.headers
    other = rl("GET", f"/guilds/{rl.gid}/roles")
    assert other.headers["X-RateLimit-Bucket"] != first.headers["X-RateLimit-Bucket"]


def test_exceeding_a_bucket_gives_429_then_recovers(rl: Api) -> None:
    limit, window = WRITE_LIMIT
    answers = [rl("POST", f"/guilds/{rl.gid}/roles", {"name": f"r{i}"}) for i in range(limit + 1)]
    assert [a.status_code for a in answers] == [200] * limit + [429]
    limited = answers[-1]
    body = limited.json()
    assert body["message"] and body["global"] is False
    assert isinstance(body["retry_after"], float) and 0 < body["retry_after"] <= window
    assert limited.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in limited.headers
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert len(rl("GET", f"/guilds/{rl.gid}/roles").json()) == limit + 1  # the 429 created nothing
    time.sleep(body["retry_after"] + 0.05)
    assert rl("POST", f"/guilds/{rl.gid}/roles", {"name": "later"}).status_code == 200
    assert rl.emu.stats()["rate_limited"] == 1


def test_buckets_are_split_by_major_id(rl: Api) -> None:
    a, b = rl.channel("a"), rl.channel("b")
    limit, _ = WRITE_LIMIT
    for i in range(limit):
        assert rl("PATCH", f"/channels/{a['id']}", {"name": f"a{i}"}).status_code == 200
    assert rl("PATCH", f"/channels/{a['id']}", {"name": "x"}).status_code == 429
    assert rl("PATCH", f"/channels/{b['id']}", {"name": "y"}).status_code == 200


def test_global_limit_is_50_per_second_per_token(rl: Api) -> None:
    limit, _ = GLOBAL_LIMIT
    paths = [f"/guilds/{rl.gid}", f"/guilds/{rl.gid}/roles", f"/guilds/{rl.gid}/channels"]
    statuses = [rl("GET", paths[i % 3]).status_code for i in range(limit + 1)]
    assert statuses[:limit] == [200] * limit and statuses[limit] == 429
    limited = rl("GET", paths[0])
    assert limited.status_code == 429
    assert limited.json()["global"] is True
    assert limited.headers["X-RateLimit-Global"] == "true" and limited.headers["X-RateLimit-Scope"] == "global"
    time.sleep(limited.json()["retry_after"] + 0.05)
    assert rl("GET", paths[0]).status_code == 200
    assert rl.emu.stats()["global_rate_limited"] >= 1


def test_webhook_execution_has_its_own_bucket_and_no_global(rl: Api) -> None:
    chan = rl.channel("hooks")
    hook = rl("POST", f"/channels/{chan['id']}/webhooks", {"name": "n"}).json()
    statuses = [httpx.post(hook["url"], json={"content": str(i)}).status_code for i in range(6)]
    assert statuses == [204] * 5 + [429]
    assert len(rl.emu.webhook_messages(hook["id"])) == 5


def test_off_never_refuses_but_still_sends_headers(api: Api) -> None:
    answers = [api("POST", f"/guilds/{api.gid}/roles", {"name": f"r{i}"}) for i in range(12)]
    assert {a.status_code for a in answers} == {200}
    assert all("X-RateLimit-Bucket" in a.headers and "X-RateLimit-Remaining" in a.headers for a in answers)
