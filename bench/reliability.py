"""Reliability: SIGKILL at random points, and concurrent runs, then check what a person recovering
the machine would check.

Kill trials: a driver process loops one workload through the real CLI (in-process ``main`` calls,
one process per trial) and is SIGKILLed after a random delay; then the store, the catalog, the
state, the lock and Discord are checked, and the next run must succeed:

- ``backup``: create / list / restore / delete, backups on the local store or on S3 + DynamoDB;
- ``snapshot``: create / list / restore (every third with ``--apply``) / delete against the emulator;
- ``apply``: alternating two configs against the emulator, state in the local folder or in S3 with
  the DynamoDB lock (a lock left by a killed run there is released with ``unlock``, as documented).

Concurrency trials: several processes at once create backups (none may be lost), restore backups
(every successful restore is exactly one serial; a loser stops with ``STATE_LOCKED`` or, when the
state changed between its plan and its write, ``STATE_SERIAL_CONFLICT``, having written nothing), or
apply one config (losers stop with ``STATE_LOCKED``; the guild ends with no duplicate and an empty
plan).

An inconsistency is any broken check: a state that does not parse or went back, a listed backup or
snapshot whose checksums fail or that is damaged, a catalog item without its object, a command of
the driver that failed between kills, a recovery run that fails, duplicated Discord objects, a
plan that is not empty after the recovery apply, a lost backup or serial.

Interrupted-command trials (bench/interrupted.py): ``snapshot restore --apply --messages`` and
``theme rollback`` killed at random, then recovered; per operation: trials, kills, duplicates, missing
messages and inconsistent states (3/4 of the trials on the local store, 1/4 on S3 + DynamoDB).

``GAIB_RELIABILITY_TRIALS`` (``bench/run.py reliability --trials N``) sets the number of kill trials
(default 200, the target), and the number of trials of each interrupted command; ``GAIB_RELIABILITY_ONLY``
(``--only kill,concurrency,restore,rollback``) runs only those groups. The target is 0 inconsistencies,
duplicates and missing messages.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.common import Report
from bench.recovery import (
    CHECKS,
    Project,
    Servers,
    Tally,
    discord_consistent,
    make_project,
    state_serial,
)

ROOT = Path(__file__).resolve().parent.parent
GUILD_NAME = "Reliability Guild"
DEFAULT_TRIALS = 200
WEIGHTS = {("backup", "local"): 70, ("backup", "s3"): 40, ("snapshot", "local"): 25, ("snapshot", "s3"): 15,
           ("apply", "local"): 35, ("apply", "s3"): 15}
WINDOW = {("backup", "local"): 0.6, ("backup", "s3"): 1.6, ("snapshot", "local"): 1.5, ("snapshot", "s3"): 3.0,
          ("apply", "local"): 2.5, ("apply", "s3"): 3.0}
CONFIG_A = 'version: "1.0"\ntheme:\n  name: sietch\n'
CONFIG_B = """version: "1.0"
roles:
  - name: Naib
    color: "#aa7733"
  - name: Fremen
  - name: Outsider
categories:
  - name: Sietch
channels:
  - name: council
    category: Sietch
  - name: water-market
    category: Sietch
  - name: general
"""

DRIVER = r"""
import io, json, os, sys
from pathlib import Path
from gaib.cli.app import main
from gaib.cli.context import Env

cwd, mode, log_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
configs = json.loads(sys.argv[4])
log = open(log_path, "a")
environ = dict(os.environ)

def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main(["server", *args, "--json"], env=Env(stdout=out, stderr=err, stdin=io.StringIO(),
                                                     environ=environ, cwd=cwd, stdin_is_tty=False))
    log.write(json.dumps({"cmd": " ".join(args[:2]), "code": code, "out": out.getvalue()[-300:]}) + "\n")
    log.flush()
    return code, out.getvalue()

def ids(kind):
    code, out = run(kind, "list", "--limit", "50")
    return [b["id"] for b in json.loads(out)["data"][kind + "s"]] if code == 0 else []

def write_config(text):
    tmp = cwd / ".discord-server.yaml.tmp"
    tmp.write_text(text)
    os.replace(tmp, cwd / "discord-server.yaml")

{"backup": lambda: ids("backup"), "snapshot": lambda: ids("snapshot"), "apply": lambda: run("plan")}[mode]()
print("ready", flush=True)
i = 0
while True:
    i += 1
    if mode == "backup":
        run("backup", "create", "-m", f"loop {i}")
        found = ids("backup")
        if found:
            run("backup", "restore", found[i % len(found)], "--yes")
        if len(found) > 6:
            run("backup", "delete", found[-1], "--yes")
    elif mode == "snapshot":
        run("snapshot", "create", "-m", f"loop {i}")
        found = ids("snapshot")
        if found:
            run("snapshot", "restore", found[i % len(found)], "--yes", *(["--apply"] if i % 3 == 0 else []))
        if len(found) > 5:
            run("snapshot", "delete", found[-1], "--yes")
    else:
        write_config(configs[i % 2])
        run("apply", "--auto-approve")
"""


# --- kill trials -------------------------------------------------------------------------------------


def _driver_failures(log: Path, seen: int, tally: Tally) -> int:
    lines = log.read_text().splitlines() if log.exists() else []
    for line in lines[seen:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the line being written when the driver was killed
        if entry["code"] != 0:
            tally.fail(f"driver: {entry['cmd']} -> {entry['code']}: {entry['out'][-160:]}")
    return len(lines)


def kill_trials(servers: Servers, tmp: Path, workload: str, storage: str, trials: int, rng: random.Random) -> Tally:
    tally = Tally()
    started = time.monotonic()
    discord = workload != "backup"
    p = make_project(servers, tmp, storage, discord=discord)
    emu = servers.emulator
    if discord:
        emu.reset()
        (p.cwd / "discord-server.yaml").write_text(CONFIG_A)
        p.ok(tally, "apply", "--auto-approve")
    else:
        from tests.support.state import seed_state

        seed_state(p.cwd, serial=1, names=tuple(f"role-{i:03d}" for i in range(60)))
    if workload != "apply":
        p.ok(tally, workload, "create", "-m", "seed")
    log = p.cwd / "driver.log"
    seen, last = 0, {"serial": 0}
    for _ in range(trials):
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(p.cwd), workload, str(log),
                                 json.dumps([CONFIG_A, CONFIG_B])], env=p.child_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stderr is not None
        ready = proc.stdout.readline().strip() == "ready"
        if ready:
            time.sleep(rng.uniform(0.0, WINDOW[(workload, storage)]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        error = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        tally.trials += 1
        if not ready:
            tally.fail(f"the driver did not start: {error[-300:]}")
            continue
        seen = _driver_failures(log, seen, tally)
        CHECKS[workload](p, tally, proc.pid, last)
    tally.seconds = time.monotonic() - started
    shutil.rmtree(p.cwd, ignore_errors=True)
    return tally


# --- concurrency trials ------------------------------------------------------------------------------

REPEAT = r"""
import io, json, os, sys
from pathlib import Path
from gaib.cli.app import main
from gaib.cli.context import Env
cwd, count, args = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
for _ in range(count):
    out = io.StringIO()
    code = main(["server", *args, "--json"], env=Env(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(),
                                                     environ=dict(os.environ), cwd=cwd, stdin_is_tty=False))
    try:
        error = (json.loads(out.getvalue()).get("error") or {}).get("code")
    except ValueError:
        error = "unreadable output"
    print(json.dumps({"code": code, "error": error, "out": out.getvalue()[-200:]}), flush=True)
"""


def _together(p: Project, procs: int, count: int, args: list[str]) -> list[dict[str, Any]]:
    """Run ``procs`` processes at once, each running the command ``count`` times; their results."""
    running = [subprocess.Popen([sys.executable, "-c", REPEAT, str(p.cwd), str(count), json.dumps(args)],
                                env=p.child_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(procs)]
    results = []
    for proc in running:
        out, _ = proc.communicate(timeout=600)
        results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return results


def _backup_count(p: Project, tally: Tally) -> int:
    data = p.ok(tally, "backup", "list", "--limit", "1000")
    return len(data["backups"]) if data is not None else -1


def concurrent_backups(servers: Servers, tmp: Path, storage: str, rounds: int) -> Tally:
    from tests.support.state import seed_state

    tally, started = Tally(), time.monotonic()
    p = make_project(servers, tmp, storage, discord=False)
    seed_state(p.cwd, serial=1)
    for _ in range(rounds):
        before = _backup_count(p, tally)
        results = _together(p, 4, 3, ["backup", "create", "-m", "concurrent"])
        made = sum(1 for r in results if r["code"] == 0)
        for r in results:
            if r["code"] != 0:
                tally.fail(f"concurrent create -> {r['code']}: {r['out']}")
        after = _backup_count(p, tally)
        if after - before != made:
            tally.fail(f"{made} creates succeeded but {after - before} backups appeared")
        tally.trials += 1
    tally.seconds = time.monotonic() - started
    return tally


def concurrent_restores(servers: Servers, tmp: Path, storage: str, rounds: int) -> Tally:
    from tests.support.state import seed_state

    tally, started = Tally(), time.monotonic()
    p = make_project(servers, tmp, storage, discord=False)
    seed_state(p.cwd, serial=1)
    made = p.ok(tally, "backup", "create")
    if made is None:
        return tally
    backup_id = made["id"]
    for _ in range(rounds):
        before = state_serial(p, tally) or 0
        results = _together(p, 4, 3, ["backup", "restore", backup_id, "--yes"])
        done = sum(1 for r in results if r["code"] == 0)
        for r in results:
            # The documented answers of a run that lost a race: the lock is held (STATE_LOCKED), or
            # the state changed between its plan and its locked write (STATE_SERIAL_CONFLICT).
            if r["code"] != 0 and r["error"] not in ("STATE_LOCKED", "STATE_SERIAL_CONFLICT"):
                tally.fail(f"concurrent restore -> {r['code']} {r['error']}: {r['out']}")
        after = state_serial(p, tally) or 0
        if after - before != done:
            tally.fail(f"{done} restores succeeded but the serial moved by {after - before}")
        code, doc = p("locks")
        if code != 0 or doc["data"]["locked"]:
            tally.fail("a lock was left behind by runs that all finished")
        tally.trials += 1
    tally.seconds = time.monotonic() - started
    return tally


def concurrent_applies(servers: Servers, tmp: Path, storage: str, rounds: int) -> Tally:
    tally, started = Tally(), time.monotonic()
    p = make_project(servers, tmp, storage, discord=True)
    emu = servers.emulator
    for i in range(rounds):
        emu.reset()
        (p.cwd / "discord-server.yaml").write_text(CONFIG_A if i % 2 == 0 else CONFIG_B)
        results = _together(p, 3, 1, ["apply", "--auto-approve"])
        for r in results:
            if r["code"] != 0 and r["error"] != "STATE_LOCKED":
                tally.fail(f"concurrent apply -> {r['code']} {r['error']}: {r['out']}")
        if not any(r["code"] == 0 for r in results):
            tally.fail("no concurrent apply succeeded")
        discord_consistent(p, tally)
        tally.trials += 1
    tally.seconds = time.monotonic() - started
    return tally


# --- the report --------------------------------------------------------------------------------------


def _split(total: int) -> dict[tuple[str, str], int]:
    weight = sum(WEIGHTS.values())
    out = {k: max(1, round(total * w / weight)) for k, w in WEIGHTS.items()}
    out[("backup", "local")] += total - sum(out.values())
    return out


@contextmanager
def _servers() -> Iterator[Servers]:
    from tests.support.emulator import running_emulator
    from tests.support.procs import moto_server

    with ExitStack() as stack:
        moto = stack.enter_context(moto_server())
        emu = stack.enter_context(running_emulator(args=("--rate-limits", "off"), guild_name=GUILD_NAME))
        yield Servers(moto=moto, emulator=emu)


def _interrupted(servers: Servers, tmp: Path, groups: set[str], total: int, report: Report) -> None:
    from bench.interrupted import OPERATIONS, latency_emulator

    rng = random.Random(20261207)
    with latency_emulator(servers) as slow:
        for name, trials in OPERATIONS.items():
            if name not in groups:
                continue
            local = max(1, round(total * 3 / 4))
            for storage, n in (("local", local), ("s3", total - local)):
                if n <= 0:
                    continue
                o = trials(slow, tmp, storage, n, rng)
                report.rows.append([f"interrupted {o.operation}", storage, o.trials,
                                    o.inconsistent + o.duplicates + o.missing, f"{o.seconds:.1f}"])
                report.notes.append(f"{o.operation} ({storage}): {o.trials} trials, {o.kills} kills landed"
                                    + (f" ({o.mid_replay} mid-replay)" if name == "restore" else "")
                                    + f", duplicates {o.duplicates}, missing messages {o.missing}, "
                                    f"inconsistent states {o.inconsistent}, {o.seconds:.0f} s")
                report.notes += [f"example: {e}" for e in o.examples]


def run() -> Report:
    sys.path.insert(0, str(ROOT))
    total = int(os.environ.get("GAIB_RELIABILITY_TRIALS", DEFAULT_TRIALS))
    groups = set(os.environ.get("GAIB_RELIABILITY_ONLY", "kill,concurrency,restore,rollback").split(","))
    rounds = max(1, total // 40)
    rng = random.Random(20260315)
    report = Report(title="reliability: SIGKILL at random points, and concurrent runs",
                    headers=["trial", "storage", "trials", "inconsistencies", "seconds"])
    kills = Tally()
    every: list[Tally] = []
    with tempfile.TemporaryDirectory(prefix="gaib-reliability-") as tmp_name:
        tmp = Path(tmp_name)
        with _servers() as servers:
            _interrupted(servers, tmp, groups, total, report)
            for (workload, storage), n in (_split(total).items() if "kill" in groups else ()):
                t = kill_trials(servers, tmp, workload, storage, n, rng)
                report.rows.append([f"kill during {workload}", storage, t.trials, t.inconsistencies,
                                    f"{t.seconds:.1f}"])
                kills.trials += t.trials
                kills.inconsistencies += t.inconsistencies
                kills.seconds += t.seconds
                every.append(t)
            for name, fn, storages in (("concurrent backup create", concurrent_backups, ("local", "s3")),
                                       ("concurrent restore", concurrent_restores, ("local", "s3")),
                                       ("concurrent apply", concurrent_applies, ("local", "s3"))
                                       ) if "concurrency" in groups else ():
                for storage in storages:
                    t = fn(servers, tmp, storage, rounds)
                    report.rows.append([name, storage, t.trials, t.inconsistencies, f"{t.seconds:.1f}"])
                    every.append(t)
    concurrency = [t for t in every[len(_split(total)) if "kill" in groups else 0:]]
    if "kill" in groups:
        report.notes.append(f"kill trials: {kills.trials} (target {DEFAULT_TRIALS}), inconsistencies: "
                            f"{kills.inconsistencies} (target 0), {kills.seconds:.0f} s")
    if "concurrency" in groups:
        report.notes.append(f"concurrency trials: {sum(t.trials for t in concurrency)}, inconsistencies: "
                            f"{sum(t.inconsistencies for t in concurrency)}, "
                            f"{sum(t.seconds for t in concurrency):.0f} s")
    for t in every:
        report.notes += [f"example: {e}" for e in t.examples]
    return report
