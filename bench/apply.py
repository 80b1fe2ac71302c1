"""Applying the built-in ``sietch`` theme to an empty guild, then re-applying it unchanged.

The emulator runs with Discord-like rate limits (``--rate-limits discord``); gaib runs as a
subprocess (``python -m gaib server apply --auto-approve``) in a temporary project whose config is
``theme: {name: sietch}``. Requests are counted from the emulator's request log.

Targets (issue 3): requests = objects created + at most one position request per kind + the 3 reads
of the guild; no 429; an unchanged re-apply only reads; under 30 s. The original TypeScript Gaib
waited 10 s between creates, so its time is estimated as objects x 10 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.emulator import EmulatorHandle, running_emulator

from bench.common import Report

ROOT = Path(__file__).resolve().parent.parent
TS_SECONDS_PER_CREATE = 10.0
TARGET_SECONDS = 30.0
GUILD_READS = 3  # GET guild, roles, channels
CREATE_ROUTES = ("POST /guilds/{guild_id}/roles", "POST /guilds/{guild_id}/channels")
POSITION_ROUTES = {"role": "PATCH /guilds/{guild_id}/roles", "channel": "PATCH /guilds/{guild_id}/channels"}


@dataclass
class Run:
    seconds: float
    created: int
    requests: list[dict[str, Any]]

    def count(self, *routes: str) -> int:
        return sum(1 for r in self.requests if f"{r['method']} {r['route']}" in routes)

    @property
    def reads(self) -> int:
        return sum(1 for r in self.requests if r["method"] == "GET")

    @property
    def rate_limited(self) -> int:
        return sum(1 for r in self.requests if r["status"] == 429)

    @property
    def other_writes(self) -> int:
        known = {*CREATE_ROUTES, *POSITION_ROUTES.values()}
        return sum(1 for r in self.requests
                   if r["method"] != "GET" and f"{r['method']} {r['route']}" not in known)


def _apply(project: Path, emu: EmulatorHandle) -> Run:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))},
           "DISCORD_BOT_TOKEN": emu.token, "DISCORD_GUILD_ID": emu.guild_id, "GAIB_DISCORD_API_URL": emu.base_url,
           "PYTHONPATH": str(ROOT / "src"), "HOME": str(project)}
    seen = len(emu.requests())
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gaib", "server", "apply", "--auto-approve", "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"gaib server apply exited {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    result = json.loads(done.stdout)["data"]["result"] or {}
    return Run(seconds, len(result.get("created", [])), emu.requests()[seen:])


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def run() -> Report:
    with tempfile.TemporaryDirectory(prefix="gaib-bench-") as tmp, \
            running_emulator(args=("--rate-limits", "discord")) as emu:
        project = Path(tmp)
        (project / "discord-server.yaml").write_text('version: "1.0"\ntheme:\n  name: sietch\n')
        first = _apply(project, emu)
        again = _apply(project, emu)
        routes = Counter(f"{r['method']} {r['route']}" for r in first.requests)

    objects = first.created
    budget = objects + len(POSITION_ROUTES) + GUILD_READS
    ts_seconds = objects * TS_SECONDS_PER_CREATE
    report = Report("apply the sietch theme (emulator with Discord rate limits)",
                    ["metric", "apply (empty guild)", "re-apply (unchanged)", "target", "met"])
    rows = report.rows
    rows.append(["objects created", objects, again.created, "", ""])
    rows.append(["API requests (total)", len(first.requests), len(again.requests),
                 f"<= {budget} / {GUILD_READS} reads",
                 _yes(len(first.requests) <= budget and len(again.requests) == again.reads)])
    rows.append(["  creates (POST)", first.count(*CREATE_ROUTES), again.count(*CREATE_ROUTES), f"= {objects} / 0",
                 _yes(first.count(*CREATE_ROUTES) == objects and again.count(*CREATE_ROUTES) == 0)])
    for kind, route in POSITION_ROUTES.items():
        rows.append([f"  {kind} position requests", first.count(route), again.count(route), "<= 1 / 0",
                     _yes(first.count(route) <= 1 and again.count(route) == 0)])
    rows.append(["  other writes", first.other_writes, again.other_writes, "0 / 0",
                 _yes(first.other_writes == 0 and again.other_writes == 0)])
    rows.append(["  reads (GET)", first.reads, again.reads, f"{GUILD_READS} / {GUILD_READS}",
                 _yes(first.reads == GUILD_READS and again.reads == GUILD_READS)])
    rows.append(["429s received", first.rate_limited, again.rate_limited, "0 / 0",
                 _yes(first.rate_limited == 0 and again.rate_limited == 0)])
    rows.append(["wall time", f"{first.seconds:.2f} s", f"{again.seconds:.2f} s", f"< {TARGET_SECONDS:.0f} s",
                 _yes(first.seconds < TARGET_SECONDS and again.seconds < TARGET_SECONDS)])
    rows.append([f"TypeScript Gaib (objects x {TS_SECONDS_PER_CREATE:.0f} s)", f"{ts_seconds:.0f} s", "", "", ""])
    rows.append(["speed-up vs TypeScript Gaib", f"{ts_seconds / first.seconds:.0f}x", "", "", ""])
    report.notes.append("requests by route, first apply: "
                        + ", ".join(f"{route} {n}" for route, n in sorted(routes.items())))
    report.notes.append("wall time includes starting the gaib process (python -m gaib)")
    return report
