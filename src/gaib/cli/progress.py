"""Progress of a run that changes Discord: a rich bar on a terminal, lines otherwise (always stderr).

On a terminal (stderr is a TTY, colours on, not ``--quiet`` or ``--json``) the bar shows objects done
of the total and, while a rate-limit wait lasts, a countdown of it that updates in place (at most once a
second); failures and deferrals are printed above it. Elsewhere each event is one line on stderr
(silenced by ``--quiet``), and a long wait adds one "still waiting" line a minute until it ends. Nothing
ever goes to stdout, so ``--json`` output stays one object. Events may arrive from several threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from gaib.cli.output import Output, _isatty
from gaib.discord.limits import duration
from gaib.iac.progress import Tick

VERBS = {"apply": "Applying", "destroy": "Destroying", "restore": "Restoring"}

STILL_WAITING_EVERY = 60.0
"""Seconds between two "still waiting" lines when stderr is not a terminal."""


def countdown(seconds: float) -> str:
    """Time left, in whole seconds rounded up (a countdown never shows 0 while it runs)."""
    whole = max(0, math.ceil(seconds))
    return f"{whole} s" if whole < 60 else duration(whole)


class RunProgress:
    """A :data:`gaib.iac.progress.Reporter` for the CLI; use it as a context manager around the run.

    ``now`` (monotonic seconds), ``every`` (seconds between "still waiting" lines) and ``poll`` (how
    often the line writer looks) are there for tests."""

    def __init__(self, out: Output, verb: str = "apply", *, now: Callable[[], float] = time.monotonic,
                 every: float = STILL_WAITING_EVERY, poll: float = 1.0) -> None:
        self.out = out
        self.verb = VERBS.get(verb, verb.capitalize())
        self.bar = (not out.json_mode and not out.quiet and out.color and _isatty(out.env.stderr))
        self.now = now
        self.every = every
        self.poll = poll
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._done = 0
        # Waits in progress, by route: (when it ends, what is waited for). Guarded by its own lock, never
        # held while calling rich (whose refresh thread reads it through wait_text).
        self._waits: dict[str, tuple[float, str]] = {}
        self._waits_lock = threading.Lock()
        self._last_line = 0.0
        self._ticker: threading.Thread | None = None
        self._closed = threading.Event()

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._closed.set()
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    # --- waits -----------------------------------------------------------------------------------
    def _longest_wait(self) -> tuple[float, str] | None:
        """The wait in progress that ends last, as (seconds left, what); None when none is."""
        now = self.now()
        with self._waits_lock:
            for route in [r for r, (until, _) in self._waits.items() if until <= now]:
                del self._waits[route]
            if not self._waits:
                return None
            until, text = max(self._waits.values())
        return until - now, text

    def wait_text(self) -> str:
        """The countdown shown beside the bar: ``waiting 9 min 59 s: <reason> (<route>)``, or ``""``."""
        wait = self._longest_wait()
        return "" if wait is None else f"waiting {countdown(wait[0])}: {wait[1]}"

    def _note_wait(self, tick: Tick) -> None:
        with self._waits_lock:
            self._waits[tick.address or tick.text] = (self.now() + tick.seconds, tick.text)
            self._last_line = self.now()
        if not self.bar and self._ticker is None and not self.out.quiet:
            self._ticker = threading.Thread(target=self._still_waiting, name="gaib-progress", daemon=True)
            self._ticker.start()

    def _still_waiting(self) -> None:
        """Off a terminal: one line a minute while a wait lasts (its time left counts down)."""
        while not self._closed.wait(self.poll):
            wait = self._longest_wait()
            if wait is None:
                continue
            with self._waits_lock:
                due = self.now() - self._last_line >= self.every
                if due:
                    self._last_line = self.now()
            if due:
                self.out.info(f"  still waiting {countdown(wait[0])}: {wait[1]}")

    # --- events ----------------------------------------------------------------------------------
    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        outer = self

        class WaitColumn(ProgressColumn):
            # Whole seconds: redrawn with the bar, the figure changes at most once a second.
            def render(self, task: Any) -> Text:
                return Text(outer.wait_text(), style="yellow", no_wrap=True, overflow="ellipsis")

        console = Console(file=self.out.env.stderr, force_terminal=True)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), WaitColumn(), console=console, transient=False,
                                  get_time=self.now)
        self._task = self._progress.add_task(self.verb, total=max(total, 1))
        self._progress.start()

    def __call__(self, tick: Tick) -> None:
        if tick.kind == "wait":
            self._note_wait(tick)
        if not self.bar:
            if tick.kind == "start":
                self.out.info(f"{self.verb} {tick.total} change(s)…")
            else:
                self.out.info(tick.line())
            return
        with self._lock:
            if tick.kind == "start":
                self._start(tick.total)
                return
            if self._progress is None:
                return
            if tick.kind in ("done", "failed", "deferred"):
                self._done += 1
                self._progress.update(self._task, completed=self._done)
            if tick.kind == "wait":
                self._progress.refresh()  # a wait is news: show it now, not at the next tick of the bar
            elif tick.kind in ("failed", "deferred", "note"):
                self._progress.console.print(self.out._clean(tick.line()), markup=False, highlight=False)
