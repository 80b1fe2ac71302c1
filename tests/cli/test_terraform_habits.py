"""What Terraform and restic users type (issue 25, finding 7): ``plan --detailed-exitcode``, ``force-unlock
LOCK_ID``, ``snapshot ls|rm``, and usage errors keeping their own exit code (6: 2 is configuration)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner

CONFIG = textwrap.dedent("""
    version: "1.0"
    roles:
      - name: Naib
        permissions: [VIEW_CHANNEL, SEND_MESSAGES]
    categories:
      - name: Sietch
    channels:
      - name: council
        category: Sietch
""")


def _app(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)))


# --- plan --detailed-exitcode ----------------------------------------------------------------------------------


def test_plan_detailed_exitcode_is_0_unchanged_2_pending_1_on_any_error(gaib: CliRunner) -> None:
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    pending = gaib("server", "plan", "--detailed-exitcode", "--json")
    assert pending.exit_code == 2 and pending.data["empty"] is False  # the result is still printed whole
    assert "to add" in gaib("server", "plan", "--detailed-exitcode").stdout
    assert gaib("server", "plan").exit_code == 0  # without the flag, a plan with changes succeeds: 0
    assert gaib("server", "diff", "--detailed-exitcode").exit_code == 2
    assert gaib("server", "apply", "--auto-approve").exit_code == 0
    clean = gaib("server", "plan", "--detailed-exitcode", "--json")
    assert clean.exit_code == 0 and clean.data["empty"] is True
    # An error exits 1 whatever its usual code: a configuration error's 2 would read as "changes pending".
    (gaib.cwd / "discord-server.yaml").write_text("roles: [unclosed\n")
    assert gaib("server", "plan", "--json").exit_code == 2
    broken = gaib("server", "plan", "--detailed-exitcode", "--json")
    assert broken.exit_code == 1 and broken.error["code"] == "CONFIG_INVALID"
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    denied = gaib("server", "plan", "--detailed-exitcode", "--json", env={"DISCORD_BOT_TOKEN": "not-the-token"})
    assert denied.exit_code == 1 and denied.error["code"] == "DISCORD_INVALID_TOKEN"
    missing = gaib("server", "plan", "--detailed-exitcode", "-w", "stagign", "--json")
    assert missing.exit_code == 1 and missing.error["code"] == "WORKSPACE_NOT_FOUND"


# --- force-unlock LOCK_ID ----------------------------------------------------------------------------------------


def test_force_unlock_releases_only_the_lock_it_names(states: CliRunner) -> None:
    app = _app(states)
    held = app.state.lock("default", "apply", datetime.now(UTC))
    other = "00000000-0000-4000-8000-000000000000"

    wrong = states("server", "force-unlock", other, "--yes", "--json")

    assert wrong.exit_code == 6 and wrong.error["code"] == "LOCK_ID_MISMATCH"
    message = wrong.error["message"]
    assert other in message and held.id in message and held.who in message and "Nothing was released" in message
    assert f"'gaib server force-unlock {held.id}'" in wrong.error["suggestion"]
    assert wrong.error["details"]["lock"]["ID"] == held.id
    still = states("server", "locks", "--json").data
    assert still["locked"] is True and still["lock"]["ID"] == held.id
    # Without a terminal it asks for --yes before releasing anything, as the no-id form does.
    unconfirmed = states("server", "force-unlock", held.id, "--json")
    assert unconfirmed.exit_code == 6 and unconfirmed.error["code"] == "CONFIRMATION_REQUIRED"

    right = states("server", "force-unlock", held.id, "--yes", "--json")

    assert right.exit_code == 0 and right.data["released"]["ID"] == held.id
    assert states("server", "locks", "--json").data["locked"] is False
    again = states("server", "unlock", held.id, "--yes", "--json")
    assert again.exit_code == 0 and again.data["released"] is None  # nothing held: nothing to do
    # The form without an id stays: it releases whatever lock is held.
    second = app.state.lock("default", "apply", datetime.now(UTC))
    assert states("server", "unlock", "--yes", "--json").data["released"]["ID"] == second.id
    app.close()


def test_the_lock_error_names_the_force_unlock_command_with_its_id(states: CliRunner) -> None:
    app = _app(states)
    held = app.state.lock("default", "apply", datetime.now(UTC))
    blocked = states("server", "state", "rm", "discord_role.mods", "--yes", "--json")
    assert blocked.exit_code == 5 and blocked.error["code"] == "STATE_LOCKED"
    assert f"'gaib server unlock {held.id}'" in blocked.error["suggestion"]
    app.close()


# --- snapshot ls | rm ------------------------------------------------------------------------------------------


def test_snapshot_ls_and_rm_are_list_and_delete(gaib: CliRunner, store: dict[str, str]) -> None:
    gaib.environ.update(store)  # backups on the local store or on S3 + DynamoDB (moto)
    made = gaib("server", "snapshot", "create", "-m", "before the raid", "--json")
    assert made.exit_code == 0, made.stdout

    listed = gaib("server", "snapshot", "ls", "--json")

    assert listed.exit_code == 0 and [s["id"] for s in listed.data["snapshots"]] == [made.data["id"]]
    assert gaib("server", "snapshot", "rm", made.data["id"], "--yes").exit_code == 0
    assert gaib("server", "snapshot", "ls", "--json").data["snapshots"] == []
    shown = gaib("server", "snapshot", "--help").stdout
    assert "list, ls" in shown and "delete, rm" in shown


# --- usage errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "said"), [
    (["server", "plan", "--bogus"], "No such option '--bogus'"),
    (["server", "backup", "restore"], "Missing argument 'BACKUP_ID'"),
    (["server", "backup", "list", "--limit"], "Option '--limit' requires an argument"),
    (["server", "backup", "list", "--limit", "many"], "Invalid value for '-l' / '--limit'"),
    (["server", "tier", "set", "free", "extra"], "Got unexpected extra argument"),
])
def test_usage_errors_exit_6_never_2(cli: CliRunner, args: list[str], said: str) -> None:
    """docs/exit-codes.md: a bad flag or argument is USAGE_ERROR, exit 6; click's own code, 2, is taken by
    configuration errors."""
    r = cli("--json", *args)
    assert r.exit_code == 6, r.stdout
    assert r.error["code"] == "USAGE_ERROR" and said in r.error["message"]
    assert "--help" in r.error["suggestion"]


def test_the_console_script_exits_6_on_a_usage_error(tmp_path: object) -> None:
    for args in (["server", "plan", "--bogus"], ["server", "snapshot", "restore"]):
        run = subprocess.run([sys.executable, "-m", "gaib", *args], capture_output=True, text=True,
                             cwd=str(tmp_path), timeout=60)
        assert run.returncode == 6, run.stderr
        assert run.stderr.startswith("Error [USAGE_ERROR]: ") and "Traceback" not in run.stderr
