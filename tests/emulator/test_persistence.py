"""--data: the guild survives a restart; the file is replaced atomically; bad files are refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.support.discord.api import Api
from tests.support.emulator import EmulatorError, running_emulator
from tests.support.images import png


def test_guild_survives_restart_and_new_ids_keep_increasing(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    with running_emulator(args=("--data", str(data), "--rate-limits", "off")) as emu:
        api = Api(emu)
        role = api.role("Mods", permissions="8")
        cat = api.channel("Info", type=4)
        chan = api.channel("rules", parent_id=cat["id"], permission_overwrites=[
            {"id": role["id"], "type": 0, "allow": "1024"}])
        api.close()
        saved = json.loads(data.read_text())
        assert {r["name"] for r in saved["roles"]} == {"@everyone", "Mods"}
    assert not list(tmp_path.glob(".emulator-*.tmp"))  # no temp files left behind
    with running_emulator(args=("--data", str(data), "--rate-limits", "off")) as emu:
        api = Api(emu)
        roles = api("GET", f"/guilds/{api.gid}/roles").json()
        assert [r["name"] for r in roles] == ["@everyone", "Mods"] and roles[1]["permissions"] == "8"
        got = api("GET", f"/channels/{chan['id']}").json()
        assert got["parent_id"] == cat["id"] and got["permission_overwrites"][0]["id"] == role["id"]
        newer = api.role("later")
        assert int(newer["id"]) > int(chan["id"])
        api.close()


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"format": "something-else"}),
    json.dumps({"format": "gaib-emulator-guild/1", "guild": {"id": "1100000000000000001", "name": "Test Guild"},
                "roles": [{"id": "../x"}], "channels": [], "webhooks": []}),
    json.dumps({"format": "gaib-emulator-guild/1", "guild": {"id": "42", "name": "Other"},
                "roles": [], "channels": [], "webhooks": []}),
])
def test_corrupted_or_foreign_data_file_is_refused_unchanged(tmp_path: Path, content: str) -> None:
    data = tmp_path / "guild.json"
    data.write_text(content)
    with pytest.raises(EmulatorError, match="cannot load emulator data file"), \
            running_emulator(args=("--data", str(data))):
        pass
    assert data.read_text() == content


def test_reset_is_persisted(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    with running_emulator(args=("--data", str(data), "--rate-limits", "off")) as emu:
        api = Api(emu)
        api.role("x")
        emu.reset()
        api.close()
    assert [r["name"] for r in json.loads(data.read_text())["roles"]] == ["@everyone"]


def test_threads_forum_tags_and_role_icons_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    icon = "data:image/png;base64," + base64.b64encode(png(9)).decode()
    with running_emulator(args=("--data", str(data), "--rate-limits", "off")) as emu:
        api = Api(emu)
        emu.control("POST", "/guild", {"premium_tier": 2})
        forum = api.channel("help", type=15, available_tags=[{"name": "bug"}])
        tag = forum["available_tags"][0]["id"]
        post = api("POST", f"/channels/{forum['id']}/threads",
                   json={"name": "Crash", "applied_tags": [tag], "message": {"content": "It crashes."}}).json()
        api("PATCH", f"/channels/{post['id']}", json={"archived": True})
        role = api("POST", f"/guilds/{api.gid}/roles", json={"name": "VIP", "icon": icon}).json()
        api.close()
    with running_emulator(args=("--data", str(data), "--rate-limits", "off")) as emu:
        api = Api(emu)
        [kept] = api("GET", f"/channels/{forum['id']}/threads/archived/public").json()["threads"]
        assert (kept["id"], kept["applied_tags"], kept["thread_metadata"]["archived"]) == (post["id"], [tag], True)
        assert [m["content"] for m in api("GET", f"/channels/{post['id']}/messages").json()] == ["It crashes."]
        assert api("GET", f"/channels/{forum['id']}").json()["available_tags"][0]["id"] == tag
        assert api("GET", f"/guilds/{api.gid}/roles/{role['id']}").json()["icon"] == role["icon"] is not None
        api.close()
