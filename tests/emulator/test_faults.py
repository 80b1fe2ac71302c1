"""Fault injection: Nth-request and seeded random faults, drops, latency, and run-time control."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.emulator.conftest import Api
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
            api.emu._control("POST", "/faults", bad)
    assert api.emu._control("GET", "/faults")["rate"] == 0.0


def test_bad_fault_flags_exit_2() -> None:
    with pytest.raises(EmulatorError, match="fault kinds"), running_emulator(args=("--fault-kinds", "meteor")):
        pass
