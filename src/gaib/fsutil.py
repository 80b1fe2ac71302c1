"""Crash-safe file writes shared by every layer that writes a plain file (state, config, workspace), and
the paths users give for output.

``write_atomic`` replaces a file through a temp file in the same folder, fsync, rename and a folder
fsync: a process killed at any point leaves the old file or the new one, never a torn one.
``create_new`` makes a file that must not exist yet the same way, but links the temp file in place
instead of renaming it, so an existing file is never replaced.
``user_path`` reads a path as a shell would (``~``, ``~user``, relative to the current folder);
``output_file`` and ``write_output`` check and write an ``-o FILE`` (an existing file only with ``force``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename + directory fsync (replaces ``path``)."""
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def create_new(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` holding ``data``; FileExistsError if anything is there already (never replaced,
    a symlink included). A process killed at any point leaves no file or the whole one."""
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic and exclusive: fails if the name exists
        except FileExistsError:
            raise
        except OSError:
            # A filesystem without hard links: exclusive create, then the data (not crash-atomic).
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """fsync a folder so a new, renamed or linked entry in it survives a crash; tolerated where a
    filesystem cannot open or fsync folders (the file's own data was fsynced before)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def user_path(text: str, *, cwd: Path, home: Path | None, what: str, hint: str) -> Path:
    """The absolute path a user typed, read as a shell reads it (``-o`` of ``snapshot download`` and ``export``).

    ``~`` and ``~user`` at the start are expanded — also when the shell left them alone because the path was
    quoted, so ``-o '~/snap'`` never makes a folder named ``~`` — ``~`` from ``home`` (the run's ``HOME``),
    else the account database. A relative path is taken from ``cwd``; ``..`` may lead anywhere, like an
    absolute path. Symlinks on the way are resolved, so the result names the folder or file that is written.
    InvalidInput (exit 6, with ``hint``) for an empty path, a NUL byte, a path over 4096 bytes or an unknown
    ``~user``.
    """
    from gaib.errors import InvalidInput

    if not isinstance(text, str) or not text.strip() or "\x00" in text \
            or len(text.encode("utf-8", "surrogatepass")) > 4096:
        raise InvalidInput(f"{what} is empty or not a valid path.", hint=hint)
    expanded = text
    if text.startswith("~"):
        head, sep, rest = text.partition("/")
        base = _home_of(head[1:], home)
        if base is None:
            raise InvalidInput(f"{what} {text[:80]!r} starts with {head[:40]!r}, but there is no user "
                               f"{head[1:41]!r} on this machine.", hint=hint)
        expanded = os.path.join(base, rest) if sep else base
    return Path(os.path.realpath(os.path.join(cwd, expanded)))


def _home_of(user: str, home: Path | None) -> str | None:
    """The home folder of ``user`` (``""``: the current user, ``home`` first), None if there is no such user."""
    if not user and home is not None:
        return str(home)
    try:
        import pwd
    except ImportError:  # not on POSIX: only the current user's home is known
        return str(Path.home()) if not user else None
    try:
        entry = pwd.getpwuid(os.getuid()) if not user else pwd.getpwnam(user)
    except KeyError:
        return None
    return entry.pw_dir


def output_file(text: str, *, cwd: Path, home: Path | None, force: bool, hint: str) -> Path:
    """The file ``-o text`` names (:func:`user_path`), checked before anything is read or written:
    InvalidInput for an unusable path or a folder, AlreadyExists (exit 6) for an existing file without
    ``force``."""
    from gaib.errors import AlreadyExists, InvalidInput

    target = user_path(text, cwd=cwd, home=home, what="The output file", hint=hint)
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; a file path is needed.", hint=hint)
    if target.exists() and not force:
        raise AlreadyExists(f"{target} already exists.", hint="Pass --force to replace it, or choose another file.")
    return target


def write_output(target: Path, data: bytes, *, force: bool) -> None:
    """Write ``data`` to ``target`` (from :func:`output_file`) with :func:`write_atomic`, making missing
    parent folders; a file that appeared since the check is refused without ``force`` (AlreadyExists);
    StorageError when the folder cannot be written (the file is then unchanged)."""
    from gaib.errors import AlreadyExists, StorageError

    if target.exists() and not force:
        raise AlreadyExists(f"{target} already exists.", hint="Pass --force to replace it, or choose another file.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, mode=0o644)
    except OSError as exc:
        raise StorageError(f"Cannot write {target}: {exc.strerror or exc}.",
                           hint="Check that the folder is writable; the file was not changed.") from None
