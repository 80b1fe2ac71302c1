"""The raid on forums, threads, voice settings, role icons and member overwrites (issue 22, items 2 and 3).

A forum with tags and posts, a media channel, a stage and a voice channel with their settings, a thread
in a text channel, a role with an icon and colours, and a channel with a member's overwrite are deleted;
``snapshot restore --apply --messages`` brings each back as it was (tags by name, posts with their tags,
state and messages), and a second restore changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.snapshots.community import Community, author, data_uri
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.images import png
from tests.support.raid_config import CONFIG

ICON = png(77, 64)
MEMBER = "800000000000000001"


class Forums(Community):
    def threads(self) -> list[dict[str, Any]]:
        active = self._call("GET", f"/guilds/{self.emu.guild_id}/threads/active")["threads"]
        archived = [t for c in self.channels() if c["type"] in (0, 5, 15, 16)
                    for t in self._call("GET", f"/channels/{c['id']}/threads/archived/public")["threads"]]
        return list(active) + archived

    def thread(self, name: str) -> dict[str, Any]:
        return next(t for t in self.threads() if t["name"] == name)

    def start(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/channels/{channel_id}/threads", body)
        return result


@pytest.fixture
def discord(guild: Any) -> Forums:
    return Forums(guild)


def _build(snap: CliRunner, c: Forums) -> None:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    control(c.emu, "POST", "/guild", {"premium_tier": 2})  # role icons (ROLE_ICONS) and 256 kbps voice
    info = c.channel("Info")["id"]
    forum = c.create_channel({"name": "help", "type": 15, "parent_id": info, "topic": "Ask here",
                              "available_tags": [{"name": "bug", "emoji_name": "🐛"},
                                                 {"name": "idea", "moderated": True}],
                              "default_reaction_emoji": {"emoji_name": "👍"}, "default_sort_order": 1,
                              "default_forum_layout": 2, "default_thread_rate_limit_per_user": 30})
    tags = {t["name"]: t["id"] for t in forum["available_tags"]}
    crash = c.start(forum["id"], {"name": "Crash on start", "applied_tags": [tags["bug"]],
                                  "message": {"content": "It crashes when I open it."}})
    c.seed(crash["id"], [{"author": author(2), "content": "Same here."},
                         {"author": author(3), "content": "Fixed in 1.2."}])
    dark = c.start(forum["id"], {"name": "Dark mode", "applied_tags": [tags["idea"]],
                                 "message": {"content": "Please add a dark mode."}})
    c.patch_channel(dark["id"], {"archived": True, "locked": True})
    gallery = c.create_channel({"name": "gallery", "type": 16, "available_tags": [{"name": "art"}]})
    c.start(gallery["id"], {"name": "Sunset", "applied_tags": [gallery["available_tags"][0]["id"]],
                            "message": {"content": "Taken last night."}})
    side = c.start(c.channel("chat")["id"], {"name": "side talk", "type": 11})
    c.seed(side["id"], [{"author": author(1), "content": "Off topic here."}])
    c.patch_channel(c.channel("lounge")["id"], {"bitrate": 256000, "user_limit": 12, "rtc_region": "rotterdam",
                                                "video_quality_mode": 2})
    c.create_channel({"name": "Town hall", "type": 13, "user_limit": 5000, "rtc_region": "brazil"})
    c.create_channel({"name": "staff-room", "permission_overwrites": [
        {"id": MEMBER, "type": 1, "allow": "1024", "deny": "2048"}]})
    c.create_role({"name": "VIP", "icon": data_uri(ICON), "colors": {"primary_color": 0xFFD700,
                                                                      "secondary_color": 0x222222}})
    c.create_role({"name": "Star", "unicode_emoji": "⭐"})


def _raid(c: Forums) -> None:
    for name in ("help", "gallery", "Town hall", "staff-room", "lounge"):
        c.delete_channel(c.channel(name)["id"])
    c.delete_channel(c.thread("side talk")["id"])
    c.delete_role(c.role("VIP")["id"])
    c.delete_role(c.role("Star")["id"])


def test_forums_threads_voice_icons_and_member_overwrites_come_back(snap: CliRunner, discord: Forums) -> None:
    c = discord
    _build(snap, c)
    made = snap("server", "snapshot", "create", "--messages", "50", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    counts = made.data["counts"]
    assert (counts["threads"], counts["thread_messages"], counts["member_overwrites"]) == (4, 6, 1)
    snapshot_id = made.data["id"]
    _raid(c)

    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--messages", "--json")
    assert dry.exit_code == 0, dry.stdout
    planned = dry.data["plan"]["extras"]
    assert sorted(t["name"] for t in planned["threads"]["threads"]) == ["Crash on start", "Dark mode", "Sunset",
                                                                         "side talk"]
    assert {s["kind"] for s in planned["structure"]["steps"]} == {"channel", "overwrite", "role"}
    shown = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--messages")
    assert "+ thread Crash on start [bug], 2 messages" in shown.stdout, shown.stdout
    assert f"~ member overwrite {MEMBER} on #staff-room" in shown.stdout
    assert "~ role VIP (colors, icon)" in shown.stdout

    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr

    # The forum, with its tags (by name) and settings.
    forum = c.channel("help")
    assert forum["type"] == 15 and forum["topic"] == "Ask here"
    assert [(t["name"], t["emoji_name"], t["moderated"]) for t in forum["available_tags"]] == [
        ("bug", "🐛", False), ("idea", None, True)]
    assert (forum["default_reaction_emoji"], forum["default_sort_order"], forum["default_forum_layout"],
            forum["default_thread_rate_limit_per_user"]) == ({"emoji_id": None, "emoji_name": "👍"}, 1, 2, 30)
    tag_names = {t["id"]: t["name"] for t in forum["available_tags"]}
    # Its posts, with their tags under the new ids, state and messages.
    crash, dark = c.thread("Crash on start"), c.thread("Dark mode")
    assert crash["parent_id"] == forum["id"] == dark["parent_id"]
    assert [tag_names[t] for t in crash["applied_tags"]] == ["bug"]
    assert [tag_names[t] for t in dark["applied_tags"]] == ["idea"]
    assert dark["thread_metadata"]["archived"] and dark["thread_metadata"]["locked"]
    assert not crash["thread_metadata"]["archived"]
    history = c.messages(crash["id"])
    assert [m["content"] for m in history] == ["It crashes when I open it.", "Same here.", "Fixed in 1.2."]
    assert [m["author"]["username"] for m in history[1:]] == ["Member 2", "Member 3"]
    assert [m["content"] for m in c.messages(dark["id"])] == ["Please add a dark mode."]
    # The media channel and its post; the thread of the text channel, with its message.
    gallery = c.channel("gallery")
    sunset = c.thread("Sunset")
    assert gallery["type"] == 16 and sunset["parent_id"] == gallery["id"]
    assert sunset["applied_tags"] == [gallery["available_tags"][0]["id"]]
    side = c.thread("side talk")
    assert side["parent_id"] == c.channel("chat")["id"]
    assert [m["content"] for m in c.messages(side["id"])] == ["Off topic here."]
    # Voice and stage keep their settings.
    lounge, stage = c.channel("lounge"), c.channel("Town hall")
    assert (lounge["bitrate"], lounge["user_limit"], lounge["rtc_region"], lounge["video_quality_mode"]) == (
        256000, 12, "rotterdam", 2)
    assert (stage["type"], stage["user_limit"], stage["rtc_region"]) == (13, 5000, "brazil")
    # The role's icon (the same image) and colours; the emoji icon.
    vip = c.role("VIP")
    assert c.cdn(f"role-icons/{vip['id']}/{vip['icon']}.png") == ICON
    assert vip["colors"] == {"primary_color": 0xFFD700, "secondary_color": 0x222222, "tertiary_color": None}
    assert c.role("Star")["unicode_emoji"] == "⭐"
    # The member's overwrite on the re-created channel.
    staff = c.channel("staff-room")
    assert [(o["id"], o["type"], o["allow"], o["deny"]) for o in staff["permission_overwrites"]] == [
        (MEMBER, 1, "1024", "2048")]

    # A second restore finds everything in place: nothing is written.
    mark = c.mark()
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert again.exit_code == 0, again.stdout
    assert c.writes_since(mark) == []


def test_role_icons_are_left_out_with_a_warning_below_boost_level_2(snap: CliRunner, discord: Forums) -> None:
    c = discord
    _build(snap, c)
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout
    c.delete_role(c.role("VIP")["id"])
    control(c.emu, "POST", "/guild", {"premium_tier": 0})
    done = snap("server", "snapshot", "restore", made.data["id"], "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert c.role("VIP")["icon"] is None
    assert any("ROLE_ICONS" in w for w in done.data["plan"]["warnings"]), done.data["plan"]["warnings"]
