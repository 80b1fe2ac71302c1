from __future__ import annotations

import json
from pathlib import Path

import pytest

from gaib.errors import StateError
from gaib.state.model import State, parse_state

FIXTURE = Path(__file__).parent.parent / "fixtures" / "ts-gaib.tfstate"


def test_original_typescript_state_loads_and_round_trips() -> None:
    raw = FIXTURE.read_bytes()
    state = parse_state(raw, str(FIXTURE))
    assert state.serial == 7
    assert state.lineage == "mkkwjaig-f82hi8dm"
    assert state.addresses() == ["discord_role.moderator", "discord_category.general", "discord_channel.welcome"]
    role = state.find("discord_role.moderator")
    assert role is not None and role.id == "1187401231231231231"
    assert role.attributes["name"] == "Moderator [managed-by:arrakis-iac]"
    # Writing it back keeps every field the original wrote (lastModified, provider, attributes).
    again = json.loads(state.to_json())
    original = json.loads(raw)
    assert again["lastModified"] == original["lastModified"]
    assert again["resources"][2]["instances"][0]["attributes"] == original["resources"][2]["instances"][0]["attributes"]
    assert again["resources"][0]["provider"] == "discord"
    assert parse_state(state.to_json(), "again").canonical() == state.canonical()


def test_unknown_top_level_keys_survive_a_rewrite() -> None:
    doc = {"version": 1, "serial": 1, "lineage": "x-y", "resources": [], "outputs": {}, "future_field": {"a": 1}}
    state = parse_state(json.dumps(doc), "s")
    assert json.loads(state.to_json())["future_field"] == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[]", "top level must be a JSON object"),
        (b'{"serial": 1, "lineage": "a"}', "'version' is missing"),
        (b'{"version": 1, "serial": "7", "lineage": "a"}', "'serial' must be an integer, not a string"),
        (b'{"version": 1, "serial": true, "lineage": "a"}', "'serial' must be an integer, not a boolean"),
        (b'{"version": 1, "serial": -1, "lineage": "a"}', "must not be negative"),
        (b'{"version": 1, "serial": 1, "lineage": ""}', "'lineage' must not be empty"),
        (b'{"version": 1, "serial": 1, "lineage": "a", "resources": {}}', "'resources' must be a list"),
        (b'{"version": 1, "serial": 1, "lineage": "a", "resources": [{"type": "discord_role"}]}',
         "resources[0].name' is missing"),
        (b'{"version": 1, "serial": 1, "lineage": "a", "resources": [{"type": "discord_role", "name": "a",'
         b' "instances": [{"attributes": []}]}]}', "instances[0].attributes' must be an object"),
        (b'{"version": 1, "serial": 1, "lineage": "a", "resources": [{"type": "t", "name": "a"},'
         b' {"type": "t", "name": "a"}]}', "appears twice"),
    ],
)
def test_malformed_state_names_the_file_and_the_problem(raw: bytes, problem: str) -> None:
    with pytest.raises(StateError) as info:
        parse_state(raw, "/x/terraform.tfstate")
    assert info.value.exit_code == 3
    assert "/x/terraform.tfstate" in info.value.message
    assert problem in info.value.message


def test_newer_format_version_is_refused() -> None:
    with pytest.raises(StateError, match="format version 9"):
        parse_state(b'{"version": 9, "serial": 1, "lineage": "a"}', "s")


def test_new_lineages_are_unique_and_shaped_like_the_original() -> None:
    lineages = {State.new("default").lineage for _ in range(200)}
    assert len(lineages) == 200
    for lin in lineages:
        left, right = lin.split("-")
        assert left.isalnum() and len(right) == 8
