"""Planning the members part of a restore, without I/O: remapped roles, one edit per member carrying the
whole role list, gained roles kept (or taken with exact), members who left, roles the bot cannot assign,
and the time Discord's global limit imposes (10,000 members: at least 200 s)."""

from __future__ import annotations

from gaib.discord.community import Member
from gaib.discord.models import Role
from gaib.snapshots.members import SavedMembers, bot_top, plan_members

GUILD = "1"
ROLES = (Role(GUILD, "@everyone", position=0), Role("11", "Member", position=1), Role("12", "Mods", position=2),
         Role("13", "Admin", position=3), Role("14", "Booster", position=4, managed=True))


def _saved(*members: tuple[str, list[str], str | None]) -> SavedMembers:
    return SavedMembers(True, tuple({"id": uid, "username": f"u{uid}", "roles": roles, "nick": nick,
                                     "role_names": [{"11": "Member", "12": "Mods", "13": "Admin", "5": "Old"}[r]
                                                    for r in roles]}
                                    for uid, roles, nick in members))


def test_ten_thousand_members_take_at_least_200_seconds_at_the_global_limit() -> None:
    saved = _saved(*((str(100 + i), ["11"], None) for i in range(10_000)))
    live = [Member(str(100 + i), f"u{i}") for i in range(10_000)]
    plan = plan_members(saved, live, ROLES, ids={}, top=None, exact=False)
    assert len(plan.edits) == 10_000 and plan.time_floor() == 200.0
    assert plan.requests() == {"GET /guilds/{guild_id}/members": 11,
                               "PATCH /guilds/{guild_id}/members/{user_id}": 10_000}


def test_roles_are_remapped_gained_roles_kept_and_the_bot_hierarchy_respected() -> None:
    saved = _saved(("101", ["5", "12"], "Al"), ("102", ["13"], None), ("103", ["11"], None))
    live = [Member("101", "a", roles=("11",), nick="x"), Member("102", "b"), Member("900", "bot", roles=("12",))]
    top = bot_top(live, ROLES, "900")
    assert top == 2
    plan = plan_members(saved, live, ROLES, ids={"5": "11"}, top=top, exact=False)
    # 101: Old (re-created as 11, held already) and Mods (the bot's own highest: not assignable) -> nick only.
    [edit] = plan.edits
    assert (edit.user_id, edit.roles, edit.nick) == ("101", None, "Al") and edit.body() == {"nick": "Al"}
    assert plan.unassignable == ("Admin", "Mods") and plan.left == ("u103 (103)",)
    exact = plan_members(saved, live, ROLES, ids={"5": "11"}, top=None, exact=True)
    by_id = {e.user_id: e for e in exact.edits}
    assert by_id["101"].body() == {"roles": ["11", "12"], "nick": "Al"}
    assert by_id["102"].body() == {"roles": ["13"]}


def test_a_role_gone_and_not_recreated_is_named_and_a_pending_one_counted() -> None:
    saved = _saved(("101", ["5"], None))
    live = [Member("101", "a")]
    gone = plan_members(saved, live, ROLES, ids={}, top=None, exact=False)
    assert gone.edits == () and gone.gone_roles == ("Old",)
    soon = plan_members(saved, live, ROLES, ids={}, top=None, exact=False, pending=["5"])
    assert [e.added for e in soon.edits] == [("5",)]


def test_a_snapshot_without_the_intent_plans_nothing_and_says_how_to_enable_it() -> None:
    plan = plan_members(SavedMembers(False, (), "Enable the Server Members Intent"), [], ROLES, ids={}, top=None,
                        exact=False)
    assert not plan.available and plan.edits == () and "Server Members Intent" in plan.warnings()[0]
