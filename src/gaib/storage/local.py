"""The embedded object store: files under a root folder (default ``.gaib/backups/``) at S3's keys.

Layout of the root::

    format-version        "1" — a store with a newer version is refused, never half-understood
    README                what this folder is (written once, on first use)
    catalog.sqlite3       the SQLite catalog (gaib.storage.sqlite_catalog)
    state/... snapshots/... exports/... themes/... metadata/...   the objects, at their keys
    .meta/<key>.json      tags, content type and generation of each object (a sidecar)
    .versions/<key>/      the previous generations of a replaced document (at most KEPT_VERSIONS)
    .locks/               per-key lock files, present only while an operation holds them

Everything hidden is outside the key space (a key segment never starts with a dot).

Writes are atomic (see ``gaib.storage.localfs``): ``put`` publishes with ``link(2)``, which fails
if the key exists, so it never overwrites; ``replace`` publishes with ``rename(2)``. ``put``,
``replace`` and ``delete`` of one key hold that key's lock, so a compare-and-swap cannot interleave
with another writer of the same key; reads take no lock (a rename is atomic for them).

A document's generation is the sha256 of its bytes. It is a function of the file itself, so no
crash can leave a generation that disagrees with the bytes (a counter or uuid in the sidecar could:
the data and the sidecar are two files). The price is ABA: A → B → A gives A's generation back, and
a writer that read the first A wins its swap against the second. That is the swap a
read-modify-write needs — the bytes it changed are exactly the bytes it replaces — only tags or
content type set in between may be overwritten. ``get_document`` and ``replace`` hash the bytes
they read; ``head`` uses the generation cached in the sidecar when the file's (inode, size, mtime)
still match the ones recorded with it, and hashes the file otherwise.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from gaib import safejson
from gaib.digest import sha256_hex
from gaib.errors import Conflict, InvalidInput, InvalidName, NotFound, StorageError
from gaib.fsutil import fsync_dir
from gaib.storage.base import (
    DEFAULT_CONTENT_TYPE,
    STREAM_CHUNK,
    ObjectInfo,
    StoredDocument,
    check_key,
    check_prefix,
    check_tags,
    document_conflict,
)
from gaib.storage.localfs import key_lock, sha256_file, write_new_file, write_replacing

FORMAT_VERSION = 1
FORMAT_FILE = "format-version"
README_FILE = "README"
CATALOG_FILE = "catalog.sqlite3"
META_DIR = ".meta"
VERSIONS_DIR = ".versions"
LOCKS_DIR = ".locks"
KEPT_VERSIONS = 5
"""How many previous generations of a replaced document the local store keeps."""

README_TEXT = """\
This folder is a Gaib backup store (format version {version}).

It holds state backups, snapshots, exports and the theme registry of Discord servers managed
with Gaib, at the same keys Gaib uses in S3, plus catalog.sqlite3 (the index of backups and
snapshots). Do not edit or move files by hand: use 'gaib server backup ...' and
'gaib server snapshot ...'. Backups and snapshots are written once and never changed.
"""

_IGNORED_AT_INIT = {README_FILE, FORMAT_FILE}
_VERSION_NAME_RE = re.compile(r"\d{20}-[0-9a-f]{12}")


def _reserved(top_level_name: str) -> bool:
    return top_level_name in (FORMAT_FILE, README_FILE) or top_level_name.startswith(CATALOG_FILE)


class StoreRoot:
    """The root folder of a local store: format check on every open, initialisation on first write."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root)
        self._checked = False
        self._lock = threading.Lock()

    def _read_version(self) -> int:
        # bytes.decode takes the built-in ASCII path; read_text would import encodings.ascii first.
        text = (self.path / FORMAT_FILE).read_bytes().decode("ascii", errors="replace").strip()
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
    """``ObjectStore`` over a folder. ``put`` never overwrites; documents change only by ``replace``
    (compare-and-swap on the sha256 of their bytes). See the module docstring."""

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

    def _versions_path(self, key: str) -> Path:
        return self.root.path.joinpath(VERSIONS_DIR, *key.split("/"))

    def _lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        return key_lock(self.root.path / LOCKS_DIR, key)

    @staticmethod
    def _info(key: str, path: Path, content_type: str, generation: str) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC),
                          content_type=content_type, generation=generation)

    def _write_meta(self, key: str, path: Path, tags: dict[str, str], content_type: str, generation: str) -> None:
        """Replace the sidecar; it records the file's (inode, size, mtime) the generation belongs to."""
        st = path.stat()
        meta = self._meta_path(key)
        meta.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"tags": tags, "content_type": content_type, "generation": generation,
                "stamp": [st.st_ino, st.st_size, st.st_mtime_ns]}
        write_replacing(meta, json.dumps(body, sort_keys=True).encode())

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
        body = bytes(data)
        self.root.ensure(create=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._lock(key):
                if not write_new_file(path, body):
                    raise Conflict(f"Object {key} already exists; objects are never overwritten.",
                                   details={"key": key})
                generation = sha256_hex(body)
                # We own the key now; a sidecar left by a deleted object of the same name is replaced.
                self._write_meta(key, path, clean_tags, content_type, generation)
                return self._info(key, path, content_type, generation)
        except (FileExistsError, NotADirectoryError):
            raise Conflict(f"Object {key} collides with an existing key.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot write object {key}: {exc.strerror}.") from None

    def _read(self, key: str) -> bytes:
        path = self._path(key)
        if not self.root.ensure(create=False):
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        return self._read(key)

    def stream(self, key: str, *, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        """The file's bytes in chunks of at most ``chunk_size``; raises ``NotFound`` at the call."""
        path = self._path(key)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInput("A chunk size is a positive number of bytes.")
        try:
            if not self.root.ensure(create=False):
                raise FileNotFoundError
            handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None
        return _chunks(handle, key, chunk_size)

    def get_document(self, key: str) -> StoredDocument:
        """The bytes at ``key`` and their generation (their sha256); raises ``NotFound``."""
        data = self._read(key)
        return StoredDocument(data=data, generation=sha256_hex(data))

    def replace(
        self,
        key: str,
        data: bytes,
        *,
        expected_generation: str | None,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Compare-and-swap ``data`` in at ``key``; raises ``Conflict`` if the stored generation is not
        ``expected_generation`` (None: if anything is stored). The replaced bytes are kept as a previous
        version (at most ``KEPT_VERSIONS``)."""
        path = self._path(key)
        clean_tags = check_tags(tags)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("ObjectStore.replace takes bytes")
        if expected_generation is not None and not isinstance(expected_generation, str):
            raise InvalidInput("A document generation is a string (from get_document or head).")
        body = bytes(data)
        self.root.ensure(create=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._lock(key):
                try:
                    current: str | None = sha256_hex(path.read_bytes())
                except FileNotFoundError:
                    current = None
                if current != expected_generation:
                    raise document_conflict(key, expected_generation, deleted=current is None)
                if current is None:
                    if not write_new_file(path, body):  # the lock makes this a formality
                        raise document_conflict(key, None)
                else:
                    self._keep_version(key, path, current)
                    write_replacing(path, body)
                generation = sha256_hex(body)
                self._write_meta(key, path, clean_tags, content_type, generation)
                return self._info(key, path, content_type, generation)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            raise Conflict(f"Object {key} collides with an existing key.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot write object {key}: {exc.strerror}.") from None

    def _keep_version(self, key: str, path: Path, generation: str) -> None:
        """Hard-link the current file into the key's versions folder (no copy), then drop the oldest
        beyond ``KEPT_VERSIONS``. Called with the key's lock held, before the file is replaced."""
        folder = self._versions_path(key)
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.link(path, folder / f"{time.time_ns():020d}-{generation[:12]}")
        except OSError:
            return  # history is a convenience: a folder that refuses hard links keeps none
        for name in self._version_names(folder)[:-KEPT_VERSIONS]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / name)

    @staticmethod
    def _version_names(folder: Path) -> builtins.list[str]:
        try:
            names = os.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(n for n in names if _VERSION_NAME_RE.fullmatch(n))

    def previous_versions(self, key: str) -> builtins.list[StoredDocument]:
        """The kept previous generations of a document, newest first (local store only)."""
        self._path(key)
        if not self.root.ensure(create=False):
            return []
        folder = self._versions_path(key)
        found: builtins.list[StoredDocument] = []
        for name in reversed(self._version_names(folder)):
            with contextlib.suppress(FileNotFoundError):
                data = (folder / name).read_bytes()
                found.append(StoredDocument(data=data, generation=sha256_hex(data)))
        return found

    def _meta(self, key: str) -> dict[str, object]:
        try:
            data = safejson.loads(self._meta_path(key).read_bytes(), max_bytes=64 * 1024, max_depth=8)
        except (OSError, ValueError):  # a sidecar lost or torn by a crash: no tags, generation re-hashed
            return {}
        return data if isinstance(data, dict) else {}

    def head(self, key: str) -> ObjectInfo:
        """Size, time, content type and generation of ``key``; raises ``NotFound``."""
        path = self._path(key)
        if not self.root.ensure(create=False):
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        try:
            st = path.stat()
            if not path.is_file():
                raise NotFound(f"Object {key} does not exist.", details={"key": key})
            meta = self._meta(key)
            generation = meta.get("generation")
            if not isinstance(generation, str) or meta.get("stamp") != [st.st_ino, st.st_size, st.st_mtime_ns]:
                generation = sha256_file(path)  # no sidecar, or one that describes an earlier file
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None
        ctype = meta.get("content_type")
        return ObjectInfo(key=key, size=st.st_size, modified=datetime.fromtimestamp(st.st_mtime, UTC),
                          content_type=ctype if isinstance(ctype, str) else DEFAULT_CONTENT_TYPE,
                          generation=generation)

    def tags(self, key: str) -> dict[str, str]:
        """Tags of ``key`` ({} if its sidecar was lost in a crash); raises ``NotFound``."""
        path = self._path(key)
        if not self.root.ensure(create=False) or not path.is_file():
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        tags = self._meta(key).get("tags")
        if not isinstance(tags, dict):
            return {}
        return {str(k): str(v) for k, v in tags.items()}

    def set_tags(self, key: str, tags: Mapping[str, str]) -> None:
        """Replace the tags in ``key``'s sidecar (under the key's lock); raises ``NotFound``.

        The sidecar keeps the content type; its generation is recomputed from the file when the
        recorded one no longer describes it (a sidecar lost or outlived in a crash).
        """
        path = self._path(key)
        clean_tags = check_tags(tags)
        if not self.root.ensure(create=False):
            raise NotFound(f"Object {key} does not exist.", details={"key": key})
        try:
            with self._lock(key):
                if not path.is_file():
                    raise NotFound(f"Object {key} does not exist.", details={"key": key})
                st = path.stat()
                meta = self._meta(key)
                generation = meta.get("generation")
                if not isinstance(generation, str) or meta.get("stamp") != [st.st_ino, st.st_size, st.st_mtime_ns]:
                    generation = sha256_file(path)
                ctype = meta.get("content_type")
                self._write_meta(key, path, clean_tags, ctype if isinstance(ctype, str) else DEFAULT_CONTENT_TYPE,
                                 generation)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Object {key} does not exist.", details={"key": key}) from None
        except OSError as exc:
            raise StorageError(f"Cannot tag object {key}: {exc.strerror}.") from None

    def delete_many(self, keys: Sequence[str]) -> None:
        """``delete`` of every key, each checked first; a missing key is not an error."""
        for key in keys:
            self._path(key)
        for key in keys:
            self.delete(key)

    def delete(self, key: str) -> None:
        """Remove ``key``, its sidecar and its kept versions; a missing key is not an error."""
        path = self._path(key)
        if not self.root.ensure(create=False):
            return
        try:
            with self._lock(key):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    if path.is_dir():
                        return
                    os.unlink(path)
                    fsync_dir(path.parent)
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    os.unlink(self._meta_path(key))
                folder = self._versions_path(key)
                for name in self._version_names(folder):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(folder / name)
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


def _chunks(handle: IO[bytes], key: str, size: int) -> Iterator[bytes]:
    with handle:
        while True:
            try:
                chunk = handle.read(size)
            except OSError as exc:
                raise StorageError(f"Cannot read object {key}: {exc.strerror}.") from None
            if not chunk:
                return
            yield chunk
