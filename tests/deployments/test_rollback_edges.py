"""Rollback edges: killed mid-way, refused without confirmation, snapshot restores as history, output for people."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.storage.keys import theme_registry_key
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild, fingerprint

ROOT = Path(__file__).resolve().parents[2]


def roles(*names: str) -> str:
    return 'version: "1.0"\nroles:\n' + "".join(f"  - name: {n}\n" for n in names)


def deploy(reg: CliRunner, text: str) -> str:
    (reg.cwd / "discord-server.yaml").write_text(text)
    done = reg("server", "apply", "--auto-approve", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    return str(done.data["deployment"]["id"])


def history(reg: CliRunner) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = reg("server", "theme", "history", "--json").data["deployments"]
    return result


@pytest.mark.slow
def test_a_rollback_killed_mid_way_converges_when_run_again(reg: CliRunner, discord: Guild) -> None:
    first = deploy(reg, roles(*(f"Old {i}" for i in range(8))))
    at_first = fingerprint(discord)
    deploy(reg, roles(*(f"New {i}" for i in range(8))))
    discord.emu.set_faults(rate=1.0, kinds=["latency"], latency_ms=150)
    mark = discord.mark()
    env = {**reg.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "gaib", "server", "theme", "rollback", "--steps", "1", "--yes"],
                            cwd=reg.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(discord.writes_since(mark)) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the rollback finished before it could be killed"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    discord.emu.set_faults(rate=0.0)
    assert fingerprint(discord) != at_first  # cut off half-way
    assert len(history(reg)) == 2  # a killed rollback recorded nothing

    again = reg("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.data["result"]["target_id"] == first  # the same target: it converges, it does not walk further
    assert fingerprint(discord) == at_first
    assert reg("server", "plan", "--json").data["empty"] is True
    names = [r["name"] for r in discord.roles()]
    assert len(names) == len(set(names))  # nothing duplicated


def test_rollback_refuses_without_confirmation_and_explains_itself(reg: CliRunner, discord: Guild) -> None:
    first = deploy(reg, roles("Admin"))
    second = deploy(reg, roles("Admin", "Member"))
    mark = discord.mark()
    refused = reg("server", "theme", "rollback", "--json")
    assert refused.exit_code == 6 and refused.error["code"] == "CONFIRMATION_REQUIRED", refused.stdout
    assert discord.writes_since(mark) == []
    both = reg("server", "theme", "rollback", "--steps", "1", "--to", first, "--yes", "--json")
    assert both.exit_code == 6 and both.error["code"] == "INVALID_INPUT"

    dry = reg("server", "theme", "rollback", "--dry-run")
    assert dry.exit_code == 0
    assert f"from deployment {second}" in dry.stdout and f"to deployment {first}" in dry.stdout
    assert "- discord_role.member" in dry.stdout
    done = reg("server", "theme", "rollback", "--yes")
    assert done.exit_code == 0, done.stderr
    assert "0 created, 0 updated, 1 deleted" in done.stdout and f"Undo with: gaib server theme rollback --to {second}" \
        in done.stdout and "Pre-restore backup" in done.stdout
    assert "Took pre-restore backup" in done.stderr
    backups = reg("server", "backup", "list", "--json").data["backups"]
    assert [b["trigger"] for b in backups] == ["pre-restore"]
    # Undo: the rollback is itself a deployment to go back from.
    undo = reg("server", "theme", "rollback", "--to", second, "--yes")
    assert undo.exit_code == 0 and "Member" in {r["name"] for r in discord.roles()}

    table = reg("server", "theme", "history").stdout
    assert f"rollback to {second}" in table and f"rollback to {first}" in table and "tester (cli)" in table
    registry = reg("server", "theme", "registry").stdout
    assert "current deployment" in registry and "free tier keeps the last 5" in registry
    events = reg("server", "theme", "audit", "--json").data["events"]
    assert [(e["what"], e["from"], e["to"]) for e in events[:2]] == [("rollback", history(reg)[1]["id"], second),
                                                                    ("registry-read", history(reg)[1]["id"], second)]
    assert events[0]["deployment"] == history(reg)[0]["id"] and events[0]["actor"] == "tester"
    reads = [e for e in events if e["what"] == "registry-read"]
    assert [e["detail"]["dry_run"] for e in reads] == [False, False, True, False]
    assert "registry-read" in reg("server", "theme", "audit").stdout


def test_a_snapshot_restore_brings_the_registry_back_as_history(reg: CliRunner, discord: Guild) -> None:
    a = deploy(reg, roles("Admin"))
    b = deploy(reg, roles("Admin", "Member"))
    made = reg("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout
    snapshot_id = made.data["id"]
    c = deploy(reg, roles("Admin", "Member", "Guest"))

    done = reg("server", "snapshot", "restore", snapshot_id, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    listed = history(reg)
    restored = listed[0]
    assert done.data["result"]["deployment_id"] == restored["id"]
    assert (restored["kind"], restored["rolled_back_to"], restored["snapshot"], restored["position"]) == (
        "rollback", b, snapshot_id, b)
    # Not a rewrite: everything recorded since the snapshot is still there.
    assert [d["id"] for d in listed[1:]] == [c, b, a]
    sid = reg.environ["DISCORD_GUILD_ID"]
    app = App(Settings.resolve(Env(environ=reg.environ, cwd=reg.cwd)))
    doc = json.loads(app.store.get(theme_registry_key(sid)))
    assert [e["id"] for e in doc["history"]] == [restored["id"], c, b, a]
    # The history walks on from the snapshot's point: one step back is a.
    step = reg("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert step.exit_code == 0 and step.data["result"]["target_id"] == a, step.stdout
    assert {r["name"] for r in discord.roles()} - {"@everyone"} == {"Admin"}

    # The bookkeeping restore (state and config only) is recorded too, saying Discord was not changed.
    book = reg("server", "snapshot", "restore", snapshot_id, "--yes", "--json")
    assert book.exit_code == 0, book.stdout
    latest = history(reg)[0]
    assert latest["snapshot"] == snapshot_id and "state and config only" in latest["message"]
    event = reg("server", "theme", "audit", "--json").data["events"][0]
    assert event["operation"] == "snapshot-restore" and event["detail"]["applied_to_discord"] is False


def test_rolling_back_twice_keeps_each_replaced_config(reg: CliRunner, discord: Guild) -> None:
    first = deploy(reg, roles("Naib"))
    deploy(reg, roles("Naib", "Fremen"))
    copies = []
    for edit in ("# my first edit\n", "# my second edit\n"):
        config = reg.cwd / "discord-server.yaml"
        config.write_text(config.read_text() + edit)
        edited = config.read_text()
        done = reg("server", "theme", "rollback", "--to", first, "--yes")
        assert done.exit_code == 0, done.stdout + done.stderr
        found = re.search(r"Previous config kept as (\S+?)\.(?:\s|$)", done.stdout)
        assert found, done.stdout
        kept = Path(found.group(1))
        assert kept.read_text() == edited
        copies.append(kept)
    assert copies[0] != copies[1] and "# my first edit" in copies[0].read_text()
