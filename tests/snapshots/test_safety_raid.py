"""The raid on a community's safety: an AutoMod rule, a scheduled event, the onboarding, the welcome screen
and a soundboard sound deleted or changed, the role and channel they name deleted too, the community
settings reset. ``snapshot restore --apply`` brings each back, naming the re-created role and channel by
their new ids; Discord's limits are refused in the plan with a message; compare and download show the parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.snapshots.community import data_uri
from tests.snapshots.safety import AIRHORN, KAZOO, Safety, soon
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.images import png
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

COVER, SPLASH, DISCOVERY = png(11, 40), png(12, 40), png(13, 40)


@pytest.fixture
def discord(guild: Any) -> Safety:
    return Safety(guild)


def _build(snap: CliRunner, c: Safety) -> dict[str, Any]:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    member, chat, lounge, rules = (c.role("Member")["id"], c.channel("chat")["id"], c.channel("lounge")["id"],
                                   c.channel("rules")["id"])
    halls = [c.create_channel({"name": f"hall-{n}"})["id"] for n in range(6)]
    control(c.emu, "POST", "/guild", {"premium_tier": 1})
    control(c.emu, "POST", "/guild", {"features": ["COMMUNITY", "DISCOVERABLE"]})
    c.patch_guild({"rules_channel_id": rules, "public_updates_channel_id": chat, "safety_alerts_channel_id": chat,
                   "description": "A friendly place", "splash": data_uri(SPLASH),
                   "discovery_splash": data_uri(DISCOVERY)})
    rule = c.create_rule(c.keyword_rule("No links", exempt_roles=[member], exempt_channels=[chat], actions=[
        {"type": 1, "metadata": {"custom_message": "No links here"}},
        {"type": 2, "metadata": {"channel_id": chat}}]))
    c.create_rule({"name": "Mentions", "event_type": 1, "trigger_type": 5, "actions": [{"type": 1}],
                   "trigger_metadata": {"mention_total_limit": 5}})
    talk = c.create_event({"name": "Voice night", "privacy_level": 2, "entity_type": 2, "channel_id": lounge,
                           "scheduled_start_time": soon(2), "description": "Come and talk"})
    fair = c.create_event({"name": "Meetup", "privacy_level": 2, "entity_type": 3, "channel_id": None,
                           "entity_metadata": {"location": "Town hall"}, "scheduled_start_time": soon(3),
                           "scheduled_end_time": soon(3.1), "image": data_uri(COVER)})
    c.put_onboarding({"enabled": True, "mode": 0, "default_channel_ids": [chat, *halls],
                      "prompts": [{"id": "1", "title": "What brings you here?", "single_select": True,
                                   "options": [{"title": "Games", "role_ids": [member], "channel_ids": [chat],
                                                "emoji_name": "🎮"}]}]})
    c.patch_welcome({"enabled": True, "description": "Hello!",
                     "welcome_channels": [{"channel_id": chat, "description": "Talk here", "emoji_name": "💬"}]})
    horn = c.create_sound("airhorn", AIRHORN, volume=0.5, emoji_name="📯")
    return {"member": member, "chat": chat, "rule": rule["id"], "talk": talk["id"], "fair": fair["id"],
            "horn": horn["sound_id"], "halls": halls}


def test_a_raid_on_automod_events_onboarding_and_the_soundboard_is_undone(snap: CliRunner, discord: Safety) -> None:
    c = discord
    ids = _build(snap, c)
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout
    counts = made.data["counts"]
    assert (counts["automod_rules"], counts["events"], counts["sounds"], counts["onboarding_prompts"]) == (2, 2, 1, 1)
    sid = made.data["id"]

    # The raid: the role and channel the rules name go, then the rules themselves.
    c.delete_role(ids["member"])
    c.delete_channel(ids["chat"])
    c.delete_rule(ids["rule"])
    c.delete_event(ids["talk"])
    c.delete_event(ids["fair"])
    c.put_onboarding({"enabled": False, "prompts": [], "default_channel_ids": []})
    c.patch_welcome({"enabled": False, "description": "pwned", "welcome_channels": []})
    c.delete_sound(ids["horn"])
    c.patch_guild({"description": "pwned", "splash": None, "rules_channel_id": None})
    mark = c.mark()

    dry = snap("server", "snapshot", "restore", sid, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    safety = dry.data["plan"]["extras"]["safety"]
    assert safety["summary"] == {"automod_create": 1, "events_create": 2, "onboarding_put": 1, "welcome_update": 1,
                                 "soundboard_create": 1}, safety
    assert safety["refused"] == [] and safety["past_events"] == []
    assert dry.data["plan"]["extras"]["requests"]["by_route"]["POST /guilds/{guild_id}/auto-moderation/rules"] == 1
    assert c.writes_since(mark) == []
    text = snap("server", "snapshot", "restore", sid, "--dry-run")
    assert "+ automod No links" in text.stdout and "+ events Meetup" in text.stdout, text.stdout

    done = snap("server", "snapshot", "restore", sid, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    member, chat = c.role("Member")["id"], c.channel("chat")["id"]
    assert member != ids["member"] and chat != ids["chat"]
    # AutoMod: the rule is back, exempting and alerting the re-created role and channel.
    rules = {r["name"]: r for r in c.rules()}
    links = rules["No links"]
    assert links["id"] != ids["rule"] and links["enabled"] is True
    assert (links["exempt_roles"], links["exempt_channels"]) == ([member], [chat])
    assert links["actions"] == [{"type": 1, "metadata": {"custom_message": "No links here"}},
                                {"type": 2, "metadata": {"channel_id": chat}}]
    assert links["trigger_metadata"]["keyword_filter"] == ["No links spam"]
    assert rules["Mentions"]["trigger_metadata"]["mention_total_limit"] == 5
    # Events: both back (the voice one in the lounge, the external one with its cover, byte for byte).
    events = {e["name"]: e for e in c.events()}
    assert events["Voice night"]["channel_id"] == c.channel("lounge")["id"]
    assert events["Meetup"]["entity_metadata"] == {"location": "Town hall"}
    assert c.cdn(f"guild-events/{events['Meetup']['id']}/{events['Meetup']['image']}.png") == COVER
    # Onboarding: enabled again, its option giving the new role and channel.
    ob = c.onboarding()
    assert ob["enabled"] is True and chat in ob["default_channel_ids"] and len(ob["default_channel_ids"]) == 7
    [option] = ob["prompts"][0]["options"]
    assert (option["role_ids"], option["channel_ids"], option["emoji"]["name"]) == ([member], [chat], "🎮")
    # Welcome screen, sound, community settings.
    welcome = c.welcome()
    assert welcome["description"] == "Hello!" and welcome["welcome_channels"][0]["channel_id"] == chat
    guild = c.settings()
    assert "WELCOME_SCREEN_ENABLED" in guild["features"]
    [horn] = c.sounds()
    assert (horn["name"], horn["volume"], horn["emoji_name"]) == ("airhorn", 0.5, "📯")
    assert c.cdn(f"soundboard-sounds/{horn['sound_id']}") == AIRHORN
    assert (guild["description"], guild["rules_channel_id"], guild["public_updates_channel_id"],
            guild["safety_alerts_channel_id"]) == ("A friendly place", c.channel("rules")["id"], chat, chat)
    assert c.cdn(f"splashes/{guild['id']}/{guild['splash']}.png") == SPLASH
    assert c.cdn(f"discovery-splashes/{guild['id']}/{guild['discovery_splash']}.png") == DISCOVERY

    # Nothing left to do: a second restore sends nothing for these parts.
    again = snap("server", "snapshot", "restore", sid, "--dry-run", "--json")
    assert again.data["plan"]["extras"]["safety"]["empty"] is True, again.data["plan"]["extras"]["safety"]


def test_limits_are_refused_in_the_plan_and_past_events_are_listed(snap: CliRunner, discord: Safety) -> None:
    c = discord
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    rule = c.create_rule(c.keyword_rule("Words"))
    event = c.create_event({"name": "Launch", "privacy_level": 2, "entity_type": 3, "scheduled_start_time": soon(1),
                            "scheduled_end_time": soon(1.1), "entity_metadata": {"location": "Online"}})
    sid = snap("server", "snapshot", "create", "--json").data["id"]
    c.delete_rule(rule["id"])
    for n in range(6):  # the raider fills every keyword slot
        c.create_rule(c.keyword_rule(f"raid{n}"))
    c.delete_event(event["id"])
    mark = c.mark()
    later = datetime.now(UTC) + timedelta(days=2)
    snap.clock = lambda: later  # the event is over by the time of the restore

    dry = snap("server", "snapshot", "restore", sid, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    safety = dry.data["plan"]["extras"]["safety"]
    assert safety["steps"] == [], safety
    assert any("Words is not re-created: Discord allows 6 keyword rules per server" in r for r in safety["refused"])
    assert safety["past_events"] and safety["past_events"][0].startswith("Launch")
    assert any("--prune-unmanaged" in w for w in dry.data["plan"]["warnings"])
    done = snap("server", "snapshot", "restore", sid, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert sorted(r["name"] for r in c.rules()) == [f"raid{n}" for n in range(6)] and c.events() == []
    assert not [w for w in c.writes_since(mark) if "auto-moderation" in w["route"] or "scheduled" in w["route"]]
    # With --prune-unmanaged the raider's rules go and the saved one fits again.
    pruned = snap("server", "snapshot", "restore", sid, "--apply", "--prune-unmanaged", "--yes", "--json")
    assert pruned.exit_code == 0, pruned.stdout
    assert [r["name"] for r in c.rules()] == ["Words"]


def test_compare_and_download_show_the_safety_parts(snap: CliRunner, discord: Safety, tmp_path: Any) -> None:
    c = discord
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    rule = c.create_rule(c.keyword_rule("Words"))
    first = snap("server", "snapshot", "create", "--json").data["id"]
    c._call("PATCH", f"/guilds/{c.emu.guild_id}/auto-moderation/rules/{rule['id']}", {"enabled": False})
    c.create_sound("kazoo", KAZOO)
    second = snap("server", "snapshot", "create", "--json").data["id"]
    cmp = snap("server", "snapshot", "compare", first, second, "--json")
    assert cmp.exit_code == 0, cmp.stdout
    assert cmp.data["automod"]["changed"] == [{"name": "Words", "fields": ["enabled"]}]
    assert cmp.data["soundboard"]["added"] == ["kazoo"] and cmp.data["identical"] is False
    text = snap("server", "snapshot", "compare", first, second)
    assert "~ AutoMod rule Words: enabled" in text.stdout and "+ sound kazoo" in text.stdout
    out = tmp_path / "copy"
    got = snap("server", "snapshot", "download", second, "-o", str(out), "--json")
    assert got.exit_code == 0, got.stdout
    files = set(got.data["files"])
    assert {"automod.json", "onboarding.json", "welcome.json", "events.json", "soundboard.json"} <= files
    [sound] = [f for f in files if f.endswith(".mp3")]
    assert (out / sound).read_bytes() == KAZOO
