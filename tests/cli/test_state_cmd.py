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
    r = cli("server", "state", "rm", "discord_channel.general", "--yes", "--json")
    assert r.exit_code == 0 and r.data["serial"] == 6
    after = LocalBackend(cli.cwd / ".gaib").get("default")
    assert after is not None and after.lineage == seeded.lineage
    assert after.addresses() == ["discord_role.moderators"]
    assert after.find("discord_role.moderators") is not None
    assert after.find("discord_role.moderators").id == "11"  # type: ignore[union-attr]


def _seed_named(cli: CliRunner) -> None:
    s = State.new("default", guild_id="42")
    s.resources = [
        Resource(type="discord_category", name="the_gathering",
                 instances=[Instance(attributes={"id": "31", "name": "The Gathering"})]),
        Resource(type="discord_channel", name="general_text",
                 instances=[Instance(attributes={"id": "32", "name": "general"})]),
        Resource(type="discord_channel", name="general_voice",
                 instances=[Instance(attributes={"id": "33", "name": "general"})]),
    ]
    LocalBackend(cli.cwd / ".gaib").put(s, expected_serial=None)


def test_show_takes_the_display_name_as_docs_commands_md_shows(cli: CliRunner) -> None:
    """Issue 25: 'discord_category.The Gathering' (the docs' example) was ADDRESS_NOT_FOUND: the address is
    discord_category.the_gathering, and the display name now finds it too (any case, any quoting)."""
    _seed_named(cli)
    for typed in ("discord_category.The Gathering", 'discord_category["the gathering"]',
                  "discord_category.the_gathering"):
        r = cli("server", "state", "show", typed, "--json")
        assert r.exit_code == 0, (typed, r.stdout)
        assert r.data["name"] == "the_gathering" and r.data["instances"][0]["attributes"]["id"] == "31"
    assert cli("server", "state", "show", "discord_category.The Gathering").stdout.startswith(
        "# discord_category.the_gathering\n")
    # A display name two resources share picks neither: the error names both addresses.
    r = cli("server", "state", "show", "discord_channel.general", "--json")
    assert r.exit_code == 6 and r.error["code"] == "INVALID_ADDRESS"
    assert all(f"discord_channel.general_{kind}" in r.error["message"] for kind in ("text", "voice"))
    # rm and mv resolve the same way.
    r = cli("server", "state", "mv", "discord_category.The Gathering", "discord_category.gathering", "--json")
    assert r.exit_code == 0
    after = LocalBackend(cli.cwd / ".gaib").get("default")
    assert after is not None and after.addresses()[0] == "discord_category.gathering"


def test_rm_without_a_terminal_needs_yes(cli: CliRunner) -> None:
    """Issue 25: 'state rm ADDR </dev/null' removed without --yes; destructive commands without a terminal
    exit 6 unless --yes, and nothing is written."""
    _seed(cli)
    for args in ((), ("--json",)):
        r = cli("server", "state", "rm", "discord_role.mods", *args)
        assert r.exit_code == 6, r.stdout
        assert "CONFIRMATION_REQUIRED" in (r.stdout + r.stderr)
    assert cli("server", "state", "rm", "discord_role.mods", tty=True, input="n\n").exit_code == 6
    after = LocalBackend(cli.cwd / ".gaib").get("default")
    assert after is not None and after.serial == 4 and "discord_role.mods" in after.addresses()
    r = cli("server", "state", "rm", "discord_role.mods", tty=True, input="y\n", env={})
    assert r.exit_code == 0
    r = cli("server", "state", "rm", "discord_channel.general", "--yes", "--json")
    assert r.exit_code == 0 and r.data["serial"] == 6


def test_bad_addresses_and_type_changes_are_refused(cli: CliRunner) -> None:
    _seed(cli)
    for args in (["rm", "../../etc/passwd", "--yes"], ["mv", "discord_role.mods", "discord_channel.mods"],
                 ["mv", "discord_role.mods", "discord_role.a\tb"], ["rm", "discord_role.nope", "--yes"]):
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
