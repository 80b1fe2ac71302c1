"""The embedded catalog: one SQLite database (``catalog.sqlite3``) in the local store's root.

One table ``items(pk, sk, body, expires_at)`` with primary key (pk, sk); ``body`` is the item as
JSON. WAL journal, ``synchronous=FULL``, a 10 s busy timeout, and every read-modify-write runs in
a ``BEGIN IMMEDIATE`` transaction, so concurrent processes (and threads, each with its own
connection) serialise on the database lock: a counter can never pass its ceiling.

The tier index is a partial expression index ``items_by_server_tier`` on
``(json_extract(body, '$.server_tier'), pk, sk)`` over the items that carry the field. Only a
connection that writes creates the table and the index (``IF NOT EXISTS``, in one transaction);
a read never creates or migrates anything, so on a catalog made before the index existed
``index_query`` still answers correctly (by a scan) until the next write adds it. The index
changes nothing an older Gaib could misread, so the schema version stays 1.

Reads never write: they open the database without changing its journal mode or schema, and a
file that is not an SQLite database (empty, truncated to nothing, overwritten) is refused as
``IntegrityError`` (exit 3) by reads and writes alike, never re-initialised. A new catalog is
built complete in a hidden temp file and published with ``link(2)``, so no crash can leave an
empty ``catalog.sqlite3`` behind that could be mistaken for a damaged one. An item whose body is
not a JSON object is returned as the damaged stand-in (``gaib.storage.base.damaged_item``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from gaib.errors import Conflict, GaibError, IntegrityError, NotFound, StorageError
from gaib.fsutil import fsync_dir
from gaib.storage.base import (
    COUNTER_FIELD,
    EXPIRES_FIELD,
    INDEXES,
    SEQUENCE_FIELD,
    CeilingReached,
    Item,
    KeyPage,
    Page,
    check_catalog_key,
)
from gaib.storage.items import (
    check_counter_args,
    check_index_query,
    check_query,
    check_size,
    decode_item,
    drop_removed,
    encode_cursor,
    encode_index_cursor,
    is_expired,
    normalise_item,
    refuse_damaged,
    sequenced,
)
from gaib.storage.local import CATALOG_FILE, StoreRoot

SCHEMA_VERSION = 1
_T = TypeVar("_T")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID
"""
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def _indexed(field: str) -> str:
    """The SQL expression an index is keyed on (``field`` comes from ``INDEXES``, never from input).
    Queries must spell it exactly like the index does for SQLite to use the index."""
    return f"json_extract(body, '$.{field}')"


_INDEX_DDL = [
    f"CREATE INDEX IF NOT EXISTS items_by_{field} ON items ({_indexed(field)}, pk, sk) "
    f"WHERE {_indexed(field)} IS NOT NULL"
    for field in INDEXES.values()
]


def _dump(item: Item) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SqliteCatalog:
    """``Catalog`` over SQLite. ``clock`` returns epoch seconds and decides what has expired."""

    def __init__(self, root: Path | str | StoreRoot, *, clock: Callable[[], float] = time.time) -> None:
        self.root = root if isinstance(root, StoreRoot) else StoreRoot(Path(root))
        self.path = self.root.path / CATALOG_FILE
        self._clock = clock
        self._local = threading.local()

    def _now(self) -> int:
        return int(self._clock())

    def _conn(self, *, create: bool) -> sqlite3.Connection | None:
        """This thread's connection; None when there is no catalog yet and ``create`` is false.

        ``create`` (every write) also makes sure the table and indexes exist, once per connection.
        """
        state = self._local
        conn: sqlite3.Connection | None = getattr(state, "conn", None)
        if conn is None:
            if not self.root.ensure(create=create):
                return None
            if not os.path.lexists(self.path):
                if not create:
                    return None
                self._retry_busy(self._create_file)
            self._check_file()
            conn = self._retry_busy(self._open)
            state.conn, state.schema_ready, state.has_table = conn, False, False
        if create and not state.schema_ready:
            self._retry_busy(lambda: self._prepare_for_writes(conn))
            state.schema_ready = state.has_table = True
        elif not create and not state.has_table:
            # A database file without the table is one whose first write never committed.
            state.has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'"
            ).fetchone() is not None
            if not state.has_table:
                return None
        return conn

    @staticmethod
    def _retry_busy(step: Callable[[], _T]) -> _T:
        # Opening a brand-new database from several processes at once can answer SQLITE_BUSY at once
        # (switching to WAL does not wait on the busy handler), so the set-up is retried briefly.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if not ("locked" in str(exc) or "busy" in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _damaged(self, why: str) -> IntegrityError:
        return IntegrityError(
            f"The catalog {self.path} is damaged: {why}. Nothing was changed.",
            hint=f"Restore {CATALOG_FILE} from a copy. To start an empty catalog instead, move it aside: the "
                 "backups and snapshots it listed stay in the store's folders but are no longer listed.",
            details={"catalog": str(self.path)},
        )

    def _check_file(self) -> None:
        """Refuse an empty ``catalog.sqlite3`` or a folder in its place (IntegrityError). A file that is
        not a database fails at its first query ("file is not a database", mapped by ``_guard``).

        Only ``stat``: opening and closing the file here would drop the POSIX locks this process's
        other SQLite connections hold on it (SQLite's own warning), and let another process corrupt it.
        """
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise self._damaged("it vanished while being opened") from None
        except OSError as exc:
            raise StorageError(f"Cannot read the catalog {self.path}: {exc.strerror}.") from None
        if stat.S_ISDIR(st.st_mode):
            raise self._damaged("it is a folder, not a file")
        if st.st_size == 0:
            raise self._damaged("the file is empty (0 bytes)")

    def _create_file(self) -> None:
        """Create the catalog complete (WAL mode, table, indexes, version) in a hidden temp file, then
        publish it with ``link(2)``: a concurrent creator's file wins, and a crash leaves no catalog
        (or a stray hidden temp file), never a partial one."""
        tmp = self.root.path / f".{CATALOG_FILE}.new.{os.getpid()}.{threading.get_ident()}"
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)
        try:
            conn = sqlite3.connect(tmp, timeout=10.0, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                self._create_schema(conn)
            finally:
                conn.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, self.path)
            fsync_dir(self.root.path)
        finally:
            tmp.unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        """Connect and refuse a newer schema; changes nothing in the database (reads use it as is)."""
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = FULL")
            self._check_version(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare_for_writes(self, conn: sqlite3.Connection) -> None:
        """Before the first write of a connection: WAL journal (a no-op on Gaib's own catalogs), then the
        table and indexes if missing."""
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        self._create_schema(conn)

    def _check_version(self, conn: sqlite3.Connection) -> int:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"The catalog {self.path} has schema version {version}; this Gaib understands "
                f"up to {SCHEMA_VERSION}.",
                code="STORAGE_FORMAT_UNSUPPORTED",
                hint="Upgrade Gaib to read this store. Nothing was changed.",
            )
        return version

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(conn)
            conn.execute(_SCHEMA)
            for ddl in _INDEX_DDL:
                conn.execute(ddl)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except GaibError:
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StorageError(f"{what}: the catalog stayed locked by another process for 10 s.",
                                   hint="Wait for the other Gaib run to finish, then retry.") from None
            raise StorageError(f"{what}: the catalog database failed ({exc}).") from None
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "disk image is malformed"
                self.close()
                raise self._damaged(str(exc)[:100]) from None
            raise StorageError(f"{what}: the catalog database failed ({type(exc).__name__}).") from None
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StorageError(f"{what}: the catalog database failed ({type(exc).__name__}).") from None

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._guard(what):
            conn = self._conn(create=True)
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- Catalog -----------------------------------------------------------------------------

    def put_if_absent(self, pk: str, sk: str, item: Mapping[str, Any]) -> None:
        """Create the item; raises ``Conflict`` if a live item has the key (an expired one is replaced)."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        clean = normalise_item(item)
        with self._write(f"Saving catalog item {sk}") as conn:
            cur = conn.execute(
                "INSERT INTO items (pk, sk, body, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pk, sk) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at "
                "WHERE items.expires_at IS NOT NULL AND items.expires_at <= ?",
                (pk, sk, _dump(clean), clean.get(EXPIRES_FIELD), self._now()),
            )
            if cur.rowcount == 0:
                raise Conflict(f"Catalog item {pk}/{sk} already exists; it was left unchanged.",
                               details={"pk": pk, "sk": sk})

    def put_sequenced(self, pk: str, sk: str, item: Mapping[str, Any], *, counter_sk: str) -> Item:
        """Create the item stamped with the counter's next value and this machine's time, in one
        ``BEGIN IMMEDIATE`` transaction with the counter; see ``Catalog``."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        check_catalog_key(counter_sk, "sort key")
        clean = normalise_item(item)
        with self._write(f"Saving catalog item {sk}") as conn:
            live = f"SELECT 1 FROM items WHERE pk = ? AND sk = ? AND {_LIVE}"
            if conn.execute(live, (pk, sk, self._now())).fetchone():
                raise Conflict(f"Catalog item {pk}/{sk} already exists; it was left unchanged.",
                               details={"pk": pk, "sk": sk})
            row = conn.execute("SELECT body FROM items WHERE pk = ? AND sk = ?", (pk, counter_sk)).fetchone()
            counter = decode_item(row[0], pk, counter_sk) if row is not None else None
            written = sequenced(clean, counter, pk, counter_sk, self.storage_time())
            upsert = ("INSERT INTO items (pk, sk, body, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (pk, sk) "
                      "DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at")
            conn.execute(upsert, (pk, sk, _dump(written), written.get(EXPIRES_FIELD)))
            conn.execute(upsert, (pk, counter_sk, _dump({**(counter or {}), COUNTER_FIELD: written[SEQUENCE_FIELD]}),
                                  (counter or {}).get(EXPIRES_FIELD)))
        return written

    def storage_time(self) -> float:
        """This machine's clock (the one SQLite's own ``'now'`` reads), never the clock handed in."""
        return time.time()

    def get(self, pk: str, sk: str) -> Item | None:
        """The live item or None."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        with self._guard(f"Reading catalog item {sk}"):
            conn = self._conn(create=False)
            if conn is None:
                return None
            row = conn.execute(f"SELECT body FROM items WHERE pk = ? AND sk = ? AND {_LIVE}",
                               (pk, sk, self._now())).fetchone()
            return None if row is None else decode_item(row[0], pk, sk)

    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        limit: int = 100,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> Page:
        """Live items of ``pk`` with sk starting with ``sk_prefix``, ordered by sk; see ``Catalog``."""
        after = check_query(pk, sk_prefix, limit, cursor)
        sql = f"SELECT sk, body FROM items WHERE pk = ? AND {_LIVE}"
        args: list[Any] = [pk, self._now()]
        if sk_prefix:
            sql += " AND sk >= ? AND substr(sk, 1, ?) = ?"
            args += [sk_prefix, len(sk_prefix), sk_prefix]
        if after is not None:
            sql += " AND sk < ?" if newest_first else " AND sk > ?"
            args.append(after)
        sql += f" ORDER BY sk {'DESC' if newest_first else 'ASC'} LIMIT ?"
        args.append(limit + 1)
        with self._guard("Listing the catalog"):
            conn = self._conn(create=False)
            if conn is None:
                return Page(items=[], next_cursor=None)
            rows = conn.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(items=[decode_item(body, pk, sk) for sk, body in rows],
                    next_cursor=encode_cursor(pk, rows[-1][0]) if more else None,
                    sort_keys=[str(sk) for sk, _ in rows])

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The live items among ``keys`` (one query per 400 keys); see ``Catalog``."""
        unique = list(dict.fromkeys((check_catalog_key(pk, "partition key"), check_catalog_key(sk, "sort key"))
                                    for pk, sk in keys))
        found: dict[tuple[str, str], Item] = {}
        with self._guard(f"Reading {len(unique)} catalog items"):
            conn = self._conn(create=False)
            if conn is None:
                return found
            now = self._now()
            for i in range(0, len(unique), 400):
                chunk = unique[i:i + 400]
                pairs = " OR ".join("(pk = ? AND sk = ?)" for _ in chunk)
                args: list[Any] = [part for key in chunk for part in key]
                rows = conn.execute(f"SELECT pk, sk, body FROM items WHERE ({pairs}) AND {_LIVE}",
                                    [*args, now]).fetchall()
                found.update({(str(pk), str(sk)): decode_item(body, str(pk), str(sk)) for pk, sk, body in rows})
        return found

    def delete(self, pk: str, sk: str) -> None:
        """Remove the item; idempotent."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        with self._guard(f"Deleting catalog item {sk}"):
            conn = self._conn(create=False)
            if conn is None:
                return
            conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (pk, sk))

    def delete_many(self, keys: Sequence[tuple[str, str]]) -> None:
        """Remove every item in one transaction (all or none); idempotent."""
        for pk, sk in keys:
            check_catalog_key(pk, "partition key")
            check_catalog_key(sk, "sort key")
        if not keys:
            return
        with self._guard(f"Deleting {len(keys)} catalog items"):
            if self._conn(create=False) is None:
                return
        with self._write(f"Deleting {len(keys)} catalog items") as conn:
            conn.executemany("DELETE FROM items WHERE pk = ? AND sk = ?", list(keys))

    def update(self, pk: str, sk: str, changes: Mapping[str, Any]) -> Item:
        """Set fields of a live item; returns the new item; raises ``NotFound``."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        clean = normalise_item(changes, partial=True)
        with self._write(f"Updating catalog item {sk}") as conn:
            row = conn.execute(f"SELECT body FROM items WHERE pk = ? AND sk = ? AND {_LIVE}",
                               (pk, sk, self._now())).fetchone()
            if row is None:
                raise NotFound(f"Catalog item {pk}/{sk} does not exist.", details={"pk": pk, "sk": sk})
            item = drop_removed({**refuse_damaged(decode_item(row[0], pk, sk), pk, sk), **clean})
            check_size(item)
            conn.execute("UPDATE items SET body = ?, expires_at = ? WHERE pk = ? AND sk = ?",
                         (_dump(item), item.get(EXPIRES_FIELD), pk, sk))
        return item

    def increment(
        self,
        pk: str,
        sk: str,
        *,
        by: int = 1,
        ceiling: int | None = None,
        expires_at: int | None = None,
    ) -> int:
        """Atomically add ``by`` to the item's ``count``; raises ``CeilingReached`` past ``ceiling``."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        check_counter_args(by, ceiling, expires_at)
        with self._write(f"Counting {sk}") as conn:
            row = conn.execute("SELECT body FROM items WHERE pk = ? AND sk = ?", (pk, sk)).fetchone()
            item = refuse_damaged(decode_item(row[0], pk, sk), pk, sk) if row is not None else {}
            if is_expired(item, self._now()):
                item = {}
            current = item.get(COUNTER_FIELD, 0)
            if isinstance(current, bool) or not isinstance(current, int):
                raise StorageError(f"Catalog item {pk}/{sk} has a non-integer {COUNTER_FIELD!r} field.")
            new = current + by
            if ceiling is not None and new > ceiling:
                raise CeilingReached(pk, sk, ceiling)
            item[COUNTER_FIELD] = new
            if expires_at is not None:
                item[EXPIRES_FIELD] = expires_at
            conn.execute(
                "INSERT INTO items (pk, sk, body, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pk, sk) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at",
                (pk, sk, _dump(item), item.get(EXPIRES_FIELD)),
            )
        return new


    def index_query(self, index: str, value: str, *, limit: int = 100, cursor: str | None = None) -> KeyPage:
        """(pk, sk) of live items whose indexed field equals ``value``, by pk then sk; see ``Catalog``."""
        field, after = check_index_query(index, value, limit, cursor)
        sql = f"SELECT pk, sk FROM items WHERE {_indexed(field)} = ? AND {_LIVE}"
        args: list[Any] = [value, self._now()]
        if after is not None:
            sql += " AND (pk, sk) > (?, ?)"
            args += list(after)
        sql += " ORDER BY pk, sk LIMIT ?"
        args.append(limit + 1)
        with self._guard(f"Listing the catalog's {index}"):
            conn = self._conn(create=False)
            if conn is None:
                return KeyPage(keys=[], next_cursor=None)
            rows = [(str(pk), str(sk)) for pk, sk in conn.execute(sql, args).fetchall()]
        page = rows[:limit]
        more = len(rows) > limit
        return KeyPage(keys=page, next_cursor=encode_index_cursor(index, value, *page[-1]) if more else None)
