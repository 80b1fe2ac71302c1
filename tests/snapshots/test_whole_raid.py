"""Issue 22's "Done when", end to end on both storages: one raid deletes a role members hold, a forum (with
its tags and a post), an AutoMod rule, a scheduled event and the onboarding. ``snapshot restore --apply``
undoes all of it (the members hold the role again under its new id, the forum has its tags and its post,
the rule, the event and the onboarding are back, naming the new ids); ``restore --only roles`` on the same
raid brings back the role and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.snapshots.safety import Safety, soon
from tests.snapshots.test_forum_raid import Forums
from tests.snapshots.test_members import ALICE, BOB, CAROL, _member, _seed
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.raid_config import CONFIG


class Raider(Safety, Forums):
    """Hands on every part the raid touches: AutoMod, events, onboarding (Safety) and forum posts (Forums)."""


@pytest.fixture
def discord(guild: Any) -> Raider:
    return Raider(guild)


def _build(snap: CliRunner, c: Raider) -> dict[str, Any]:
    """The applied config, three members (two hold Member), a forum with tags and a post, an AutoMod rule
    exempting Member, an event and an onboarding whose option gives Member."""
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    member, admin, chat = c.role("Member")["id"], c.role("Admin")["id"], c.channel("chat")["id"]
    _seed(c.emu, {"id": ALICE, "username": "alice", "roles": [member], "nick": "Al"},
          {"id": BOB, "username": "bob", "roles": [member, admin]},
          {"id": CAROL, "username": "carol", "roles": []})
    control(c.emu, "POST", "/guild", {"features": ["COMMUNITY"]})
    forum = c.create_channel({"name": "help", "type": 15, "parent_id": c.channel("Info")["id"],
                              "default_forum_layout": 2, "available_tags": [{"name": "bug", "emoji_name": "🐛"},
                                                 {"name": "idea", "moderated": True}]})
    bug = next(t["id"] for t in forum["available_tags"] if t["name"] == "bug")
    c.start(forum["id"], {"name": "Crash on start", "applied_tags": [bug],
                          "message": {"content": "It crashes when I open it."}})
    rule = c.create_rule(c.keyword_rule("No links", exempt_roles=[member]))
    event = c.create_event({"name": "Meetup", "privacy_level": 2, "entity_type": 3,
                            "entity_metadata": {"location": "Town hall"}, "scheduled_start_time": soon(3),
                            "scheduled_end_time": soon(3.1)})
    halls = [c.create_channel({"name": f"hall-{n}"})["id"] for n in range(6)]
    c.put_onboarding({"enabled": True, "mode": 0, "default_channel_ids": [chat, *halls],
                      "prompts": [{"id": "1", "title": "What brings you here?", "single_select": True,
                                   "options": [{"title": "Games", "role_ids": [member], "channel_ids": [chat],
                                                "emoji_name": "🎮"}]}]})
    return {"member": member, "admin": admin, "forum": forum["id"], "rule": rule["id"], "event": event["id"]}


def _raid(c: Raider, ids: dict[str, Any]) -> None:
    c.delete_role(ids["member"])
    c.delete_channel(ids["forum"])
    c.delete_rule(ids["rule"])
    c.delete_event(ids["event"])
    c.put_onboarding({"enabled": False, "prompts": [], "default_channel_ids": []})


def _snapshot_and_raid(snap: CliRunner, c: Raider) -> tuple[str, dict[str, Any]]:
    ids = _build(snap, c)
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    counts = made.data["counts"]
    assert (counts["members"], counts["threads"], counts["automod_rules"], counts["events"],
            counts["onboarding_prompts"]) == (3, 1, 1, 1, 1), counts
    _raid(c, ids)
    assert _member(c, ALICE)["roles"] == [] and "help" not in {ch["name"] for ch in c.channels()}
    return str(made.data["id"]), ids


def _assert_all_back(c: Raider, ids: dict[str, Any]) -> None:
    member = c.role("Member")["id"]
    assert member != ids["member"]
    # The members hold the role again, under its new id; what they kept is kept.
    assert _member(c, ALICE)["roles"] == [member] and _member(c, ALICE)["nick"] == "Al"
    assert set(_member(c, BOB)["roles"]) == {member, ids["admin"]}
    assert _member(c, CAROL)["roles"] == []
    # The forum, with its tags, and its post carrying its tag under the new id.
    forum = c.channel("help")
    assert forum["type"] == 15 and forum["id"] != ids["forum"]
    assert [(t["name"], t["emoji_name"], t["moderated"]) for t in forum["available_tags"]] == [
        ("bug", "🐛", False), ("idea", None, True)]
    post = c.thread("Crash on start")
    assert post["parent_id"] == forum["id"]
    assert [t["name"] for t in forum["available_tags"] if t["id"] in post["applied_tags"]] == ["bug"]
    assert [m["content"] for m in c.messages(post["id"])] == ["It crashes when I open it."]
    # The AutoMod rule, exempting the re-created role; the event; the onboarding, giving the new role.
    [rule] = c.rules()
    assert (rule["name"], rule["exempt_roles"], rule["enabled"]) == ("No links", [member], True)
    [event] = c.events()
    assert (event["name"], event["entity_metadata"]) == ("Meetup", {"location": "Town hall"})
    onboarding = c.onboarding()
    assert onboarding["enabled"] is True and len(onboarding["default_channel_ids"]) == 7
    assert onboarding["prompts"][0]["options"][0]["role_ids"] == [member]


def test_restore_apply_undoes_the_whole_raid(snap: CliRunner, discord: Raider) -> None:
    c = discord
    snapshot_id, ids = _snapshot_and_raid(snap, c)
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert done.data["result"]["members"]["changed"] == 2
    _assert_all_back(c, ids)
    # Nothing is left to do: the plan finds the re-created forum and its post (by the ids the restore wrote).
    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json")
    assert dry.exit_code == 0 and dry.data["plan"]["warnings"] == [], dry.data["plan"]["warnings"]
    assert dry.data["plan"]["extras"]["structure"]["steps"] == []
    mark = c.mark()
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert again.exit_code == 0 and again.data["result"]["changed"] is False, again.stdout
    assert c.writes_since(mark) == []


def test_only_roles_brings_back_the_role_and_nothing_else(snap: CliRunner, discord: Raider) -> None:
    c = discord
    snapshot_id, ids = _snapshot_and_raid(snap, c)
    mark = c.mark()
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--only", "roles", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert done.data["plan"]["parts"] == ["roles"]
    member = c.role("Member")["id"]
    assert member != ids["member"]
    writes = c.writes_since(mark)
    assert writes and all(w["route"].startswith("/guilds/{guild_id}/roles") for w in writes), writes
    # Nothing else came back: no member holds the role, no forum, rule or event, the onboarding stays off.
    assert _member(c, ALICE)["roles"] == [] and _member(c, BOB)["roles"] == [ids["admin"]]
    assert "help" not in {ch["name"] for ch in c.channels()}
    assert c.rules() == [] and c.events() == [] and c.onboarding()["enabled"] is False
    # The rest of the snapshot then brings back everything else, handing out the role re-created above.
    rest = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert rest.exit_code == 0, rest.stdout + rest.stderr
    _assert_all_back(c, ids)
