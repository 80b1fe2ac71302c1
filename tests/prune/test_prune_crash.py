"""A prune SIGKILLed at random points, over and over, on both storages: nothing half-deleted stays listed.

Old backups are written in-process (with a clock 30 days back), then the newest of each workspace (an hour
back: "newest" is the catalog's order of writes); a real ``gaib server backup prune --yes``
process is killed at a random moment. After every kill, every backup the catalog still lists must load
with all its parts and checksums (a kill may leave objects no item lists, never an item without its
objects). At the end one more prune finishes the job and sweeps those orphans: exactly the newest
backup of each workspace is left, and no other object.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gaib.backups.store import BackupManager
from gaib.cli.context import Env
from gaib.prune import service as prune_service
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage

ROOT = Path(__file__).resolve().parents[2]
WORKSPACES = ("default", "staging", "prod")
TIME_BUDGET = {"local": 40.0, "aws": 80.0}  # aws: each backup written also takes its write sequence (one request)
SEED = {"local": 900, "aws": 300}
WINDOW = {"local": 1.0, "aws": 2.5}  # about how long after "ready" a prune of SEED backups ends

DRIVER = textwrap.dedent("""
    import io, json, os, sys
    from pathlib import Path
    from gaib.cli.app import main
    from gaib.cli.context import Env

    cwd = Path(sys.argv[1])

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--json"], env=Env(stdout=out, stderr=err, stdin=io.StringIO(),
                                               environ=dict(os.environ), cwd=cwd, stdin_is_tty=False))
        return code, out.getvalue()

    run("server", "tier", "show")  # warm up: every module (and boto3's clients) loaded before "ready"
    print("ready", flush=True)
    code, out = run("server", "backup", "prune", "--yes")
    print(json.dumps({"code": code, "out": out[-300:]}), flush=True)
""")


def _whole(mgr: BackupManager, sample: random.Random | None = None) -> set[str]:
    """The ids the catalog lists, after checking each has its object (a half-deleted backup would not);
    a few of them (all without ``sample``) are loaded with every checksum verified."""
    damaged: list[str] = []
    records = []
    cursor = None
    while True:
        page, cursor = mgr.list(GUILD, limit=1000, cursor=cursor, damaged=damaged)
        records += page
        if cursor is None:
            break
    assert damaged == []
    stored = {o.key for o in mgr.store.list(f"state/{GUILD}/")}
    missing = [r.id for r in records if r.key not in stored]
    assert missing == [], f"listed backups without their object: {missing[:5]}"
    for rec in (sample.sample(records, min(5, len(records))) if sample else records):
        mgr.load(rec)
    return {r.id for r in records}


@pytest.mark.slow
def test_a_prune_killed_anywhere_leaves_no_listed_backup_half_deleted(bcli: CliRunner) -> None:
    kind = "aws" if "GAIB_BACKUP_BUCKET" in bcli.environ else "local"
    state = seed_state(bcli.cwd)
    real_now = datetime.now(UTC)
    clock = {"now": real_now}
    ports = App(Settings.resolve(Env(environ=bcli.environ, cwd=bcli.cwd)), clock=lambda: clock["now"])
    mgr = BackupManager(ports.store, ports.catalog, clock=lambda: clock["now"], mac=ports.mac)
    newest: dict[str, str] = {}
    made = 0

    def top_up(count: int) -> None:
        nonlocal made
        for _ in range(count):
            made += 1
            clock["now"] = real_now - timedelta(days=30, minutes=made)
            mgr.create(state, server_id=GUILD, workspace=WORKSPACES[made % 3], trigger="scheduled")
        for ws in WORKSPACES:  # written last: the newest of each workspace in the catalog's order of writes
            clock["now"] = real_now - timedelta(hours=1)
            newest[ws] = mgr.create(state, server_id=GUILD, workspace=ws, trigger="scheduled").id

    top_up(SEED[kind])
    rng = random.Random(20261125)
    env = {**bcli.environ, "PYTHONPATH": str(ROOT / "src")}
    trials = interrupted = finished = 0
    storage = Storage(bcli)

    def count() -> int:
        """Backup items in the catalog, read past Gaib (SQLite read-only; DynamoDB Query COUNT)."""
        if kind == "local":
            import sqlite3

            conn = sqlite3.connect(f"file:{storage.root / 'catalog.sqlite3'}?mode=ro", uri=True)
            try:
                return int(conn.execute("SELECT count(*) FROM items WHERE sk LIKE 'BACKUP#%'").fetchone()[0])
            finally:
                conn.close()
        r = dynamodb.query(TableName=storage.table, Select="COUNT", ConsistentRead=True,
                           KeyConditionExpression="PK = :pk AND begins_with(SK, :b)",
                           ExpressionAttributeValues={":pk": {"S": f"SERVER#{GUILD}"}, ":b": {"S": "BACKUP#"}})
        return int(r["Count"])

    dynamodb = storage._client("dynamodb") if kind == "aws" else None
    started = time.monotonic()
    def more() -> bool:
        """Within the budget; past it (a loaded machine) only until the minimum is met, at most 3 budgets."""
        spent = time.monotonic() - started
        short = trials < 6 or interrupted == 0
        return trials < 30 and (spent < TIME_BUDGET[kind] or (short and spent < 3 * TIME_BUDGET[kind]))

    while more():
        before = _whole(mgr, rng)
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(bcli.cwd)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
            if rng.random() < 0.4:  # at a random moment (planning, removing, or printing)
                time.sleep(rng.uniform(0.0, WINDOW[kind]))
            else:  # once the catalog has shrunk to a random size: mid-batch, between items and objects, or later
                # (waiting for the first item to go and then sleeping missed the whole prune of one batch on moto)
                target = rng.randint(len(newest) + 1, len(before) - 1)
                while count() > target and proc.poll() is None:
                    time.sleep(0.002)
                if rng.random() < 0.3:
                    time.sleep(rng.uniform(0.0, 0.15))
        finally:
            with contextlib.suppress(ProcessLookupError):  # it ended (and was reaped by poll) first
                os.kill(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        trials += 1
        after = _whole(mgr, rng)  # the invariant, after every kill
        assert after <= before and set(newest.values()) <= after
        if proc.returncode == -signal.SIGKILL and after != before and len(after) > len(newest):
            interrupted += 1  # killed in the middle of removing
        if '"code": 0' in out:
            finished += 1
        if len(after) - len(newest) < 200:
            top_up(SEED[kind] // 2)
    assert trials >= 6, f"only {trials} trials"
    assert interrupted >= 1, f"no kill landed mid-prune in {trials} trials"

    # One more prune, later than the orphans' grace period and the free tier's 7 days (so the earlier
    # newest backups, an hour old when written, are due), finishes the job and sweeps what kills left.
    clock["now"] = real_now + timedelta(days=8)
    outcome = prune_service.execute_prune(ports, prune_service.plan_prune(ports, "backup"))
    assert outcome.result.complete
    assert _whole(mgr) == set(newest.values())
    keys = {k for k in Storage(bcli).objects() if k.startswith("state/")}
    assert keys == {f"state/{GUILD}/{ws}/backup.{i}.json.gz" for ws, i in newest.items()}
    print(f"\n{kind}: {trials} kills, {interrupted} mid-prune, {finished} prunes finished before the kill, "
          f"{len(outcome.orphans_removed)} orphans swept")
    json.dumps(outcome.to_dict())
