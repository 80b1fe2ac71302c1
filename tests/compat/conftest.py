"""Fixtures for the original-Gaib compatibility suite: the emulated guild and a CLI pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "off")) as emu:
        yield emu


@pytest.fixture
def guild(emulator: EmulatorHandle) -> EmulatorHandle:
    """The module's emulator, emptied (only @everyone left) for this test."""
    emulator.reset()
    return emulator


@pytest.fixture
def gaib(cli: CliRunner, guild: EmulatorHandle) -> CliRunner:
    """A CLI runner pointed at the emulated guild, with no HOME themes."""
    cli.environ.update({"DISCORD_BOT_TOKEN": guild.token, "DISCORD_GUILD_ID": guild.guild_id,
                        "GAIB_DISCORD_API_URL": guild.base_url, "HOME": str(cli.cwd / "home")})
    return cli
