"""Applies that meet faults, rate limits and kills still converge without duplicating objects."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from gaib.iac.apply import DEFAULT_CONCURRENCY
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.paths import VALIDATOR


def _point(cli: CliRunner, emu: EmulatorHandle) -> CliRunner:
    cli.environ.update(emu.bot_environ())
    (cli.cwd / "discord-server.yaml").write_text('version: "1.0"\ntheme:\n  name: sietch\n')
    return cli


def _live_names(emu: EmulatorHandle) -> tuple[list[str], list[str]]:
    h = emu.auth_headers()
    roles = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles", headers=h).json()
    chans = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=h).json()
    return [r["name"] for r in roles], [f"{c.get('parent_id')}/{c['name']}/{c['type']}" for c in chans]


def _no_duplicates(emu: EmulatorHandle) -> None:
    roles, chans = _live_names(emu)
    assert [n for n, k in Counter(roles).items() if k > 1] == []
    assert [n for n, k in Counter(chans).items() if k > 1] == []


@pytest.mark.slow
def test_sietch_converges_through_5xx_and_dropped_connections(cli: CliRunner) -> None:
    with running_emulator(args=("--rate-limits", "discord", "--fault-rate", "0.15",
                                "--fault-kinds", "5xx,drop", "--seed", "3")) as emu:
        gaib = _point(cli, emu)
        r = gaib("server", "apply", "--auto-approve", "--json")
        assert r.exit_code == 0, r.stdout + r.stderr
        assert emu.stats()["faults"] > 0  # the faults really happened
        emu.set_faults(rate=0.0)
        _no_duplicates(emu)
        plan = gaib("server", "plan", "--json")
        assert plan.data["empty"] is True, plan.data
        assert emu.stats()["rate_limited"] == 0


@pytest.mark.slow
def test_sietch_converges_through_injected_429s_and_the_record_stays_valid(cli: CliRunner, tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--rate-limits", "discord", "--fault-rate", "0.2", "--fault-kinds", "429,5xx",
                                "--seed", "8", "--record", str(record))) as emu:
        gaib = _point(cli, emu)
        r = gaib("server", "apply", "--auto-approve", "--json")
        assert r.exit_code == 0, r.stdout + r.stderr
        statuses = [q["status"] for q in emu.requests()]
        assert statuses.count(429) >= 3  # the injected 429s really happened and were retried
        emu.set_faults(rate=0.0)
        _no_duplicates(emu)
        assert gaib("server", "plan", "--json").data["empty"] is True
    run = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert ", 0 failed" in run.stdout


@pytest.mark.slow
def test_recorded_sietch_apply_passes_the_discord_validator(cli: CliRunner, tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--rate-limits", "discord", "--record", str(record))) as emu:
        gaib = _point(cli, emu)
        assert gaib("server", "apply", "--auto-approve").exit_code == 0
        assert gaib("server", "plan", "--json").data["empty"] is True
        stats = emu.stats()
    assert stats["rate_limited"] == 0
    lines = record.read_text().splitlines()
    assert len(lines) == stats["requests"]
    assert emu.token not in record.read_text()
    run = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert f"{len(lines)} passed, 0 failed" in run.stdout


@pytest.mark.slow
def test_apply_killed_at_random_points_never_duplicates(cli: CliRunner) -> None:
    rng = random.Random(11)
    with running_emulator(args=("--rate-limits", "off", "--latency-ms", "40")) as emu:
        gaib = _point(cli, emu)
        env = {**os.environ, **gaib.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        for _ in range(4):
            proc = subprocess.Popen([sys.executable, "-m", "gaib", "server", "apply", "--auto-approve"],
                                    cwd=gaib.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3 + rng.random() * 0.6)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            # The killed run's lock is still there; release it as an operator would.
            assert gaib("server", "unlock", "--yes").exit_code == 0
            state = gaib("server", "state", "ls", "--json").data
            known = {r["id"] for r in state["resources"]}
            live_ids = {x["id"] for x in httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles",
                                                    headers=emu.auth_headers()).json()} - {emu.guild_id}
            live_ids |= {x["id"] for x in httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels",
                                                     headers=emu.auth_headers()).json()}
            # at most the objects whose creates were in flight (apply sends independent creates together)
            assert len(live_ids - known) <= DEFAULT_CONCURRENCY
        r = gaib("server", "apply", "--auto-approve", "--json")
        assert r.exit_code == 0, r.stdout + r.stderr
        _no_duplicates(emu)
        assert gaib("server", "plan", "--json").data["empty"] is True
