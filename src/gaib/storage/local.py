"""The embedded object store: files under a root folder (default ``.gaib/backups/``) at S3's keys.

Layout of the root::

    format-version        "1" — a store with a newer version is refused, never half-understood
    README                what this folder is (written once, on first use)
    catalog.sqlite3       the SQLite catalog (gaib.storage.sqlite_catalog)
    state/... snapshots/... exports/... themes/... metadata/...   the objects, at their keys
    .meta/<key>.json      tags and content type of each object (a sidecar outside the key space)

Writes are atomic and never overwrite: the bytes go to a temporary file in the target folder,
are fsynced, then published with ``os.link(temp, final)``, which fails if ``final`` exists —
even when another process published it a microsecond earlier — and the folder is fsynced. A
process killed mid-write leaves at most a hidden ``.tmp-*`` file, never a partial object.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from gaib.errors import Conflict, InvalidName, NotFound, StorageError
from gaib.storage.base import DEFAULT_CONTENT_TYPE, ObjectInfo, check_key, check_prefix, check_tags

FORMAT_VERSION = 1
FORMAT_FILE = "format-version"
README_FILE = "README"
CATALOG_FILE = "catalog.sqlite3"
META_DIR = ".meta"

README_TEXT = """\
This folder is a Gaib backup store (format version {version}).

It holds state backups, snapshots, exports and the theme registry of Discord servers managed
with Gaib, at the same keys Gaib uses in S3, plus catalog.sqlite3 (the index of backups and
snapshots). Do not edit or move files by hand: use 'gaib server backup ...' and
'gaib server snapshot ...'. Objects are written once and never changed.
"""

_IGNORED_AT_INIT = {README_FILE, FORMAT_FILE}


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the data itself was fsynced
    finally:
        os.close(fd)


def write_new_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless ``path`` exists. Returns False if it existed.

    temp file in the same folder → fsync → ``os.link`` (fails if the name is taken) → unlink temp
    → fsync folder. A crash at any point leaves either nothing or the complete file at ``path``.
    """
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return True


def _reserved(top_level_name: str) -> bool:
    return top_level_name in (FORMAT_FILE, README_FILE) or top_level_name.startswith(CATALOG_FILE)


class StoreRoot:
    """The root folder of a local store: format check on every open, initialisation on first write."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root)
        self._checked = False
        self._lock = threading.Lock()

    def _read_version(self) -> int:
        text = (self.path / FORMAT_FILE).read_text(encoding="ascii", errors="replace").strip()
        if not text.isdigit() or len(text) > 6:
            raise StorageError(
                f"{self.path / FORMAT_FILE} is damaged: {text[:20]!r} is not a format version.",
                code="STORAGE_FORMAT_INVALID",
                hint="Restore the file (it holds the single line '1') or point Gaib at another folder.",
            )
        return int(text)

    def _initialise(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The version file goes first: a folder with content but no version is not ours.
        write_new_file(self.path / FORMAT_FILE, f"{FORMAT_VERSION}\n".encode("ascii"))
        write_new_file(self.path / README_FILE, README_TEXT.format(version=FORMAT_VERSION).encode("ascii"))

    def ensure(self, *, create: bool) -> bool:
        """Check the store's format; create it when ``create``. Returns whether the store exists.

        Raises ``StorageError`` for a newer or damaged format, or a non-empty folder that is not a store.
        """
        if self._checked:
            return True
        with self._lock:
            if self._checked:
                return True
            try:
                try:
                    version = self._read_version()
                except FileNotFoundError:
                    # Another process may be initialising the store right now: every check below
                    # looks again for the version file before it concludes anything.
                    version_file = self.path / FORMAT_FILE
                    if self.path.exists() and not self.path.is_dir():
                        raise StorageError(f"{self.path} is not a folder.", code="STORAGE_NOT_A_STORE") from None
                    if self.path.is_dir():
                        # Hidden entries (temp files, the notifier's .events/) are Gaib's own.
                        foreign = [
                            n for n in os.listdir(self.path)
                            if n not in _IGNORED_AT_INIT and not n.startswith(".")
                        ]
                        if foreign and not version_file.exists():
                            raise StorageError(
                                f"{self.path} is not a Gaib backup store (it has no {FORMAT_FILE} file "
                                "but is not empty).",
                                code="STORAGE_NOT_A_STORE",
                                hint="Point Gaib at an empty or new folder for backups.",
                            ) from None
                    if not version_file.exists():
                        if not create:
                            return False
                        self._initialise()  # tolerates a concurrent initialiser (never overwrites)
                    version = self._read_version()
            except OSError as exc:
                raise StorageError(f"Cannot use the backup store at {self.path}: {exc.strerror}.") from None
            if version > FORMAT_VERSION:
                raise StorageError(
                    f"The backup store at {self.path} has format version {version}; this Gaib understands "
                    f"up to {FORMAT_VERSION}.",
                    code="STORAGE_FORMAT_UNSUPPORTED",
                    hint="Upgrade Gaib to read this store. Nothing was changed.",
                )
            if version < 1:
                raise StorageError(f"The backup store at {self.path} has an invalid format version {version}.",
                                   code="STORAGE_FORMAT_INVALID")
            self._checked = True
            return True


class LocalObjectStore:
    """``ObjectStore`` over a folder. Never overwrites; see the module docstring for the write path."""

    def __init__(self, root: Path | str) -> None:
        self.root = StoreRoot(Path(root))
        self._real_root = os.path.realpath(self.root.path)

    def _path(self, key: str) -> Path:
        check_key(key)
        if _reserved(key):
            raise InvalidName(f"Object key {key!r} is reserved for the store's own files.",
                              details={"field": "object key"})
        path = self.root.path.joinpath(*key.split("/"))
        # Defence in depth: even a key that passed the pattern must not resolve (symlinks included)
        # outside the root.
        real = os.path.realpath(path)
        if not real.startswith(self._real_root + os.sep):
            raise InvalidName(f"Object key {key[:60]!r} points outside the backup store.",
                              details={"field": "object key"})
        return path

    def _meta_path(self, key: str) -> Path:
        return self.root.path.joinpath(META_DIR, *key.split("/")).with_name(key.rsplit("/", 1)[-1] + ".json")

    def put(
        self,
        key: str,
        data: bytes,
        *,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Store ``data`` at ``key``; raises ``Conflict`` if the key exists (the old bytes stay)."""
        path = self._path(key)
        clean_tags = check_tags(tags)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("ObjectStore.put takes bytes")
        self.root.ensure(create=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not write_new_file(path, bytes(data)):
                raise Conflict(f"Object {key} already exists; objects are never overwritten.",
                               details={"key": key})
            meta = self._meta_path(key)
            meta.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            body = json.dumps({"tags": clean_tags, "content_type": content_type}, sort_keys=True).encode()
            # We own the key now; a sidecar left by a deleted object of the same name is replaced.
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=meta.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, meta)
            st = path.stat()
        except (FileExistsError, NotADirectoryError):
            raise Conflict(f"Object {key} collides with an existing key.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot write object {key}: {exc.strerror}.") from None
        return ObjectInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC),
                          content_type=content_type)

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        path = self._path(key)
        if not self.root.ensure(create=False):
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None

    def _meta(self, key: str) -> dict[str, object]:
        try:
            data = json.loads(self._meta_path(key).read_bytes())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def head(self, key: str) -> ObjectInfo:
        """Size, time and content type of ``key``; raises ``NotFound``."""
        path = self._path(key)
        if not self.root.ensure(create=False):
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None
        if not path.is_file():
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        ctype = self._meta(key).get("content_type")
        return ObjectInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC),
                          content_type=ctype if isinstance(ctype, str) else DEFAULT_CONTENT_TYPE)

    def tags(self, key: str) -> dict[str, str]:
        """Tags of ``key`` ({} if its sidecar was lost in a crash); raises ``NotFound``."""
        self.head(key)
        tags = self._meta(key).get("tags")
        if not isinstance(tags, dict):
            return {}
        return {str(k): str(v) for k, v in tags.items()}

    def delete(self, key: str) -> None:
        """Remove ``key`` and its sidecar; a missing key is not an error."""
        path = self._path(key)
        if not self.root.ensure(create=False):
            return
        try:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                if path.is_dir():
                    return
                os.unlink(path)
                _fsync_dir(path.parent)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(self._meta_path(key))
        except OSError as exc:
            raise StorageError(f"Cannot delete object {key}: {exc.strerror}.") from None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, sorted by key (hidden files are not objects)."""
        check_prefix(prefix)
        if not self.root.ensure(create=False):
            return iter(())
        base_rel = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self.root.path.joinpath(*base_rel.split("/")) if base_rel else self.root.path
        found: builtins.list[ObjectInfo] = []
        try:
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                rel_dir = os.path.relpath(dirpath, self.root.path)
                for name in filenames:
                    if name.startswith("."):
                        continue
                    key = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
                    if rel_dir == "." and _reserved(name):
                        continue
                    if not key.startswith(prefix):
                        continue
                    try:
                        st = os.stat(os.path.join(dirpath, name))
                    except FileNotFoundError:
                        continue  # deleted while we walked
                    found.append(ObjectInfo(key=key, size=st.st_size,
                                            modified=datetime.fromtimestamp(st.st_mtime, UTC)))
        except OSError as exc:
            raise StorageError(f"Cannot list the backup store: {exc.strerror}.") from None
        found.sort(key=lambda info: info.key)
        return iter(found)
