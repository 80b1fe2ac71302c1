"""Fault injection: Nth-request and seeded random faults, drops, latency, and run-time control."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.support.discord.api import Api
from tests.support.emulator import EmulatorError, running_emulator

AUTH = {"Authorization": "Bot test-token", "User-Agent": "DiscordBot (https://x, 1)"}


def _statuses(base: str, gid: str, n: int) -> list[int | str]:
    out: list[int | str] = []
    with httpx.Client(headers=AUTH, timeout=5) as client:
        for _ in range(n):
            try:
                out.append(client.get(f"{base}/guilds/{gid}/roles").status_code)
            except httpx.TransportError:
                out.append("dropped")
    return out


def test_fault_on_nth_request_gives_a_json_5xx(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    with running_emulator(args=("--fault-on", "2,4", "--seed", "7", "--rate-limits", "off",
                                "--record", str(record))) as emu:
        statuses = _statuses(emu.base_url, emu.guild_id, 5)
        assert statuses[0] == statuses[2] == statuses[4] == 200
        assert statuses[1] in (500, 502, 503) and statuses[3] in (500, 502, 503)
        log = emu.requests()
        assert [e["fault"] for e in log] == [None, "5xx", None, "5xx", None]
        assert emu.stats()["faults"] == 2
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["response"]["status"] for x in lines] == [200, 200, 200]  # injected 5xx are not recorded


def test_seeded_random_faults_are_reproducible() -> None:
    runs = []
    for _ in range(2):
        with running_emulator(args=("--fault-rate", "0.3", "--fault-kinds", "5xx,drop", "--seed", "42",
                                    "--rate-limits", "off")) as emu:
            runs.append(_statuses(emu.base_url, emu.guild_id, 20))
    assert runs[0] == runs[1]
    assert any(s == "dropped" for s in runs[0]) and any(s in (500, 502, 503) for s in runs[0])
    assert 200 in runs[0]


def test_drop_closes_the_connection_without_an_answer(api: Api) -> None:
    api.emu.set_faults(on_requests=[1], kinds=["drop"])
    try:
        with pytest.raises(httpx.TransportError):
            api("GET", f"/guilds/{api.gid}")
        assert api("GET", f"/guilds/{api.gid}").status_code == 200
        assert [e["status"] for e in api.emu.requests()] == [None, 200]
    finally:
        api.emu.set_faults()


def test_latency_delays_but_answers(api: Api) -> None:
    api.emu.set_faults(on_requests=[1], kinds=["latency"], latency_ms=300)
    try:
        start = time.monotonic()
        r = api("GET", f"/guilds/{api.gid}")
        assert r.status_code == 200 and time.monotonic() - start >= 0.3
        start = time.monotonic()
        api("GET", f"/guilds/{api.gid}")
        assert time.monotonic() - start < 0.3
    finally:
        api.emu.set_faults()


def test_faulted_mutations_change_nothing(api: Api) -> None:
    api.emu.set_faults(on_requests=[1])
    try:
        r = api("POST", f"/guilds/{api.gid}/roles", {"name": "ghost"})
        assert r.status_code >= 500 and r.json()["code"] == 0
        assert len(api("GET", f"/guilds/{api.gid}/roles").json()) == 1
    finally:
        api.emu.set_faults()


def test_invalid_fault_settings_are_refused(api: Api) -> None:
    for bad in ({"rate": 2}, {"kinds": ["meteor"]}, {"on_requests": [0]}, {"rate": "x"}):
        with pytest.raises(EmulatorError, match="400"):
            api.emu.control("POST", "/faults", bad)
    assert api.emu.control("GET", "/faults")["rate"] == 0.0


def test_bad_fault_flags_exit_2() -> None:
    with pytest.raises(EmulatorError, match="fault kinds"), running_emulator(args=("--fault-kinds", "meteor")):
        pass


# --- drop-after: processed, kept, never answered --------------------------------------------------


def _role_names(api: Api) -> list[str]:
    return [r["name"] for r in api("GET", f"/guilds/{api.gid}/roles").json()]


def test_drop_after_keeps_the_effect_but_sends_no_answer(api: Api) -> None:
    active = api.emu.set_faults(on_requests=[1], kinds=["drop-after"])
    assert active["kinds"] == ["drop-after"]
    try:
        with pytest.raises(httpx.TransportError):
            api("POST", f"/guilds/{api.gid}/roles", {"name": "ghost"})
        assert _role_names(api).count("ghost") == 1  # the create happened although nobody was told
        log = api.emu.requests()
        assert [(e["method"], e["route"], e["status"], e["fault"]) for e in log] == [
            ("POST", "/guilds/{guild_id}/roles", None, "drop-after"),
            ("GET", "/guilds/{guild_id}/roles", 200, None)]
        assert api.emu.stats()["faults"] == 1
        assert api.emu.stats()["by_status"] == {"dropped": 1, "200": 1}
    finally:
        api.emu.set_faults()


def test_plain_drop_changes_nothing_unlike_drop_after(api: Api) -> None:
    api.emu.set_faults(on_requests=[1], kinds=["drop"])
    try:
        with pytest.raises(httpx.TransportError):
            api("POST", f"/guilds/{api.gid}/roles", {"name": "ghost"})
        assert "ghost" not in _role_names(api)
    finally:
        api.emu.set_faults()


def test_drop_after_keeps_a_rejected_request_rejected(api: Api) -> None:
    """Processing means the same checks: an invalid create still creates nothing."""
    api.emu.set_faults(on_requests=[1], kinds=["drop-after"])
    try:
        with pytest.raises(httpx.TransportError):
            api("POST", f"/guilds/{api.gid}/channels", {"name": "x" * 101})
        assert api("GET", f"/guilds/{api.gid}/channels").json() == []
    finally:
        api.emu.set_faults()


def test_blind_retry_after_drop_after_duplicates_and_dedupe_does_not(api: Api) -> None:
    from gaib.discord.client import DiscordClient
    from gaib.discord.ratelimit import RetryPolicy

    api.emu.set_faults(on_requests=[1, 4], kinds=["drop-after"])
    try:
        # A naive client: resend the POST when the connection drops.
        for _ in range(2):
            try:
                api("POST", f"/guilds/{api.gid}/roles", {"name": "naive"})
                break
            except httpx.TransportError:
                continue
        assert _role_names(api).count("naive") == 2
        # Gaib's client re-lists the roles before resending (request 4 is its POST).
        with DiscordClient(api.emu.base_url, token=api.emu.token, guild_id=api.gid,
                           retry=RetryPolicy(base_delay=0.0, max_delay=0.0)) as client:
            role = client.create_role({"name": "careful"}, dedupe=True)
        names = _role_names(api)
        assert names.count("careful") == 1
        assert role.id in {r["id"] for r in api("GET", f"/guilds/{api.gid}/roles").json() if r["name"] == "careful"}
        assert api.emu.stats()["by_route"]["POST /guilds/{guild_id}/roles"] == 3  # 2 naive + 1 careful
    finally:
        api.emu.set_faults()


def test_drop_after_is_not_recorded_and_accepted_on_the_command_line(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    with running_emulator(args=("--fault-on", "1", "--fault-kinds", "drop-after", "--rate-limits", "off",
                                "--record", str(record))) as emu:
        with httpx.Client(headers=AUTH, timeout=5) as client:
            with pytest.raises(httpx.TransportError):
                client.post(f"{emu.base_url}/guilds/{emu.guild_id}/roles", json={"name": "kept"})
            roles = client.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles").json()
        assert [r["name"] for r in roles].count("kept") == 1
        assert emu.control("GET", "/faults")["kinds"] == ["drop-after"]
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert [x["request"]["method"] for x in lines] == ["GET"]  # the unanswered POST is not recorded


def test_injected_429_is_a_valid_shared_rate_limit_and_changes_nothing() -> None:
    import httpx

    from tests.support.emulator import running_emulator

    with running_emulator(args=("--rate-limits", "off", "--fault-on", "1", "--fault-kinds", "429")) as emu:
        url = f"{emu.base_url}/guilds/{emu.guild_id}/roles"
        first = httpx.post(url, json={"name": "Once"}, headers=emu.auth_headers())
        assert first.status_code == 429
        body = first.json()
        assert body["global"] is False and 0.05 <= body["retry_after"] <= 0.3
        assert first.headers["X-RateLimit-Scope"] == "shared" and int(first.headers["Retry-After"]) >= 1
        second = httpx.post(url, json={"name": "Once"}, headers=emu.auth_headers())
        assert second.status_code == 200
        names = [r["name"] for r in httpx.get(url, headers=emu.auth_headers()).json()]
        assert names.count("Once") == 1
        assert emu.stats()["faults"] == 1
