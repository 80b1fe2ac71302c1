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

from gaib.errors import EXIT_GENERAL, Conflict, InvalidName, NotFound, StorageError
from gaib.storage.local import LocalObjectStore
from gaib.storage.open import open_storage
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
from gaib.storage.base import CeilingReached
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


# --- documents ----------------------------------------------------------------------------------

REPLACER = r"""
import hashlib, sys
from gaib.storage.local import LocalObjectStore
store = LocalObjectStore(sys.argv[1])
key, run = sys.argv[2], sys.argv[3]
n = 0
while True:
    label = f"{run}-{n}".encode()
    doc = store.get_document(key)
    store.replace(key, label + b"\n" + hashlib.sha256(label).digest() * 100_000,
                  expected_generation=doc.generation, content_type="application/json")
    if n == 0:
        print("replaced", flush=True)  # started and replaced once: the kill lands mid-loop however slow start-up was
    n += 1
"""

DOC_KEY = "themes/1/registry.json"


def _document(label: bytes) -> bytes:
    return label + b"\n" + hashlib.sha256(label).digest() * 100_000


def _is_whole(data: bytes) -> bool:
    label, _, _rest = data.partition(b"\n")
    return data == _document(label)


@pytest.mark.slow
def test_a_replace_killed_at_any_moment_leaves_the_old_or_the_new_document(tmp_path: Path) -> None:
    from gaib.storage.documents import update_document

    root = tmp_path / "store"
    store = LocalObjectStore(root)
    store.replace(DOC_KEY, _document(b"initial"), expected_generation=None)
    rng = random.Random(13)
    labels: set[bytes] = set()
    for run in range(8):
        child = subprocess.Popen([sys.executable, "-c", REPLACER, str(root), DOC_KEY, str(run)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None and child.stdout.readline().strip() == "replaced"
        time.sleep(rng.uniform(0.0, 0.6))
        assert child.poll() is None, "the replacing process died on its own"
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        doc = store.get_document(DOC_KEY)
        assert _is_whole(doc.data), f"run {run}: the document is torn"
        assert store.head(DOC_KEY).generation == doc.generation
        assert store.head(DOC_KEY).size == len(doc.data)
        labels.add(doc.data.partition(b"\n")[0])
    assert len(labels) > 1 and b"initial" not in labels  # the children did replace it, many times
    assert all(_is_whole(old.data) for old in store.previous_versions(DOC_KEY))
    assert [o.key for o in store.list("")] == [DOC_KEY]  # leftovers of the kills are hidden
    # A lock left by a killed holder does not block the next writer.
    update_document(store, DOC_KEY, lambda old: _document(b"after the kills"))
    assert store.get(DOC_KEY) == _document(b"after the kills")


def test_replace_keeps_a_bounded_history_and_delete_clears_it(tmp_path: Path) -> None:
    from gaib.storage.local import KEPT_VERSIONS

    store = LocalObjectStore(tmp_path / "store")
    store.replace(DOC_KEY, b"v0", expected_generation=None)
    for i in range(1, 9):
        store.replace(DOC_KEY, f"v{i}".encode(), expected_generation=store.get_document(DOC_KEY).generation)
    history = store.previous_versions(DOC_KEY)
    assert [v.data for v in history] == [f"v{i}".encode() for i in range(7, 7 - KEPT_VERSIONS, -1)]
    assert KEPT_VERSIONS == 5
    assert history[0].generation == hashlib.sha256(b"v7").hexdigest()
    assert [o.key for o in store.list("")] == [DOC_KEY]  # history is not in the key space
    store.delete(DOC_KEY)
    assert store.previous_versions(DOC_KEY) == []
    store.replace(DOC_KEY, b"new life", expected_generation=None)
    assert store.previous_versions(DOC_KEY) == []


def test_the_generation_is_the_content_hash_even_when_the_sidecar_is_stale(tmp_path: Path) -> None:
    """A crash between publishing a document and rewriting its sidecar leaves the sidecar of the old
    bytes. The generation must still describe the bytes, never the sidecar."""
    root = tmp_path / "store"
    store = LocalObjectStore(root)
    first = store.replace(DOC_KEY, b"old", expected_generation=None)
    assert first.generation == hashlib.sha256(b"old").hexdigest()
    sidecar = (root / ".meta" / DOC_KEY).with_name("registry.json.json").read_bytes()
    # Simulate the crash: the new bytes are published, the sidecar still describes the old file.
    tmp = root / "themes/1/.tmp-simulated"
    tmp.write_bytes(b"new")
    os.replace(tmp, root / DOC_KEY)
    assert (root / ".meta" / DOC_KEY).with_name("registry.json.json").read_bytes() == sidecar
    assert store.head(DOC_KEY).generation == hashlib.sha256(b"new").hexdigest()
    assert store.get_document(DOC_KEY).generation == hashlib.sha256(b"new").hexdigest()
    with pytest.raises(Conflict):
        store.replace(DOC_KEY, b"lost", expected_generation=first.generation)
    store.replace(DOC_KEY, b"newer", expected_generation=hashlib.sha256(b"new").hexdigest())
    assert store.get(DOC_KEY) == b"newer"


def test_locks_leave_no_files_behind(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = LocalObjectStore(root)
    store.put("state/1/a", b"1")
    store.replace(DOC_KEY, b"v1", expected_generation=None)
    store.replace(DOC_KEY, b"v2", expected_generation=store.get_document(DOC_KEY).generation)
    with pytest.raises(Conflict):
        store.replace(DOC_KEY, b"v3", expected_generation=None)
    store.delete("state/1/a")
    assert list((root / ".locks").iterdir()) == []


def test_a_key_lock_excludes_other_threads_and_times_out(tmp_path: Path) -> None:
    import threading

    from gaib.storage.localfs import key_lock

    inside: list[str] = []
    with key_lock(tmp_path, DOC_KEY):
        with pytest.raises(StorageError) as info, key_lock(tmp_path, DOC_KEY, timeout=0.2):
            inside.append("second")
        assert "stayed locked" in info.value.message and inside == []
        other = threading.Thread(target=lambda: _lock_and_note(tmp_path, inside))
        other.start()
        time.sleep(0.2)
        assert inside == []  # still waiting for us
        inside.append("first")
    other.join(timeout=10)
    assert inside == ["first", "other"]
    with key_lock(tmp_path, "themes/2/registry.json", timeout=0.2):
        pass  # another key is not blocked


def _lock_and_note(folder: Path, inside: list[str]) -> None:
    from gaib.storage.localfs import key_lock

    with key_lock(folder, DOC_KEY):
        inside.append("other")


# --- tier index on an old catalog ---------------------------------------------------------------


def test_an_old_catalog_answers_index_queries_and_gets_the_index_on_the_next_write(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "store"
    catalog = SqliteCatalog(root)
    for i, tier in enumerate(["free", "premium", "free"]):
        catalog.put_if_absent(f"SERVER#{i}", "TIER", {"tier": tier, "server_tier": tier})
    catalog.close()
    db = root / "catalog.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP INDEX items_by_server_tier")  # as a catalog made before the index existed

    def indexes() -> list[str]:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]

    reader = SqliteCatalog(root)
    assert reader.index_query("tier-index", "free").keys == [("SERVER#0", "TIER"), ("SERVER#2", "TIER")]
    assert reader.get("SERVER#1", "TIER") is not None
    assert "items_by_server_tier" not in indexes()  # a read created nothing
    reader.put_if_absent("SERVER#3", "TIER", {"tier": "free", "server_tier": "free"})
    assert "items_by_server_tier" in indexes()
    assert len(reader.index_query("tier-index", "free").keys) == 3
    with sqlite3.connect(db) as conn:
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT pk, sk FROM items WHERE json_extract(body, '$.server_tier') = 'free' "
            "ORDER BY pk, sk"))
    assert "items_by_server_tier" in plan


def test_reading_a_catalog_whose_first_write_never_committed(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "store"
    LocalObjectStore(root).put("state/1/x", b"1")  # the store exists
    with sqlite3.connect(root / "catalog.sqlite3") as conn:  # a database with no table yet (an older
        conn.execute("PRAGMA journal_mode = WAL")             # Gaib killed in its first write)
    catalog = SqliteCatalog(root)
    assert catalog.get("SERVER#1", "TIER") is None
    assert catalog.index_query("tier-index", "free").keys == []
    assert catalog.query("SERVER#1").items == []
    catalog.put_if_absent("SERVER#1", "TIER", {"tier": "free", "server_tier": "free"})
    assert catalog.index_query("tier-index", "free").keys == [("SERVER#1", "TIER")]
