from __future__ import annotations

from gaib.state.local import LocalBackend
from gaib.state.model import Instance, Resource, State
from tests.support.cli import CliRunner


def _seed(cli: CliRunner) -> State:
    s = State.new("default", guild_id="42")
    s.serial = 4
    s.resources = [
        Resource(type="discord_role", name="mods", instances=[Instance(attributes={"id": "11", "name": "Mods"})]),
        Resource(type="discord_channel", name="general",
                 instances=[Instance(attributes={"id": "22", "name": "general"})]),
    ]
    LocalBackend(cli.cwd / ".gaib").put(s, expected_serial=None)
    return s


def test_ls_and_show(cli: CliRunner) -> None:
    assert cli("server", "state", "ls", "--json").data["resources"] == []
    _seed(cli)
    data = cli("server", "state", "ls", "--json").data
    assert data["serial"] == 4
    assert [(r["address"], r["id"]) for r in data["resources"]] == [("discord_role.mods", "11"),
                                                                    ("discord_channel.general", "22")]
    shown = cli("server", "state", "show", "discord_role.mods", "--json").data
    assert shown["instances"][0]["attributes"]["name"] == "Mods"
    r = cli("server", "state", "show", "discord_role.nope", "--json")
    assert r.exit_code == 6 and r.error["code"] == "ADDRESS_NOT_FOUND"


def test_rm_and_mv_bump_serial_and_keep_lineage(cli: CliRunner) -> None:
    seeded = _seed(cli)
    r = cli("server", "state", "mv", "discord_role.mods", "discord_role.moderators", "--json")
    assert r.exit_code == 0 and r.data["serial"] == 5
    r = cli("server", "state", "rm", "discord_channel.general", "--json")
    assert r.exit_code == 0 and r.data["serial"] == 6
    after = LocalBackend(cli.cwd / ".gaib").get("default")
    assert after is not None and after.lineage == seeded.lineage
    assert after.addresses() == ["discord_role.moderators"]
    assert after.find("discord_role.moderators") is not None
    assert after.find("discord_role.moderators").id == "11"  # type: ignore[union-attr]


def test_bad_addresses_and_type_changes_are_refused(cli: CliRunner) -> None:
    _seed(cli)
    for args in (["rm", "../../etc/passwd"], ["mv", "discord_role.mods", "discord_channel.mods"],
                 ["mv", "discord_role.mods", "discord_role.a\tb"], ["rm", "discord_role.nope"]):
        r = cli("server", "state", *args, "--json")
        assert r.exit_code == 6, args
    after = LocalBackend(cli.cwd / ".gaib").get("default")
    assert after is not None and after.serial == 4  # nothing written


def test_malformed_state_file_exits_3_naming_it(cli: CliRunner) -> None:
    path = cli.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate"
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "serial": "x", "lineage": "a"}')
    r = cli("server", "state", "ls", "--json")
    assert r.exit_code == 3
    assert str(path) in r.error["message"] and "'serial' must be an integer" in r.error["message"]
