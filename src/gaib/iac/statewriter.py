"""The state an apply builds, changed by concurrent steps and written with group commit.

Steps change :attr:`StateWriter.state` only while holding :attr:`StateWriter.lock` — and only by
replacing a resource's instances or the list of resources, never by changing an instance's
attributes in place — then call :meth:`commit`, which returns once a write that includes their
change is stored. One write is in flight at a time; steps whose changes arrive meanwhile share the
next write. So every object Discord returned is in the stored state before the step that made it
finishes, and a run of N concurrent creates costs far fewer than N writes.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime

from gaib.state.backend import StateBackend
from gaib.state.model import State


class StateWriter:
    """Owns the state of one apply: ``stored_serial`` is the serial of the last stored version (None
    before the first write of a new workspace). Writes are compare-and-swap on that serial."""

    def __init__(self, backend: StateBackend, state: State, stored_serial: int | None,
                 clock: Callable[[], datetime]) -> None:
        self.backend = backend
        self.state = state
        self.stored_serial = stored_serial
        self.clock = clock
        self.lock = threading.Condition(threading.RLock())
        self._version = 0
        self._written = 0
        self._writing = False
        self.writes = 0
        """How many versions this writer stored."""

    def _snapshot(self) -> State:
        # Steps never change a resource's instances or attributes in place (they replace them), so a
        # copy of the state and of each resource is a stable picture, far cheaper than a deep copy.
        snapshot = copy.copy(self.state)
        snapshot.resources = [copy.copy(r) for r in self.state.resources]
        return snapshot

    def changed(self) -> None:
        """Mark a change (call it holding :attr:`lock`)."""
        with self.lock:
            self._version += 1

    def commit(self, *, force: bool = False) -> None:
        """Return once every change marked so far is stored (``force``: write even without changes).

        Raises whatever the backend raises (SerialConflict, storage errors); the state in memory keeps
        the changes either way."""
        with self.lock:
            if force and self._written >= self._version:
                self._version += 1
            target = self._version
            while self._written < target:
                if self._writing:
                    self.lock.wait()
                    continue
                self._writing = True
                version = self._version
                snapshot = self._snapshot()
                snapshot.serial = (self.stored_serial or 0) + 1
                snapshot.last_modified = self.clock().isoformat().replace("+00:00", "Z")
                expected = self.stored_serial
                self.lock.release()
                try:
                    self.backend.put(snapshot, expected_serial=expected)
                finally:
                    self.lock.acquire()
                    self._writing = False
                    self.lock.notify_all()
                self.stored_serial = snapshot.serial
                self.writes += 1
                self.state.serial = snapshot.serial
                self.state.last_modified = snapshot.last_modified
                self._written = version
