"""Scheduled runs at scale: 10,000 registered servers on moto, one task and then two tasks per window.

The fleet (``tests/support/fleet.py``): 10,000 servers, 10% premium, each with a state of realistic size
(15 roles, 9 categories, 23 channels: ~20 KB of JSON) in an S3 state bucket, a tier item and a schedule.
Every task is the real command in its own process (``gaib server backup run-scheduled --tier T --window W
--concurrency 16 --json``) against moto's server over HTTP; its report carries the AWS requests it sent.

Windows, each for both tiers (free: 9,000 servers, premium: 1,000):

1. the first window: every server is new, so every state is backed up (two tasks per tier);
2. 10% of the states changed since: **one task** per tier;
3. another 10% changed: **two tasks in parallel** per tier (they split the servers through their claims);
4. nothing changed: one task per tier (the cost of an unchanged server alone).

Reported: servers per second per task (servers the task handled / its run time), AWS requests per server
(changed and unchanged), and duplicates — scheduled backups of one server in one window beyond the first,
counted from listings of the backup bucket around each window (must be 0). ``GAIB_BENCH_SERVERS`` sets a
smaller fleet for a quick look (the figures in docs/infrastructure.md are from 10,000).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Report

ROOT = Path(__file__).resolve().parent.parent
SERVERS = int(os.environ.get("GAIB_BENCH_SERVERS", "10000"))
PREMIUM_SHARE = 0.10
CHANGED_SHARE = 0.10
CONCURRENCY = 16
TARGET_RATE = 50.0
TARGET_UNCHANGED = 3.0


def _moto_pid(endpoint: str) -> int | None:
    """The pid of the moto server listening on ``endpoint``'s port (from /proc; None elsewhere)."""
    port = endpoint.rsplit(":", 1)[-1]
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"tests.support.moto_atomic" in args and port.encode() in args:
            return int(entry.name)
    return None


def _cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _task(fleet: Any, tier: str, window: str) -> subprocess.Popen[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))},
           **fleet.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "gaib", "server", "backup", "run-scheduled", "--tier", tier,
                             "--window", window, "--concurrency", str(CONCURRENCY), "--json", "--quiet"],
                            cwd=fleet.project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _window(fleet: Any, window: str, tasks: int) -> tuple[float, float, list[dict[str, Any]]]:
    """Run ``tasks`` task processes per tier on one window (tiers one after the other); returns the wall
    time, the CPU seconds the task processes used, and every task's report."""
    reports: list[dict[str, Any]] = []
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    for tier in ("free", "premium"):
        procs = [_task(fleet, tier, window) for _ in range(tasks)]
        for proc in procs:
            out, _err = proc.communicate(timeout=7200)
            doc = json.loads(out)
            data = doc["data"] if doc["success"] else doc["error"]["details"]["run"]
            if not doc["success"]:
                print(f"   a task reported failures: {doc['error']['message'][:300]}", file=sys.stderr)
            reports.append(data)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the finished task processes (moto still runs)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime - cpu, reports


def _handled(report: dict[str, Any]) -> int:
    s = report["servers"]
    return int(s["created"] + s["unchanged"] + s["failed"])


def _requests(reports: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for r in reports:
        total.update(r["aws_requests"] or {})
    return total


def _change(fleet: Any, app: Any, sids: list[str], serial: int) -> None:
    from tests.support.fleet import realistic_state

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda sid: fleet.put_state(app, sid, realistic_state(sid, serial)), sids))


def _backup_objects(app: Any) -> set[str]:
    """Keys of every state backup object in the backup bucket (one listing, 1,000 keys a page)."""
    return {o.key for o in app.store.list("state/") if "/backup." in o.key}


def _new_per_server(before: set[str], after: set[str]) -> Counter[str]:
    """Backup objects written since ``before``, per server (``state/{server}/{workspace}/backup.{id}...``)."""
    return Counter(key.split("/")[1] for key in after - before)


def run() -> Report:
    from tests.support.fleet import aws_fleet, server_ids
    from tests.support.procs import moto_server

    report = Report(f"scheduled runs: {SERVERS:,} servers on moto ({int(PREMIUM_SHARE * 100)}% premium), "
                    f"task processes with --concurrency {CONCURRENCY}",
                    ["window", "tasks/tier", "changed", "wall", "servers/s per task", "requests/server",
                     "requests/unchanged", "requests/changed", "task CPU/server", "moto busy", "duplicates"])
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        os.environ[key] = value
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        fleet = aws_fleet(Path(tmp), endpoint)
        moto = _moto_pid(endpoint)
        app = fleet.app()
        sids = server_ids(SERVERS)
        premium = int(SERVERS * PREMIUM_SHARE)
        tiers = {sid: ("premium" if i < premium else "free") for i, sid in enumerate(sids)}
        t0 = time.perf_counter()
        fleet.register_many(app, tiers, workers=32)
        registered = time.perf_counter() - t0

        base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=4)
        windows = [(base + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(4)]
        names = [(base + timedelta(hours=i)).strftime("%Y%m%dT%H%MZ") for i in range(4)]
        step = max(1, int(1 / CHANGED_SHARE))
        changed_sets = [list(sids), sids[0::step], sids[1::step], []]
        results = []
        unchanged_cost: float | None = None
        objects = _backup_objects(app)
        for i, (window, changed) in enumerate(zip(windows, changed_sets, strict=True)):
            if 0 < i < 3:
                _change(fleet, app, changed, serial=i + 1)
            tasks = 1 if i in (1, 3) else 2
            moto_before = _cpu_of(moto)
            wall, cpu, reports = _window(fleet, window, tasks)
            moto_busy = (_cpu_of(moto) - moto_before) / wall
            listed = _backup_objects(app)
            written = _new_per_server(objects, listed)
            objects = listed
            requests = _requests(reports)
            total = sum(requests.values())
            rates = [_handled(r) / max(r["duration_ms"] / 1000, 1e-9) for r in reports]
            n_changed = len(changed)
            per_server = total / SERVERS
            if n_changed == 0:
                unchanged_cost = per_server
            dup = sum(n - 1 for n in written.values())
            results.append((window, tasks, n_changed, wall, rates, requests, per_server, cpu, moto_busy, dup,
                            len(written)))
            print(f"   window {i + 1}: {tasks} task(s)/tier, {n_changed} changed, {wall:.0f} s, rates "
                  f"{[round(r) for r in rates]}, {per_server:.2f} requests/server, {cpu / SERVERS * 1000:.1f} ms "
                  f"CPU/server, moto {moto_busy:.0%}, {len(written)} servers backed up, {dup} duplicates; "
                  f"requests {dict(sorted(requests.items()))}", file=sys.stderr, flush=True)

        changed_cost_first = sum(results[0][5].values()) / SERVERS
        for (_w, tasks, n_changed, wall, rates, requests, per_server, cpu, busy, dup, made), name in zip(
                results, names, strict=True):
            assert made == n_changed, f"window {name}: {made} servers backed up, {n_changed} changed"
            unchanged = unchanged_cost if unchanged_cost is not None else float("nan")
            per_changed = ((sum(requests.values()) - (SERVERS - n_changed) * unchanged) / n_changed
                           if n_changed else float("nan"))
            report.rows.append([
                name, tasks, f"{n_changed:,}", f"{wall:.0f} s",
                " / ".join(f"{r:.0f}" for r in rates), f"{per_server:.2f}",
                f"{unchanged:.2f}" if n_changed < SERVERS else "-",
                f"{per_changed:.2f}" if n_changed else "-", f"{cpu / SERVERS * 1000:.1f} ms",
                f"{busy:.0%}" if moto else "-", dup])
        steady = results[1]
        report.notes += [
            f"registering {SERVERS:,} servers (state, tier item, schedule item and document each): {registered:.0f} s",
            "rates per task are listed free task(s) first, then premium; a task's rate is the servers it backed up "
            "or found unchanged over its run time (process start-up excluded)",
            f"one task, 10% changed: {' / '.join(f'{r:.0f}' for r in steady[4])} servers/s "
            f"(target >= {TARGET_RATE:.0f}); unchanged server: {unchanged_cost:.2f} requests "
            f"(target <= {TARGET_UNCHANGED:.0f}); a new or changed server: {changed_cost_first:.2f} requests",
            "requests by operation, window 2 (one task): "
            + ", ".join(f"{k} {v}" for k, v in sorted(steady[5].items())),
            "requests by operation, window 3 (two tasks): "
            + ", ".join(f"{k} {v}" for k, v in sorted(results[2][5].items())),
            "duplicates: backup objects of one server written in one window beyond the first (from listings of "
            "the backup bucket before and after the window)",
            "moto busy: the moto server's CPU time over the window's wall time; moto applies one request at a "
            "time (tests/support/moto_atomic.py), so near 100% it, not the tasks, sets the pace",
        ]
    return report
