"""Hold a workspace's state lock for the length of a block."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from gaib import interrupt
from gaib.state.backend import LockInfo, StateBackend


@contextlib.contextmanager
def locked(backend: StateBackend, workspace: str, operation: str,
           clock: Callable[[], datetime]) -> Iterator[LockInfo]:
    """Take the lock (LockHeld, exit 5, if someone has it), yield it, always release it.

    A Ctrl-C while the lock is being taken or released takes effect once that step is over, so the
    lock is never left half-taken, nor held after the block by an interrupted run."""
    info: LockInfo | None = None
    try:
        with interrupt.shielded():
            info = backend.lock(workspace, operation, clock())
        yield info
    finally:
        if info is not None:
            with interrupt.shielded():
                backend.unlock(workspace, info.id)
