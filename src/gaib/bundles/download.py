"""Writing a verified bundle into a folder the user names, and nowhere else.

The target must be a folder inside the project folder: an absolute path or one that climbs out
(``../x``), or a target that resolves outside through a symlink, is refused (InvalidInput, exit 6)
before anything is written. An existing non-empty folder is refused unless forced. Each file is
streamed (chunk by chunk, never whole) to a temp file inside the target and fsynced; only once every
file's stream ended without error (its sizes and checksums matched) are they renamed over their
names, so a symlink planted in the folder is replaced, never followed, and a refused bundle leaves
nothing behind; names come from a fixed list or a fixed pattern (saved messages
``messages-{channel_id}.jsonl``, images ``media-{sha256}.{ext}``), never from stored data as is.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePath

from gaib.errors import AlreadyExists, InvalidInput, StorageError
from gaib.fsutil import fsync_dir

ALLOWED_NAMES = frozenset({
    "manifest.json", "state.json", "config.yaml", "theme-registry.json", "objects.json",
    "state.json.gz", "config.yaml.gz", "theme-registry.json.gz", "objects.json.gz",
    "guild.json", "emojis.json", "stickers.json", "bans.json",
    "guild.json.gz", "emojis.json.gz", "stickers.json.gz", "bans.json.gz",
})
#: Saved messages (``messages-{channel_id}.jsonl[.gz]``) and images (``media-{sha256}.{ext}``).
ALLOWED_PATTERN = re.compile(r"messages-[1-9][0-9]{0,19}\.jsonl(\.gz)?|media-[0-9a-f]{64}\.(png|gif|jpg|webp|json|bin)")
MEDIA_EXTENSIONS = {"image/png": "png", "image/gif": "gif", "image/jpeg": "jpg", "image/webp": "webp",
                    "application/json": "json"}


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def resolve_target(project_dir: Path, output: str) -> Path:
    """The target folder for ``-o output``; InvalidInput for anything that could lead outside the project."""
    hint = "Give a folder inside the current folder, e.g. -o ./snapshot-copy."
    if not isinstance(output, str) or not output.strip() or "\x00" in output or len(output) > 1024:
        raise InvalidInput("The output folder is empty or not a valid path.", hint=hint)
    pure = PurePath(output)
    if pure.is_absolute():
        raise InvalidInput(f"The output folder {output[:80]!r} is an absolute path.", hint=hint)
    if ".." in pure.parts:
        raise InvalidInput(f"The output folder {output[:80]!r} climbs out of the current folder.", hint=hint)
    root = os.path.realpath(project_dir)
    target = Path(root, pure)
    if not _inside(os.path.realpath(target), root):
        raise InvalidInput(f"The output folder {output[:80]!r} leads outside the current folder (a symlink).",
                           hint=hint)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{output[:80]!r} exists and is not a folder.", hint=hint)
    return target


Source = Callable[[], Iterable[bytes]]
"""Opens one file's bytes as a stream of chunks (a stored part, decompressed or not, or an image); the
stream's last step raises when the bytes are not the ones recorded."""


def write_streams(target: Path, files: Sequence[tuple[str, Source]], *, force: bool) -> list[Path]:
    """Write each file (name, source) into ``target`` chunk by chunk, never holding one whole; returns the
    paths written. Every file goes to a temp file first; only once every stream has ended without error
    (so every size and checksum matched) are they renamed into place, so a failure leaves no file of the
    bundle behind (and removes the folder if this call made it). Refuses a non-empty folder without
    ``force`` (AlreadyExists, exit 6); never writes outside it."""
    for name, _ in files:
        if name not in ALLOWED_NAMES and not ALLOWED_PATTERN.fullmatch(name):
            raise ValueError(f"unexpected bundle file name {name!r}")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise AlreadyExists(f"{target} is not empty.", hint="Choose an empty folder, or pass --force to replace "
                                                             "the snapshot's files in it.")
    made = not target.exists()
    temps: list[tuple[str, str]] = []
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        real = os.path.realpath(target)
        for name, source in files:
            tmp = os.path.join(real, f".{name}.tmp.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            temps.append((tmp, os.path.join(real, name)))
            with os.fdopen(fd, "wb") as fh:
                for chunk in source():
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, final in temps:
            os.replace(tmp, final)  # replaces a planted symlink itself, never its target
        fsync_dir(Path(real))
    except BaseException as exc:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if made:
            with contextlib.suppress(OSError):
                target.rmdir()  # only if empty: this call made it, and nothing was written
        if isinstance(exc, OSError):
            raise StorageError(f"Cannot write into {target}: {exc.strerror}.",
                               hint="Check that the folder is writable.") from None
        raise
    return [Path(final) for _, final in temps]
