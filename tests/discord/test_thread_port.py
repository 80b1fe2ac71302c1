"""The Discord port's thread methods and the channel and role fields issue 22 added, held against the client
and the bundled emulator: forum tags, voice settings, role icons and colours round-trip; threads and forum
posts are started, listed (active and archived, paged) and changed; a webhook posts into a thread; a
retried thread start after a lost answer starts no second thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gaib.discord import limits as L
from gaib.discord.client import DiscordClient
from gaib.discord.community import data_uri
from gaib.discord.models import ChannelType, channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, DiscordNotFound
from tests.support.discord.control import control
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


def _forum(port: DiscordPort) -> tuple[str, dict[str, str]]:
    forum = port.create_channel({
        **channel_body(name="help", type=ChannelType.FORUM),
        "available_tags": [{"name": "bug", "emoji_name": "🐛"}, {"name": "idea", "moderated": True}],
        "default_reaction_emoji": {"emoji_name": "👍"}, "default_sort_order": 1, "default_forum_layout": 2,
        "default_thread_rate_limit_per_user": 30})
    return forum.id, {t.name: t.id for t in forum.available_tags}


def test_forum_fields_round_trip_and_tags_keep_their_ids(port: DiscordPort) -> None:
    forum_id, tags = _forum(port)
    live = next(c for c in port.get_guild().channels if c.id == forum_id)
    assert [(t.name, t.emoji_name, t.moderated) for t in live.available_tags] == [("bug", "🐛", False),
                                                                                 ("idea", None, True)]
    assert (live.default_reaction_emoji, live.default_sort_order, live.default_forum_layout,
            live.default_thread_rate_limit_per_user) == ((None, "👍"), 1, 2, 30)
    kept = port.update_channel(forum_id, {"available_tags": [{"id": tags["bug"], "name": "bugs"},
                                                             {"name": "new"}]})
    assert kept.available_tags[0].id == tags["bug"] and kept.available_tags[1].id not in tags.values()
    with pytest.raises(DiscordError) as too_many:
        port.update_channel(forum_id, {"available_tags": [{"name": f"t{i}"} for i in range(L.FORUM_TAGS_MAX + 1)]})
    assert too_many.value.details.get("discord_code") == 50035


def test_voice_and_stage_limits_follow_the_boost_tier(port: DiscordPort, emu: EmulatorHandle) -> None:
    voice = port.create_channel({**channel_body(name="Lounge", type=ChannelType.VOICE, bitrate=96000, user_limit=99),
                                 "rtc_region": "rotterdam", "video_quality_mode": 2})
    assert (voice.bitrate, voice.user_limit, voice.rtc_region, voice.video_quality_mode) == (
        96000, 99, "rotterdam", 2)
    stage = port.create_channel(channel_body(name="Town hall", type=ChannelType.STAGE, user_limit=10000))
    assert stage.user_limit == 10000
    with pytest.raises(DiscordError):
        port.update_channel(voice.id, {"bitrate": 128000})  # level 0: at most 96 kbps
    with pytest.raises(DiscordError):
        port.update_channel(voice.id, {"user_limit": 100})
    with pytest.raises(DiscordError):
        port.update_channel(stage.id, {"bitrate": 96000})  # stage: 64 kbps whatever the tier
    control(emu, "POST", "/guild", {"premium_tier": 1})
    assert port.update_channel(voice.id, {"bitrate": 128000}).bitrate == 128000


def test_role_icons_need_boost_level_2_and_colours_round_trip(port: DiscordPort, emu: EmulatorHandle) -> None:
    role = port.create_role({**role_body(name="Gold"), "colors": {"primary_color": 0xFFD700,
                                                                   "secondary_color": 0x111111}})
    assert (role.color, role.secondary_color, role.tertiary_color) == (0xFFD700, 0x111111, None)
    with pytest.raises(DiscordError) as refused:
        port.update_role(role.id, {"icon": data_uri(png(5))})
    assert refused.value.details.get("discord_code") == L.MORE_BOOSTS_REQUIRED
    control(emu, "POST", "/guild", {"premium_tier": 2})
    iconed = port.update_role(role.id, {"icon": data_uri(png(5))})
    assert iconed.icon and port.cdn_get(f"role-icons/{role.id}/{iconed.icon}.png", max_bytes=L.ROLE_ICON_MAX_BYTES) \
        == png(5)
    assert port.update_role(role.id, {"unicode_emoji": "⭐"}).unicode_emoji == "⭐"


def test_threads_and_posts_are_started_listed_and_changed(port: DiscordPort, emu: EmulatorHandle) -> None:
    forum_id, tags = _forum(port)
    chat = port.create_channel(channel_body(name="chat"))
    post = port.create_thread(forum_id, {"name": "Crash on start", "applied_tags": [tags["bug"]],
                                         "message": {"content": "It crashes."}})
    assert (post.parent_id, post.applied_tags) == (forum_id, (tags["bug"],))
    assert [m.content for m in port.list_messages(post.id, limit=10)] == ["It crashes."]
    talk = port.create_thread(chat.id, {"name": "side talk", "type": 11, "auto_archive_duration": 60})
    assert {t.id for t in port.list_active_threads()} == {post.id, talk.id}
    hook = port.create_webhook(forum_id, "poster")
    port.execute_webhook(hook.url, {"content": "Me too", "username": "Bob"}, wait=True, thread_id=post.id)
    assert [m.content for m in port.list_messages(post.id, limit=10)] == ["Me too", "It crashes."]
    with pytest.raises(DiscordError):
        port.execute_webhook(hook.url, {"content": "no thread"}, wait=True)  # a forum needs a thread
    for n in range(3):
        port.create_thread(chat.id, {"name": f"old {n}"})
    for t in port.list_active_threads():
        if t.name.startswith("old"):
            port.update_thread(t.id, {"archived": True, "locked": True})
    archived = port.list_archived_threads(chat.id)
    assert sorted(t.name for t in archived) == ["old 0", "old 1", "old 2"] and all(t.locked for t in archived)
    port.update_thread(post.id, {"applied_tags": [tags["idea"]], "archived": True})
    assert port.list_archived_threads(forum_id)[0].applied_tags == (tags["idea"],)
    with pytest.raises(DiscordError):
        port.create_thread(forum_id, {"name": "no message"})
    port.delete_channel(chat.id)
    with pytest.raises(DiscordNotFound):
        port.update_thread(talk.id, {"archived": True})


def test_a_retried_thread_start_after_a_lost_answer_starts_no_second_thread(port: DiscordPort,
                                                                            emu: EmulatorHandle) -> None:
    forum_id, _ = _forum(port)
    emu.set_faults(on_requests=[emu.stats()["requests"] + 1], kinds=["drop-after"])
    post = port.create_thread(forum_id, {"name": "Once", "message": {"content": "only once"}}, dedupe=True)
    assert [t.id for t in port.list_active_threads() if t.name == "Once"] == [post.id]
