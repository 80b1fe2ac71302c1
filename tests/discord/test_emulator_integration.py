"""The client against the bundled Discord emulator (a real HTTP server on 127.0.0.1, real time)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gaib.discord import limits as L
from gaib.discord.client import DiscordClient
from gaib.discord.models import ChannelType, Overwrite, channel_body, role_body
from gaib.discord.ratelimit import RESET_MARGIN, RetryPolicy
from gaib.errors import EXIT_DISCORD, DiscordAuthError, DiscordError, DiscordNotFound
from tests.support.discord.control import LinkedClock
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.paths import VALIDATOR

TOKEN = "emulator-bot-token.Gx9.abcdefghijklmnopqrstuvwxyz012345"
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
BYPASS_SLOWMODE = 1 << 52

FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.4, jitter=0.5)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(token=TOKEN, args=("--seed", "7")) as emu:
        yield emu


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    emulator.set_faults(rate=0.0)
    emulator.reset()
    yield emulator
    emulator.set_faults(rate=0.0)


def client_for(emu: EmulatorHandle, **kw: object) -> DiscordClient:
    return DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id, **kw)  # type: ignore[arg-type]


def test_crud_round_trip(emu: EmulatorHandle) -> None:
    with client_for(emu) as client:
        guild = client.get_guild()
        assert guild.id == emu.guild_id and guild.name == "Test Guild"
        assert [r.id for r in guild.roles] == [emu.guild_id]  # only @everyone

        mods = client.create_role(role_body(name="Mods", permissions=VIEW_CHANNEL | BYPASS_SLOWMODE,
                                            color=0x3498DB, hoist=True))
        assert (mods.name, mods.permissions, mods.color, mods.hoist) == (
            "Mods", VIEW_CHANNEL | BYPASS_SLOWMODE, 0x3498DB, True)
        mods = client.update_role(mods.id, role_body(name="Moderators", mentionable=True))
        assert mods.name == "Moderators" and mods.mentionable and mods.permissions == VIEW_CHANNEL | BYPASS_SLOWMODE
        helpers = client.create_role(role_body(name="Helpers"))

        staff = client.create_channel(channel_body(name="Staff", type=ChannelType.CATEGORY))
        chat = client.create_channel(channel_body(
            name="mod-chat", type=ChannelType.TEXT, parent_id=staff.id, topic="for mods",
            permission_overwrites=[Overwrite(emu.guild_id, deny=VIEW_CHANNEL),
                                   Overwrite(mods.id, allow=VIEW_CHANNEL | SEND_MESSAGES)]))
        assert chat.parent_id == staff.id and chat.type == ChannelType.TEXT
        fetched = client.get_channel(chat.id)
        assert fetched == chat
        assert {o.id: (o.allow, o.deny) for o in fetched.permission_overwrites} == {
            emu.guild_id: (0, VIEW_CHANNEL), mods.id: (VIEW_CHANNEL | SEND_MESSAGES, 0)}

        chat = client.update_channel(chat.id, channel_body(topic=None, nsfw=True))
        assert chat.topic is None and chat.nsfw
        client.set_overwrite(chat.id, Overwrite(helpers.id, allow=VIEW_CHANNEL))
        client.delete_overwrite(chat.id, emu.guild_id)
        assert {o.id for o in client.get_channel(chat.id).permission_overwrites} == {mods.id, helpers.id}

        roles = client.reorder_roles([(helpers.id, 2), (mods.id, 1)])
        assert [r.name for r in roles] == ["@everyone", "Moderators", "Helpers"]
        client.reorder_channels([{"id": chat.id, "parent_id": None, "position": 0}])
        assert client.get_channel(chat.id).parent_id is None

        guild = client.get_guild()
        assert {c.name for c in guild.channels} == {"Staff", "mod-chat"}
        assert client.delete_channel(chat.id).name == "mod-chat"
        client.delete_role(helpers.id)
        assert [r.name for r in client.list_roles()] == ["@everyone", "Moderators"]
        assert [c.name for c in client.list_channels()] == ["Staff"]
        with pytest.raises(DiscordNotFound):
            client.get_channel(chat.id)


def test_burst_of_role_creates_gets_no_429_and_shows_the_48_hour_window(emu: EmulatorHandle) -> None:
    with client_for(emu) as client:
        created = [client.create_role({"name": f"burst-{i:02d}"}) for i in range(30)]
        usage = client.limit_usage()
    stats = emu.stats()
    assert stats["rate_limited"] == 0 and stats["global_rate_limited"] == 0
    assert stats["by_route"]["POST /guilds/{guild_id}/roles"] == 30
    assert len({r.id for r in created}) == 30
    window = usage.windows["role_creates"]
    assert (window.limit, window.remaining) == (250, 220)
    assert 172_000 < window.reset_after <= 172_800


def test_overwrite_burst_waits_for_its_bucket_instead_of_being_refused(emu: EmulatorHandle) -> None:
    clock = LinkedClock(emu)
    with client_for(emu, clock=clock) as client:
        chan = client.create_channel(channel_body(name="busy"))
        roles = [client.create_role({"name": f"o{i}"}) for i in range(12)]
        for role in roles:
            client.set_overwrite(chan.id, Overwrite(role.id, allow=VIEW_CHANNEL))
        assert len(client.get_channel(chan.id).permission_overwrites) == 12
    assert emu.stats()["rate_limited"] == 0
    # 10 per 15 s per channel: the 11th waited for the window (and the margin past its reset), once
    assert len(clock.sleeps) == 1 and 14.0 < clock.sleeps[0] <= 15.0 + RESET_MARGIN


@pytest.mark.slow
def test_a_concurrent_burst_beyond_a_bucket_and_the_global_limit_waits_instead_of_a_429(
        emu: EmulatorHandle) -> None:
    """Real clock: 8 webhook messages at once into a 5-per-2-s bucket, then 60 reads at once against the
    50-per-second global limit. The client waits (about 2 s, then 1 s); Discord refuses nothing."""
    waits: list[L.Wait] = []
    with client_for(emu) as client:
        client.on_wait(waits.append)
        chan = client.create_channel(channel_body(name="burst"))
        hook = client.create_webhook(chan.id, "burst")
        seen = len(emu.requests())
        with ThreadPoolExecutor(max_workers=60) as pool:
            posted = list(pool.map(lambda i: client.execute_webhook(hook.url, {"content": f"m{i}"}, wait=True),
                                   range(8)))
            read = list(pool.map(lambda _: client.get_channel(chan.id), range(60)))
    assert sorted(m["content"] for m in posted) == [f"m{i}" for i in range(8)]
    assert [c.id for c in read] == [chan.id] * 60
    burst = emu.requests()[seen:]
    assert len(burst) == 68 and [r for r in burst if r["status"] == 429] == []
    assert emu.stats()["rate_limited"] == 0
    reasons = {w.reason for w in waits}
    assert any("bucket of POST /webhooks/" in r for r in reasons), reasons  # it waited for the bucket
    assert any("requests per second per bot" in r for r in reasons), reasons  # and for the global window


@pytest.mark.slow
def test_a_request_discord_counts_late_keeps_its_place_in_the_global_window(emu: EmulatorHandle) -> None:
    """100 reads at once; the first to arrive is counted 1.05 s late (held up on the way, as on a machine
    whose CPUs are busy). Counted from its send, it would leave the client's window before Discord counts
    it and share Discord's next second with the next 50: one 429. The client keeps it in the window
    until its answer bounds when it can have been counted."""
    emu.set_faults(kinds=("latency",), on_requests=(1,), latency_ms=1050)
    with client_for(emu) as client, ThreadPoolExecutor(max_workers=100) as pool:
        read = list(pool.map(lambda _: client.list_channels(), range(100)))
    assert len(read) == 100
    log = emu.requests()
    assert len(log) == 100 and [r["fault"] for r in log].count("latency") == 1
    assert [r["seq"] for r in log if r["status"] == 429] == []


def test_faults_are_survived_without_duplicates(emu: EmulatorHandle) -> None:
    emu.set_faults(rate=0.3, kinds=("5xx", "drop"))
    with client_for(emu, retry=FAST_RETRY) as client:
        roles = [client.create_role({"name": f"flaky-{i}"}, dedupe=True) for i in range(12)]
        category = client.create_channel(channel_body(name="flaky", type=ChannelType.CATEGORY), dedupe=True)
        channels = [client.create_channel(channel_body(name=f"c-{i}", parent_id=category.id), dedupe=True)
                    for i in range(6)]
        emu.set_faults(rate=0.0)
        live_roles = Counter(r.name for r in client.list_roles())
        live_channels = Counter((c.name, c.parent_id) for c in client.list_channels())
    stats = emu.stats()
    assert stats["faults"] >= 3  # faults really happened
    assert [r.name for r in roles] == [f"flaky-{i}" for i in range(12)]
    assert all(live_roles[f"flaky-{i}"] == 1 for i in range(12))
    assert all(live_channels[(f"c-{i}", category.id)] == 1 for i in range(6))
    assert {c.id for c in channels} <= {c.id for c in client_for(emu).list_channels()}


def test_dedupe_finds_a_create_that_timed_out_but_was_processed(emu: EmulatorHandle) -> None:
    # The first request sleeps 0.4 s in the emulator before it is processed; the client gives up
    # reading after 0.1 s, backs off 0.8 s, then looks before re-POSTing.
    slow = RetryPolicy(max_attempts=3, base_delay=0.8, max_delay=0.8, jitter=0.0)
    emu.set_faults(on_requests=(1,), kinds=("latency",), latency_ms=400)
    with client_for(emu, retry=slow, read_timeout=0.1) as client:
        role = client.create_role({"name": "Timed"}, dedupe=True)
        names = [r.name for r in client.list_roles()]
    assert names.count("Timed") == 1 and role.name == "Timed"
    assert [(r["method"], r["route"]) for r in emu.requests()][:2] == [
        ("POST", "/guilds/{guild_id}/roles"), ("GET", "/guilds/{guild_id}/roles")]


def test_blind_retry_of_a_processed_create_duplicates(emu: EmulatorHandle) -> None:
    # The hazard dedupe=True exists for, shown against the emulator.
    slow = RetryPolicy(max_attempts=3, base_delay=0.8, max_delay=0.8, jitter=0.0)
    emu.set_faults(on_requests=(1,), kinds=("latency",), latency_ms=400)
    with client_for(emu, retry=slow, read_timeout=0.1) as client:
        client.create_role({"name": "Timed"})
        assert [r.name for r in client.list_roles()].count("Timed") == 2


def test_invalid_token_stops_all_requests(emu: EmulatorHandle) -> None:
    bad = "not-the-right-token.abcdefghijklmnopqrstuvwxyz"
    with DiscordClient(emu.base_url, token=bad, guild_id=emu.guild_id) as client:
        with pytest.raises(DiscordAuthError) as err:
            client.get_guild()
        with pytest.raises(DiscordAuthError):
            client.create_role({"name": "x"})
        with pytest.raises(DiscordAuthError):
            client.list_channels()
    assert err.value.exit_code == EXIT_DISCORD
    assert bad not in str(err.value) and bad not in json.dumps(err.value.to_dict())
    # get_guild's two reads go out together; after their 401s nothing more is sent
    sent = [(r["method"], r["status"]) for r in emu.requests()]
    assert 1 <= len(sent) <= 2 and set(sent) == {("GET", 401)}


def test_not_found_maps_discord_codes(emu: EmulatorHandle) -> None:
    with client_for(emu) as client:
        with pytest.raises(DiscordNotFound) as channel:
            client.get_channel("123456789012345678")
        with pytest.raises(DiscordNotFound) as role:
            client.delete_role("123456789012345678")
        with pytest.raises(DiscordNotFound) as overwrite_channel:
            client.set_overwrite("123456789012345678", Overwrite(emu.guild_id))
    assert channel.value.details["discord_code"] == 10003
    assert role.value.details["discord_code"] == 10011
    assert overwrite_channel.value.details["discord_code"] == 10003
    assert channel.value.exit_code == EXIT_DISCORD


def test_invalid_form_body_lists_field_paths(emu: EmulatorHandle) -> None:
    with client_for(emu) as client, pytest.raises(DiscordError) as err:
        client.create_channel({"name": "x" * 101, "permission_overwrites": [{"id": emu.guild_id, "type": 7}]})
    assert err.value.details["discord_code"] == 50035
    assert any(e.startswith("permission_overwrites.0.type: BASE_TYPE_CHOICES") for e in err.value.details["errors"])
    assert any(e.startswith("name: BASE_TYPE_BAD_LENGTH") for e in err.value.details["errors"])
    assert "permission_overwrites.0.type: BASE_TYPE_CHOICES" in err.value.message


def test_webhook_post_and_dead_webhook(emu: EmulatorHandle) -> None:
    with client_for(emu) as client:
        channel = client.create_channel(channel_body(name="alerts"))
        hook = client.create_webhook(channel.id, "gaib alerts")
        assert client.execute_webhook(hook.url, {"content": "backup finished"}) is None
        message = client.execute_webhook(hook.url, {"content": "with wait"}, wait=True)
        assert message["content"] == "with wait"
        assert [m["content"] for m in emu.webhook_messages(hook.id)] == ["backup finished", "with wait"]

        dead = hook.url.replace(f"/webhooks/{hook.id}/", "/webhooks/123456789012345678/")
        with pytest.raises(DiscordNotFound) as err:
            client.execute_webhook(dead, {"content": "lost"})
        before = len(emu.requests())
        with pytest.raises(DiscordNotFound):
            client.execute_webhook(dead, {"content": "lost again"})
        assert len(emu.requests()) == before
    assert hook.token not in str(err.value)


def test_recorded_exchanges_pass_the_spec_validator(emu: EmulatorHandle, tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with client_for(emu, record_path=record) as client:
        client.get_guild()
        role = client.create_role(role_body(name="Recorded", permissions=VIEW_CHANNEL | SEND_MESSAGES),
                                  reason="gaib apply: create role Recorded")
        client.update_role(role.id, role_body(color=0xFFFFFF))
        category = client.create_channel(channel_body(name="rec", type=ChannelType.CATEGORY))
        chat = client.create_channel(channel_body(name="rec-chat", parent_id=category.id,
                                                  permission_overwrites=[Overwrite(role.id, allow=VIEW_CHANNEL)]))
        client.update_channel(chat.id, channel_body(topic="recorded"))
        client.set_overwrite(chat.id, Overwrite(emu.guild_id, deny=VIEW_CHANNEL), reason="lock it down")
        client.delete_overwrite(chat.id, emu.guild_id)
        client.reorder_roles([(role.id, 1)])
        client.reorder_channels([{"id": chat.id, "position": 0}])
        hook = client.create_webhook(chat.id, "recorder")
        client.execute_webhook(hook.url, {"content": "hello"})
        with pytest.raises(DiscordNotFound):
            client.get_channel("123456789012345678")
        client.delete_channel(chat.id)
        client.delete_role(role.id)
    text = record.read_text()
    lines = text.splitlines()
    assert len(lines) == 16  # get_guild reads the roles with the guild: two requests
    assert TOKEN not in text and hook.token not in text
    assert all(json.loads(line)["request"]["headers"].get("authorization", "Bot [redacted]")
               == "Bot [redacted]" for line in lines)
    result = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                            capture_output=True, text=True, timeout=120)
    assert "16 passed, 0 failed" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0
