"""Apply at the latency floor: sietch and a maximum-size guild against Discord's measured limits.

The emulator runs the ``discord`` profile (long per-guild windows, channel buckets, the global limit;
:mod:`gaib.emulator.ratelimit`) with 150 ms of latency on every request, as a real network adds.
gaib runs as a subprocess (``python -m gaib server apply --auto-approve --json``) in a temporary
project. Each configuration is applied to an empty guild twice — concurrently (the default) and
strictly one request at a time (``GAIB_DISCORD_CONCURRENCY=1``) — and then re-applied unchanged.
Requests, 429s and invalid requests are counted from the emulator's log and stats.

* sietch: the built-in theme (roles, private categories with overwrites, channels).
* maximum guild: 249 roles (the guild's 250 with @everyone; the whole 48-hour role budget but one),
  10 categories with 49 channels each (500 channels, the whole 24-hour channel budget), overwrites on
  every category and on every channel.

Lower bound of requests: the 2 reads of the guild (the guild object with its roles, and the
channels), one create per object, and one role-position request (channels are created at their final
positions, so no channel-position request is needed on an empty guild). Targets (issues 14 and 25):
sietch ≤ 2 s; maximum guild ≤ 16 s (the global limit's floor, requests / 50 per second, is 15.0 s)
with 0 invalid requests; requests / lower bound = 1.00; an unchanged re-apply only reads. The
original TypeScript Gaib waited 10 s between creates, so its time is estimated as objects × 10 s.

Under load (issue 25): 20 consecutive sietch applies at 0 ms latency, each followed by a destroy, in
one project, while a busy loop runs on every core; before each apply the guild's long windows are
refreshed (``POST /_emulator/caps``: as if each apply went to a guild of its own; 20 × 14 role
creates would pass the guild's 250 per 48 h), while the global limit per bot token carries over from
run to run. Target: 0 × 429.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.discord.control import set_latency, spend_caps
from tests.support.emulator import EmulatorHandle, running_emulator

from bench.common import Report

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 150
TS_SECONDS_PER_CREATE = 10.0
GUILD_READS = 2  # GET guild (with its roles), GET channels
CREATE_ROUTES = ("POST /guilds/{guild_id}/roles", "POST /guilds/{guild_id}/channels")
SIETCH_TARGET = 2.0
MAX_GUILD_TARGET = 16.0
GLOBAL_PER_SECOND = 50  # Discord's global limit per bot token
LOADED_APPLIES = int(os.environ.get("GAIB_BENCH_LOADED_APPLIES", "20"))  # fewer for a quick look
SIETCH_CONFIG = 'version: "1.0"\ntheme:\n  name: sietch\n'


@dataclass
class Run:
    seconds: float
    created: int
    requests: list[dict[str, Any]]
    stats: dict[str, Any]

    def count(self, *routes: str) -> int:
        return sum(1 for r in self.requests if f"{r['method']} {r['route']}" in routes)

    @property
    def reads(self) -> int:
        return sum(1 for r in self.requests if r["method"] == "GET")

    @property
    def rate_limited(self) -> int:
        return sum(1 for r in self.requests if r["status"] == 429)

    @property
    def lower_bound(self) -> int:
        roles = self.count("POST /guilds/{guild_id}/roles")
        return GUILD_READS + self.created + (1 if roles else 0)


def max_guild_config() -> str:
    """249 roles, 10 categories × 49 channels, overwrites on every category and channel."""
    lines = ['version: "1.0"', "roles:"]
    roles = [f"Role {i:03d}" for i in range(1, 250)]
    for i, name in enumerate(roles):
        lines.append(f"  - name: {name}")
        lines.append(f'    color: "#{(i * 7919) % 0xFFFFFF:06x}"')
        lines.append("    permissions: [VIEW_CHANNEL, SEND_MESSAGES]")
    lines.append("categories:")
    for c in range(10):
        lines.append(f"  - name: Zone {c:02d}")
        lines.append("    permissions:")
        lines.append('      "@everyone": {deny: [VIEW_CHANNEL]}')
        lines.append(f'      "{roles[c]}": {{allow: [VIEW_CHANNEL]}}')
    lines.append("channels:")
    for c in range(10):
        for n in range(49):
            lines.append(f"  - name: zone-{c:02d}-room-{n:02d}")
            lines.append(f"    category: Zone {c:02d}")
            if n % 7 == 0:
                lines.append(f'    topic: "Room {n} of zone {c}"')
            lines.append("    permissions:")
            lines.append(f'      "{roles[(c * 49 + n) % 249]}": {{allow: [SEND_MESSAGES]}}')
            lines.append(f'      "{roles[(c * 49 + n + 1) % 249]}": {{deny: [SEND_MESSAGES]}}')
    return "\n".join(lines) + "\n"


def _apply(project: Path, emu: EmulatorHandle, *, sequential: bool = False, command: str = "apply") -> Run:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))},
           "DISCORD_BOT_TOKEN": emu.token, "DISCORD_GUILD_ID": emu.guild_id, "GAIB_DISCORD_API_URL": emu.base_url,
           "PYTHONPATH": str(ROOT / "src"), "HOME": str(project)}
    if sequential:
        env["GAIB_DISCORD_CONCURRENCY"] = "1"
    seen = len(emu.requests())
    before = emu.stats()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gaib", "server", command, "--auto-approve", "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"gaib server {command} exited {done.returncode}: {done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    result = json.loads(done.stdout)["data"].get("result") or {}
    after = emu.stats()
    stats = {k: after[k] - before.get(k, 0) for k in ("requests", "rate_limited", "invalid_requests")}
    return Run(seconds, len(result.get("created", [])), emu.requests()[seen:], stats)


def _fresh_project(tmp: Path, name: str, config: str) -> Path:
    project = tmp / name
    project.mkdir()
    (project / "discord-server.yaml").write_text(config)
    return project


def _scenario(tmp: Path, emu: EmulatorHandle, name: str, config: str) -> tuple[Run, Run, Run]:
    """(concurrent apply, unchanged re-apply, sequential apply), each first apply on an empty guild."""
    emu.reset()
    first = _apply(_fresh_project(tmp, f"{name}-concurrent", config), emu)
    again = _apply(tmp / f"{name}-concurrent", emu)
    emu.reset()
    sequential = _apply(_fresh_project(tmp, f"{name}-sequential", config), emu, sequential=True)
    return first, again, sequential


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


@contextlib.contextmanager
def busy_cores() -> Iterator[int]:
    """A busy loop per core (separate processes) for the block; yields how many were started."""
    n = os.cpu_count() or 1
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield n
    finally:
        for p in loops:
            p.kill()
        for p in loops:
            p.wait()


@dataclass
class Loaded:
    cores: int
    applies: list[Run]
    destroys: list[Run]

    @property
    def applies_429(self) -> int:
        return sum(r.rate_limited for r in self.applies)

    @property
    def destroys_429(self) -> int:
        return sum(r.rate_limited for r in self.destroys)


def loaded_applies(tmp: Path, n: int = LOADED_APPLIES) -> Loaded:
    """``n`` sietch apply + destroy cycles in one project at 0 ms latency, every core busy."""
    project = _fresh_project(tmp, "loaded", SIETCH_CONFIG)
    applies: list[Run] = []
    destroys: list[Run] = []
    with running_emulator(args=("--rate-limits", "discord")) as emu, busy_cores() as cores:
        for _ in range(n):
            spend_caps(emu, role_creates=0, channel_creates=0)  # a guild of its own for its long windows
            applies.append(_apply(project, emu))
            destroys.append(_apply(project, emu, command="destroy"))
    return Loaded(cores, applies, destroys)


def run() -> Report:
    with tempfile.TemporaryDirectory(prefix="gaib-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with running_emulator(args=("--rate-limits", "discord", "--latency-ms", str(LATENCY_MS))) as emu:
            set_latency(emu, LATENCY_MS)
            sietch = _scenario(tmp, emu, "sietch", SIETCH_CONFIG)
            biggest = _scenario(tmp, emu, "max", max_guild_config())
        loaded = loaded_applies(tmp)

    report = Report(f"apply at the latency floor ({LATENCY_MS} ms per request, Discord's measured limits)",
                    ["metric", "sietch", "maximum guild", "target", "met"])
    rows = report.rows
    (s1, s2, s3), (m1, m2, m3) = sietch, biggest
    rows.append(["objects created", s1.created, m1.created, "", ""])
    rows.append(["requests / lower bound", f"{len(s1.requests)} / {s1.lower_bound} = "
                 f"{len(s1.requests) / s1.lower_bound:.2f}", f"{len(m1.requests)} / {m1.lower_bound} = "
                 f"{len(m1.requests) / m1.lower_bound:.2f}", "1.00",
                 _yes(len(s1.requests) == s1.lower_bound and len(m1.requests) == m1.lower_bound)])
    rows.append(["  creates (POST)", s1.count(*CREATE_ROUTES), m1.count(*CREATE_ROUTES), "= objects",
                 _yes(s1.count(*CREATE_ROUTES) == s1.created and m1.count(*CREATE_ROUTES) == m1.created)])
    rows.append(["429s received", s1.rate_limited, m1.rate_limited, "0",
                 _yes(s1.rate_limited == 0 and m1.rate_limited == 0)])
    rows.append(["invalid requests (401/403/429)", s1.stats["invalid_requests"], m1.stats["invalid_requests"], "0",
                 _yes(s1.stats["invalid_requests"] == 0 and m1.stats["invalid_requests"] == 0)])
    rows.append(["wall time, concurrent", f"{s1.seconds:.2f} s", f"{m1.seconds:.2f} s",
                 f"<= {SIETCH_TARGET:.0f} s / <= {MAX_GUILD_TARGET:.0f} s",
                 _yes(s1.seconds <= SIETCH_TARGET and m1.seconds <= MAX_GUILD_TARGET)])
    floor = m1.lower_bound / GLOBAL_PER_SECOND
    rows.append([f"  floor: requests / {GLOBAL_PER_SECOND} per s", f"{len(s1.requests) / GLOBAL_PER_SECOND:.2f} s",
                 f"{floor:.2f} s", "", ""])
    rows.append(["  wall time / floor", "", f"{m1.seconds / floor:.2f}", "", ""])
    rows.append(["wall time, one request at a time", f"{s3.seconds:.2f} s", f"{m3.seconds:.2f} s", "", ""])
    rows.append(["ratio sequential / concurrent", f"{s3.seconds / s1.seconds:.1f}x", f"{m3.seconds / m1.seconds:.1f}x",
                 "", ""])
    rows.append(["re-apply unchanged: requests (all reads)", f"{len(s2.requests)} ({s2.reads} GET)",
                 f"{len(m2.requests)} ({m2.reads} GET)", f"{GUILD_READS} GET",
                 _yes(len(s2.requests) == s2.reads == GUILD_READS and len(m2.requests) == m2.reads == GUILD_READS)])
    rows.append(["re-apply unchanged: wall time", f"{s2.seconds:.2f} s", f"{m2.seconds:.2f} s", "", ""])
    n = len(loaded.applies)
    rows.append([f"{n} applies at 0 ms, {loaded.cores} cores busy: 429s", loaded.applies_429, "", "0",
                 _yes(loaded.applies_429 == 0)])
    rows.append([f"  and the {n} destroys between them: 429s", loaded.destroys_429, "", "0",
                 _yes(loaded.destroys_429 == 0)])
    rows.append(["  apply wall time under load, median (min-max)",
                 f"{statistics.median(r.seconds for r in loaded.applies):.2f} s "
                 f"({min(r.seconds for r in loaded.applies):.2f}-{max(r.seconds for r in loaded.applies):.2f})",
                 "", "", ""])
    rows.append([f"TypeScript Gaib (objects x {TS_SECONDS_PER_CREATE:.0f} s)",
                 f"{s1.created * TS_SECONDS_PER_CREATE:.0f} s", f"{m1.created * TS_SECONDS_PER_CREATE:.0f} s", "", ""])
    for label, first in (("sietch", s1), ("maximum guild", m1)):
        routes = Counter(f"{r['method']} {r['route']}" for r in first.requests)
        report.notes.append(f"{label}, requests by route: "
                            + ", ".join(f"{route} {n}" for route, n in sorted(routes.items())))
    report.notes.append(f"sequential runs: GAIB_DISCORD_CONCURRENCY=1 ({len(s3.requests)} and {len(m3.requests)} "
                        "requests); wall times include starting the gaib process (python -m gaib)")
    report.notes.append("the global limit (50 requests/s per bot) bounds the maximum guild: "
                        f"{m1.lower_bound} requests need at least {m1.lower_bound / 50:.1f} s")
    return report
