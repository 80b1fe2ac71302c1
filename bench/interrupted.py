"""Reliability of the commands that create Discord objects when they are SIGKILLed: ``snapshot restore --apply
--messages`` and ``theme rollback`` (bench/reliability.py runs these trials; ``--only restore,rollback``
runs just them).

Every trial starts from the same damage, runs the command as a real process against the emulator (30 ms
of latency, as in issue 21's report), kills it at a random moment — half the restore trials right after
a random message of the replay, when the next one may be in flight — then runs the recovery a person
would (the same restore; a rollback ``--to`` the deployment the killed one was going to) and checks
what that person would:

- duplicates: a role name, or a channel's (parent, name, type), twice; a saved message twice;
- missing messages: a saved message not in its channel (order is checked too);
- inconsistent states: a recovery that does not exit 0, a plan that is not empty afterwards, a state id
  Discord does not have, a "Gaib restore" webhook left in a channel, a ban not put back, or journal
  entries left after a recovery that finished.

A kill "landed" when the killed process had not finished its command.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.recovery import Project, Servers, make_project

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 30
HISTORY = {"rules": [f"rule {i}" for i in range(1, 5)],
           "chat": ["hello", "hello", "welcome!", "hello 3", "see you", "hello 8", "bye", "hello"]}
BANNED = ("700000000000000001", "700000000000000002")
RAID_CONFIG = """version: "1.0"
server:
  name: Test
roles:
  - name: Admin
    color: "#ff0000"
    hoist: true
  - name: Member
categories:
  - name: Info
  - name: Voice
channels:
  - name: rules
    category: Info
    topic: Read me
  - name: chat
    category: Info
    slowmode: 5
  - name: lounge
    type: voice
    category: Voice
"""
SIETCH = 'version: "1.0"\ntheme:\n  name: sietch\n'
# Nothing in common with the sietch theme: going back and forth creates and deletes, and never edits a
# channel's name or topic (Discord allows 2 such edits per channel per 10 minutes, which runs would wait for).
SMALL = 'version: "1.0"\nroles:\n  - name: Bench Role\ncategories:\n  - name: Bench\nchannels:\n' \
        '  - name: bench-one\n    category: Bench\n  - name: bench-two\n'

DRIVER = r"""
import io, json, os, sys
from pathlib import Path
from gaib.cli.app import main
from gaib.cli.context import Env
cwd, args = Path(sys.argv[1]), json.loads(sys.argv[2])

def run(*a):
    out = io.StringIO()
    code = main(["server", *a, "--json"], env=Env(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(),
                                                  environ=dict(os.environ), cwd=cwd, stdin_is_tty=False))
    return code

run("tier", "show")  # every module loaded before "ready"
print("ready", flush=True)
print(json.dumps({"code": run(*args)}), flush=True)
"""


@dataclass
class Outcome:
    """One operation's figures."""

    operation: str
    storage: str
    trials: int = 0
    kills: int = 0
    mid_replay: int = 0
    duplicates: int = 0
    missing: int = 0
    inconsistent: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def bad(self, what: str, kind: str = "inconsistent") -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        text = " ".join(what.split())[:300]
        print(f"  {self.operation} ({self.storage}) trial {self.trials}: {kind}: {text}", file=sys.stderr, flush=True)
        if len(self.examples) < 3:
            self.examples.append(text)

    def progress(self) -> None:
        """One line per 10 trials on stderr, so a long run shows where it is."""
        if self.trials % 10 == 0:
            print(f"  {self.operation} ({self.storage}): {self.trials} trials, {self.kills} kills landed, "
                  f"{self.duplicates} duplicates, {self.missing} missing, {self.inconsistent} inconsistent",
                  file=sys.stderr, flush=True)


class Guild:
    """The emulated guild as a person checks it (bot API and control routes)."""

    def __init__(self, emu: Any) -> None:
        import httpx

        self.emu = emu
        self.http = httpx.Client(base_url=emu.base_url, headers=emu.auth_headers(), timeout=30)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        r = self.http.request(method, path, json=body)
        r.raise_for_status()
        return r.json() if r.content else None

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self("GET", f"/guilds/{self.emu.guild_id}/channels")
        return result

    def roles(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self("GET", f"/guilds/{self.emu.guild_id}/roles")
        return result

    def channel(self, name: str) -> dict[str, Any]:
        return next(c for c in self.channels() if c["name"] == name)

    def posts(self) -> int:
        return int(self.emu.stats()["by_route"].get("POST /webhooks/{webhook_id}/{webhook_token}", 0))


def _kill(p: Project, args: list[str], wait: Callable[[subprocess.Popen[str]], None]) -> bool:
    """Run ``gaib server ARGS`` as a process and SIGKILL it when ``wait`` returns; True when the kill
    landed before the command finished."""
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(p.cwd), json.dumps(args)], env=p.child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"the driver did not start: {proc.communicate()[1][-300:]}")
    try:
        wait(proc)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    _release_dead_lock(p, proc.pid)
    return '"code"' not in out


def _release_dead_lock(p: Project, dead_pid: int) -> None:
    """The documented recovery for the lock a killed run held: the local folder's is taken over by the next
    run; the S3/DynamoDB one is released with ``unlock`` (only when the killed process holds it)."""
    if "GAIB_S3_BUCKET" not in p.environ:
        return
    code, doc = p("locks")
    if code == 0 and doc["data"]["locked"] and f"(pid {dead_pid})" in doc["data"]["lock"]["Who"]:
        p("unlock", "--yes")


def _next_days(p: Project, g: Guild) -> None:
    """Two days pass for the emulator, and the project forgets what it learned of Discord's limits: the
    trials create far more than Discord's 500 channels a day, which no single recovery would meet."""
    g.emu.control("POST", "/clock", {"advance": 2 * 86_400})
    (p.cwd / ".gaib" / "discord-limits.json").unlink(missing_ok=True)


def _structure(g: Guild, o: Outcome) -> None:
    dup_roles = [n for n, k in Counter(r["name"] for r in g.roles()).items() if k > 1]
    dup_chans = [n for n, k in Counter((c.get("parent_id"), c["name"], c["type"]) for c in g.channels()).items()
                 if k > 1]
    for what in dup_roles + dup_chans:
        o.bad(f"duplicated Discord object {what}", "duplicates")


def _consistent(p: Project, g: Guild, o: Outcome) -> None:
    """After a recovery: no state id missing from Discord, an empty plan, no journal of creates left."""
    code, state = p("state", "ls")
    live = {r["id"] for r in g.roles()} | {c["id"] for c in g.channels()}
    if code != 0 or {r["id"] for r in state["data"]["resources"]} - live:
        o.bad("the state holds ids Discord does not have after the recovery")
    code, plan = p("plan")
    if code != 0 or not plan["data"]["empty"]:
        o.bad(f"plan not empty after the recovery: {json.dumps(plan)[:200]}")
    left = _journal_of_creates(p)
    if left:
        o.bad(f"journal entries left after a finished recovery: {left}")


def _journal_of_creates(p: Project) -> list[str]:
    from gaib.cli.context import Env
    from gaib.clock import utc_now
    from gaib.settings import Settings
    from gaib.wiring import App

    with App(Settings.resolve(Env(environ=p.environ, cwd=p.cwd)), clock=utc_now) as app:
        prefix = f"metadata/{app.settings.require_guild()}/journal/"
        return [o.key.rsplit("/", 1)[1] for o in app.store.list(prefix) if "/creates/" in o.key]


# --- snapshot restore --apply --messages ---------------------------------------------------------------------


def _seed(p: Project, g: Guild) -> str:
    (p.cwd / "discord-server.yaml").write_text(RAID_CONFIG)
    if p("apply", "--auto-approve")[0] != 0:
        raise RuntimeError("the first apply failed")
    for name, texts in HISTORY.items():
        g.emu.control("POST", f"/channels/{g.channel(name)['id']}/messages", [
            {"author": {"id": str(800000000000000001 + i % 3), "username": f"member{i % 3}",
                        "global_name": f"Member {i % 3}"}, "content": t} for i, t in enumerate(texts)])
    g.emu.control("POST", "/bans", [{"user": {"id": u, "username": f"u{u[-1]}"}, "reason": "raid"} for u in BANNED])
    code, made = p("snapshot", "create", "--messages", "50")
    if code != 0:
        raise RuntimeError(f"snapshot create failed: {made}")
    return str(made["data"]["id"])


def _raid(g: Guild) -> None:
    """Delete the channels with history, the Admin role and the bans (whatever of them is there)."""
    for ch in g.channels():
        if ch["name"] in HISTORY:
            g("DELETE", f"/channels/{ch['id']}")
    for role in g.roles():
        if role["name"] == "Admin":
            g("DELETE", f"/guilds/{g.emu.guild_id}/roles/{role['id']}")
    banned = {b["user"]["id"] for b in g("GET", f"/guilds/{g.emu.guild_id}/bans")}
    for u in set(BANNED) & banned:
        g("DELETE", f"/guilds/{g.emu.guild_id}/bans/{u}")


def _check_messages(g: Guild, o: Outcome) -> None:
    chans = g.channels()
    for name, texts in HISTORY.items():
        for ch in [c for c in chans if c["name"] == name]:
            history = [m["content"] for m in reversed(g("GET", f"/channels/{ch['id']}/messages?limit=100"))]
            want, have = Counter(texts), Counter(history)
            extra, lacking = sum((have - want).values()), sum((want - have).values())
            for _ in range(extra):
                o.bad(f"#{name}: a message twice: {history}", "duplicates")
            for _ in range(lacking):
                o.bad(f"#{name}: a message missing: {history}", "missing")
            if not extra and not lacking and history != texts:
                o.bad(f"#{name}: messages out of order: {history}")
    for ch in chans:
        if ch["type"] == 0 and g("GET", f"/channels/{ch['id']}/webhooks"):
            o.bad(f"a webhook left in #{ch['name']}")
    bans = {b["user"]["id"] for b in g("GET", f"/guilds/{g.emu.guild_id}/bans")}
    if set(BANNED) - bans:
        o.bad("a ban was not put back")


def restore_trials(servers: Servers, tmp: Path, storage: str, trials: int, rng: random.Random) -> Outcome:
    o = Outcome("snapshot restore --apply --messages", storage)
    started = time.monotonic()
    servers.emulator.reset()
    p = make_project(servers, tmp, storage, discord=True)
    g = Guild(servers.emulator)
    snapshot_id = _seed(p, g)
    args = ["snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes"]
    _raid(g)
    t0 = time.monotonic()
    _kill(p, args, lambda proc: proc.wait(timeout=300))  # one whole run sizes the window
    window = 0.8 * (time.monotonic() - t0)  # the first run is the slowest (cold caches)
    for i in range(trials):
        _next_days(p, g)
        _raid(g)
        before = g.posts()
        if i % 2:
            landed = _kill(p, args, lambda proc: time.sleep(rng.uniform(0.0, window)))
        else:
            count = rng.randint(1, sum(len(t) for t in HISTORY.values()) - 1)

            def after_messages(proc: subprocess.Popen[str], count: int = count, before: int = before) -> None:
                deadline = time.monotonic() + 60
                while g.posts() - before < count and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.005)

            landed = _kill(p, args, after_messages)
        o.trials += 1
        o.kills += landed
        o.mid_replay += landed and 0 < g.posts() - before < sum(len(t) for t in HISTORY.values())
        code, done = p(*args)
        if code != 0:
            o.bad(f"the recovery restore exited {code}: {json.dumps(done)[:300]}")
        _structure(g, o)
        _check_messages(g, o)
        _consistent(p, g, o)
        o.progress()
    o.seconds = time.monotonic() - started
    return o


# --- theme rollback ------------------------------------------------------------------------------------------


def _deploy(p: Project, text: str) -> str:
    (p.cwd / "discord-server.yaml").write_text(text)
    code, done = p("apply", "--auto-approve")
    if code != 0 or done["data"].get("deployment") is None:
        raise RuntimeError(f"apply failed: {json.dumps(done)[:300]}")
    return str(done["data"]["deployment"]["id"])


def rollback_trials(servers: Servers, tmp: Path, storage: str, trials: int, rng: random.Random) -> Outcome:
    """From the small config back to the sietch theme (many creates, a few deletes), killed at random."""
    o = Outcome("theme rollback", storage)
    started = time.monotonic()
    servers.emulator.reset()
    p = make_project(servers, tmp, storage, discord=True)
    g = Guild(servers.emulator)
    target = _deploy(p, SIETCH)
    _deploy(p, SMALL)
    t0 = time.monotonic()
    _kill(p, ["theme", "rollback", "--steps", "1", "--yes"], lambda proc: proc.wait(timeout=300))
    window = 0.8 * (time.monotonic() - t0)  # the first run is the slowest (cold caches)
    for _ in range(trials):
        _next_days(p, g)
        try:
            _deploy(p, SMALL)
        except RuntimeError as exc:  # not the rollback's doing, but it stops the trials: count it
            o.bad(f"could not deploy the small config for the next trial: {exc}")
            break
        landed = _kill(p, ["theme", "rollback", "--to", target, "--yes"],
                       lambda proc: time.sleep(rng.uniform(0.0, window)))
        o.trials += 1
        o.kills += landed
        code, done = p("theme", "rollback", "--to", target, "--yes")
        if code != 0:
            o.bad(f"the recovery rollback exited {code}: {json.dumps(done)[:200]}")
        _structure(g, o)
        _consistent(p, g, o)
        o.progress()
    o.seconds = time.monotonic() - started
    return o


@contextmanager
def latency_emulator(servers: Servers) -> Iterator[Servers]:
    """``servers`` with an emulator of its own that answers after 30 ms (rate limits off)."""
    from tests.support.emulator import running_emulator

    with running_emulator(args=("--rate-limits", "off", "--latency-ms", str(LATENCY_MS)),
                          guild_name="Reliability Guild") as emu:
        yield Servers(moto=servers.moto, emulator=emu)


OPERATIONS: dict[str, Callable[[Servers, Path, str, int, random.Random], Outcome]] = {
    "restore": restore_trials, "rollback": rollback_trials}
