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
