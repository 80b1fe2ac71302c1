"""Fixtures for the emulator's own tests: the module's rate-limit-free emulator and a client of it, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.discord.api import Api
from tests.support.emulator import EmulatorHandle


@pytest.fixture(scope="module")
def emu_off(emulator: EmulatorHandle) -> EmulatorHandle:
    """The shared emulator of the module (rate limits off, headers still sent): tests/support/fixtures/guild.py."""
    return emulator


@pytest.fixture
def api(emu_off: EmulatorHandle) -> Iterator[Api]:
    """A client for ``emu_off``, which is reset to an empty guild before each test."""
    emu_off.reset()
    client = Api(emu_off)
    yield client
    client.close()
