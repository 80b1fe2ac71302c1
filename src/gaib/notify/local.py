"""``FileNotifier``: events appended as JSON Lines to a local file, and ``read_events`` to read them back.

The composition root puts the file at ``<local store root>/.events/events.jsonl`` (``events_path``), a
hidden folder outside the store's key space. Each line is one ``Event.to_message()`` object.

Appends from several processes never interleave or tear each other's lines: the file is opened with
``O_APPEND``, the writer holds ``flock(LOCK_EX)`` for the whole line, writes it with as few ``write``
calls as the kernel allows (one, in practice), then fsyncs. A line left unterminated by a writer that
died mid-write is sealed with a newline by the next writer, so it can never merge with a later event;
``read_events`` skips such fragments.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gaib import safejson
from gaib.errors import InvalidInput
from gaib.fsutil import fsync_dir
from gaib.notify.base import NotifyError
from gaib.notify.events import Event

EVENTS_DIR = ".events"
EVENTS_FILE = "events.jsonl"


def events_path(store_root: str | os.PathLike[str]) -> Path:
    """Where the local store's events file lives: ``<store_root>/.events/events.jsonl``."""
    return Path(store_root) / EVENTS_DIR / EVENTS_FILE


def encode_line(event: Event) -> bytes:
    """One event as a compact UTF-8 JSON line ending in a newline."""
    return (json.dumps(event.to_message(), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class FileNotifier:
    """Appends one JSON line per event to ``path`` (created with mode 0600, its folder with 0700).

    ``secrets`` (e.g. the bot token) are scrubbed from every event before it is written. ``publish``
    returns once the line is fsynced; it raises NotifyError when the file cannot be written.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secrets = tuple(s for s in secrets if s)

    def __repr__(self) -> str:
        return f"FileNotifier({str(self.path)!r})"

    def publish(self, event: Event) -> None:
        line = encode_line(event.redacted(self._secrets))
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise NotifyError(f"Cannot open the events file {self.path}: {exc.strerror}.",
                              hint="Check that the folder exists and is writable.") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # seal the fragment a killed writer left behind
            _write_all(fd, line)
            os.fsync(fd)
            if size == 0:
                fsync_dir(self.path.parent)
        except OSError as exc:
            raise NotifyError(f"Cannot append to the events file {self.path}: {exc.strerror}.",
                              hint="Check free disk space and the file's permissions.") from None
        finally:
            os.close(fd)  # also releases the lock


def read_events(path: str | os.PathLike[str], limit: int | None = None) -> list[dict[str, Any]]:
    """The events in ``path``, oldest first; with ``limit``, only the newest ``limit`` of them.

    A missing file holds no events. An unterminated last line (a writer killed mid-line, or one still
    writing) and sealed fragments are skipped, not errors. Raises InvalidInput for a negative ``limit``
    and NotifyError when the file exists but cannot be read.
    """
    if limit is not None and (isinstance(limit, bool) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, not {limit!r}.")
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise NotifyError(f"Cannot read the events file {path}: {exc.strerror}.") from None
    lines = data.split(b"\n")[:-1]  # the last piece is b"" or an unterminated (torn) line
    events: deque[dict[str, Any]] = deque(maxlen=limit)
    for raw in lines:
        try:
            item = safejson.loads(raw)
        except ValueError:  # JsonProblem: a torn or damaged line is skipped
            continue
        if isinstance(item, dict):
            events.append(item)
    return list(events)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
