"""The structure planner (gaib.snapshots.channel_fields): only what differs is sent, tags keep the live ids
of their names, a custom emoji no longer in the server is left out with a warning, icons wait for the
ROLE_ICONS feature, and snapshot-time tag ids map to the live ones by name."""

from __future__ import annotations

from gaib.discord.models import Channel, ChannelType, ForumTag, Guild, Overwrite, OverwriteType, Role
from gaib.snapshots.channel_fields import channel_doc, plan_structure, tag_map

GID = "1100000000000000001"
FORUM = Channel(id="10", name="help", type=ChannelType.FORUM,
                available_tags=(ForumTag("100", "bug", emoji_name="🐛"), ForumTag("101", "idea", emoji_id="555")),
                default_reaction_emoji=(None, "👍"), default_sort_order=1, default_forum_layout=2,
                default_thread_rate_limit_per_user=30,
                permission_overwrites=(Overwrite("900", OverwriteType.MEMBER, allow=1024),))
ROLE = Role(id="20", name="VIP", color=1, secondary_color=2, icon="abc")


def _doc() -> dict:
    return {"channels": {"10": channel_doc(FORUM)},
            "roles": {"20": {"name": "VIP", "colors": {"primary_color": 1, "secondary_color": 2,
                                                       "tertiary_color": None},
                             "unicode_emoji": None, "icon": {"hash": "abc", "sha256": "f" * 64, "size": 3,
                                                             "type": "image/png"}}}}


def _everything(_part: str) -> bool:
    return True


def test_an_unchanged_guild_needs_nothing() -> None:
    live = Guild(GID, "g", roles=(ROLE,), channels=(FORUM,))
    plan = plan_structure(_doc(), live, ids={}, features=("ROLE_ICONS",), emojis={"555"}, include=_everything)
    assert plan.steps == () and plan.warnings == ()


def test_a_recreated_forum_gets_its_tags_settings_and_member_overwrite() -> None:
    bare = Channel(id="11", name="help", type=ChannelType.FORUM, available_tags=(ForumTag("300", "bug"),))
    live = Guild(GID, "g", roles=(ROLE,), channels=(bare,))
    plan = plan_structure(_doc(), live, ids={"10": "11"}, features=("ROLE_ICONS",), emojis=set(),
                          include=_everything)
    [patch, overwrite] = plan.steps
    assert (patch.kind, patch.live_id) == ("channel", "11")
    assert patch.body["available_tags"] == [
        {"name": "bug", "moderated": False, "emoji_id": None, "emoji_name": "🐛", "id": "300"},
        {"name": "idea", "moderated": False, "emoji_id": None, "emoji_name": None}]
    assert (patch.body["default_sort_order"], patch.body["default_forum_layout"],
            patch.body["default_thread_rate_limit_per_user"]) == (1, 2, 30)
    assert (overwrite.kind, overwrite.target, overwrite.body) == ("overwrite", "900", {"allow": 1024, "deny": 0})
    assert any("custom emoji" in w for w in plan.warnings)
    only_channels = plan_structure(_doc(), live, ids={"10": "11"}, features=(), emojis=set(),
                                   include=lambda part: part == "channels")
    assert [s.kind for s in only_channels.steps] == ["channel"]


def test_icons_wait_for_role_icons_and_colours_do_not() -> None:
    bare = Role(id="21", name="VIP", color=1)
    live = Guild(GID, "g", roles=(bare,), channels=(FORUM,))
    without = plan_structure(_doc(), live, ids={"20": "21"}, features=(), emojis={"555"}, include=_everything)
    [step] = without.steps
    assert step.body == {"colors": {"primary_color": 1, "secondary_color": 2, "tertiary_color": None}}
    assert any("ROLE_ICONS" in w for w in without.warnings)
    boosted = plan_structure(_doc(), live, ids={"20": "21"}, features=("ROLE_ICONS",), emojis={"555"},
                             include=_everything)
    assert boosted.steps[0].body["icon"] == "f" * 64
    same_image = plan_structure(_doc(), Guild(GID, "g", roles=(Role(id="21", name="VIP", color=1, secondary_color=2,
                                                                    icon="other-hash"),), channels=(FORUM,)),
                                ids={"20": "21"}, features=("ROLE_ICONS",), emojis={"555"}, include=_everything,
                                live_icon_sha={"21": "f" * 64})
    assert same_image.steps == ()


def test_tag_ids_map_by_name() -> None:
    now = Channel(id="11", name="help", type=ChannelType.FORUM,
                  available_tags=(ForumTag("301", "idea"), ForumTag("300", "bug")))
    assert tag_map(_doc(), Guild(GID, "g", channels=(now,)), {"10": "11"}) == {"100": "300", "101": "301"}
