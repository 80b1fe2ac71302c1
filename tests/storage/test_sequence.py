"""The catalog's own order of writes (``put_sequenced``) and its own clock (``storage_time``), on every adapter.

The sequence, not a time a writer's clock produced, is what "newest" means for a server's bundles; the time
stamped with it is the catalog's, so a host whose clock runs ahead cannot pass for the latest writer.
"""

from __future__ import annotations

import threading
import time

import pytest

from gaib.errors import Conflict
from gaib.storage import keys as K
from gaib.storage.base import SEQUENCE_FIELD, WRITTEN_AT_FIELD
from tests.support.storage.backends import Backend

SERVER = "123456789012345678"
PK = K.server_pk(SERVER)
# Ids whose times say nothing about the order they are written in: the newest-dated first.
IDS = ["20271231T000000000Z-0000000a", "20261125T170312042Z-0000000b", "20200101T000000000Z-0000000c"]
YEAR = 365 * 86400


def test_sequences_follow_the_order_of_writes_not_the_times_in_the_ids(backend: Backend) -> None:
    written = [backend.catalog.put_sequenced(PK, K.backup_sk(i), {"id": i}, counter_sk=K.SEQUENCE_SK) for i in IDS]

    assert [w[SEQUENCE_FIELD] for w in written] == [1, 2, 3]
    stored = [backend.new_catalog().get(PK, K.backup_sk(i)) for i in IDS]
    assert [s[SEQUENCE_FIELD] if s else None for s in stored] == [1, 2, 3]
    assert stored[0] == written[0] and stored[0] is not None and stored[0]["id"] == IDS[0]
    other = K.server_pk("999")  # another server counts on its own
    first = backend.catalog.put_sequenced(other, K.snapshot_sk(IDS[0]), {}, counter_sk=K.SEQUENCE_SK)
    assert first[SEQUENCE_FIELD] == 1


def test_a_refused_write_changes_nothing_and_the_order_goes_on(backend: Backend) -> None:
    backend.catalog.put_sequenced(PK, K.backup_sk(IDS[0]), {"message": "first"}, counter_sk=K.SEQUENCE_SK)
    with pytest.raises(Conflict):
        backend.catalog.put_sequenced(PK, K.backup_sk(IDS[0]), {"message": "second"}, counter_sk=K.SEQUENCE_SK)
    got = backend.catalog.get(PK, K.backup_sk(IDS[0]))
    assert got is not None and got["message"] == "first" and got[SEQUENCE_FIELD] == 1

    nxt = backend.catalog.put_sequenced(PK, K.backup_sk(IDS[1]), {}, counter_sk=K.SEQUENCE_SK)
    assert nxt[SEQUENCE_FIELD] > 1  # after the first (the refused write's number may stay unused)


def test_values_a_writer_gives_for_the_stamped_fields_are_replaced(backend: Backend) -> None:
    forged = {"id": IDS[0], SEQUENCE_FIELD: 10**9, WRITTEN_AT_FIELD: 4_000_000_000}
    got = backend.catalog.put_sequenced(PK, K.backup_sk(IDS[0]), forged, counter_sk=K.SEQUENCE_SK)
    assert got[SEQUENCE_FIELD] == 1
    assert abs(got[WRITTEN_AT_FIELD] - time.time()) < 120


def test_the_time_stamped_is_the_catalogs_own_never_the_clock_it_was_handed(backend: Backend) -> None:
    backend.clock.now = time.time() + 400 * 86400  # the caller's clock runs 400 days ahead
    got = backend.catalog.put_sequenced(PK, K.backup_sk(IDS[0]), {}, counter_sk=K.SEQUENCE_SK)

    assert abs(got[WRITTEN_AT_FIELD] - time.time()) < 120
    seen = backend.catalog.storage_time()
    assert seen is not None and abs(seen - time.time()) < 120
    assert abs(seen - backend.clock()) > 399 * 86400


def test_concurrent_writers_get_every_sequence_once(backend: Backend) -> None:
    catalogs = [backend.new_catalog() for _ in range(4)]
    got: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        for i in range(5):
            ident = f"20261125T1703{n:02d}{i:03d}Z-0000000{n}"
            item = catalogs[n].put_sequenced(PK, K.backup_sk(ident), {"id": ident}, counter_sk=K.SEQUENCE_SK)
            with lock:
                got.append(item[SEQUENCE_FIELD])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(len(catalogs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 21))
    listed = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=100).items
    assert sorted(item[SEQUENCE_FIELD] for item in listed) == list(range(1, 21))
