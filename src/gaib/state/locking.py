"""Hold a workspace's state lock for the length of a block."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from gaib.state.backend import LockInfo, StateBackend


@contextlib.contextmanager
def locked(backend: StateBackend, workspace: str, operation: str,
           clock: Callable[[], datetime]) -> Iterator[LockInfo]:
    """Take the lock (LockHeld, exit 5, if someone has it), yield it, always release it."""
    info = backend.lock(workspace, operation, clock())
    try:
        yield info
    finally:
        backend.unlock(workspace, info.id)
