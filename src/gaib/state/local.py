"""The local state backend: ``.gaib/workspaces/<ws>/terraform.tfstate`` (the original Gaib layout).

Writes go to a temp file that is fsynced and renamed over the state, so a writer killed at any point
leaves either the old or the new state, never a torn one; the previous state is kept as
``terraform.tfstate.backup``. The lock is ``.lock`` created with O_EXCL, holding the LockInfo as JSON.
Short critical sections (compare-and-swap, taking a stale lock) are serialised across processes by an
``fcntl.flock`` on a guard file, which the kernel releases if its holder dies.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from gaib.errors import NotFound, StateError
from gaib.fsutil import fsync_dir, write_atomic
from gaib.names import check_name
from gaib.state.backend import MAX_LOCK_BYTES, LockInfo, check_write, lock_from_json

if TYPE_CHECKING:  # the model is loaded by a read or write of a state, not by a workspace check
    from gaib.state.model import State

STATE_FILE = "terraform.tfstate"
LOCK_FILE = ".lock"
GUARD_FILE = ".guard"


_WHO_RE = re.compile(r".*@(?P<host>[^@\s]+) \(pid (?P<pid>[1-9][0-9]{0,9})\)")


def holder_is_gone(held: LockInfo) -> bool:
    """True only when the lock's holder ran on this host and its process no longer exists.

    A holder on another host, or one whose ``Who`` cannot be read, is never assumed gone: those
    locks wait for ``unlock`` or for ``lock_stale_after``.
    """
    import socket  # only when a lock is held: reading state never needs it

    m = _WHO_RE.fullmatch(held.who)
    if m is None or m.group("host") != socket.gethostname():
        return False
    pid = int(m.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # exists (another user's), or not a pid this system can have
    return False


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def _remove_lock(path: Path) -> None:
    """Delete a lock file; StateError (exit 3) when something else (a folder) sits in its place."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StateError(f"Cannot remove the lock file {path}: {exc.strerror}.",
                         hint="Remove it by hand; a lock is a small JSON file, never a folder.") from None


class LocalBackend:
    """State in a local folder (the original Gaib's layout); see the module docstring.

    ``notice`` receives a one-line message when a lock left by a dead process of this host is taken
    over (as borg does), so the user learns that it happened.
    """

    def __init__(self, root: Path, *, stale_after: timedelta = timedelta(hours=1),
                 notice: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.stale_after = stale_after
        self.notice = notice
        self.description = f"local folder {root}"
        self._written: dict[Path, tuple[tuple[int, int, int], State]] = {}
        """The state this backend last wrote at each path (serial and lineage), with the file's identity."""

    # --- paths -----------------------------------------------------------------------------------
    def _dir(self, workspace: str) -> Path:
        return self.root / "workspaces" / check_name(workspace, "workspace name")

    def state_path(self, workspace: str) -> Path:
        return self._dir(workspace) / STATE_FILE

    @contextlib.contextmanager
    def _guard(self, workspace: str) -> Iterator[None]:
        directory = self._dir(workspace)
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / GUARD_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # --- state -----------------------------------------------------------------------------------
    def get(self, workspace: str) -> State | None:
        path = self.state_path(workspace)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"Cannot read state file {path}: {exc.strerror}.") from None
        from gaib.state.model import parse_state

        state = parse_state(raw, str(path))
        return state

    def put(self, state: State, *, expected_serial: int | None) -> None:
        path = self.state_path(state.workspace)
        with self._guard(state.workspace):
            self._sweep_temp_files(path.parent)
            current = self._own_write(path)
            if current is None:
                current = self.get(state.workspace)
            check_write(current, state, expected_serial, str(path))
            if current is not None:
                write_atomic(path.with_name(STATE_FILE + ".backup"), path.read_bytes())
            write_atomic(path, state.to_json())
            self._written[path] = (_identity(path), copy.copy(state))

    def _own_write(self, path: Path) -> State | None:
        """What this backend wrote last at ``path`` while the file is still that write (every write
        replaces the file, so another writer's gives it another inode): an apply's hundreds of writes
        then compare serials without parsing the whole state again before each one."""
        known = self._written.get(path)
        try:
            return known[1] if known is not None and known[0] == _identity(path) else None
        except OSError:
            return None

    @staticmethod
    def _sweep_temp_files(directory: Path) -> None:
        """Remove temp files of writers that died mid-write (only called under the guard)."""
        for leftover in directory.glob(".*.tmp.*"):
            leftover.unlink(missing_ok=True)

    # --- workspaces ------------------------------------------------------------------------------
    def list_workspaces(self) -> list[str]:
        base = self.root / "workspaces"
        if not base.is_dir():
            return []
        names = []
        for entry in base.iterdir():
            try:
                if entry.is_dir():
                    names.append(check_name(entry.name))
            except Exception:
                continue  # foreign folders are not workspaces
        return sorted(names)

    def workspace_exists(self, workspace: str) -> bool:
        return self._dir(workspace).is_dir()

    def create_workspace(self, workspace: str) -> None:
        self._dir(workspace).mkdir(parents=True, exist_ok=True)

    def delete(self, workspace: str) -> None:
        directory = self._dir(workspace)
        if not directory.is_dir():
            raise NotFound(f"Workspace '{workspace}' does not exist.")
        # Rename first so a crash never leaves a half-deleted workspace that still looks valid.
        trash = directory.with_name(f".deleted-{workspace}-{os.getpid()}")
        os.replace(directory, trash)
        import shutil

        shutil.rmtree(trash, ignore_errors=True)

    # --- locks -----------------------------------------------------------------------------------
    def _lock_path(self, workspace: str) -> Path:
        return self._dir(workspace) / LOCK_FILE

    def lock_info(self, workspace: str) -> LockInfo | None:
        path = self._lock_path(workspace)
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_LOCK_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            # Present but unreadable (a folder, no permission): still "locked", never ignored.
            return LockInfo.unreadable(str(path), exc.strerror or type(exc).__name__)
        return lock_from_json(raw, str(path))

    def lock(self, workspace: str, operation: str, now: datetime) -> LockInfo:
        path = self._lock_path(workspace)
        info = LockInfo.new(operation, str(self.state_path(workspace)), now)
        with self._guard(workspace):
            held = self.lock_info(workspace)
            if held is not None:
                dead = holder_is_gone(held)
                if not dead and self._age(held, path, now) < self.stale_after:
                    raise held.held_error()
                _remove_lock(path)  # stale, or its holder is gone: take it over
                if dead and self.notice is not None:
                    self.notice(f"took over the lock of workspace '{workspace}' held since {held.created} by "
                                f"{held.who}: that process no longer exists")
            # Publish the complete lock record with link(2): atomic and exclusive, so no reader
            # ever sees an empty or half-written lock file.
            tmp = path.with_name(f"{LOCK_FILE}.tmp.{os.getpid()}")
            write_atomic(tmp, json.dumps(info.to_dict()).encode())
            try:
                os.link(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
            fsync_dir(path.parent)
        return info

    @staticmethod
    def _age(held: LockInfo, path: Path, now: datetime) -> timedelta:
        created = held.created_at()
        if created is None:
            try:
                created = datetime.fromtimestamp(path.stat().st_mtime, now.tzinfo)
            except OSError:
                return timedelta(0)
        return now - created

    def unlock(self, workspace: str, lock_id: str) -> None:
        with self._guard(workspace):
            held = self.lock_info(workspace)
            if held is not None and held.id == lock_id:
                _remove_lock(self._lock_path(workspace))

    def force_unlock(self, workspace: str) -> LockInfo | None:
        with self._guard(workspace):
            held = self.lock_info(workspace)
            _remove_lock(self._lock_path(workspace))
            return held
