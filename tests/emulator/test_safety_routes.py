"""The emulator's safety routes: AutoMod rules, onboarding, the welcome screen, scheduled events and the
soundboard, with Discord's shapes, limits and error codes; a recorded session passes the shared contract
validator (validate_pairs.py); the data file keeps them."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.snapshots.safety import AIRHORN, audio_uri
from tests.support.discord.api import Api, Bot
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.images import png
from tests.support.paths import VALIDATOR

SAFETY_ROUTES = {
    "/guilds/{guild_id}/auto-moderation/rules": ("GET", "POST"),
    "/guilds/{guild_id}/auto-moderation/rules/{rule_id}": ("GET", "PATCH", "DELETE"),
    "/guilds/{guild_id}/onboarding": ("GET", "PUT"),
    "/guilds/{guild_id}/welcome-screen": ("GET", "PATCH"),
    "/guilds/{guild_id}/scheduled-events": ("GET", "POST"),
    "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}": ("GET", "PATCH", "DELETE"),
    "/guilds/{guild_id}/soundboard-sounds": ("GET", "POST"),
    "/guilds/{guild_id}/soundboard-sounds/{sound_id}": ("GET", "PATCH", "DELETE"),
}


def _soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.fixture
def api(guild: EmulatorHandle) -> Iterator[Api]:
    client = Api(guild)
    yield client
    client.close()


def _keyword(name: str) -> dict[str, Any]:
    return {"name": name, "event_type": 1, "trigger_type": 1, "actions": [{"type": 1}],
            "trigger_metadata": {"keyword_filter": ["bad"]}}


def test_automod_limits_per_trigger_type_and_list_lengths(api: Api) -> None:
    g = api.gid
    for n in range(6):
        assert api("POST", f"/guilds/{g}/auto-moderation/rules", _keyword(f"k{n}")).status_code == 200
    seventh = api("POST", f"/guilds/{g}/auto-moderation/rules", _keyword("k6"))
    assert seventh.status_code == 400 and seventh.json()["code"] == 50035
    assert "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED" in seventh.text
    spam = {"name": "spam", "event_type": 1, "trigger_type": 3, "actions": [{"type": 1}]}
    assert api("POST", f"/guilds/{g}/auto-moderation/rules", spam).status_code == 200
    assert api("POST", f"/guilds/{g}/auto-moderation/rules", {**spam, "name": "spam2"}).status_code == 400
    long = {**_keyword("long"), "trigger_type": 6, "trigger_metadata": {"keyword_filter": ["x" * 61]}}
    r = api("POST", f"/guilds/{g}/auto-moderation/rules", long)
    assert r.status_code == 400 and "keyword_filter" in r.json()["errors"]["trigger_metadata"]
    many = {**long, "trigger_metadata": {"regex_patterns": ["a"] * 11}}
    assert api("POST", f"/guilds/{g}/auto-moderation/rules", many).status_code == 400
    gone = api("GET", f"/guilds/{g}/auto-moderation/rules/999999999999999999")
    assert gone.status_code == 404 and gone.json()["code"] == 10066
    assert len(api("GET", f"/guilds/{g}/auto-moderation/rules").json()) == 7


def test_onboarding_requirements_and_what_a_deleted_channel_takes_along(api: Api) -> None:
    g = api.gid
    channels = [api.channel(f"c{n}")["id"] for n in range(7)]
    short = api("PUT", f"/guilds/{g}/onboarding", {"enabled": True, "default_channel_ids": channels[:6]})
    assert short.status_code == 400 and short.json()["code"] == 350000
    assert api("GET", f"/guilds/{g}/onboarding").json()["enabled"] is False  # nothing changed
    ok = api("PUT", f"/guilds/{g}/onboarding", {"enabled": True, "default_channel_ids": channels})
    assert ok.status_code == 200 and ok.json()["default_channel_ids"] == channels
    api("DELETE", f"/channels/{channels[0]}")
    assert channels[0] not in api("GET", f"/guilds/{g}/onboarding").json()["default_channel_ids"]
    welcome = api("PATCH", f"/guilds/{g}/welcome-screen", {"welcome_channels": [
        {"channel_id": channels[1], "description": "x"}] * 6})
    assert welcome.status_code == 400  # at most 5 welcome channels


def test_events_limit_and_status_and_sounds_slots_and_size(api: Api) -> None:
    g = api.gid
    external = {"name": "e", "privacy_level": 2, "entity_type": 3, "entity_metadata": {"location": "here"},
                "scheduled_start_time": _soon(1), "scheduled_end_time": _soon(1.1)}
    past = api("POST", f"/guilds/{g}/scheduled-events", {**external, "scheduled_start_time": _soon(-1)})
    assert past.status_code == 400
    no_end = {k: v for k, v in external.items() if k != "scheduled_end_time"}
    assert api("POST", f"/guilds/{g}/scheduled-events", no_end).status_code == 400
    for _ in range(100):
        assert api("POST", f"/guilds/{g}/scheduled-events", external).status_code == 200
    over = api("POST", f"/guilds/{g}/scheduled-events", external)
    assert over.status_code == 400 and over.json()["code"] == 30038
    first = api("GET", f"/guilds/{g}/scheduled-events", params={"with_user_count": "true"}).json()[0]
    assert first["user_count"] == 0
    done = api("PATCH", f"/guilds/{g}/scheduled-events/{first['id']}", {"status": 4})
    assert done.status_code == 200 and len(api("GET", f"/guilds/{g}/scheduled-events").json()) == 99
    big = api("POST", f"/guilds/{g}/soundboard-sounds", {"name": "big", "sound": audio_uri(b"OggS" + bytes(524_288))})
    assert big.status_code == 400 and "BINARY_TYPE_MAX_SIZE" in big.text
    for n in range(8):
        made = api("POST", f"/guilds/{g}/soundboard-sounds", {"name": f"s{n}", "sound": audio_uri(AIRHORN)})
        assert made.status_code == 201, made.text
    full = api("POST", f"/guilds/{g}/soundboard-sounds", {"name": "s8", "sound": audio_uri(AIRHORN)})
    assert full.status_code == 400 and full.json()["code"] == 30045
    assert api("GET", f"/guilds/{g}/soundboard-sounds/1").json()["code"] == 10097


def test_the_data_file_keeps_the_safety_stores(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    with running_emulator(args=("--data", str(data))) as emu:
        api = Api(emu)
        g = api.gid
        rule = api("POST", f"/guilds/{g}/auto-moderation/rules", _keyword("kept")).json()
        api("POST", f"/guilds/{g}/soundboard-sounds", {"name": "horn", "sound": audio_uri(AIRHORN)})
        api.close()
    with running_emulator(args=("--data", str(data))) as emu:
        api = Api(emu)
        assert api("GET", f"/guilds/{g}/auto-moderation/rules/{rule['id']}").json()["name"] == "kept"
        [sound] = api("GET", f"/guilds/{g}/soundboard-sounds").json()["items"]
        assert api.client.get(f"{emu.base_url.rsplit('/api/', 1)[0]}/cdn/soundboard-sounds/{sound['sound_id']}"
                              ).content == AIRHORN
        api.close()


def _session(emu: EmulatorHandle) -> None:
    bot = Bot(emu)
    g = bot.gid
    role = bot("POST", f"/guilds/{g}/roles", {"name": "Mods"})
    chans = [bot("POST", f"/guilds/{g}/channels", {"name": f"c{n}"}, expect=201) for n in range(7)]
    stage = bot("POST", f"/guilds/{g}/channels", {"name": "stage", "type": 13}, expect=201)
    voice = bot("POST", f"/guilds/{g}/channels", {"name": "voice", "type": 2}, expect=201)
    rule = bot("POST", f"/guilds/{g}/auto-moderation/rules", {
        "name": "links", "event_type": 1, "trigger_type": 1, "enabled": True, "exempt_roles": [role["id"]],
        "exempt_channels": [chans[0]["id"]], "trigger_metadata": {"keyword_filter": ["spam"], "allow_list": ["ok"]},
        "actions": [{"type": 1, "metadata": {"custom_message": "no"}},
                    {"type": 2, "metadata": {"channel_id": chans[1]["id"]}},
                    {"type": 3, "metadata": {"duration_seconds": 60}}]})
    bot("POST", f"/guilds/{g}/auto-moderation/rules", {"name": "preset", "event_type": 1, "trigger_type": 4,
                                                       "trigger_metadata": {"presets": [1, 2]},
                                                       "actions": [{"type": 1}]})
    bot("POST", f"/guilds/{g}/auto-moderation/rules", {"name": "mentions", "event_type": 1, "trigger_type": 5,
                                                       "trigger_metadata": {"mention_total_limit": 5},
                                                       "actions": [{"type": 1}]})
    bot("GET", f"/guilds/{g}/auto-moderation/rules")
    bot("GET", f"/guilds/{g}/auto-moderation/rules/{rule['id']}")
    bot("PATCH", f"/guilds/{g}/auto-moderation/rules/{rule['id']}", {"enabled": False})
    bot("PUT", f"/guilds/{g}/onboarding", {
        "enabled": True, "mode": 0, "default_channel_ids": [c["id"] for c in chans],
        "prompts": [{"id": "1", "title": "Why?", "options": [{"title": "Fun", "role_ids": [role["id"]],
                                                             "channel_ids": [chans[0]["id"]], "emoji_name": "x"}]}]})
    bot("GET", f"/guilds/{g}/onboarding")
    bot("PATCH", f"/guilds/{g}/welcome-screen", {"enabled": True, "description": "hi", "welcome_channels": [
        {"channel_id": chans[0]["id"], "description": "talk", "emoji_name": "x"}]})
    bot("GET", f"/guilds/{g}/welcome-screen")
    cover = "data:image/png;base64," + base64.b64encode(png(3)).decode()
    event = bot("POST", f"/guilds/{g}/scheduled-events", {
        "name": "meet", "privacy_level": 2, "entity_type": 3, "entity_metadata": {"location": "park"},
        "scheduled_start_time": _soon(1), "scheduled_end_time": _soon(1.1), "image": cover})
    bot("POST", f"/guilds/{g}/scheduled-events", {"name": "talk", "privacy_level": 2, "entity_type": 2,
                                                  "channel_id": voice["id"], "scheduled_start_time": _soon(2)})
    bot("POST", f"/guilds/{g}/scheduled-events", {"name": "show", "privacy_level": 2, "entity_type": 1,
                                                  "channel_id": stage["id"], "scheduled_start_time": _soon(2)})
    bot("GET", f"/guilds/{g}/scheduled-events", params={"with_user_count": "true"})
    bot("GET", f"/guilds/{g}/scheduled-events/{event['id']}")
    bot("PATCH", f"/guilds/{g}/scheduled-events/{event['id']}", {"description": "bring food"})
    sound = bot("POST", f"/guilds/{g}/soundboard-sounds", {"name": "horn", "sound": audio_uri(AIRHORN),
                                                           "volume": 0.5, "emoji_name": "x"}, expect=201)
    bot("GET", f"/guilds/{g}/soundboard-sounds")
    bot("GET", f"/guilds/{g}/soundboard-sounds/{sound['sound_id']}")
    bot("PATCH", f"/guilds/{g}/soundboard-sounds/{sound['sound_id']}", {"volume": 1})
    # errors the spec allows the request for
    bot("GET", f"/guilds/{g}/auto-moderation/rules/999999999999999999", expect=404)
    bot("PUT", f"/guilds/{g}/onboarding", {"enabled": True, "default_channel_ids": [chans[0]["id"]]}, expect=400)
    bot("DELETE", f"/guilds/{g}/soundboard-sounds/{sound['sound_id']}", expect=204)
    bot("DELETE", f"/guilds/{g}/scheduled-events/{event['id']}", expect=204)
    bot("DELETE", f"/guilds/{g}/auto-moderation/rules/{rule['id']}", expect=204)
    bot.client.close()


@pytest.mark.skipif(not VALIDATOR.exists(), reason="shared validator not present")
def test_recorded_safety_session_passes_the_contract_validator(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--record", str(record))) as emu:
        control(emu, "POST", "/guild", {"features": ["COMMUNITY"]})
        _session(emu)
        routes = set(emu.stats()["by_route"])
    assert routes >= {f"{m} {t}" for t, methods in SAFETY_ROUTES.items() for m in methods}
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == f"{len(lines)} passed, 0 failed"


def test_community_settings_need_their_features_and_text_channels(api: Api) -> None:
    g = api.gid
    splash = "data:image/png;base64," + base64.b64encode(png(5)).decode()
    refused = api("PATCH", f"/guilds/{g}", {"splash": splash})
    assert refused.status_code == 400 and "GUILD_FEATURE_REQUIRED" in refused.text  # INVITE_SPLASH: level 1
    control(api.emu, "POST", "/guild", {"premium_tier": 1})
    assert api("PATCH", f"/guilds/{g}", {"splash": splash}).json()["splash"]
    assert api("PATCH", f"/guilds/{g}", {"discovery_splash": splash}).status_code == 400  # not DISCOVERABLE
    control(api.emu, "POST", "/guild", {"features": ["DISCOVERABLE"]})
    assert api("PATCH", f"/guilds/{g}", {"discovery_splash": splash}).status_code == 200
    voice = api.channel("voice", type=2)["id"]
    text = api.channel("rules")["id"]
    bad = api("PATCH", f"/guilds/{g}", {"rules_channel_id": voice})
    assert bad.status_code == 400 and "CHANNEL_TYPE_INVALID" in bad.text
    ok = api("PATCH", f"/guilds/{g}", {"rules_channel_id": text, "safety_alerts_channel_id": text,
                                      "description": "hi"}).json()
    assert (ok["rules_channel_id"], ok["safety_alerts_channel_id"], ok["description"]) == (text, text, "hi")
    api("DELETE", f"/channels/{text}")
    assert api("GET", f"/guilds/{g}").json()["rules_channel_id"] is None
