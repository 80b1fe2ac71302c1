"""The ``discord`` rate-limit profile: long per-guild windows, the channel buckets, the name/topic
sub-limit, the global limit, invalid requests and the Cloudflare ban, latency and the clock control."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from gaib.discord import limits as L
from gaib.emulator import Emulator
from tests.support.discord.api import Api
from tests.support.discord.control import advance_clock, limits, set_latency, spend_caps
from tests.support.emulator import EmulatorError, EmulatorHandle, running_emulator
from tests.support.paths import VALIDATOR


@pytest.fixture(scope="module")
def emu_rl() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "discord")) as emu:
        yield emu


@pytest.fixture
def rl(emu_rl: EmulatorHandle) -> Iterator[Api]:
    emu_rl.reset()  # also empties the buckets and the invalid-request count
    set_latency(emu_rl, 0)
    client = Api(emu_rl)
    yield client
    client.close()


def _rl_headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith(("x-ratelimit", "retry"))}


# --- long per-guild windows ------------------------------------------------------------------------


def test_role_creates_have_no_short_bucket_but_a_48_hour_window(rl: Api) -> None:
    answers = [rl("POST", f"/guilds/{rl.gid}/roles", {"name": f"r{i}"}) for i in range(30)]
    assert {a.status_code for a in answers} == {200}
    last = answers[-1]
    assert last.headers["X-RateLimit-Limit"] == "250"
    assert last.headers["X-RateLimit-Remaining"] == "220"
    assert 172_700 < float(last.headers["X-RateLimit-Reset-After"]) <= 172_800
    assert abs(float(last.headers["X-RateLimit-Reset"]) - (time.time() + 172_800)) < 120
    assert answers[0].headers["X-RateLimit-Bucket"] == last.headers["X-RateLimit-Bucket"]
    assert "X-RateLimit-Scope" not in last.headers


def test_channel_creates_show_their_24_hour_window(rl: Api) -> None:
    first = rl("POST", f"/guilds/{rl.gid}/channels", {"name": "a"})
    assert first.status_code == 201
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("500", "499")
    assert 86_300 < float(first.headers["X-RateLimit-Reset-After"]) <= 86_400


def test_a_spent_budget_refuses_until_the_clock_moves_past_the_reset(rl: Api) -> None:
    caps = spend_caps(rl.emu, role_creates=248)
    assert caps["role_creates"]["remaining"] == 2
    statuses = [rl("POST", f"/guilds/{rl.gid}/roles", {"name": f"r{i}"}).status_code for i in range(2)]
    assert statuses == [200, 200]
    refused = rl("POST", f"/guilds/{rl.gid}/roles", {"name": "one too many"})
    assert refused.status_code == 429
    body = refused.json()
    assert body["global"] is False and 172_700 < body["retry_after"] <= 172_800
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["X-RateLimit-Scope"] == "user"
    assert [r["name"] for r in rl("GET", f"/guilds/{rl.gid}/roles").json()].count("one too many") == 0
    advance_clock(rl.emu, body["retry_after"] + 1)
    again = rl("POST", f"/guilds/{rl.gid}/roles", {"name": "next window"})
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "249"


def test_caps_used_on_the_command_line_survive_a_reset() -> None:
    with running_emulator(args=("--caps-used", "role_creates=250,channel_creates=499")) as emu:
        api = Api(emu)
        try:
            assert api("POST", f"/guilds/{emu.guild_id}/roles", {"name": "x"}).status_code == 429
            assert api("POST", f"/guilds/{emu.guild_id}/channels", {"name": "x"}).status_code == 201
            emu.reset()
            caps = limits(emu)["caps"]
            assert caps["role_creates"]["remaining"] == 0 and caps["channel_creates"]["remaining"] == 1
        finally:
            api.close()


def test_bad_caps_and_clock_moves_are_refused(rl: Api) -> None:
    with pytest.raises(EmulatorError, match="400"):
        spend_caps(rl.emu, role_creates=251)
    with pytest.raises(EmulatorError, match="400"):
        spend_caps(rl.emu, emoji_creates=1)
    with pytest.raises(EmulatorError, match="400"):
        advance_clock(rl.emu, -5)
    bad = subprocess.run([sys.executable, "-m", "gaib.emulator", "--token", "t", "--caps-used", "roles"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--caps-used" in bad.stderr


# --- channel buckets and the name/topic sub-limit -------------------------------------------------


def test_channel_edits_are_5_per_15_seconds_per_channel(rl: Api) -> None:
    a, b = rl.channel("a"), rl.channel("b")
    statuses = [rl("PATCH", f"/channels/{a['id']}", {"nsfw": i % 2 == 0}).status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert rl("PATCH", f"/channels/{b['id']}", {"nsfw": True}).status_code == 200
    advance_clock(rl.emu, 15)
    assert rl("PATCH", f"/channels/{a['id']}", {"nsfw": False}).status_code == 200


def test_name_and_topic_changes_are_2_per_10_minutes_and_the_429_shows_requests_left(rl: Api) -> None:
    chan = rl.channel("talk")
    assert rl("PATCH", f"/channels/{chan['id']}", {"name": "talk-2"}).status_code == 200
    assert rl("PATCH", f"/channels/{chan['id']}", {"topic": "hello"}).status_code == 200
    refused = rl("PATCH", f"/channels/{chan['id']}", {"name": "talk-3"})
    assert refused.status_code == 429
    assert int(refused.headers["X-RateLimit-Remaining"]) > 0  # Discord's headers do not show this limit
    assert refused.headers["X-RateLimit-Scope"] == "user" and "Retry-After" in refused.headers
    assert 590 < refused.json()["retry_after"] <= 600
    assert rl("GET", f"/channels/{chan['id']}").json()["name"] == "talk-2"
    # other fields are not held back by it
    assert rl("PATCH", f"/channels/{chan['id']}", {"nsfw": True}).status_code == 200
    advance_clock(rl.emu, 600)
    assert rl("PATCH", f"/channels/{chan['id']}", {"name": "talk-3"}).status_code == 200


def test_overwrite_puts_and_deletes_share_10_per_15_seconds_per_channel(rl: Api) -> None:
    chan = rl.channel("perms")
    roles = [rl.role(f"r{i}") for i in range(6)]
    statuses = [rl("PUT", f"/channels/{chan['id']}/permissions/{r['id']}", {"type": 0, "allow": "1024"}).status_code
                for r in roles]
    statuses += [rl("DELETE", f"/channels/{chan['id']}/permissions/{r['id']}").status_code for r in roles]
    assert statuses == [204] * 10 + [429] * 2
    other = rl.channel("other")
    assert rl("PUT", f"/channels/{other['id']}/permissions/{roles[0]['id']}",
              {"type": 0, "allow": "1024"}).status_code == 204


def test_reads_have_no_bucket_headers(rl: Api) -> None:
    answer = rl("GET", f"/guilds/{rl.gid}/roles")
    assert answer.status_code == 200 and _rl_headers(answer) == {}


# --- global, webhooks, off --------------------------------------------------------------------------


def test_global_limit_is_50_per_second_per_token(rl: Api) -> None:
    paths = [f"/guilds/{rl.gid}", f"/guilds/{rl.gid}/roles", f"/guilds/{rl.gid}/channels"]
    statuses = [rl("GET", paths[i % 3]).status_code for i in range(L.GLOBAL.limit + 1)]
    assert statuses[:L.GLOBAL.limit] == [200] * L.GLOBAL.limit and statuses[L.GLOBAL.limit] == 429
    limited = rl("GET", paths[0])
    assert limited.status_code == 429 and limited.json()["global"] is True
    assert limited.headers["X-RateLimit-Global"] == "true" and limited.headers["X-RateLimit-Scope"] == "global"
    advance_clock(rl.emu, 1.0)
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
    chan = api.channel("c")
    answers += [api("PATCH", f"/channels/{chan['id']}", {"name": f"n{i}"}) for i in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert all("X-RateLimit-Bucket" in a.headers and "X-RateLimit-Remaining" in a.headers for a in answers)


# --- invalid requests and the Cloudflare ban --------------------------------------------------------


def test_invalid_requests_are_counted_except_shared_429s(rl: Api) -> None:
    bad = httpx.get(f"{rl.emu.base_url}/guilds/{rl.gid}", headers={"Authorization": "Bot wrong"})
    assert bad.status_code == 401
    chan = rl.channel("c")
    for name in ("a", "b", "c"):
        rl("PATCH", f"/channels/{chan['id']}", {"name": name})  # the third is refused: invalid
    rl.emu.set_faults(on_requests=[len(rl.emu.requests()) + 1], kinds=["429"])
    assert rl("GET", f"/guilds/{rl.gid}").headers["X-RateLimit-Scope"] == "shared"
    rl.emu.set_faults(rate=0.0)
    assert rl.emu.stats()["invalid_requests"] == 2
    assert limits(rl.emu)["invalid_requests"] == {"count": 2, "limit": 10_000}


def test_ten_thousand_invalid_requests_bring_a_cloudflare_ban_until_it_expires() -> None:
    with Emulator(token="t") as emu:  # called in-process: 10,000 requests in well under a second
        headers = {"authorization": "Bot wrong"}
        path = f"/api/v10/guilds/{emu.guild_id}/roles"
        answers = [emu.handle_api("GET", path, headers, b"") for _ in range(L.INVALID_REQUESTS.limit + 1)]
        assert {a.status for a in answers} == {401}
        banned = emu.handle_api("GET", path, {"authorization": "Bot t"}, b"")  # even with the right token
        assert banned.status == 429 and banned.body == L.BAN_BODY and banned.content_type.startswith("text/plain")
        assert banned.headers == {"Retry-After": str(int(L.BAN_SECONDS))}  # no X-RateLimit headers at all
        assert emu.stats()["banned"] == 1 and emu.stats()["invalid_requests"] == L.INVALID_REQUESTS.limit + 1
        emu.advance_clock(L.BAN_SECONDS)
        assert emu.handle_api("GET", path, {"authorization": "Bot t"}, b"").status == 200


def test_the_ban_is_served_over_http_as_text(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with Emulator(token="t", record=record) as emu:
        headers = {"authorization": "Bot wrong"}
        for _ in range(L.INVALID_REQUESTS.limit + 1):
            emu.handle_api("GET", f"/api/v10/guilds/{emu.guild_id}", headers, b"")
        answer = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}", headers={"Authorization": "Bot t"})
        assert answer.status_code == 429 and answer.text == L.BAN_BODY
        assert answer.headers["content-type"].startswith("text/plain") and "x-ratelimit-bucket" not in answer.headers
    assert L.BAN_BODY not in record.read_text()  # Cloudflare's answer is no API exchange: not recorded


# --- latency, clock, recording --------------------------------------------------------------------


def test_latency_delays_every_request_and_concurrent_requests_overlap(rl: Api) -> None:
    set_latency(rl.emu, 200)
    started = time.monotonic()
    assert rl("GET", f"/guilds/{rl.gid}").status_code == 200
    single = time.monotonic() - started
    assert 0.19 <= single < 0.6

    shared = httpx.Client(base_url=rl.emu.base_url, headers=rl.emu.auth_headers(),
                          limits=httpx.Limits(max_connections=8))

    def read(_: int) -> int:
        return shared.get(f"/guilds/{rl.gid}/roles").status_code

    with shared, ThreadPoolExecutor(8) as pool:
        started = time.monotonic()
        assert set(pool.map(read, range(8))) == {200}
        assert time.monotonic() - started < 0.2 * 4  # eight round trips overlap (one after another: 1.6 s)
    set_latency(rl.emu, 0)
    with pytest.raises(EmulatorError, match="400"):
        set_latency(rl.emu, -1)


def test_latency_on_the_command_line_is_reported() -> None:
    with running_emulator(args=("--latency-ms", "30")) as emu:
        assert limits(emu)["latency_ms"] == 30
        started = time.monotonic()
        httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}", headers=emu.auth_headers())
        assert time.monotonic() - started >= 0.03


def test_the_clock_moves_reset_headers_and_snowflakes(rl: Api) -> None:
    before = limits(rl.emu)["clock"]["now"]
    moved = advance_clock(rl.emu, 86_400)
    assert moved["now"] - before >= 86_400
    role = rl.role("tomorrow")
    assert (int(role["id"]) >> 22) + 1_420_070_400_000 >= int((before + 86_400) * 1000)


def test_recorded_limit_answers_pass_the_validator(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--record", str(record), "--caps-used", "role_creates=249")) as emu:
        api = Api(emu)
        try:
            api.role("last")
            assert api("POST", f"/guilds/{emu.guild_id}/roles", {"name": "over"}).status_code == 429
            chan = api.channel("c")
            statuses = [api("PATCH", f"/channels/{chan['id']}", {"name": f"n{i}"}).status_code for i in range(3)]
            assert statuses == [200, 200, 429]
        finally:
            api.close()
    run = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "6 passed, 0 failed" in run.stdout
