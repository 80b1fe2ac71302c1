from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import CliRunner


def test_new_use_show_ls_rm_cycle(cli: CliRunner) -> None:
    assert cli("server", "workspace", "new", "staging").exit_code == 0
    assert (cli.cwd / ".gaib" / ".current-workspace").read_text() == "staging"  # the original Gaib's file
    assert cli("server", "workspace", "show", "--json").data["name"] == "staging"
    r = cli("server", "workspace", "ls", "--json")
    assert {w["name"]: w["current"] for w in r.data["workspaces"]} == {"default": False, "staging": True}
    # the current workspace cannot be removed
    r = cli("server", "workspace", "rm", "staging", "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] == "WORKSPACE_PROTECTED"
    assert cli("server", "workspace", "use", "default").exit_code == 0
    # default cannot be removed either
    assert cli("server", "workspace", "rm", "default", "--yes").exit_code == 6
    # without a terminal and without --yes: refused, nothing removed
    r = cli("server", "workspace", "rm", "staging", "--json")
    assert r.exit_code == 6 and r.error["code"] == "CONFIRMATION_REQUIRED"
    assert (cli.cwd / ".gaib" / "workspaces" / "staging").is_dir()
    # on a terminal, "n" keeps it and "y" removes it
    assert cli("server", "workspace", "rm", "staging", tty=True, input="n\n").exit_code == 6
    assert cli("server", "workspace", "rm", "staging", tty=True, input="y\n").exit_code == 0
    assert not (cli.cwd / ".gaib" / "workspaces" / "staging").exists()


def test_use_create_flag_and_overrides(cli: CliRunner) -> None:
    r = cli("server", "workspace", "use", "-c", "prod", "--json")
    assert r.exit_code == 0 and r.data["created"] is True
    assert cli("server", "workspace", "show", "-w", "default", "--json").data["name"] == "default"
    shown = cli("server", "workspace", "show", "--json", env={"GAIB_WORKSPACE": "default"}).data
    assert shown["name"] == "default" and shown["source"] == "GAIB_WORKSPACE"


def test_non_empty_workspace_needs_force(cli: CliRunner) -> None:
    from gaib.state.local import LocalBackend
    from gaib.state.model import Instance, Resource, State

    cli("server", "workspace", "new", "old", "--no-switch")
    s = State.new("old")
    s.serial = 1
    s.resources = [Resource(type="discord_role", name="a", instances=[Instance(attributes={"id": "1"})])]
    LocalBackend(cli.cwd / ".gaib").put(s, expected_serial=None)
    r = cli("server", "workspace", "rm", "old", "--yes", "--json")
    assert r.exit_code == 6 and r.error["code"] == "WORKSPACE_NOT_EMPTY"
    assert cli("server", "workspace", "rm", "old", "--yes", "--force").exit_code == 0


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "%2e%2e", "ünï", "x" * 10_000, " ", "-x"])
def test_hostile_names_exit_6_and_write_nothing(cli: CliRunner, bad: str) -> None:
    for args in (["new", bad], ["use", "-c", bad], ["rm", bad, "--yes"]):
        r = cli("server", "workspace", *args, "--json")
        assert r.exit_code == 6, (args, r.stdout)
        assert r.error["code"] in ("INVALID_NAME", "USAGE_ERROR")
    r = cli("server", "workspace", "ls", "--json", env={"GAIB_WORKSPACE": bad})
    assert r.exit_code == 6
    assert not (cli.cwd / ".gaib").exists() or not any(Path(cli.cwd / ".gaib").rglob("*x*"))
    assert not (cli.cwd.parent / "x").exists()


def test_empty_name_is_refused(cli: CliRunner) -> None:
    r = cli("server", "workspace", "new", "", "--json")
    assert r.exit_code == 6 and r.error["code"] == "INVALID_NAME"
