"""``snapshot restore --apply --messages`` cut off anywhere, or answered unreliably, still converges exactly
once: no channel or role twice, every saved message in its channel once and in order, no "Gaib restore"
webhook left behind, an empty plan afterwards, and the re-run says how much was already in place.

The raid deletes two channels with history and a role; the restore runs as a real process against the
emulator (30 ms of latency), SIGKILLed at a random moment (planning, the pre-restore snapshot, the
creates, the replay or the bookkeeping), then runs again to the end. Unreliable answers are the
emulator's ``drop-after`` fault on 20 % of the requests: Discord does the work and the answer is lost.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.snapshots.community import Community, author
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.raid_config import CONFIG

ROOT = Path(__file__).resolve().parents[2]
TIME_BUDGET = {"local": 35.0, "aws": 45.0}
HISTORY = {"rules": [f"rule {i}" for i in range(1, 5)],
           "chat": ["hello", "hello", "welcome!", "hello 3", "see you", "hello 8", "bye", "hello"]}
DRIVER = textwrap.dedent("""
    import io, json, os, sys
    from pathlib import Path
    from gaib.cli.app import main
    from gaib.cli.context import Env

    cwd, snapshot_id = Path(sys.argv[1]), sys.argv[2]

    def run(*args):
        out = io.StringIO()
        code = main([*args, "--json"], env=Env(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(),
                                               environ=dict(os.environ), cwd=cwd, stdin_is_tty=False))
        return code, out.getvalue()

    run("server", "tier", "show")  # warm up: every module loaded before "ready"
    print("ready", flush=True)
    code, out = run("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes")
    print(json.dumps({"code": code}), flush=True)
""")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    """The guild answers after 30 ms, as in the report this reproduces (rate limits off)."""
    with running_emulator(args=("--rate-limits", "off", "--latency-ms", "30")) as emu:
        yield emu


@pytest.fixture
def discord(guild: EmulatorHandle) -> Iterator[Community]:
    yield Community(guild)
    guild.set_faults()


def _prepare(snap: CliRunner, c: Community) -> str:
    """The server with history and bans, a snapshot of it (its id), and the tier that keeps 50 messages."""
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    for name, texts in HISTORY.items():
        c.seed(c.channel(name)["id"], [{"author": author(1 + i % 3), "content": t} for i, t in enumerate(texts)])
    for uid in ("700000000000000001", "700000000000000002"):
        c.ban(uid, "raid")
    made = snap("server", "snapshot", "create", "--messages", "50", "--json")
    assert made.exit_code == 0, made.stdout
    return str(made.data["id"])


def _raid(c: Community) -> None:
    for name in HISTORY:
        c.delete_channel(c.channel(name)["id"])
    c.delete_role(c.role("Admin")["id"])
    for uid in ("700000000000000001", "700000000000000002"):
        c.unban(uid)


def _converged(snap: CliRunner, c: Community) -> dict[str, int]:
    """Check what a person would after the restore; returns the messages per channel."""
    channels = c.channels()
    assert [k for k, n in Counter((x.get("parent_id"), x["name"], x["type"]) for x in channels).items() if n > 1] == []
    assert [k for k, n in Counter(r["name"] for r in c.roles()).items() if n > 1] == []
    found = {}
    for name, texts in HISTORY.items():
        history = c.messages(c.channel(name)["id"])
        assert [m["content"] for m in history] == texts, name  # each once, in order: none missing, none twice
        found[name] = len(history)
    for ch in channels:
        if ch["type"] == 0:
            assert c._call("GET", f"/channels/{ch['id']}/webhooks") == [], f"a webhook left in #{ch['name']}"
    assert set(c.bans()) == {"700000000000000001", "700000000000000002"}
    assert snap("server", "plan", "--json").data["empty"] is True
    return found


def _restore(snap: CliRunner, snapshot_id: str) -> Any:
    r = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    return r


def _kill_after(snap: CliRunner, snapshot_id: str, wait: Any) -> int:
    """Run the restore as a process, SIGKILL it when ``wait(proc)`` returns; its exit code (or -9)."""
    env = {**snap.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(snap.cwd), snapshot_id], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        wait(proc)
    finally:
        if proc.poll() is None:  # not reaped yet: the kill lands (on a zombie it does nothing)
            os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    return proc.returncode


def _webhook_posts(emu: EmulatorHandle) -> int:
    """Webhook messages the emulator answered since its last reset (no faults are set while it counts)."""
    return int(emu.stats()["by_route"].get("POST /webhooks/{webhook_id}/{webhook_token}", 0))


def _after_messages(emu: EmulatorHandle, count: int) -> Any:
    """A wait until the emulator answered ``count`` more webhook messages (or the process ended)."""
    start = _webhook_posts(emu)

    def wait(proc: subprocess.Popen[str]) -> None:
        deadline = time.monotonic() + 30
        while _webhook_posts(emu) - start < count and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    return wait


@pytest.mark.slow
def test_a_restore_killed_after_its_third_message_finishes_the_rest_once(snap: CliRunner, discord: Community,
                                                                         guild: EmulatorHandle) -> None:
    snapshot_id = _prepare(snap, discord)
    _raid(discord)

    _kill_after(snap, snapshot_id, _after_messages(guild, 3))
    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--messages", "--json")
    planned = dry.data["plan"]["extras"]["messages"]["channels"]
    already = sum(c["already"] for c in planned)
    # What is left, not all 12 (the journal may be one short: the kill can land between an answer and
    # its journal write; the restore then finds that message in the channel).
    assert already >= 2 and sum(c["sends"] for c in planned) == 12 - already
    r = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    found = re.search(r"12 of 12 messages in place \((\d+) already there\)", r.stdout)
    assert found is not None and 3 <= int(found.group(1)) < 12, r.stdout
    _converged(snap, discord)
    # Run again: everything is in place and nothing is sent.
    mark = discord.mark()
    again = _restore(snap, snapshot_id).data["result"]["extras"]["messages"]
    assert (again["in_place"], again["already"], again["sent"]) == (12, 12, 0)
    assert [w for w in discord.writes_since(mark) if w["route"].startswith("/webhooks")] == []


@pytest.mark.slow
def test_twenty_percent_of_lost_answers_change_nothing_in_the_outcome(snap: CliRunner, discord: Community,
                                                                      guild: EmulatorHandle) -> None:
    snapshot_id = _prepare(snap, discord)
    _raid(discord)
    guild.set_faults(rate=0.2, kinds=["drop-after"])
    r = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes")
    guild.set_faults()
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "12 of 12 messages in place." in r.stdout
    assert guild.stats()["faults"] >= 5  # the faults really happened
    _converged(snap, discord)


@pytest.mark.slow
def test_a_restore_killed_anywhere_converges_exactly_once(snap: CliRunner, discord: Community,
                                                          guild: EmulatorHandle) -> None:
    kind = "aws" if "GAIB_BACKUP_BUCKET" in snap.environ else "local"
    snapshot_id = _prepare(snap, discord)
    rng = random.Random(20261207)
    _raid(discord)
    started = time.monotonic()
    _kill_after(snap, snapshot_id, lambda proc: proc.wait(timeout=60))  # one whole run, to size the window
    window = time.monotonic() - started
    _converged(snap, discord)
    trials = mid_replay = 0
    while time.monotonic() - started < TIME_BUDGET[kind] and trials < 30:
        _raid(discord)
        before = _webhook_posts(guild)
        if trials % 2:  # at a random moment: planning, the pre-restore snapshot, creates, replay, bookkeeping
            _kill_after(snap, snapshot_id, lambda proc: time.sleep(rng.uniform(0.0, window)))
        else:  # right after a random message of the replay, whose next one may be in flight
            _kill_after(snap, snapshot_id, _after_messages(guild, rng.randint(1, 11)))
        posted = _webhook_posts(guild) - before
        trials += 1
        mid_replay += 0 < posted < 12
        replay = _restore(snap, snapshot_id).data["result"]["extras"]["messages"]
        assert (replay["in_place"], replay["total"]) == (12, 12)
        _converged(snap, discord)
    assert trials >= 4, f"only {trials} trials"
    assert mid_replay >= 1, f"no kill landed mid-replay in {trials} trials"
    print(f"\n{kind}: {trials} kills, {mid_replay} mid-replay")
