"""Members in snapshots: the raid that deletes a role members held is undone (members hold it again under
its new id, nicknames back, nothing taken away they gained since), members who left are listed, a role
above the bot is named, the Server Members intent switched off leaves the part unavailable (the snapshot
succeeds and says how to enable it), and restore by part (``--only`` / ``--exclude``) touches only what
it names. On both storages (the ``snap`` fixture: local, and S3 + DynamoDB on moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gaib.emulator.stores.audit import BOT_USER_ID
from tests.snapshots.community import Community
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.raid_config import CONFIG

ALICE, BOB, CAROL = "700000000000000001", "700000000000000002", "700000000000000003"


@pytest.fixture
def discord(guild: Any) -> Community:
    return Community(guild)


def _member(c: Community, uid: str) -> dict[str, Any]:
    result: dict[str, Any] = c._call("GET", f"/guilds/{c.emu.guild_id}/members/{uid}")
    return result


def _seed(emu: EmulatorHandle, *members: dict[str, Any]) -> None:
    control(emu, "POST", "/members", {"members": list(members)})


def _build(snap: CliRunner, c: Community) -> dict[str, str]:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    roles = {"member": c.role("Member")["id"], "admin": c.role("Admin")["id"]}
    _seed(c.emu, {"id": ALICE, "username": "alice", "roles": [roles["member"]], "nick": "Al"},
          {"id": BOB, "username": "bob", "roles": [roles["member"], roles["admin"]]},
          {"id": CAROL, "username": "carol", "roles": [roles["member"]]})
    return roles


def test_a_raid_deleting_a_role_members_held_is_undone(snap: CliRunner, discord: Community) -> None:
    c = discord
    roles = _build(snap, c)
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout
    assert made.data["counts"]["members"] == 3
    snapshot_id = made.data["id"]

    # The raid: the Member role is deleted (everyone loses it), a nickname changed, Carol kicked; since the
    # snapshot Alice was also given Admin.
    c.delete_role(roles["member"])
    c._call("PATCH", f"/guilds/{c.emu.guild_id}/members/{ALICE}", {"nick": "pwned", "roles": [roles["admin"]]})
    c._call("DELETE", f"/guilds/{c.emu.guild_id}/members/{CAROL}")
    mark = c.mark()

    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    plan = dry.data["plan"]["members"]
    assert plan["change"] == 2 and plan["roles_given"] == 2 and plan["nicknames"] == 1, plan
    assert plan["left"] == [f"carol ({CAROL})"]
    assert c.writes_since(mark) == []
    text = snap("server", "snapshot", "restore", snapshot_id, "--dry-run")
    assert "2 members" in text.stdout and "at least" in text.stdout

    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    new_member = c.role("Member")["id"]
    assert new_member != roles["member"]
    alice, bob = _member(c, ALICE), _member(c, BOB)
    assert set(alice["roles"]) == {new_member, roles["admin"]}  # Admin, gained since, is kept
    assert alice["nick"] == "Al"
    assert set(bob["roles"]) == {new_member, roles["admin"]}
    assert done.data["result"]["members"]["changed"] == 2
    edits = [w for w in c.writes_since(mark) if w["route"] == "/guilds/{guild_id}/members/{user_id}"]
    assert len(edits) == 2  # one PATCH per member: the whole role list and the nickname together

    # Nothing left to do the second time.
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert again.exit_code == 0 and again.data["result"]["changed"] is False


def test_members_who_left_are_listed_and_exact_members_takes_away_new_roles(snap: CliRunner,
                                                                          discord: Community) -> None:
    c = discord
    roles = _build(snap, c)
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    c._call("PATCH", f"/guilds/{c.emu.guild_id}/members/{ALICE}", {"roles": [roles["member"], roles["admin"]]})
    loose = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json").data["plan"]["members"]
    assert loose["change"] == 0  # nothing was taken away, and gained roles are kept
    exact = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--exact-members", "--json")
    plan = exact.data["plan"]["members"]
    assert plan["exact"] is True and plan["roles_removed"] == 1 and plan["change"] == 1, plan
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--exact-members", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert _member(c, ALICE)["roles"] == [roles["member"]]


def test_a_role_above_the_bot_is_named_and_the_rest_is_restored(snap: CliRunner, discord: Community) -> None:
    c = discord
    roles = _build(snap, c)
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    # The bot joins with the Member role as its highest: Admin (above it) cannot be handed out.
    _seed(c.emu, {"id": BOT_USER_ID, "username": "gaib", "roles": [roles["member"]]})
    _seed(c.emu, {"id": BOB, "username": "bob", "roles": []})  # a raider stripped Bob's roles
    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json")
    # The bot can hand out neither Admin (above its highest role) nor Member (its highest role itself).
    assert dry.data["plan"]["members"]["unassignable"] == ["Admin", "Member"]
    assert any("cannot assign @Admin, @Member" in w for w in dry.data["plan"]["warnings"])
    assert dry.data["plan"]["members"]["change"] == 0


@pytest.fixture
def no_intent() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "off", "--no-members-intent")) as emu:
        yield emu


def test_without_the_members_intent_the_snapshot_succeeds_and_says_how_to_enable_it(
        bcli: CliRunner, no_intent: EmulatorHandle) -> None:
    bcli.environ.update(no_intent.bot_environ())
    (bcli.cwd / "discord-server.yaml").write_text(CONFIG)
    assert bcli("server", "apply", "--auto-approve").exit_code == 0
    made = bcli("server", "snapshot", "create")
    assert made.exit_code == 0, made.stdout + made.stderr
    assert "Server Members Intent" in made.stdout and "developer portal" in made.stdout
    snapshot_id = bcli("server", "snapshot", "list", "--json").data["snapshots"][0]["id"]
    dry = bcli("server", "snapshot", "restore", snapshot_id, "--dry-run", "--json")
    assert dry.exit_code == 0
    assert dry.data["plan"]["members"]["available"] is False
    out = bcli("server", "snapshot", "download", snapshot_id, "-o", str(bcli.cwd / "dl"))
    assert out.exit_code == 0 and '"available":false' in (bcli.cwd / "dl" / "members.json").read_text()


def test_only_roles_brings_back_roles_and_nothing_else(snap: CliRunner, discord: Community) -> None:
    c = discord
    roles = _build(snap, c)
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    c.delete_role(roles["admin"])
    c.delete_channel(c.channel("chat")["id"])
    mark = c.mark()
    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--only", "roles", "--json")
    assert dry.exit_code == 0, dry.stdout
    changes = dry.data["plan"]["discord"]["changes"]
    assert [(ch["action"], ch["kind"]) for ch in changes] == [("create", "role")], changes
    assert dry.data["plan"]["parts"] == ["roles"] and dry.data["plan"]["members"] is None
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--only", "roles", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "Admin" in {r["name"] for r in c.roles()}
    assert "chat" not in {ch["name"] for ch in c.channels()}  # the channel stays gone
    writes = c.writes_since(mark)
    assert not [w for w in writes if w["route"].startswith("/guilds/{guild_id}/channels")
                or w["route"].startswith("/guilds/{guild_id}/members")], writes
    # Bob held Admin: with roles only, members are not touched (the role comes back empty).
    assert _member(c, BOB)["roles"] == [roles["member"]]
    # Then the members part alone gives Bob the re-created Admin role.
    more = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--only", "members", "--yes", "--json")
    assert more.exit_code == 0, more.stdout + more.stderr
    assert set(_member(c, BOB)["roles"]) == {roles["member"], c.role("Admin")["id"]}


def test_unknown_part_names_are_refused_before_anything_is_read(snap: CliRunner, discord: Community) -> None:
    _build(snap, discord)
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    mark = discord.mark()
    bad = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--only", "roles,../etc", "--json")
    assert bad.exit_code == 6 and bad.error["code"] == "INVALID_INPUT"
    assert discord.writes_since(mark) == []


def test_compare_shows_who_joined_left_and_changed_roles_or_nickname(snap: CliRunner, discord: Community) -> None:
    from tests.support.tiers import on_tier

    c = discord
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    roles = _build(snap, c)
    first = snap("server", "snapshot", "create", "--json").data["id"]
    c._call("PATCH", f"/guilds/{c.emu.guild_id}/members/{ALICE}", {"nick": "Alice", "roles": [roles["admin"]]})
    c._call("DELETE", f"/guilds/{c.emu.guild_id}/members/{CAROL}")
    _seed(c.emu, {"id": "700000000000000009", "username": "dave"})
    second = snap("server", "snapshot", "create", "--json").data["id"]
    diff = snap("server", "snapshot", "compare", first, second, "--json").data
    members = diff["members"]
    assert members["joined"] == ["dave (700000000000000009)"] and members["left"] == [f"carol ({CAROL})"]
    [alice] = members["changed"]
    assert (alice["roles_added"], alice["roles_removed"], alice["nick"]) == (["Admin"], ["Member"],
                                                                            {"old": "Al", "new": "Alice"})
    assert diff["identical"] is False
    text = snap("server", "snapshot", "compare", first, second).stdout
    assert f"~ member alice ({ALICE}): +@Admin, -@Member, nick 'Al' -> 'Alice'" in text
    assert snap("server", "snapshot", "compare", first, first, "--json").data["identical"] is True


def test_exclude_leaves_the_named_parts_alone(snap: CliRunner, discord: Community) -> None:
    c = discord
    roles = _build(snap, c)
    snapshot_id = snap("server", "snapshot", "create", "--json").data["id"]
    c.delete_role(roles["member"])
    c.delete_channel(c.channel("chat")["id"])
    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--exclude", "channels", "--exclude",
               "members")
    assert dry.exit_code == 0 and "Parts restored: roles, overwrites, settings, emojis, stickers, bans" in dry.stdout
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--exclude", "channels,members", "--yes",
                "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "Member" in {r["name"] for r in c.roles()} and "chat" not in {ch["name"] for ch in c.channels()}
    assert _member(c, ALICE)["roles"] == []  # members excluded: the re-created role is not handed out
    assert done.data["result"]["config_written"] is False
