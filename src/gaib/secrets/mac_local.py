"""``LocalMacKey``: the manifest MAC key of a local store, in a file beside (never inside) the store.

The file holds 32 random bytes, is created on the first seal (mode 0600, written to a temporary file,
fsynced, then linked into place so two writers never both win and an existing key is never overwritten)
and is read, never created, by ``verify``: a store whose key file is gone cannot authenticate anything,
and reading creates nothing. Keep a copy of it with your backups' owner, not with the backups: whoever has
it can seal a forged manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from pathlib import Path

from gaib.errors import StorageError

KEY_BYTES = 32


class LocalMacKey:
    """HMAC-SHA-256 with the key in ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalMacKey({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def key_id(self) -> str:
        key = self._read()
        return "local:" + hashlib.sha256(b"gaib manifest key id\0" + key).hexdigest()[:16] if key else "local:none"

    def mac(self, message: bytes) -> bytes:
        return hmac.new(self._read() or self._create(), message, hashlib.sha256).digest()

    def verify(self, message: bytes, mac: bytes) -> bool:
        key = self._read()
        if key is None:
            return False
        return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), mac)

    def _read(self) -> bytes | None:
        with self._lock:
            if self._key is not None:
                return self._key
            try:
                data = self._path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise StorageError(f"The manifest key {self._path} cannot be read: {exc.strerror}.") from None
            if len(data) != KEY_BYTES:
                raise StorageError(f"The manifest key {self._path} is damaged: it holds {len(data)} bytes, "
                                   f"not {KEY_BYTES}.",
                                   hint="Put back the key file from your copy; bundles sealed with it cannot "
                                        "be authenticated without it.")
            self._key = data
            return data

    def _create(self) -> bytes:
        """Write a new key unless one appeared meanwhile (then that one is used): temp file, fsync, link."""
        import secrets  # only the first seal needs it: a listing never loads it

        with self._lock:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._path.with_name(f".{self._path.name}.{secrets.token_hex(4)}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, secrets.token_bytes(KEY_BYTES))
                    os.fsync(fd)
                finally:
                    os.close(fd)
                with contextlib.suppress(FileExistsError):  # a key that exists is never replaced
                    os.link(tmp, self._path)
                _fsync_dir(self._path.parent)
            except OSError as exc:
                raise StorageError(f"The manifest key {self._path} cannot be created: {exc.strerror}.") from None
            finally:
                tmp.unlink(missing_ok=True)
        key = self._read()
        if key is None:  # pragma: no cover - removed between link and read
            raise StorageError(f"The manifest key {self._path} vanished while it was created.")
        return key


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
