"""The state backend port and the lock record every backend shares."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from gaib import safejson
from gaib.errors import LockHeld, SerialConflict, StateError

if TYPE_CHECKING:  # annotations only: a command that reads no state never loads the model
    from gaib.state.model import State

MAX_LOCK_BYTES = 64 * 1024
MAX_LOCK_FIELD = 300


@dataclass(frozen=True)
class LockInfo:
    """Who holds a state lock and since when (Terraform's lock info fields)."""

    id: str
    operation: str
    who: str
    created: str  # ISO-8601 UTC
    path: str
    version: str = ""

    @classmethod
    def new(cls, operation: str, path: str, now: datetime) -> LockInfo:
        import getpass  # these three only when a lock is taken: a read-only command never loads them
        import socket
        import uuid

        from gaib import __version__

        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = "unknown"
        who = f"{user}@{socket.gethostname()} (pid {os.getpid()})"
        return cls(id=str(uuid.uuid4()), operation=operation, who=who,
                   created=now.isoformat().replace("+00:00", "Z"), path=path, version=__version__)

    def to_dict(self) -> dict[str, str]:
        return {"ID": self.id, "Operation": self.operation, "Who": self.who, "Created": self.created,
                "Path": self.path, "Version": self.version, "Info": ""}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LockInfo:
        def text(name: str, default: str) -> str:
            value = doc.get(name, default)
            return (value if isinstance(value, str) else json.dumps(value, default=str))[:MAX_LOCK_FIELD]

        return cls(id=text("ID", ""), operation=text("Operation", ""), who=text("Who", "unknown"),
                   created=text("Created", ""), path=text("Path", ""), version=text("Version", ""))

    @classmethod
    def unreadable(cls, path: str, why: str) -> LockInfo:
        """The record shown for a lock whose content cannot be read: it still means "locked"."""
        return cls(id="", operation="unknown", who=f"unknown (unreadable lock record: {why})", created="",
                   path=path)

    def created_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.created.replace("Z", "+00:00"))
        except ValueError:
            return None

    def held_error(self) -> LockHeld:
        return LockHeld(
            f"The state at {self.path} is locked by {self.who} since {self.created} "
            f"(operation '{self.operation}', lock id {self.id}).",
            hint="Wait for the other run to finish. If it died, release the lock with "
                 f"'gaib server unlock{' ' + self.id if self.id else ''}'.",
            details={"lock": self.to_dict()},
        )


def lock_from_json(raw: bytes | str, path: str) -> LockInfo:
    """The one reader of lock records (a local ``.lock`` file, a DynamoDB ``Info`` attribute).

    Never raises: a record torn by a crash, binary garbage, deep nesting or a JSON value that is
    not an object still means "locked", and reads as held by an unknown holder, so ``locks`` shows
    it and ``unlock`` (or ``lock_stale_after``) can release it.
    """
    try:
        doc = safejson.loads(raw, max_bytes=MAX_LOCK_BYTES, max_depth=16)
    except safejson.JsonProblem as exc:
        return LockInfo.unreadable(path, str(exc))
    if not isinstance(doc, dict):
        return LockInfo.unreadable(path, f"{safejson.kind_of(doc)}, not an object")
    return LockInfo.from_dict(doc)


class StateBackend(Protocol):
    """Where the state of each workspace lives, and its lock.

    Writes are compare-and-swap: ``put`` is given the serial the caller read (``None`` for a new
    state) and raises SerialConflict if the stored state is no longer at that serial.
    """

    description: str

    def get(self, workspace: str) -> State | None:
        """The workspace's state, or None if it has none. Raises StateError if it is malformed."""

    def put(self, state: State, *, expected_serial: int | None) -> None:
        """Store ``state`` if the stored serial still equals ``expected_serial``; never a torn write."""

    def list_workspaces(self) -> list[str]:
        """Every workspace that exists in this backend, sorted."""

    def create_workspace(self, workspace: str) -> None:
        """Make ``workspace`` exist (idempotent)."""

    def workspace_exists(self, workspace: str) -> bool: ...

    def delete(self, workspace: str) -> None:
        """Remove the workspace and its state."""

    def lock(self, workspace: str, operation: str, now: datetime) -> LockInfo:
        """Take the workspace's lock; raises LockHeld naming the holder. A stale lock is taken over."""

    def unlock(self, workspace: str, lock_id: str) -> None:
        """Release the lock if ``lock_id`` still holds it (never releases someone else's)."""

    def force_unlock(self, workspace: str) -> LockInfo | None:
        """Release whatever lock is held; returns what was released."""

    def lock_info(self, workspace: str) -> LockInfo | None:
        """The current holder, or None."""


def check_write(current: State | None, new: State, expected_serial: int | None, source: str) -> None:
    """The serial and lineage rules every backend applies before a write."""
    if current is None:
        if expected_serial is not None:
            raise SerialConflict(f"The state at {source} disappeared while it was being changed.")
        return
    if expected_serial is None or current.serial != expected_serial:
        raise SerialConflict(
            f"The state at {source} is at serial {current.serial}, newer than the serial "
            f"{expected_serial} this run read; not overwriting it.",
        )
    if new.serial <= current.serial:
        raise StateError(f"Refusing to write serial {new.serial} over serial {current.serial} at {source}.")
    if new.lineage != current.lineage:
        raise StateError(
            f"Refusing to replace lineage {current.lineage} with {new.lineage} at {source}.",
            code="STATE_LINEAGE_MISMATCH",
        )
