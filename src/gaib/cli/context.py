"""The environment a command runs in, injected so tests can drive commands in-process.

Commands never touch ``sys.stdout``, ``os.environ``, ``os.getcwd()`` or the wall clock directly; they
read them from :class:`Env`. ``gaib.cli.app.main`` builds the real one; tests build their own.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gaib.clock import Clock, utc_now
from gaib.settings import process_environ

__all__ = ["Env", "utc_now"]


@dataclass
class Env:
    """Streams, environment variables, working directory and clock of one invocation."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=process_environ)
    cwd: Path = field(default_factory=Path.cwd)
    clock: Clock = utc_now
    stdin_is_tty: bool | None = None

    def interactive(self) -> bool:
        """True when a person can answer a prompt (stdin is a terminal)."""
        if self.stdin_is_tty is not None:
            return self.stdin_is_tty
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False
