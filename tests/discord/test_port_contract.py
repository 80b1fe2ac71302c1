"""The Discord port's contract, held against its adapter (DiscordClient) and the bundled emulator.

Every method of :class:`gaib.discord.port.DiscordPort` exists on the client with the same parameters,
and the limit capabilities behave as the port promises: waits are announced before they start, a
used-up day-long cap raises DiscordRateLimited naming the window without sending, what the headers
showed is reported, what an earlier run learned is honoured, and calls from many threads keep to the
buckets.
"""

from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor

import pytest

from gaib.discord import limits as L
from gaib.discord.client import DiscordClient
from gaib.discord.models import channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordRateLimited
from tests.support.discord.control import LinkedClock, spend_caps
from tests.support.emulator import EmulatorHandle


@pytest.fixture
def emu(limited: EmulatorHandle) -> EmulatorHandle:
    """The emulator with Discord's own limits, emptied for this test (tests.support.fixtures.guild)."""
    return limited


def _port_methods() -> list[str]:
    return [name for name, value in vars(DiscordPort).items()
            if callable(value) and not name.startswith("_")]


def test_the_client_has_every_port_method_with_the_same_parameters() -> None:
    names = _port_methods()
    assert {"get_guild", "create_role", "on_wait", "limit_usage", "prime_limits", "close"} <= set(names)
    for name in names:
        want = inspect.signature(getattr(DiscordPort, name))
        have = inspect.signature(getattr(DiscordClient, name))
        assert list(want.parameters) == list(have.parameters), name
        for param in want.parameters.values():
            assert have.parameters[param.name].kind == param.kind, (name, param.name)
            assert have.parameters[param.name].default == param.default, (name, param.name)


def test_limit_usage_reports_the_long_windows_the_answers_showed(emu: EmulatorHandle) -> None:
    port: DiscordPort = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id)
    try:
        assert port.limit_usage() == L.Usage()
        port.create_role(role_body(name="One"))
        port.create_channel(channel_body(name="one"))
        usage = port.limit_usage()
    finally:
        port.close()
    assert usage.windows["role_creates"].remaining == 249 and usage.windows["channel_creates"].remaining == 499
    assert usage.name_topic == {}


def test_primed_edits_make_the_port_wait_and_announce_it_instead_of_being_refused(emu: EmulatorHandle) -> None:
    clock = LinkedClock(emu)
    heard: list[L.Wait] = []
    with DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id, clock=clock) as first:
        chan = first.create_channel(channel_body(name="news"))
        first.update_channel(chan.id, channel_body(topic="one"))
        first.update_channel(chan.id, channel_body(topic="two"))
        learned = first.limit_usage()
    assert len(learned.name_topic[chan.id]) == 2
    port: DiscordPort = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id, clock=clock)
    try:
        port.prime_limits(learned)
        port.on_wait(heard.append)
        assert port.update_channel(chan.id, channel_body(topic="three")).topic == "three"
    finally:
        port.close()
    assert emu.stats()["rate_limited"] == 0
    assert len(heard) == 1 and heard[0].seconds > 590 and "name/topic" in heard[0].reason


def test_concurrent_creates_stop_exactly_at_a_spent_cap_without_invalid_requests(emu: EmulatorHandle) -> None:
    spend_caps(emu, role_creates=230)
    port: DiscordPort = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id)

    def create(i: int) -> str:
        try:
            port.create_role(role_body(name=f"r{i:02d}"))
            return "created"
        except DiscordRateLimited as exc:
            assert exc.details["window"] == "role_creates"
            return "capped"

    try:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(create, range(40)))
    finally:
        port.close()
    assert outcomes.count("created") == 20 and outcomes.count("capped") == 20
    stats = emu.stats()
    assert stats["by_route"]["POST /guilds/{guild_id}/roles"] == 20  # the capped ones were never sent
    assert stats["invalid_requests"] == 0
