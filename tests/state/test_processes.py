"""Real processes: lock contention, and writers killed mid-write."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gaib.state.local import LocalBackend

ROOT = Path(__file__).resolve().parents[2]
RM = [sys.executable, "-m", "gaib", "server", "state", "rm", "discord_role.x", "--yes", "--json"]
"""A state rm run in its own process, unattended (so with --yes)."""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    return {**env, **(extra or {})}


HOLDER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    from gaib.state.local import LocalBackend
    b = LocalBackend(Path(sys.argv[1]))
    info = b.lock("default", "apply", datetime.now(timezone.utc))
    print("locked", flush=True)
    sys.stdin.readline()
    b.unlock("default", info.id)
    print("released", flush=True)
""")


def test_second_process_gets_exit_5_naming_the_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".gaib")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        run = subprocess.run(RM,
                             cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=60)
        assert run.returncode == 5, run.stderr
        err = json.loads(run.stdout)["error"]
        assert err["code"] == "STATE_LOCKED"
        assert f"pid {holder.pid}" in err["message"] and "since 20" in err["message"]
        assert "gaib server unlock" in err["suggestion"]
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.kill()
        holder.wait()
    # Once released, the next run gets the lock (and here finds no state: exit 3, not 5).
    run = subprocess.run(RM,
                         cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=60)
    assert run.returncode == 3, run.stdout


def test_locks_show_and_unlock_a_dead_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".gaib")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=_env())
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()  # dies holding the lock
    holder.wait()
    shown = subprocess.run([sys.executable, "-m", "gaib", "server", "locks", "--json"], cwd=tmp_path,
                           capture_output=True, text=True, env=_env(), timeout=60)
    data = json.loads(shown.stdout)["data"]
    assert data["locked"] is True and f"pid {holder.pid}" in data["lock"]["Who"]
    refused = subprocess.run([sys.executable, "-m", "gaib", "server", "unlock"], cwd=tmp_path,
                             capture_output=True, text=True, env=_env(), timeout=60, stdin=subprocess.DEVNULL)
    assert refused.returncode == 6  # no terminal, no --yes
    ok = subprocess.run([sys.executable, "-m", "gaib", "server", "unlock", "--yes", "--json"], cwd=tmp_path,
                        capture_output=True, text=True, env=_env(), timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["data"]["released"]["Who"].endswith(f"(pid {holder.pid})")
    assert LocalBackend(tmp_path / ".gaib").lock_info("default") is None


WRITER = textwrap.dedent("""
    import copy, sys
    from pathlib import Path
    from gaib.state.local import LocalBackend
    from gaib.state.model import Instance, Resource, State
    b = LocalBackend(Path(sys.argv[1]))
    while True:
        cur = b.get("default")
        new = copy.deepcopy(cur)
        new.serial += 1
        new.resources = [Resource(type="discord_role", name=f"r{i}",
                                  instances=[Instance(attributes={"id": str(i), "serial": new.serial,
                                                                  "pad": "x" * 200})])
                         for i in range(400)]
        b.put(new, expected_serial=cur.serial)
""")


@pytest.mark.slow
def test_writer_killed_mid_write_leaves_a_whole_state(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / ".gaib")
    from gaib.state.model import State

    first = State.new("default")
    first.serial = 1
    backend.put(first, expected_serial=None)
    rng = random.Random(7)
    last_serial = 1
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / ".gaib")], env=_env())
        time.sleep(0.25 + rng.random() * 0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = backend.get("default")  # parses: never torn
        assert state is not None and state.lineage == first.lineage
        assert state.serial >= last_serial
        serials = {r.attributes["serial"] for r in state.resources}
        assert serials in (set(), {state.serial})  # every resource from the same write
        last_serial = state.serial
    assert last_serial > 1
    leftovers = [p.name for p in (tmp_path / ".gaib" / "workspaces" / "default").iterdir()
                 if p.name.startswith(".terraform")]
    assert len(leftovers) <= 1  # at most the temp file of the last killed write


def _lock_file(root: Path, who: str) -> Path:
    path = root / ".gaib" / "workspaces" / "default" / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    from datetime import UTC, datetime

    created = datetime.now(UTC).isoformat().replace("+00:00", "Z")  # fresh: far from lock_stale_after
    path.write_text(json.dumps({"ID": "dead-1", "Operation": "apply", "Who": who,
                                "Created": created, "Path": "x", "Version": "0.1.0", "Info": ""}))
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has this pid now (pids are not reused this quickly)


def test_a_lock_whose_holder_died_on_this_host_is_taken_over_with_a_notice(tmp_path: Path) -> None:
    import socket

    pid = _dead_pid()
    _lock_file(tmp_path, f"ops@{socket.gethostname()} (pid {pid})")
    run = subprocess.run([sys.executable, "-m", "gaib", "server", "workspace", "show"], cwd=tmp_path,
                         capture_output=True, text=True, env=_env(), timeout=60)
    assert run.returncode == 0  # reads never take locks
    run = subprocess.run(RM,
                         cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=60)
    # The lock was taken over (so the command ran, and found no state), with one line saying so.
    assert json.loads(run.stdout)["error"]["code"] == "STATE_NOT_FOUND", run.stdout
    notices = [ln for ln in run.stderr.splitlines() if "took over the lock" in ln]
    assert len(notices) == 1 and f"pid {pid}" in notices[0] and "no longer exists" in notices[0]
    assert LocalBackend(tmp_path / ".gaib").lock_info("default") is None


@pytest.mark.parametrize("who", ["ops@another-host.example (pid {pid})", "unreadable holder", "ops@{host} (pid {me})"])
def test_locks_of_other_hosts_or_live_processes_still_wait(tmp_path: Path, who: str) -> None:
    import socket

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock_file(tmp_path, who.format(pid=_dead_pid(), host=socket.gethostname(), me=holder.pid))
        run = subprocess.run(RM,
                             cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=60)
        assert run.returncode == 5 and json.loads(run.stdout)["error"]["code"] == "STATE_LOCKED", run.stdout
        assert "took over" not in run.stderr
    finally:
        holder.kill()
        holder.wait()
