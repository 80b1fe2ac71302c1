"""The metrics a run prints (EMF lines) are the ones the Terraform's alarms watch, and the heartbeat."""

from __future__ import annotations

import json
from typing import Any

from gaib.storage.keys import heartbeat_sk, scheduler_pk
from tests.support.cli import CliRunner
from tests.support.fleet import Fleet, emf, server_ids
from tests.support.terraform import load_stack


def alarm(name: str, key: str) -> tuple[str, str, dict[str, Any]]:
    stack = load_stack()
    alarm = stack.resource("aws_cloudwatch_metric_alarm", name)
    run = stack.locals["scheduled_runs"][key]
    dims = {k: run[v.removeprefix("${each.value.").removesuffix("}")] for k, v in alarm["dimensions"].items()}
    return stack.locals["metric_namespace"], alarm["metric_name"], dims


def test_the_heartbeat_alarms_metric_appears_with_its_dimensions(fleet: Fleet) -> None:
    app = fleet.app()
    fleet.register_many(app, dict.fromkeys(server_ids(3), "free"))
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    result = cli("server", "backup", "run-scheduled", "--tier", "free")

    assert result.exit_code == 0, result.stderr
    [(namespace, dims, values)] = emf(result.stdout)
    alarm_namespace, metric, alarm_dims = alarm("missed_run", "free")
    assert (namespace, dims) == (alarm_namespace, alarm_dims) == ("Gaib/Backups", {"Tier": "free",
                                                                                    "Operation": "backup"})
    assert values[metric] == 1
    _, errors_metric, error_dims = alarm("backup_errors", "free")
    assert dims == error_dims and values[errors_metric] == 0
    assert (values["BackupSuccess"], values["BackupCreated"], values["BackupUnchanged"]) == (3, 3, 0)
    assert values["BackupBytes"] > 3 * 1000
    beat = app.catalog.get(scheduler_pk("free"), heartbeat_sk("backup"))
    assert beat is not None and beat["window"] == "20261125T0300Z" and beat["counts"]["ok"] == 3
    shown = cli("server", "schedule", "show", "-g", server_ids(1)[0], "--json").data
    assert shown["last_completed_window"] == {"backup": "20261125T0300Z"}


def test_with_json_the_metrics_go_to_stderr_and_stdout_keeps_one_object(fleet: Fleet) -> None:
    app = fleet.app()
    fleet.register_many(app, dict.fromkeys(server_ids(1), "premium"))
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    result = cli("server", "backup", "run-scheduled", "--tier", "premium", "--json")

    assert result.data["servers"]["created"] == 1
    [(_, dims, values)] = emf(result.stderr)
    assert dims == {"Tier": "premium", "Operation": "backup"} and values["ScheduledRunHeartbeat"] == 1


def test_failures_are_counted_in_the_errors_metric_and_the_run_exits_8(fleet: Fleet) -> None:
    app = fleet.app()
    good, missing = server_ids(2)
    fleet.register(app, good, "free")
    fleet.register(app, missing, "free", state=False)
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    result = cli("server", "backup", "run-scheduled", "--tier", "free")

    assert result.exit_code == 8
    [(_, _, values)] = emf(result.stdout)
    assert (values["BackupErrors"], values["BackupSuccess"], values["ScheduledRunHeartbeat"]) == (1, 1, 1)
    assert "1 servers failed" in result.stderr


def test_a_run_that_cannot_list_its_servers_sends_no_heartbeat(fleet: Fleet) -> None:
    cli = CliRunner(cwd=fleet.project, environ={**fleet.environ, "GAIB_BACKUP_TABLE": "no-such-table-here",
                                                 "GAIB_BACKUP_PATH": "/proc/version/not-a-folder"},
                    clock=fleet.clock)

    result = cli("server", "backup", "run-scheduled", "--tier", "free")

    assert result.exit_code == 1
    assert emf(result.stdout) == []  # no datapoint: the missed-run alarm treats it as breaching


def test_snapshot_runs_use_the_snapshot_operation_and_free_has_none(fleet: Fleet) -> None:
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    free = cli("server", "backup", "run-scheduled", "--tier", "free", "--snapshots")
    premium = cli("server", "backup", "run-scheduled", "--tier", "premium", "--snapshots")

    assert free.exit_code == 6 and "no automatic snapshots" in free.stderr
    assert premium.exit_code == 0
    [(_, dims, values)] = emf(premium.stdout)
    assert dims == {"Tier": "premium", "Operation": "snapshot"} and values["ScheduledRunHeartbeat"] == 1


def test_a_workspace_without_state_is_skipped_and_the_backup_written_is_counted(
        states: CliRunner, bcli: CliRunner) -> None:
    """Issue 25, finding 6: ``--all-workspaces`` with one workspace made by 'workspace new' and no state yet.
    Before: exit 8, "0 written, … 1 failed", BackupCreated 0 although default's backup was written."""
    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.storage.keys import run_claim_sk, server_pk
    from gaib.wiring import App
    from tests.support.fleet import realistic_state
    from tests.support.state import GUILD

    app = App(Settings.resolve(Env(environ=states.environ, cwd=states.cwd)))
    app.state.put(realistic_state(GUILD), expected_serial=None)  # default's state, on either state backend
    assert states("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    enabled = states("server", "schedule", "enable", "--all-workspaces", "--json")
    assert enabled.data["notes"] == ["workspace staging has no state yet: scheduled runs skip it until it has one"]

    result = states("server", "backup", "run-scheduled", "--tier", "free", "--json")

    assert result.exit_code == 0, result.stdout
    run = result.data
    assert run["workspaces"] == {"created": 1, "unchanged": 0, "skipped": 1, "failed": 0} and run["errors"] == 0
    assert (run["servers"]["created"], run["servers"]["failed"]) == (1, 0)
    [(_, _, values)] = emf(result.stderr)
    assert (values["BackupCreated"], values["BackupSuccess"], values["BackupSkipped"], values["BackupErrors"]) == \
        (1, 1, 1, 0)
    assert values["BackupBytes"] == run["stored_bytes"] > 1000
    claim = app.catalog.get(server_pk(GUILD), run_claim_sk("free", run["window"]))
    assert claim is not None and claim["status"] == "created"
    assert claim["workspaces"]["default"]["outcome"] == "created"
    assert claim["workspaces"]["staging"]["outcome"] == "skipped"
    assert "has no state yet" in claim["workspaces"]["staging"]["reason"]
    events = (states.cwd / ".gaib" / "backups" / ".events" / "events.jsonl").read_text().splitlines()
    [summary] = [e for e in map(json.loads, events) if e["event"] == "scheduled-run.summary"]
    assert summary["counts"] == {"ok": 1, "failed": 0, "skipped": 1}
    assert "workspaces: 1 written, 0 unchanged, 1 skipped (no state yet), 0 failed" in summary["message"]
    assert not [e for e in map(json.loads, events) if e["event"] == "backup.failed"]
    app.close()
