from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle


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


# --- a workspace that does not exist is refused, as Terraform does (issue 25, finding 4) ---------------------

REFUSING = [("state", "ls"), ("state", "show", "discord_role.mods"), ("backup", "list"), ("backup", "create"),
            ("snapshot", "list"), ("locks",), ("unlock", "--yes"), ("plan",), ("apply", "--auto-approve")]


def _names(cli: CliRunner) -> list[str]:
    return [w["name"] for w in cli("server", "workspace", "ls", "--json").data["workspaces"]]


def _stored_keys(cli: CliRunner) -> list[str]:
    """Every key of the S3 state bucket, or every path under the local state folder."""
    if "GAIB_S3_BUCKET" in cli.environ:
        import boto3

        listed = boto3.client("s3").list_objects_v2(Bucket=cli.environ["GAIB_S3_BUCKET"])
        return sorted(o["Key"] for o in listed.get("Contents", []))
    return sorted(str(p.relative_to(cli.cwd)) for p in (cli.cwd / ".gaib").rglob("*"))


def _put_state_as_another_tool(cli: CliRunner, workspace: str) -> None:
    """A state written where Gaib reads it, by another tool (the original Gaib): no workspace marker on S3."""
    from gaib.state.local import LocalBackend
    from gaib.state.model import Instance, Resource, State

    s = State.new(workspace)
    s.serial = 3
    s.resources = [Resource(type="discord_role", name="mods", instances=[Instance(attributes={"id": "12"})])]
    if "GAIB_S3_BUCKET" in cli.environ:
        import boto3

        boto3.client("s3").put_object(Bucket=cli.environ["GAIB_S3_BUCKET"],
                                      Key=f"servers/{workspace}/terraform.tfstate", Body=s.to_json())
    else:
        LocalBackend(cli.cwd / ".gaib").put(s, expected_serial=None)


def test_a_mistyped_workspace_is_refused_with_the_closest_name_and_nothing_is_created(states: CliRunner) -> None:
    assert states("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    before = _stored_keys(states)
    for args in REFUSING:
        r = states("server", *args, "-w", "stagign", "--json")
        assert r.exit_code == 6, (args, r.stdout, r.stderr)
        err = r.error
        assert err["code"] == "WORKSPACE_NOT_FOUND", args
        assert err["message"] == "Workspace 'stagign' (from -w/--workspace) does not exist; did you mean 'staging'?"
        assert "'gaib server workspace new stagign'" in err["suggestion"]
        assert err["details"]["closest"] == "staging" and err["details"]["workspaces"] == ["default", "staging"]
    plain = states("server", "backup", "list", "-w", "stagign")
    assert plain.exit_code == 6 and plain.stdout == ""
    assert "Error [WORKSPACE_NOT_FOUND]: Workspace 'stagign'" in plain.stderr
    far = states("server", "state", "ls", "--json", env={"GAIB_WORKSPACE": "production"})
    assert far.exit_code == 6 and far.error["message"] == ("Workspace 'production' (from GAIB_WORKSPACE) does not "
                                                           "exist.")
    assert far.error["details"]["closest"] is None
    # Nothing was created or written: the mistyped name is no workspace, and the store is as it was.
    assert _names(states) == ["default", "staging"]
    assert _stored_keys(states) == before


def test_apply_to_a_mistyped_workspace_creates_nothing_and_leaves_discord_alone(
        states: CliRunner, guild: EmulatorHandle) -> None:
    states.environ.update(guild.bot_environ())
    (states.cwd / "discord-server.yaml").write_text("version: '1.0'\nroles:\n  - name: Naib\n")
    assert states("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    before = len(guild.requests())
    for args in (("plan",), ("apply", "--auto-approve")):
        r = states("server", *args, "-w", "stagign", "--json")
        assert r.exit_code == 6 and r.error["code"] == "WORKSPACE_NOT_FOUND", r.stdout
    assert guild.requests()[before:] == []  # Discord was not even read
    assert _names(states) == ["default", "staging"]
    made = states("server", "apply", "-w", "staging", "--auto-approve", "--json")
    assert made.exit_code == 0, made.stdout  # the real one works
    assert states("server", "state", "ls", "-w", "staging", "--json").data["serial"] is not None


def test_default_a_new_workspace_and_one_holding_a_state_exist(states: CliRunner) -> None:
    fresh = states("server", "state", "ls", "-w", "default", "--json")
    assert fresh.exit_code == 0 and fresh.data["serial"] is None  # default always exists, as Terraform's
    assert states("server", "workspace", "new", "empty", "--no-switch").exit_code == 0
    empty = states("server", "state", "ls", "-w", "empty", "--json")
    assert empty.exit_code == 0 and empty.data["resources"] == []
    _put_state_as_another_tool(states, "legacy")
    legacy = states("server", "state", "ls", "--json", env={"GAIB_WORKSPACE": "legacy"})
    assert legacy.exit_code == 0, legacy.stdout
    assert legacy.data["serial"] == 3 and [r["address"] for r in legacy.data["resources"]] == ["discord_role.mods"]


def test_a_current_workspace_file_naming_a_removed_workspace_suggests_switching(cli: CliRunner) -> None:
    cli.environ["DISCORD_GUILD_ID"] = "223456789012345678"
    assert cli("server", "workspace", "new", "staging").exit_code == 0
    (cli.cwd / ".gaib" / "workspaces" / "staging").rename(cli.cwd / "elsewhere")  # removed behind Gaib's back

    r = cli("server", "backup", "list", "--json")

    assert r.exit_code == 6 and r.error["code"] == "WORKSPACE_NOT_FOUND"
    assert r.error["message"].startswith("Workspace 'staging' (from ")
    assert r.error["details"]["source"].endswith(".current-workspace")
    assert "'gaib server workspace use default'" in r.error["suggestion"]


def test_commands_of_no_one_workspace_run_whatever_workspace_is_chosen(states: CliRunner) -> None:
    for args in (("workspace", "ls"), ("tier", "show"), ("backup", "prune", "--dry-run"), ("schedule", "show"),
                 ("backup", "verify")):
        r = states("server", *args, "-w", "stagign", "--json")
        assert r.exit_code == 0, (args, r.stdout)
    made = states("server", "workspace", "new", "stagign", "--json", env={"GAIB_WORKSPACE": "stagign"})
    assert made.exit_code == 0 and made.data["created"] is True
    assert states("server", "state", "ls", "-w", "stagign", "--json").exit_code == 0
