"""The environment a command runs in, injected so tests can drive commands in-process.

Commands never touch ``sys.stdout``, ``os.environ``, ``os.getcwd()`` or the wall clock directly; they
read them from :class:`Env`. ``gaib.cli.app.main`` builds the real one; tests build their own.

This module is imported by every run, ``gaib --help`` included: it loads neither the settings module
nor pathlib (the process's environment and folder are read on first use).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from gaib.clock import Clock, utc_now

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Env", "utc_now"]


class Env:
    """Streams, environment variables, working directory and clock of one invocation.

    Each one not given is the process's own: the streams as they are at construction, the
    environment (a copy, :func:`gaib.settings.process_environ`) and the current folder on first use.
    """

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, stdin: TextIO | None = None,
                 environ: Mapping[str, str] | None = None, cwd: Path | None = None, clock: Clock = utc_now,
                 stdin_is_tty: bool | None = None) -> None:
        self.stdout: TextIO = stdout if stdout is not None else sys.stdout
        self.stderr: TextIO = stderr if stderr is not None else sys.stderr
        self.stdin: TextIO = stdin if stdin is not None else sys.stdin
        self._environ = environ
        self._cwd = cwd
        self.clock = clock
        self.stdin_is_tty = stdin_is_tty

    @property
    def environ(self) -> Mapping[str, str]:
        if self._environ is None:
            from gaib.settings import process_environ

            self._environ = process_environ()
        return self._environ

    @property
    def cwd(self) -> Path:
        if self._cwd is None:
            from pathlib import Path

            self._cwd = Path.cwd()
        return self._cwd

    def interactive(self) -> bool:
        """True when a person can answer a prompt (stdin is a terminal)."""
        if self.stdin_is_tty is not None:
            return self.stdin_is_tty
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False
