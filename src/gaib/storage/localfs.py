"""File-system steps of the local store: crash-safe publishing, per-key locks, content hashes.

Every publish writes a hidden ``.tmp-*`` file in the target folder, fsyncs it, then makes it
visible in one step (``link(2)`` for "create only", ``rename(2)`` for "replace") and fsyncs the
folder. A process killed at any point leaves the old file or the new one, never a torn one; at
worst a hidden temp file stays behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from gaib.digest import sha256_hex
from gaib.errors import StorageError
from gaib.fsutil import fsync_dir

LOCK_TIMEOUT_SECONDS = 30.0
_CHUNK = 1 << 20


def _write_temp(folder: Path, data: bytes) -> str:
    import tempfile  # only writes need it: a listing never loads it

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def write_new_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless ``path`` exists. Returns False if it existed.

    temp file in the same folder → fsync → ``os.link`` (fails if the name is taken) → unlink temp
    → fsync folder. A crash at any point leaves either nothing or the complete file at ``path``.
    """
    tmp = _write_temp(path.parent, data)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
    return True


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, replacing what is there (temp → fsync → rename → fsync
    folder). Readers see the old or the new file, never a mix."""
    tmp = _write_temp(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    import hashlib  # files can be large: OpenSSL is faster on them

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def key_lock(lock_dir: Path, key: str, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock on ``key`` (across threads and processes) for the ``with`` block.

    The lock is ``flock(2)`` on ``lock_dir/<sha256(key)>.lock``; the kernel drops it if its holder
    dies. The holder deletes the file on release, so locks leave nothing behind; whoever then
    wakes on the deleted file sees that the name now points elsewhere (or nowhere) and tries again.
    Raises ``StorageError`` after ``timeout`` seconds of waiting.
    """
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    path = lock_dir / (sha256_hex(key.encode("utf-8"))[:40] + ".lock")
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            if _try_flock(fd):
                mine = os.fstat(fd)
                try:
                    named = os.stat(path)
                except FileNotFoundError:
                    named = None
                if named is not None and (named.st_ino, named.st_dev) == (mine.st_ino, mine.st_dev):
                    break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if time.monotonic() > deadline:
            raise StorageError(f"Object {key} stayed locked by another process for {timeout:.0f} s.",
                               hint="Wait for the other Gaib run to finish, then retry.")
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still holding it: a waiter on this inode will see it is gone
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
