"""Writing a verified bundle into the folder the user names, and nowhere else.

The target is any path a user types (:func:`gaib.fsutil.user_path`: absolute, relative with ``..``,
``~`` and ``~user`` expanded even when quoted). An existing file is refused (InvalidInput, exit 6), so
is an existing non-empty folder unless forced (AlreadyExists, exit 6). Nothing is written outside the
target: file names come from a fixed list or a fixed pattern (saved messages ``messages-{channel_id}.jsonl``,
images ``media-{sha256}.{ext}``), never from stored data as is, so a hostile part name (``../x``) is
refused before anything is written.

Each file is streamed (chunk by chunk, never whole) from its source, which raises at the end of the
stream when its sizes or checksums do not match. Crash safety: a new target is filled as a temporary
folder beside it (each file fsynced) and renamed into place, so it appears whole or not at all; an
existing folder gets every file staged in a temporary folder inside it first, then each renamed over
its name (a symlink planted in the folder is replaced, never followed). A failure before the renames
(a refused stream included) removes what was staged: the target is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from gaib.errors import AlreadyExists, InvalidInput, StorageError
from gaib.fsutil import fsync_dir, user_path

ALLOWED_NAMES = frozenset({
    "manifest.json", "state.json", "config.yaml", "theme-registry.json", "objects.json",
    "state.json.gz", "config.yaml.gz", "theme-registry.json.gz", "objects.json.gz",
    "guild.json", "emojis.json", "stickers.json", "bans.json", "members.json",
    "guild.json.gz", "emojis.json.gz", "stickers.json.gz", "bans.json.gz", "members.json.gz",
    "structure.json", "threads.json", "structure.json.gz", "threads.json.gz",
    *(f"{p}.json{gz}" for p in ("automod", "onboarding", "welcome", "events", "soundboard") for gz in ("", ".gz")),
})
#: Saved messages (``messages-{channel_id}.jsonl[.gz]``) and images (``media-{sha256}.{ext}``).
ALLOWED_PATTERN = re.compile(r"messages-[1-9][0-9]{0,19}\.jsonl(\.gz)?"
                             r"|media-[0-9a-f]{64}\.(png|gif|jpg|webp|json|bin|ogg|mp3)")
MEDIA_EXTENSIONS = {"image/png": "png", "image/gif": "gif", "image/jpeg": "jpg", "image/webp": "webp",
                    "application/json": "json", "audio/ogg": "ogg", "audio/mpeg": "mp3"}
_HINT = "Give a new or empty folder, e.g. -o ./snapshot-copy or -o ~/backups/snap (an absolute path is fine)."


def resolve_target(cwd: Path, output: str, *, home: Path | None = None, force: bool = False) -> Path:
    """The folder ``-o output`` names (see :func:`gaib.fsutil.user_path`), checked before anything is read.

    InvalidInput for an unusable path or an existing file; AlreadyExists (exit 6) for a non-empty folder
    without ``force``."""
    target = user_path(output, cwd=cwd, home=home, what="The output folder", hint=_HINT)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} exists and is a file, not a folder.", hint=_HINT)
    if not force and _non_empty(target):
        raise AlreadyExists(f"{target} is not empty.", hint="Choose an empty folder, or pass --force to replace "
                                                             "the snapshot's files in it (other files stay).")
    return target


def _non_empty(target: Path) -> bool:
    try:
        return target.is_dir() and any(target.iterdir())
    except OSError:
        return False


Source = Callable[[], Iterable[bytes]]
"""Opens one file's bytes as a stream of chunks (a stored part, decompressed or not, or an image); the
stream's last step raises when the bytes are not the ones recorded."""


def write_streams(target: Path, files: Sequence[tuple[str, Source]], *, force: bool) -> list[Path]:
    """Write each file (name, source) into the folder ``target`` chunk by chunk, never holding one whole;
    returns the paths written.

    ``target`` is an absolute path from :func:`resolve_target`. Refuses a name outside the fixed list
    (ValueError: a bug or a hostile bundle) and a non-empty folder without ``force`` (AlreadyExists,
    exit 6), before writing anything. Only once every stream ended without error are files renamed into
    place. Never writes outside ``target`` (and its temporary sibling while a new folder is filled)."""
    for name, _ in files:
        if name not in ALLOWED_NAMES and not ALLOWED_PATTERN.fullmatch(name):
            raise ValueError(f"unexpected bundle file name {name!r}")
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} exists and is a file, not a folder.", hint=_HINT)
    if not force and _non_empty(target):
        raise AlreadyExists(f"{target} is not empty.", hint="Choose an empty folder, or pass --force to replace "
                                                             "the snapshot's files in it (other files stay).")
    try:
        if target.is_dir():
            return _into_existing(target, files)
        return _as_new_folder(target, files)
    except OSError as exc:
        raise StorageError(f"Cannot write into {target}: {exc.strerror or exc}.",
                           hint="Check that the folder is writable and the disk has room; nothing was left "
                                "half-written.") from None


def _stage(folder: str, files: Sequence[tuple[str, Source]]) -> None:
    """Stream every file into the fresh private folder ``folder``, each fsynced, then the folder."""
    for name, source in files:
        fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            for chunk in source():
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    fsync_dir(Path(folder))


def _as_new_folder(target: Path, files: Sequence[tuple[str, Source]]) -> list[Path]:
    """Fill a temporary folder beside ``target``, then rename it to ``target``: all or nothing."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    try:
        _stage(staging, files)
        try:
            os.rename(staging, target)  # replaces an empty folder made meanwhile; never a non-empty one
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise AlreadyExists(f"{target} was filled by something else meanwhile; nothing was written.",
                                    hint="Choose an empty folder, or pass --force.") from None
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(target.parent)
    return [target / name for name, _ in files]


def _into_existing(target: Path, files: Sequence[tuple[str, Source]]) -> list[Path]:
    """Stage every file in a temporary folder inside ``target``, then rename each over its name."""
    real = os.path.realpath(target)
    staging = tempfile.mkdtemp(prefix=".gaib-download.tmp-", dir=real)
    try:
        _stage(staging, files)
        written = []
        for name, _ in files:
            final = os.path.join(real, name)
            os.replace(os.path.join(staging, name), final)  # replaces a planted symlink itself, never its target
            written.append(Path(final))
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    fsync_dir(Path(real))
    return written
