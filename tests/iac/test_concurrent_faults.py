"""Concurrent applies meet every kind of fault under Discord's limits and still converge, once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator


def _point(cli: CliRunner, emu: EmulatorHandle, config: str) -> CliRunner:
    cli.environ.update(emu.bot_environ())
    (cli.cwd / "discord-server.yaml").write_text(config)
    return cli


def _duplicates(emu: EmulatorHandle) -> list[str]:
    h = emu.auth_headers()
    roles = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles", headers=h).json()
    chans = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=h).json()
    names = Counter([r["name"] for r in roles] + [f"{c.get('parent_id')}/{c['name']}/{c['type']}" for c in chans])
    return [name for name, n in names.items() if n > 1]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 21])
def test_concurrent_sietch_converges_through_5xx_drops_processed_drops_and_429s(cli: CliRunner, seed: int) -> None:
    with running_emulator(args=("--rate-limits", "discord", "--latency-ms", "20", "--fault-rate", "0.2",
                                "--fault-kinds", "5xx,drop,drop-after,429", "--seed", str(seed))) as emu:
        gaib = _point(cli, emu, 'version: "1.0"\ntheme:\n  name: sietch\n')
        r = gaib("server", "apply", "--auto-approve", "--json")
        if r.exit_code == 8:  # a step ran out of retries: the next apply finishes it
            r = gaib("server", "apply", "--auto-approve", "--json")
        assert r.exit_code == 0, r.stdout + r.stderr
        stats = emu.stats()
        assert stats["faults"] >= 5
        emu.set_faults(rate=0.0)
        assert _duplicates(emu) == []
        assert gaib("server", "plan", "--json").data["empty"] is True
        state = {x["id"] for x in gaib("server", "state", "ls", "--json").data["resources"]}
        assert len(state) == 47


def test_a_strictly_sequential_apply_gives_the_same_server(cli: CliRunner, tmp_path: Path) -> None:
    with running_emulator(args=("--rate-limits", "discord")) as emu:
        gaib = _point(cli, emu, 'version: "1.0"\ntheme:\n  name: sietch\n')
        r = gaib("server", "apply", "--auto-approve", "--json", env={"GAIB_DISCORD_CONCURRENCY": "1"})
        assert r.exit_code == 0, r.stdout + r.stderr
        exported = gaib("server", "export").stdout
    with running_emulator(args=("--rate-limits", "discord")) as emu2:
        other = CliRunner(cwd=tmp_path / "concurrent", environ=dict(cli.environ))
        other.cwd.mkdir()
        gaib2 = _point(other, emu2, 'version: "1.0"\ntheme:\n  name: sietch\n')
        assert gaib2("server", "apply", "--auto-approve", "--json").exit_code == 0
        assert gaib2("server", "export").stdout == exported
    bad = gaib("server", "plan", "--json", env={"GAIB_DISCORD_CONCURRENCY": "0"})
    assert bad.exit_code == 2 and "GAIB_DISCORD_CONCURRENCY" in bad.error["message"]
