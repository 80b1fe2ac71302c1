"""The Discord port's safety methods (AutoMod, onboarding, welcome screen, events, soundboard), held
against the client and the bundled emulator with Discord's limits: round trips, Discord's refusals as
errors with Discord's codes, and a sound over 512 KiB refused before anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gaib.discord import limits as L
from gaib.discord.client import DiscordClient
from gaib.discord.community import data_uri
from gaib.discord.models import channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, DiscordNotFound, InvalidInput
from tests.snapshots.safety import AIRHORN, KAZOO
from tests.support.emulator import EmulatorHandle
from tests.support.images import png


@pytest.fixture
def emu(limited: EmulatorHandle) -> EmulatorHandle:
    return limited


@pytest.fixture
def port(emu: EmulatorHandle) -> Iterator[DiscordPort]:
    client = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id)
    yield client
    client.close()


def test_automod_onboarding_and_welcome_round_trip(port: DiscordPort) -> None:
    role = port.create_role(role_body(name="Mods"))
    chans = [port.create_channel(channel_body(name=f"c{n}")) for n in range(7)]
    rule = port.create_automod_rule({"name": "links", "event_type": 1, "trigger_type": 1, "exempt_roles": [role.id],
                                     "trigger_metadata": {"keyword_filter": ["spam"]}, "actions": [{"type": 1}]},
                                    dedupe=True)
    assert port.update_automod_rule(rule["id"], {"enabled": True})["enabled"] is True
    assert [r["exempt_roles"] for r in port.list_automod_rules()] == [[role.id]]
    port.delete_automod_rule(rule["id"])
    with pytest.raises(DiscordNotFound):
        port.delete_automod_rule(rule["id"])
    with pytest.raises(DiscordError) as short:
        port.put_onboarding({"enabled": True, "default_channel_ids": [chans[0].id]})
    assert short.value.details.get("discord_code") == 350000
    ob = port.put_onboarding({"enabled": True, "default_channel_ids": [c.id for c in chans]})
    assert port.get_onboarding() == ob and ob["enabled"] is True
    port.update_welcome_screen({"description": "hi", "welcome_channels": [
        {"channel_id": chans[0].id, "description": "talk"}], "enabled": True})
    assert port.get_welcome_screen()["welcome_channels"][0]["channel_id"] == chans[0].id
    assert "WELCOME_SCREEN_ENABLED" in port.get_guild_settings().features


def test_events_and_sounds_round_trip_and_a_big_sound_is_refused_unsent(port: DiscordPort,
                                                                         emu: EmulatorHandle) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(days=1, hours=2)).isoformat()
    event = port.create_scheduled_event({"name": "meet", "privacy_level": 2, "entity_type": 3,
                                         "image": data_uri(png(4)), "entity_metadata": {"location": "park"},
                                         "scheduled_start_time": start, "scheduled_end_time": end}, dedupe=True)
    assert port.cdn_get(f"guild-events/{event['id']}/{event['image']}.png", max_bytes=10_000) == png(4)
    assert port.update_scheduled_event(event["id"], {"description": "food"})["description"] == "food"
    assert [e["user_count"] for e in port.list_scheduled_events(with_user_count=True)] == [0]
    sound = port.create_soundboard_sound("horn", AIRHORN, volume=0.25, emoji_name="📯", dedupe=True)
    assert port.cdn_get(f"soundboard-sounds/{sound['sound_id']}", max_bytes=L.SOUND_MAX_BYTES) == AIRHORN
    assert port.update_soundboard_sound(sound["sound_id"], {"name": "horn2"})["name"] == "horn2"
    assert [s["name"] for s in port.list_soundboard_sounds()] == ["horn2"]
    port.delete_soundboard_sound(sound["sound_id"])
    before = emu.stats()["requests"]
    with pytest.raises(InvalidInput, match="512 KiB"):
        port.create_soundboard_sound("big", KAZOO + bytes(L.SOUND_MAX_BYTES))
    with pytest.raises(InvalidInput, match="MP3 or Ogg"):
        port.create_soundboard_sound("png", png(1))
    assert emu.stats()["requests"] == before
