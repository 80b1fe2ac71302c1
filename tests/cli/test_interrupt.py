"""Ctrl-C: a real ``python -m gaib`` process interrupted during a rate-limit wait, a request in flight or
a confirmation prompt ends at once with exit 130 ``INTERRUPTED``, releases the state lock, and the next
run finishes the work. The bounds on time are correctness bounds (seconds, against the minutes an
ignored Ctrl-C used to take), not performance figures."""

from __future__ import annotations

import json
import os
import pty
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from gaib import interrupt
from gaib.state.local import LocalBackend
from gaib.state.locking import locked
from tests.support.cli import CliRunner
from tests.support.discord.control import advance_clock
from tests.support.discord.guild import Guild
from tests.support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parents[2]
EXITS_WITHIN = 5.0
"""Seconds an interrupted command may take to end: generous for a loaded machine, far below the
10-minute wait (or the 10-second request) it interrupts."""


class Process:
    """``python -m gaib ARGS`` in the runner's folder and environment; its stderr is read as it comes."""

    def __init__(self, runner: CliRunner, *args: str, stdin: int | IO[Any] = subprocess.DEVNULL) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}
        env.update(runner.environ)
        env["PYTHONPATH"] = str(ROOT / "src")
        self.proc = subprocess.Popen([sys.executable, "-m", "gaib", *args], cwd=runner.cwd, env=env, stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stderr = b""

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Read stderr until ``text`` shows (AssertionError if the process ends or stays silent)."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stderr, selectors.EVENT_READ)
            while text.encode() not in self.stderr:
                left = deadline - time.monotonic()
                assert left > 0, f"no {text!r} on stderr in {timeout} s: {self.stderr.decode()[-2000:]}"
                if sel.select(left):
                    chunk = os.read(self.proc.stderr.fileno(), 65536)
                    assert chunk, f"the process ended before {text!r}: {self.stderr.decode()[-2000:]}"
                    self.stderr += chunk

    def interrupt(self) -> tuple[int, float, str, str]:
        """Send SIGINT; return the exit code, the seconds it took to end, stdout and the rest of stderr."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("the interrupted process was still running after 120 s") from None
        took = time.monotonic() - started
        return self.proc.returncode, took, out.decode(), (self.stderr + err).decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _interrupted_error(stdout: str) -> dict[str, Any]:
    doc = json.loads(stdout)
    assert doc["success"] is False, doc
    error: dict[str, Any] = doc["error"]
    return error


def _topics(guild: Guild) -> dict[str, str | None]:
    return {c["name"]: c.get("topic") for c in guild.channels()}


def _unlocked(runner: CliRunner) -> bool:
    shown = runner("server", "locks", "--json")
    assert shown.exit_code == 0, shown.stdout
    return shown.data["locked"] is False


def _config(channels: int, topic: str) -> str:
    return 'version: "1.0"\nchannels:\n' + "".join(f"  - name: c{k}\n    topic: {topic}\n" for k in range(channels))


@pytest.mark.slow
@pytest.mark.parametrize("channels", [1, 2], ids=["waiting-in-the-main-thread", "waiting-in-workers"])
def test_ctrl_c_during_a_ten_minute_rate_limit_wait(cli: CliRunner, limited: EmulatorHandle, channels: int) -> None:
    """Discord allows 2 name/topic changes per channel per 10 minutes: the third apply waits ~10 minutes
    (one channel: the step runs in the main thread; two: in the apply's workers)."""
    cli.environ.update(limited.bot_environ())
    config = cli.cwd / "discord-server.yaml"
    for topic in ("v0", "v1", "v2"):
        config.write_text(_config(channels, topic))
        done = cli("server", "apply", "--auto-approve")
        assert done.exit_code == 0, done.stderr
    config.write_text(_config(channels, "v3"))
    run = Process(cli, "server", "apply", "--auto-approve", "--json")
    try:
        run.wait_for("name/topic changes per channel")  # the wait has begun
        code, took, stdout, stderr = run.interrupt()
    finally:
        run.close()
    assert code == 130, stderr
    assert took < EXITS_WITHIN, f"took {took:.1f} s to end"
    error = _interrupted_error(stdout)
    assert error["code"] == "INTERRUPTED" and "lock is released" in error["message"], error
    assert "Traceback" not in stderr
    guild = Guild(limited)
    assert set(_topics(guild).values()) == {"v2"}  # nothing half-done: the edits never went out
    assert _unlocked(cli)
    # Ten minutes later (for Discord and for Gaib's record of its edits) the same command finishes.
    advance_clock(limited, 11 * 60)
    later = datetime.now(UTC) + timedelta(minutes=11)
    cli.clock = lambda: later
    again = cli("server", "apply", "--auto-approve", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert set(_topics(guild).values()) == {"v3"}
    assert cli("server", "plan", "--json").data["empty"] is True


@pytest.mark.slow
def test_ctrl_c_while_requests_are_in_flight(cli: CliRunner, limited: EmulatorHandle) -> None:
    """Creates answered only after 10 s: the run gives them half a second, then ends without them."""
    cli.environ.update(limited.bot_environ())
    (cli.cwd / "discord-server.yaml").write_text('version: "1.0"\nchannels:\n  - name: a\n  - name: b\n  - name: c\n')
    # Requests 1 and 2 read the guild; every later one (the creates) is answered 10 s late.
    limited.set_faults(kinds=("latency",), on_requests=range(3, 40), latency_ms=10_000)
    run = Process(cli, "server", "apply", "--auto-approve", "--json")
    try:
        run.wait_for("Applying 4 change(s)")
        time.sleep(0.5)  # the creates are on their way
        code, took, stdout, _stderr = run.interrupt()
    finally:
        run.close()
    assert code == 130 and _interrupted_error(stdout)["code"] == "INTERRUPTED"
    assert took < EXITS_WITHIN, f"took {took:.1f} s to end"
    assert _unlocked(cli)
    # The emulator still answers the abandoned creates (Discord would too); once it has, a re-run adopts
    # them by name: three channels, none twice.
    deadline = time.monotonic() + 30
    while limited.stats()["requests"] < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    limited.set_faults(rate=0.0)
    again = cli("server", "apply", "--auto-approve", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert Counter(c["name"] for c in Guild(limited).channels()) == {"a": 1, "b": 1, "c": 1}
    assert cli("server", "plan", "--json").data["empty"] is True


def test_ctrl_c_at_the_confirmation_prompt(gaib: CliRunner, discord: Guild) -> None:
    (gaib.cwd / "discord-server.yaml").write_text('version: "1.0"\nchannels:\n  - name: general\n')
    # A terminal on stdin (a pseudo-terminal, kept open) so that apply asks; nothing is typed.
    controller, terminal = pty.openpty()
    try:
        run = Process(gaib, "server", "apply", stdin=terminal)
        try:
            run.wait_for("Do you want to apply these changes? [y/N]")
            code, took, _stdout, stderr = run.interrupt()
        finally:
            run.close()
    finally:
        os.close(terminal)
        os.close(controller)
    assert code == 130, stderr
    assert took < EXITS_WITHIN
    assert "Error [INTERRUPTED]" in stderr and "USAGE_ERROR" not in stderr and "Traceback" not in stderr
    assert discord.channels() == []  # asked before anything was changed
    assert _unlocked(gaib)  # the prompt is asked under the lock: it was released
    done = gaib("server", "apply", "--auto-approve", "--json")
    assert done.exit_code == 0, done.stdout
    assert [c["name"] for c in discord.channels()] == ["general"]


def test_end_of_input_at_a_prompt_is_an_interruption_too(gaib: CliRunner, discord: Guild) -> None:
    (gaib.cwd / "discord-server.yaml").write_text('version: "1.0"\nchannels:\n  - name: general\n')
    ended = gaib("server", "apply", tty=True, input="")  # Ctrl-D on a terminal
    assert ended.exit_code == 130, ended.stderr
    assert "Error [INTERRUPTED]" in ended.stderr and "nothing was changed" in ended.stderr
    assert discord.channels() == [] and _unlocked(gaib)
    declined = gaib("server", "apply", tty=True, input="n\n")  # a plain "no" stays a refusal
    assert declined.exit_code == 6 and "CONFIRMATION_REQUIRED" in declined.stderr



@pytest.mark.slow
def test_ctrl_c_during_a_message_replay(cli: CliRunner, limited: EmulatorHandle) -> None:
    """A restore replaying saved messages waits for the webhook's limit (5 per 2 s); Ctrl-C then ends it,
    and the temporary webhook is deleted on the way out."""
    cli.environ.update(limited.bot_environ())
    (cli.cwd / "discord-server.yaml").write_text('version: "1.0"\nchannels:\n  - name: chat\n')
    assert cli("server", "apply", "--auto-approve").exit_code == 0
    guild = Guild(limited)
    author = {"id": "800000000000000001", "username": "member1", "global_name": "Member 1", "avatar": None}
    limited.control("POST", f"/channels/{guild.channel('chat')['id']}/messages",
                    [{"author": author, "content": f"hello {i}"} for i in range(20)])
    made = cli("server", "snapshot", "create", "--messages", "100", "--json")
    assert made.exit_code == 0, made.stdout
    guild.delete_channel(guild.channel("chat")["id"])
    run = Process(cli, "server", "snapshot", "restore", made.data["id"], "--apply", "--messages", "--yes", "--json")
    try:
        run.wait_for("/webhooks/")  # the replay waits for the webhook's bucket (announced as a wait)
        # The restore's reads filled the global window a moment ago; a second later the webhook's delete on
        # the way out needs no wait (one that would outlast the pool's grace is left to the next run).
        time.sleep(1.1)
        code, took, stdout, stderr = run.interrupt()
    finally:
        run.close()
    assert code == 130, stderr
    assert took < EXITS_WITHIN, f"took {took:.1f} s to end"
    assert _interrupted_error(stdout)["code"] == "INTERRUPTED"
    assert _unlocked(cli)
    calls = Counter((r["method"], r["route"]) for r in limited.requests())
    assert calls[("POST", "/channels/{channel_id}/webhooks")] == 1
    assert calls[("DELETE", "/webhooks/{webhook_id}")] == 1  # no "Gaib restore" webhook left behind
    sent = [m["content"] for m in limited.control("GET", f"/channels/{guild.channel('chat')['id']}/messages")]
    assert 0 < len(sent) < 20 and len(set(sent)) == len(sent)  # stopped part-way, nothing sent twice
    again = cli("server", "snapshot", "restore", made.data["id"], "--apply", "--messages", "--yes", "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert Counter(c["name"] for c in guild.channels()) == {"chat": 1}


# --- the mechanism, in-process: a SIGINT to this very process -------------------------------------------


def _sigint_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_an_interrupted_pool_ends_its_waits_and_leaves_a_stuck_request_behind() -> None:
    stuck = threading.Event()  # a request whose answer never comes (no wait of Gaib's: not interruptible)
    try:
        with interrupt.handling_sigint():
            started = time.monotonic()
            with pytest.raises(KeyboardInterrupt), interrupt.Workers(2) as pool:
                waiting = pool.submit(interrupt.sleep, 600)
                hung = pool.submit(stuck.wait, 30)
                _sigint_after(0.2)
                waiting.result()
            took = time.monotonic() - started
        assert took < 0.2 + interrupt.GRACE + 1.5, f"{took:.2f} s"
        assert isinstance(waiting.exception(timeout=1), interrupt.Stopped)  # the 10-minute wait ended at once
        assert not hung.done()  # given the grace, then left behind
        with pytest.raises(interrupt.Stopped):
            interrupt.check()  # nothing more is sent from any thread
    finally:
        stuck.set()
    with interrupt.handling_sigint():
        interrupt.check()  # the next command starts afresh


class _SlowUnlock(LocalBackend):
    """Ctrl-C arrives while the lock is being released."""

    def unlock(self, workspace: str, lock_id: str) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # the signal is handled here
        super().unlock(workspace, lock_id)


def test_a_ctrl_c_while_the_lock_is_released_takes_effect_once_it_is(tmp_path: Path) -> None:
    backend = _SlowUnlock(tmp_path / ".gaib")
    with (interrupt.handling_sigint(), pytest.raises(KeyboardInterrupt),
          locked(backend, "default", "apply", lambda: datetime.now(UTC))):
        pass
    assert backend.lock_info("default") is None


def test_a_third_ctrl_c_ends_a_cleanup_that_hangs(tmp_path: Path) -> None:
    script = ("import sys, time\nfrom gaib import interrupt\n"
              "with interrupt.handling_sigint():\n"
              "    with interrupt.shielded():\n"
              "        print('ready', flush=True)\n"
              "        time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for _ in range(3):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.2)
        assert proc.wait(timeout=EXITS_WITHIN) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
