"""The CLI's contract with people and scripts: envelopes, exit codes, suggestions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gaib import __version__
from tests.support.cli import CliRunner


def test_version(cli: CliRunner) -> None:
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"gaib {__version__}"


def test_help_lists_the_server_commands(cli: CliRunner) -> None:
    r = cli("server", "--help")
    assert r.exit_code == 0
    for name in ("workspace", "state", "locks", "unlock"):
        assert name in r.stdout


def test_server_help_names_every_command_of_each_group(cli: CliRunner) -> None:
    """Issue 25: 'gaib server --help' left out 'snapshot delete'. Each group's line names all its commands."""
    import re

    import click

    from gaib.cli.app import SERVER_COMMANDS, server

    shown = " ".join(cli("server", "--help").stdout.split())
    ctx = click.Context(server)
    checked = 0
    for name, (_, short) in SERVER_COMMANDS.items():
        assert " ".join(short.split()) in shown, name
        cmd = server.get_command(ctx, name)
        if not isinstance(cmd, click.Group):
            continue
        sub_ctx = click.Context(cmd)
        for sub in cmd.list_commands(sub_ctx):
            found = cmd.get_command(sub_ctx, sub)
            if found is None or found.hidden:
                continue
            assert re.search(rf"(?<![\w-]){re.escape(sub)}(?![\w-])", short), f"'{name} {sub}' missing from: {short}"
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(("args", "suggested"), [
    (["serverr"], "gaib server"),
    (["server", "worksapce", "ls"], "gaib server workspace"),
    (["server", "workspace", "lss"], "gaib server workspace ls"),
])
def test_mistyped_command_suggests_the_nearest(cli: CliRunner, args: list[str], suggested: str) -> None:
    r = cli("--json", *args)
    assert r.exit_code == 6
    assert r.error["code"] == "UNKNOWN_COMMAND"
    assert f"Did you mean '{suggested}'?" == r.error["suggestion"]


def test_json_envelope_holds_everything_on_stdout(cli: CliRunner) -> None:
    r = cli("server", "workspace", "ls", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)  # exactly one JSON document
    assert doc == {"success": True, "data": doc["data"]}
    assert [w["name"] for w in doc["data"]["workspaces"]] == ["default"]


def test_json_flag_also_works_before_the_command(cli: CliRunner) -> None:
    r = cli("--json", "server", "workspace", "show")
    assert r.exit_code == 0 and r.data["name"] == "default"


def test_errors_have_code_message_and_suggestion(cli: CliRunner) -> None:
    r = cli("server", "workspace", "use", "nope", "--json")
    assert r.exit_code == 6
    err = r.error
    assert err["code"] == "NOT_FOUND" and "nope" in err["message"] and "use -c nope" in err["suggestion"]
    plain = cli("server", "workspace", "use", "nope")
    assert plain.stdout == ""
    assert "Error [NOT_FOUND]" in plain.stderr and "Suggestion:" in plain.stderr


def test_bad_option_is_a_usage_error_in_the_envelope(cli: CliRunner) -> None:
    r = cli("server", "workspace", "ls", "--bogus", "--json")
    assert r.exit_code == 6
    assert r.error["code"] == "USAGE_ERROR" and "--bogus" in r.error["message"]


def test_quiet_silences_progress_but_not_results(cli: CliRunner) -> None:
    r = cli("server", "workspace", "new", "staging", "-q")
    assert r.exit_code == 0 and "staging" in r.stdout and r.stderr == ""


def test_no_color_and_NO_COLOR_give_plain_text(cli: CliRunner) -> None:
    for r in (cli("server", "workspace", "ls", "--no-color"), cli("server", "workspace", "ls", env={"NO_COLOR": "1"})):
        assert r.exit_code == 0 and "\x1b[" not in r.stdout


def test_bad_gaib_yaml_is_a_configuration_error(cli: CliRunner) -> None:
    (cli.cwd / "gaib.yaml").write_text("backend:\n  type: [unclosed\n")
    r = cli("server", "workspace", "ls", "--json")
    assert r.exit_code == 2 and "gaib.yaml:" in r.error["message"]
    # A key Gaib does not know is a warning with a did-you-mean, not a failure: the original Gaib
    # ignores such keys, and its files must keep working (issue 13).
    (cli.cwd / "gaib.yaml").write_text("backnd:\n  type: s3\n")
    r = cli("server", "workspace", "ls", "--json")
    assert r.exit_code == 0 and r.data["current"] == "default"
    assert "warning: gaib.yaml: unknown setting 'backnd' ignored; did you mean 'backend'?" in r.stderr


def test_console_entry_points_run_without_a_traceback(tmp_path: object) -> None:
    run = subprocess.run([sys.executable, "-m", "gaib", "server", "state", "show", "../etc"],
                         capture_output=True, text=True, cwd=str(tmp_path), timeout=60)
    assert run.returncode == 6
    assert "Traceback" not in run.stderr and "INVALID_ADDRESS" in run.stderr


def test_destructive_commands_without_a_terminal_exit_6_unless_yes(cli: CliRunner) -> None:
    """Issue 25: 'state rm ADDR </dev/null' went ahead. Every destructive command without a terminal (or
    with --json) refuses without --yes, exit 6, CONFIRMATION_REQUIRED, and changes nothing."""
    from tests.support.store import make_project

    make_project(cli)
    backup_id = cli("server", "backup", "list", "--json").data["backups"][0]["id"]
    assert cli("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    commands = [("state", "rm", "discord_role.mods"), ("backup", "delete", backup_id),
                ("backup", "restore", backup_id), ("workspace", "rm", "staging"), ("tier", "set", "premium"),
                ("snapshot", "delete", "20261125T170312042Z-a1b2c3d4")]
    for args in commands:
        for flags in ((), ("--json",)):
            r = cli("server", *args, *flags)
            assert r.exit_code == 6, (args, flags, r.stdout, r.stderr)
            assert "CONFIRMATION_REQUIRED" in r.stdout + r.stderr, (args, r.stdout, r.stderr)
    listed = cli("server", "state", "ls", "--json").data
    assert listed["serial"] == 4 and "discord_role.mods" in [r["address"] for r in listed["resources"]]
    assert [b["id"] for b in cli("server", "backup", "list", "--json").data["backups"]] == [backup_id]
    assert "staging" in [w["name"] for w in cli("server", "workspace", "ls", "--json").data["workspaces"]]
    assert cli("server", "tier", "show", "--json").data["tier"] == "free"
