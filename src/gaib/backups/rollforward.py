"""Putting a stored state back as the workspace's state, by rolling forward.

Shared by ``backup restore`` and the bookkeeping half of ``snapshot restore``. Planning compares; it
writes nothing and refuses a state of another server, or of another lineage unless forced.
Executing, under the workspace's lock, first hands the current state to ``before`` (which stores a
``pre-restore`` backup and returns its id), then writes the stored resources and outputs as
serial = current + 1 under the current lineage: history is never rewritten, and every restore can be
undone by restoring what ``before`` kept. With ``skip_unchanged`` (a snapshot's bookkeeping restore), a
restore of what the state already holds (the same resources and outputs) writes nothing and takes no
pre-restore backup (:attr:`RolledForward.changed` False); ``backup restore`` always writes a new serial.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gaib.backups.statediff import StateDiff, diff_states
from gaib.clock import Clock
from gaib.errors import LineageMismatch, SerialConflict, StateError
from gaib.state.backend import StateBackend
from gaib.state.locking import locked
from gaib.state.model import State


@dataclass(frozen=True)
class RollForward:
    """What a restore of ``content`` over the current state would change."""

    source: str
    content: State
    current_serial: int | None
    current_lineage: str | None
    diff: StateDiff
    forced: bool

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "current_serial": self.current_serial,
                "current_lineage": self.current_lineage, "restored_lineage": self.content.lineage,
                "restored_serial": self.content.serial, "diff": self.diff.to_dict(), "forced": self.forced}


@dataclass(frozen=True)
class RolledForward:
    previous_serial: int | None
    new_serial: int
    pre_restore_id: str | None
    changed: bool = True
    """False when the state already held the content: nothing was written (``new_serial`` is the current)."""


def plan(backend: StateBackend, workspace: str, server_id: str, content: State, *, source: str,
         force: bool) -> RollForward:
    """Compare ``content`` with the current state; raises StateError (another server) or LineageMismatch."""
    if content.guild_id is not None and content.guild_id != server_id:
        raise StateError(f"{source} holds the state of server {content.guild_id}, not {server_id}.",
                         code="STATE_SERVER_MISMATCH", hint="Restore it with -g set to that server.")
    current = backend.get(workspace)
    if current is not None and current.lineage != content.lineage and not force:
        raise LineageMismatch(
            f"{source} has lineage {content.lineage}, but workspace '{workspace}' has lineage {current.lineage}.",
            hint="They are different histories. Pass --force to restore it anyway (it is written under the "
                 "current lineage).")
    return RollForward(source=source, content=content, current_serial=current.serial if current else None,
                       current_lineage=current.lineage if current else None, diff=diff_states(current, content),
                       forced=force)


def execute(backend: StateBackend, planned: RollForward, *, server_id: str, workspace: str, clock: Clock,
            operation: str, before: Callable[[State], str | None], skip_unchanged: bool = False) -> RolledForward:
    """Under the lock: ``before(current)``, then the content as serial = current + 1 (SerialConflict if the
    state changed since ``plan``); with ``skip_unchanged``, nothing at all when the state already holds
    the content."""
    with locked(backend, workspace, operation, clock):
        current = backend.get(workspace)
        current_serial = current.serial if current else None
        if current_serial != planned.current_serial:
            raise SerialConflict(f"The state changed (serial {planned.current_serial} -> {current_serial}) since "
                                 "the restore was planned; nothing was restored.")
        if skip_unchanged and current is not None and current.guild_id == server_id \
                and current.content_equal(planned.content):
            return RolledForward(previous_serial=current.serial, new_serial=current.serial, pre_restore_id=None,
                                 changed=False)
        pre_id = before(current) if current is not None else None
        # A shallow copy is enough: only scalar fields change, and the resources are written as they
        # are (a deep copy of a 750-resource state cost ~40 ms per restore).
        new = copy.copy(planned.content)
        new.workspace = workspace
        new.guild_id = server_id
        if current is not None:
            new.lineage = current.lineage
            new.serial = current.serial + 1
        else:
            new.serial = planned.content.serial + 1
        new.last_modified = clock().isoformat().replace("+00:00", "Z")
        backend.put(new, expected_serial=current_serial)
        return RolledForward(previous_serial=current_serial, new_serial=new.serial, pre_restore_id=pre_id)
