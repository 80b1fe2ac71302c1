"""The original Gaib's state attributes: read as Gaib's, written back in the original's form."""

from __future__ import annotations

import json

from gaib.state.model import Instance, State, parse_state

ORIGINAL = {
    "version": 1, "serial": 4, "lineage": "mkkwjaig-f82hi8dm", "workspace": "default", "outputs": {},
    "lastModified": "2025-11-02T10:20:30.123Z",
    "resources": [
        {"type": "discord_role", "name": "Naib 🌙", "provider": "discord", "instances": [{"schema_version": 1,
         "attributes": {"id": "11", "name": "Naib 🌙", "color": "#5865f2", "hoist": True, "mentionable": False,
                        "permissions": ["SEND_MESSAGES", "VIEW_CHANNEL"], "icon": "x"}}]},
        {"type": "discord_category", "name": "The Gathering", "provider": "discord", "instances": [
            {"schema_version": 1, "attributes": {"id": "21", "name": "The Gathering", "position": 0}}]},
        {"type": "discord_channel", "name": "general-chat", "provider": "discord", "instances": [
            {"schema_version": 1, "attributes": {"id": "31", "name": "general-chat", "type": "voice",
                                                 "parent_name": "The Gathering", "nsfw": False, "slowmode": 0,
                                                 "position": 0, "bitrate": 64000, "userLimit": 9}}]},
    ],
}


def test_original_attributes_read_as_gaibs_and_write_back_unchanged() -> None:
    state = parse_state(json.dumps(ORIGINAL), "s")
    assert state.dialect == "original"
    role, cat, chan = state.resources
    assert (role.attributes["color"], role.attributes["permissions"]) == (0x5865F2, str((1 << 10) | (1 << 11)))
    assert cat.attributes["type"] == 4
    assert {k: chan.attributes[k] for k in ("type", "parent_id", "rate_limit_per_user", "user_limit")} == \
        {"type": 2, "parent_id": "21", "rate_limit_per_user": 0, "user_limit": 9}
    assert json.loads(state.to_json())["resources"] == ORIGINAL["resources"]  # byte-for-byte meaning


def test_refreshed_attributes_are_written_in_the_originals_form_keeping_unknown_keys() -> None:
    state = parse_state(json.dumps(ORIGINAL), "s")
    state.resources[0].instances = [Instance(attributes={
        "id": "11", "name": "Naib 🌙", "permissions": str(1 << 3), "color": 0xFF0000, "hoist": True,
        "mentionable": True, "position": 4})]
    state.resources[2].instances = [Instance(attributes={
        "id": "31", "name": "general-chat", "type": 2, "position": 1, "permission_overwrites": [],
        "parent_id": None, "topic": None, "nsfw": False, "rate_limit_per_user": 0, "bitrate": 96000,
        "user_limit": 9})]
    doc = json.loads(state.to_json())
    role = doc["resources"][0]["instances"][0]["attributes"]
    assert (role["color"], role["permissions"], role["mentionable"], role["icon"]) == \
        ("#FF0000", ["ADMINISTRATOR"], True, "x")
    chan = doc["resources"][2]["instances"][0]["attributes"]
    assert (chan["type"], chan["parent_name"], chan["bitrate"], chan["userLimit"]) == ("voice", None, 96000, 9)
    assert "rate_limit_per_user" not in chan and "parent_id" not in chan


def test_gaibs_own_state_stays_gaibs_and_new_resources_follow_the_file() -> None:
    mine = State.new("default", guild_id="1")
    assert json.loads(mine.to_json())["guild_id"] == "1" and mine.dialect == "gaib"
    state = parse_state(json.dumps({**ORIGINAL, "resources": []}), "s")
    assert state.dialect == "original"  # no guild_id: the original's empty state
    from gaib.state.model import Resource

    state.resources.append(Resource(type="discord_channel", name="new one", instances=[Instance(attributes={
        "id": "41", "name": "new-one", "type": 5, "position": 2, "parent_id": None, "topic": "t", "nsfw": False,
        "rate_limit_per_user": 0, "bitrate": None, "user_limit": None, "permission_overwrites": []})]))
    res = json.loads(state.to_json())["resources"][0]
    assert res["provider"] == "discord" and res["instances"][0]["schema_version"] == 1
    assert res["instances"][0]["attributes"]["type"] == "announcement"
    assert "bitrate" not in res["instances"][0]["attributes"]
