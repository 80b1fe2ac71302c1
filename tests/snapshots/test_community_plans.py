"""Pure parts of a community restore: webhook messages from saved ones, which channels are replayed into,
what the community plan changes, and the time Discord's limits impose."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gaib.discord import limits as L
from gaib.discord.community import Ban, Emoji, GuildSettings
from gaib.snapshots.community_plan import LiveCommunity, plan_community, time_floor
from gaib.snapshots.parts import Extras
from gaib.snapshots.replay import ChannelReplay, ReplayPlan, payloads, plan_replay, split_content, webhook_username

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


@PROPERTY
@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=7000))
def test_long_content_is_split_into_discord_sized_pieces_that_add_up(text: str) -> None:
    pieces = split_content(text)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= L.MESSAGE_CONTENT_MAX for p in pieces)
    assert len(pieces) <= max(1, -(-len(text) // (L.MESSAGE_CONTENT_MAX // 2)))


@PROPERTY
@given(st.text(max_size=200))
def test_any_display_name_becomes_a_name_a_webhook_may_use(name: str) -> None:
    shown = webhook_username({"global_name": name})
    assert 1 <= len(shown) <= 80
    assert "discord" not in shown.casefold() and "clyde" not in shown.casefold()
    assert shown.casefold() not in ("everyone", "here") and "@" not in shown


def test_a_saved_message_becomes_webhook_messages_that_ping_nobody() -> None:
    message: dict[str, Any] = {
        "author": {"username": "bob", "global_name": None, "avatar_url": "https://cdn.discordapp.com/x.png"},
        "content": "@everyone " + "w " * 1500, "embeds": [{"type": "rich", "title": "t"}, {"type": "image"}],
        "attachments": [{"url": "https://cdn.discordapp.com/attachments/1/2/a.txt"}]}
    sends = payloads(message)
    assert len(sends) == 2 and all(s["allowed_mentions"] == {"parse": []} and s["username"] == "bob" for s in sends)
    assert sends[-1]["embeds"] == [{"title": "t"}] and "embeds" not in sends[0]
    assert sends[-1]["content"].endswith("https://cdn.discordapp.com/attachments/1/2/a.txt")
    assert payloads({"author": {"username": "x"}, "content": "", "embeds": [{"type": "video"}]}) == []


def test_only_channels_that_are_gone_are_replayed_into() -> None:
    saved = {"11": [{"id": "1"}], "12": [{"id": "2"}], "13": [{"id": "3"}]}
    names = {"11": "chat", "12": "rules", "13": "memes"}
    dry = plan_replay(saved, names, live_channels=["12"])
    assert [c.name for c in dry.channels] == ["chat", "memes"] and dry.kept == ("rules",)
    done = plan_replay(saved, names, live_channels=["12", "21"], ids={"11": "21"})
    assert [(c.name, c.new_id) for c in done.channels] == [("chat", "21")]  # memes was not re-created


def test_the_replay_time_floor_is_the_per_channel_webhook_limit() -> None:
    hundred = tuple({"author": {"username": "a"}, "content": str(i)} for i in range(100))
    plan = ReplayPlan((ChannelReplay("11", "chat", hundred), ChannelReplay("12", "news", hundred[:10])))
    assert plan.time_floor() == 180.0  # 100 messages: 4 windows of 30 per minute
    assert plan.requests()["POST /webhooks/{webhook_id}/{webhook_token}"] == 110
    assert L.time_floor(30, L.WEBHOOK_CHANNEL_MESSAGES) == 0.0 and L.time_floor(11, L.WEBHOOK_EXECUTES) == 4.0


def _extras(**kw: Any) -> Extras:
    guild = {"name": "G", "settings": {"name": "G", "verification_level": 2, "afk_channel_id": "31"},
             "icon": None, "banner": None}
    return Extras(present=True, guild=guild, **kw)


def test_the_community_plan_touches_only_what_differs() -> None:
    emojis = ({"id": "1", "name": "smile", "roles": ["41"], "sha256": "a" * 64, "animated": False},
              {"id": "2", "name": "wave", "roles": [], "sha256": "b" * 64, "animated": False},
              {"id": "3", "name": "gone", "roles": ["42"], "sha256": "c" * 64, "animated": False})
    bans = tuple({"user_id": str(700 + i), "reason": "raid" if i % 2 else None} for i in range(450))
    live = LiveCommunity(
        settings=GuildSettings(id="9", name="G", verification_level=0, afk_channel_id=None),
        emojis=(Emoji("1", "smile", ("41",)), Emoji("5", "wave"), Emoji("6", "junk")),
        bans=(Ban("700", "x"),), image_sha={"emoji:5": "b" * 64})
    plan = plan_community(_extras(emojis=emojis, bans=bans), live, ids={"42": "52", "31": "61"},
                          live_channels=["61"], live_roles=["41", "52"], prune_unmanaged=False)
    assert plan.settings == {"verification_level": 2, "afk_channel_id": "61"}
    assert [(i.action, i.name, i.live_id) for i in plan.items] == [("adopt", "wave", "5"), ("create", "gone", None)]
    assert dict(plan.items[1].fields) == {"roles": ["52"]}  # the role re-created under a new id
    assert [len(b.user_ids) for b in plan.ban] == [200, 24, 200, 25] and plan.unban == ()
    pruned = plan_community(_extras(emojis=emojis), live, ids={}, live_channels=[], live_roles=["41"],
                            prune_unmanaged=True)
    assert [(i.action, i.name) for i in pruned.items if i.action == "delete"] == [("delete", "junk")]
    assert any("does not exist" in w for w in pruned.warnings)  # the AFK channel is gone for good


def test_emoji_creates_past_the_hours_window_show_in_the_time_floor() -> None:
    emojis = tuple({"id": str(i), "name": f"e{i}", "sha256": "a" * 64} for i in range(120))
    live = LiveCommunity(settings=GuildSettings(id="9", name="G", premium_tier=3))
    plan = plan_community(_extras(emojis=emojis), live, ids={}, live_channels=[], live_roles=[],
                          prune_unmanaged=False)
    assert plan.count("emoji", "create") == 120 and time_floor(plan) == 2 * 3600.0
