"""The emulator's members: listing in pages, reading and editing one member (roles and nickname), the
bot's place in the role hierarchy, the control seeding route, the data file, the GUILD_MEMBERS intent
switched off, and a recorded session that passes the shared contract validator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gaib.emulator.stores.audit import BOT_USER_ID
from tests.support.discord.api import Api, Bot
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.paths import VALIDATOR

ALICE, BOB = "700000000000000001", "700000000000000002"


def _seed(emu: EmulatorHandle, *members: dict[str, object]) -> None:
    control(emu, "POST", "/members", {"members": list(members)})


def test_members_list_in_pages_and_a_member_edit_sets_roles_and_nick(guild: EmulatorHandle) -> None:
    api = Api(guild)
    mods, vip = api.role("Mods"), api.role("VIP")
    _seed(guild, *({"id": str(700000000000000000 + i), "username": f"u{i}"} for i in range(1, 1206)))
    _seed(guild, {"id": ALICE, "username": "alice", "roles": [mods["id"]], "nick": "Al"})
    first = api("GET", f"/guilds/{api.gid}/members", params={"limit": "1000"}).json()
    rest = api("GET", f"/guilds/{api.gid}/members", params={"limit": "1000", "after": first[-1]["user"]["id"]}).json()
    assert (len(first), len(rest)) == (1000, 205)
    assert first[0]["user"]["username"] == "alice" and first[0]["roles"] == [mods["id"]] and first[0]["nick"] == "Al"
    assert len(api("GET", f"/guilds/{api.gid}/members").json()) == 1  # Discord's default limit is 1
    r = api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"roles": [vip["id"], mods["id"]], "nick": "Alice"})
    assert r.status_code == 200 and sorted(r.json()["roles"]) == sorted([mods["id"], vip["id"]])
    got = api("GET", f"/guilds/{api.gid}/members/{ALICE}").json()
    assert got["nick"] == "Alice" and sorted(got["roles"]) == sorted([mods["id"], vip["id"]])
    api("DELETE", f"/guilds/{api.gid}/roles/{vip['id']}")
    assert api("GET", f"/guilds/{api.gid}/members/{ALICE}").json()["roles"] == [mods["id"]]
    assert api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"nick": None}).json()["nick"] is None


def test_member_errors_are_discords(guild: EmulatorHandle) -> None:
    api = Api(guild)
    high, bots, low = api.role("high"), api.role("bot"), api.role("low")  # a new role goes just above @everyone
    _seed(guild, {"id": BOT_USER_ID, "username": "gaib", "roles": [bots["id"]]}, {"id": ALICE, "username": "alice"})
    unknown = api("PATCH", f"/guilds/{api.gid}/members/{BOB}", {"nick": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 10007)
    above = api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"roles": [high["id"]]})
    assert (above.status_code, above.json()["code"]) == (403, 50013)
    same = api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"roles": [bots["id"]]})
    assert same.status_code == 403  # a bot cannot hand out its own highest role either
    assert api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"roles": [low["id"]]}).status_code == 200
    no_role = api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"roles": ["999999999999999999"]})
    assert (no_role.status_code, no_role.json()["code"]) == (404, 10011)
    long_nick = api("PATCH", f"/guilds/{api.gid}/members/{ALICE}", {"nick": "n" * 33})
    assert long_nick.status_code == 400 and "nick" in long_nick.json()["errors"]
    assert api("GET", f"/guilds/{api.gid}/members", params={"limit": "1001"}).status_code == 400
    assert api("GET", f"/guilds/{api.gid}/members/{ALICE}").json()["roles"] == [low["id"]]  # nothing half-done


def test_members_are_kept_in_the_data_file(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    with running_emulator(args=("--data", str(data))) as emu:
        role = Api(emu).role("Mods")
        _seed(emu, {"id": ALICE, "username": "alice", "roles": [role["id"]], "nick": "Al"})
    with running_emulator(args=("--data", str(data))) as emu:
        got = Api(emu)("GET", f"/guilds/{emu.guild_id}/members/{ALICE}").json()
    assert (got["user"]["username"], got["roles"], got["nick"]) == ("alice", [role["id"]], "Al")


def test_without_the_members_intent_the_list_is_missing_access() -> None:
    with running_emulator(args=("--no-members-intent",)) as emu:
        _seed(emu, {"id": ALICE, "username": "alice"})
        api = Api(emu)
        r = api("GET", f"/guilds/{emu.guild_id}/members", params={"limit": "1000"})
        assert (r.status_code, r.json()) == (403, {"message": "Missing Access", "code": 50001})
        assert api("GET", f"/guilds/{emu.guild_id}/members/{ALICE}").status_code == 200


@pytest.mark.skipif(not VALIDATOR.exists(), reason="shared validator not present")
def test_recorded_member_session_passes_the_contract_validator(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--record", str(record))) as emu:
        bot = Bot(emu)
        g = bot.gid
        role = bot("POST", f"/guilds/{g}/roles", {"name": "Mods"})
        _seed(emu, {"id": ALICE, "username": "alice", "nick": "Al"}, {"id": BOB, "username": "bob"})
        bot("GET", f"/guilds/{g}/members", params={"limit": "1000"})
        bot("GET", f"/guilds/{g}/members", params={"limit": "1000", "after": ALICE})
        bot("GET", f"/guilds/{g}/members/{ALICE}")
        assert bot("GET", "/users/@me")["id"] == BOT_USER_ID
        bot("PATCH", f"/guilds/{g}/members/{ALICE}", {"roles": [role["id"]], "nick": "Alice"})
        bot("PATCH", f"/guilds/{g}/members/{BOB}", {"nick": None})
        bot("PATCH", f"/guilds/{g}/members/800000000000000009", {"nick": "x"}, expect=404)
        bot.client.close()
    with running_emulator(args=("--record", str(record), "--no-members-intent")) as emu:
        bot = Bot(emu)
        bot("GET", f"/guilds/{emu.guild_id}/members", params={"limit": "1000"}, expect=403)
        bot.client.close()
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == f"{len(lines)} passed, 0 failed"
    assert len([x for x in lines if "/members" in x["request"]["url"] or "/users/@me" in x["request"]["url"]]) == 8
