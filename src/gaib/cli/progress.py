"""Progress of a run that changes Discord: a rich bar on a terminal, lines otherwise (always stderr).

On a terminal (stderr is a TTY, colours on, not ``--quiet`` or ``--json``) the bar shows objects done
of the total and names the current rate-limit wait; failures and deferrals are printed above it.
Elsewhere each event is one line on stderr (silenced by ``--quiet``). Nothing ever goes to stdout, so
``--json`` output stays one object. Events may arrive from several threads.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from gaib.cli.output import Output, _isatty
from gaib.iac.progress import Tick

VERBS = {"apply": "Applying", "destroy": "Destroying", "restore": "Restoring"}


class RunProgress:
    """A :data:`gaib.iac.progress.Reporter` for the CLI; use it as a context manager around the run."""

    def __init__(self, out: Output, verb: str = "apply") -> None:
        self.out = out
        self.verb = VERBS.get(verb, verb.capitalize())
        self.bar = (not out.json_mode and not out.quiet and out.color and _isatty(out.env.stderr))
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._done = 0

    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(file=self.out.env.stderr, force_terminal=True)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, transient=False)
        self._task = self._progress.add_task(self.verb, total=max(total, 1))
        self._progress.start()

    def __call__(self, tick: Tick) -> None:
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
                self._progress.update(self._task, completed=self._done, description=self.verb)
            if tick.kind == "wait":
                self._progress.update(self._task, description=f"{self.verb} — waiting {tick.text}")
                self._progress.refresh()  # a wait is news: show it now, not at the next tick of the bar
            elif tick.kind in ("failed", "deferred", "note"):
                self._progress.console.print(self.out._clean(tick.line()), markup=False, highlight=False)
