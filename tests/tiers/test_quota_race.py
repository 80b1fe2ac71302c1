"""Ten real processes race for the free tier's one on-demand backup of the day, on both storages.

Each process loads Gaib, waits for a shared start signal, then runs ``gaib server backup create``. The
counter is taken with one conditional write (DynamoDB ``UpdateItem`` with a condition; a SQLite
``BEGIN IMMEDIATE`` transaction), never read-then-write, so exactly one wins and nine exit 7.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gaib.storage.keys import server_pk
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage

ROOT = Path(__file__).resolve().parents[2]
RACERS = 10

DRIVER = textwrap.dedent("""
    import io, json, os, sys, time
    from pathlib import Path
    from gaib.cli.app import main
    from gaib.cli.context import Env

    cwd, go = Path(sys.argv[1]), Path(sys.argv[2])

    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--json"], env=Env(stdout=out, stderr=err, stdin=io.StringIO(),
                                               environ=dict(os.environ), cwd=cwd, stdin_is_tty=False))
        return code, out.getvalue()

    run("server", "backup", "list")  # warm up: every module (and boto3's) loaded before the start
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    code, out = run("server", "backup", "create", "-m", f"racer {os.getpid()}")
    print(json.dumps({"code": code, "out": out}), flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("deleted", [False, True], ids=["fresh", "day-s-backup-deleted"])
def test_ten_processes_racing_get_exactly_one_backup(bcli: CliRunner, deleted: bool) -> None:
    """Also once the day's backup was deleted: the workspace has none, so one more is allowed (the only
    recovery point is never refused), and still to exactly one of the racers."""
    seed_state(bcli.cwd)
    # Register the server first, so the race is for the quota alone (not for creating the store).
    assert bcli("server", "tier", "set", "free", "--yes").exit_code == 0
    if deleted:
        first = bcli("server", "backup", "create", "--json").data["id"]
        assert bcli("server", "backup", "delete", first, "--yes").exit_code == 0
    go = bcli.cwd / "go"
    env = {**bcli.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(bcli.cwd), str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(RACERS)]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
        go.touch()
        results = []
        deadline = time.monotonic() + 120
        for p in procs:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = sorted(r["code"] for r in results)
    assert codes == [0] + [7] * (RACERS - 1), [r["out"][:300] for r in results]
    for r in results:
        doc = json.loads(r["out"])
        if r["code"] == 7:
            err = doc["error"]
            assert err["code"] == "TIER_LIMIT"
            assert "resets at" in err["message"] and "UTC" in err["message"]
            assert "premium" in err["suggestion"]
    winner = next(json.loads(r["out"])["data"] for r in results if r["code"] == 0)
    listed = bcli("server", "backup", "list", "--json").data["backups"]
    assert [b["id"] for b in listed] == [winner["id"]]
    assert len([k for k in Storage(bcli).objects() if k.startswith("state/")]) == 1
    counters = [i for i in Storage(bcli).items() if i["PK"] == server_pk(GUILD) and i["SK"].startswith("QUOTA#")]
    assert [c["count"] for c in counters] == [2 if deleted else 1]
