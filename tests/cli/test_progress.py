"""A long rate-limit wait counts down: in place on a terminal (at most once a second), one line a minute
elsewhere. The clock is a test clock; the progress writer's own thread does the rest."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

from gaib.cli.context import Env
from gaib.cli.output import Output
from gaib.cli.progress import RunProgress, countdown
from gaib.iac.progress import Tick

REASON = "Discord allows 2 per 10 min name/topic changes per channel (PATCH /channels/1)"
WAIT = Tick("wait", REASON, "PATCH /channels/1", seconds=600)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _eventually(check: object, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _output(stderr: io.StringIO) -> Output:
    return Output(env=Env(stdout=io.StringIO(), stderr=stderr, environ={}, cwd=Path(".")))


def test_countdown_shows_whole_seconds_rounded_up() -> None:
    assert [countdown(s) for s in (600, 599.2, 61, 59.01, 0.3, 0, -1)] == [
        "10 min 0 s", "10 min 0 s", "1 min 1 s", "1 min 0 s", "1 s", "0 s", "0 s"]


def test_on_a_terminal_the_wait_counts_down_in_place() -> None:
    stderr, clock = _Terminal(), _Clock()
    with RunProgress(_output(stderr), "apply", now=clock) as progress:
        assert progress.bar
        progress(Tick("start", total=2))
        progress(WAIT)
        _eventually(lambda: "waiting 10 min 0 s: Discord" in stderr.getvalue(), "first render")
        clock.now += 1.0
        _eventually(lambda: "waiting 9 min 59 s" in stderr.getvalue(), "a second later")
        clock.now += 0.5  # within the same second the countdown is not redrawn with a new figure
        time.sleep(0.3)
        assert "9 min 58 s" not in stderr.getvalue()
        clock.now += 598.6  # the wait is over: the countdown goes away
        _eventually(lambda: progress.wait_text() == "", "the end of the wait")
        progress(Tick("done", "~ discord_channel.a (1)", "discord_channel.a"))
    shown = stderr.getvalue()
    assert "\x1b[" in shown  # redrawn in place (cursor movements), not one line per figure
    assert "still waiting" not in shown


def test_off_a_terminal_one_line_a_minute_while_the_wait_lasts() -> None:
    stderr, clock = io.StringIO(), _Clock()
    with RunProgress(_output(stderr), "apply", now=clock, poll=0.01) as progress:
        assert not progress.bar
        progress(Tick("start", total=1))
        progress(WAIT)
        assert stderr.getvalue().splitlines()[-1] == f"  waiting 10 min 0 s: {REASON}"
        clock.now += 30
        time.sleep(0.2)
        assert "still waiting" not in stderr.getvalue()  # not before a minute has passed
        clock.now += 31
        _eventually(lambda: "still waiting" in stderr.getvalue(), "a line after a minute")
        time.sleep(0.2)
        clock.now += 60
        _eventually(lambda: stderr.getvalue().count("still waiting") == 2, "a second line a minute later")
        clock.now += 600  # over: no more lines
        time.sleep(0.2)
        lines = re.findall(r"still waiting (.*?): ", stderr.getvalue())
    assert lines == ["8 min 59 s", "7 min 59 s"]
    assert "\x1b[" not in stderr.getvalue()


def test_quiet_runs_print_no_waits() -> None:
    stderr, clock = io.StringIO(), _Clock()
    out = _output(stderr)
    out.quiet = True
    with RunProgress(out, "apply", now=clock, poll=0.01) as progress:
        progress(WAIT)
        clock.now += 120
        time.sleep(0.2)
    assert stderr.getvalue() == ""
