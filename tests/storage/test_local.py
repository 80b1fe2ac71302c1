"""Local adapter specifics: crash safety, the store's format file, escapes, multi-process counters."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gaib.errors import EXIT_GENERAL, InvalidName, NotFound, StorageError
from gaib.storage import open_storage
from gaib.storage.local import LocalObjectStore
from gaib.storage.sqlite_catalog import SqliteCatalog

WRITER = r"""
import hashlib, sys
from gaib.storage.local import LocalObjectStore
store = LocalObjectStore(sys.argv[1])
run = sys.argv[2]
n = 0
while True:
    key = f"state/1/crash/obj-{run}-{n}.bin"
    store.put(key, hashlib.sha256(key.encode()).digest() * (96 * 1024))
    n += 1
"""

COUNTER = r"""
import sys
from gaib.storage import CeilingReached
from gaib.storage.sqlite_catalog import SqliteCatalog
catalog = SqliteCatalog(sys.argv[1])
got = []
for _ in range(15):
    try:
        got.append(catalog.increment("SERVER#1", "QUOTA#backup#20261125", ceiling=25))
    except CeilingReached:
        got.append(0)
print(" ".join(map(str, got)))
"""


def _expected(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest() * (96 * 1024)


@pytest.mark.slow
def test_a_writer_killed_at_any_moment_leaves_no_partial_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    rng = random.Random(11)
    killed = 0
    for run in range(8):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(run)])
        time.sleep(rng.uniform(0.3, 0.9))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait()
    assert killed == 8
    store = LocalObjectStore(root)
    objects = list(store.list("state/1/crash/"))
    assert objects, "the writers never finished a single object"
    for info in objects:
        assert store.get(info.key) == _expected(info.key), f"{info.key} is partial or damaged"
    # Whatever the kills left behind is hidden temp files, never a visible object.
    leftovers = [p for p in (root / "state/1/crash").iterdir() if p.name.startswith(".tmp-")]
    visible = {p.name for p in (root / "state/1/crash").iterdir()} - {p.name for p in leftovers}
    assert visible == {info.key.rsplit("/", 1)[1] for info in objects}


def test_first_write_creates_format_version_and_readme(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    store, catalog = open_storage(backend="local", root=root, environ={})
    assert list(store.list("")) == []
    assert catalog.get("SERVER#1", "TIER") is None
    with pytest.raises(NotFound):
        store.get("state/1/x")
    assert not root.exists()  # reading never creates a store
    store.put("state/1/x", b"1")
    assert (root / "format-version").read_text() == "1\n"
    assert "Gaib backup store" in (root / "README").read_text()
    assert [o.key for o in store.list("")] == ["state/1/x"]  # the store's own files are not objects
    catalog.put_if_absent("SERVER#1", "TIER", {"tier": "free"})
    assert (root / "catalog.sqlite3").exists()
    assert [o.key for o in store.list("")] == ["state/1/x"]
    assert (root / "state/1/x").stat().st_mode & 0o077 == 0  # backups are private to their owner


@pytest.mark.parametrize(
    ("content", "code"), [("2\n", "STORAGE_FORMAT_UNSUPPORTED"), ("banana", "STORAGE_FORMAT_INVALID")]
)
def test_a_store_of_an_unknown_format_is_refused(tmp_path: Path, content: str, code: str) -> None:
    root = tmp_path / "backups"
    store, _ = open_storage(backend="local", root=root, environ={})
    store.put("state/1/x", b"1")
    (root / "format-version").write_text(content)
    for call in (
        lambda: LocalObjectStore(root).get("state/1/x"),
        lambda: LocalObjectStore(root).put("state/1/y", b"2"),
        lambda: list(LocalObjectStore(root).list("")),
        lambda: SqliteCatalog(root).get("SERVER#1", "TIER"),
        lambda: SqliteCatalog(root).increment("SERVER#1", "QUOTA#x#1"),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.error_code == code and info.value.exit_code == EXIT_GENERAL
    assert not (root / "state/1/y").exists()
    assert not (root / "catalog.sqlite3").exists()


def test_a_newer_catalog_schema_is_refused(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "backups"
    SqliteCatalog(root).put_if_absent("SERVER#1", "TIER", {"tier": "free"})
    with sqlite3.connect(root / "catalog.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError) as info:
        SqliteCatalog(root).get("SERVER#1", "TIER")
    assert info.value.error_code == "STORAGE_FORMAT_UNSUPPORTED"


def test_a_folder_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "elsewhere"
    root.mkdir()
    (root / "thesis.tex").write_text("precious")
    with pytest.raises(StorageError) as info:
        LocalObjectStore(root).put("state/1/x", b"1")
    assert info.value.error_code == "STORAGE_NOT_A_STORE"
    assert sorted(os.listdir(root)) == ["thesis.tex"]


def test_a_symlink_cannot_lead_writes_out_of_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    outside = tmp_path / "outside"
    outside.mkdir()
    store = LocalObjectStore(root)
    store.put("state/1/ok", b"1")
    (root / "exports").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidName):
        store.put("exports/1/config.latest.yaml", b"evil")
    with pytest.raises(InvalidName):
        store.get("exports/1/config.latest.yaml")
    assert list(outside.iterdir()) == []


def test_reserved_store_files_are_not_keys(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    store.put("state/1/ok", b"1")
    for key in ("format-version", "README", "catalog.sqlite3", "catalog.sqlite3-wal"):
        with pytest.raises(InvalidName):
            store.put(key, b"x")
        with pytest.raises(InvalidName):
            store.delete(key)
    assert (tmp_path / "store/format-version").read_text() == "1\n"


def test_counter_ceiling_holds_across_processes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    SqliteCatalog(root).put_if_absent("SERVER#1", "META", {})  # create the store up front
    children = [
        subprocess.Popen([sys.executable, "-c", COUNTER, str(root)], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    values: list[int] = []
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        values += [int(v) for v in out.split()]
    assert sorted(v for v in values if v) == list(range(1, 26))
    assert values.count(0) == 45 - 25
    assert SqliteCatalog(root).get("SERVER#1", "QUOTA#backup#20261125") == {"count": 25}



def test_first_use_by_several_writers_at_once_never_fails(tmp_path: Path) -> None:
    """Four catalogs (own connections, own StoreRoot) creating the same new store at the same moment:
    the format check must not mistake a half-initialised store for a foreign folder, and the new
    database's WAL switch must not surface SQLITE_BUSY."""
    import threading

    from gaib.storage.local import StoreRoot
    from gaib.storage.sqlite_catalog import SqliteCatalog

    for trial in range(40):
        root = tmp_path / f"store{trial}"
        catalogs = [SqliteCatalog(StoreRoot(root)) for _ in range(4)]
        errors: list[str] = []
        barrier = threading.Barrier(len(catalogs))

        def first_write(catalog: SqliteCatalog, barrier: threading.Barrier = barrier,
                        errors: list[str] = errors) -> None:
            barrier.wait()
            try:
                catalog.increment("SERVER#1", "QUOTA#x", ceiling=100)
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))

        threads = [threading.Thread(target=first_write, args=(c,)) for c in catalogs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], f"trial {trial}: {errors[0]}"
        assert catalogs[0].get("SERVER#1", "QUOTA#x") == {"count": 4}
