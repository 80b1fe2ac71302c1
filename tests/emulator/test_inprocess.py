"""The in-process Python API (Emulator) and the command line's first stdout line."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from gaib.emulator import Emulator, EmulatorConfigError, FaultConfig
from gaib.emulator.snowflake import DISCORD_EPOCH_MS, SnowflakeGenerator, snowflake_time_ms

FIXED = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_inprocess_emulator_with_injected_clock() -> None:
    with Emulator(guild_id="41771983423143936", guild_name="Pinned", token="t", clock=lambda: FIXED) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:") and emu.base_url.endswith("/api/v10")
        headers = {"Authorization": "Bot t"}
        role = httpx.post(f"{emu.base_url}/guilds/41771983423143936/roles", json={"name": "x"},
                          headers=headers).json()
        second = httpx.post(f"{emu.base_url}/guilds/41771983423143936/roles", json={"name": "y"},
                            headers=headers).json()
        assert snowflake_time_ms(role["id"]) == int(FIXED * 1000)
        assert int(second["id"]) == int(role["id"]) + 1  # same millisecond: still unique and increasing
        assert [e["status"] for e in emu.requests()] == [200, 200]
        emu.set_faults(FaultConfig(on_requests=frozenset({3})))
        assert httpx.get(f"{emu.base_url}/guilds/41771983423143936", headers=headers).status_code >= 500
    with pytest.raises(RuntimeError):
        _ = emu.base_url  # stopped


def test_snowflakes_survive_a_clock_going_backwards() -> None:
    times = iter([FIXED, FIXED - 10, FIXED - 20])
    gen = SnowflakeGenerator(clock=lambda: next(times))
    ids = [int(gen.next()) for _ in range(3)]
    assert ids[0] < ids[1] < ids[2]
    assert (ids[0] >> 22) + DISCORD_EPOCH_MS == int(FIXED * 1000)


@pytest.mark.parametrize("kwargs", [
    {"guild_id": "../x"}, {"guild_id": "0012"}, {"guild_name": "x"}, {"token": "has space"}, {"token": ""},
    {"rate_limits": "sometimes"},
])
def test_invalid_settings_are_refused(kwargs: dict[str, str]) -> None:
    settings = {"guild_id": "41771983423143936", "token": "t", **kwargs}
    with pytest.raises(EmulatorConfigError):
        Emulator(**settings)  # type: ignore[arg-type]


def test_cli_prints_only_the_base_url_first() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "gaib.emulator", "--port", "0", "--token", "t"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/api/v10")
        assert httpx.get(line.removesuffix("/api/v10") + "/_emulator/info").json()["base_url"] == line
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0  # SIGTERM is a clean shutdown
