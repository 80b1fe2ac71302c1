"""One contract, run against every adapter: local folder + SQLite, and S3 + DynamoDB on moto."""

from __future__ import annotations

import random
import threading

import pytest

from gaib.errors import EXIT_INVALID_INPUT, EXIT_STATE, Conflict, InvalidInput, InvalidName, NotFound
from gaib.storage import keys as K
from gaib.storage.base import COUNTER_FIELD, CeilingReached
from tests.support.storage.backends import Backend

SERVER = "123456789012345678"
PK = K.server_pk(SERVER)

HOSTILE_KEYS = [
    "",
    "../x",
    "state/../../etc/passwd",
    "/etc/passwd",
    "state//x",
    "state/x/",
    "state/.hidden",
    "state/%2e%2e/x",
    "state/..",
    "a\\b",
    "state/x\x00y",
    "state/\u00e9t\u00e9",
    "state/\uff0e\uff0e/x",
    "x" * 10_000,
    " state/x",
]


# --- objects ------------------------------------------------------------------------------------


def test_put_get_head_round_trip(backend: Backend) -> None:
    data = bytes(range(256)) * 10
    info = backend.store.put("state/1/default/a.bin", data, content_type="application/gzip")
    assert info.key == "state/1/default/a.bin" and info.size == len(data)
    assert backend.store.get("state/1/default/a.bin") == data
    head = backend.store.head("state/1/default/a.bin")
    assert head.size == len(data)
    assert head.content_type == "application/gzip"
    assert head.modified is not None


def test_empty_object_round_trips(backend: Backend) -> None:
    backend.store.put("exports/1/empty.yaml", b"")
    assert backend.store.get("exports/1/empty.yaml") == b""
    assert backend.store.head("exports/1/empty.yaml").size == 0


def test_large_object_round_trips(backend: Backend) -> None:
    data = random.Random(7).randbytes(6 * 1024 * 1024)
    backend.store.put("snapshots/1/s/state.json.gz", data)
    assert backend.store.get("snapshots/1/s/state.json.gz") == data


def test_put_never_overwrites(backend: Backend) -> None:
    backend.store.put("state/1/default/b.json.gz", b"first", tags={"Tier": "free"})
    with pytest.raises(Conflict) as info:
        backend.store.put("state/1/default/b.json.gz", b"second", tags={"Tier": "premium"})
    assert info.value.exit_code == EXIT_STATE
    assert "state/1/default/b.json.gz" in info.value.message
    assert backend.store.get("state/1/default/b.json.gz") == b"first"
    assert backend.store.tags("state/1/default/b.json.gz") == {"Tier": "free"}


def test_concurrent_writers_of_one_key_one_wins(backend: Backend) -> None:
    stores = [backend.new_store() for _ in range(6)]
    results: dict[int, str] = {}

    def write(i: int) -> None:
        try:
            stores[i].put("state/1/default/race.bin", f"writer-{i}".encode() * 1000)
            results[i] = "ok"
        except Conflict:
            results[i] = "conflict"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for i, r in results.items() if r == "ok"]
    assert len(winners) == 1 and len(results) == len(stores)
    assert backend.store.get("state/1/default/race.bin") == f"writer-{winners[0]}".encode() * 1000


def test_tags_are_stored_with_the_object(backend: Backend) -> None:
    backend.store.put("state/1/default/c.json.gz", b"x", tags={"Tier": "premium", "ServerId": SERVER})
    assert backend.store.tags("state/1/default/c.json.gz") == {"Tier": "premium", "ServerId": SERVER}
    backend.store.put("state/1/default/d.json.gz", b"x")
    assert backend.store.tags("state/1/default/d.json.gz") == {}


@pytest.mark.parametrize("tags", [{"Tier": "free&x=1"}, {"k\u00e9": "v"}, {f"t{i}": "v" for i in range(11)}, {"": "v"}])
def test_bad_tags_are_refused_and_nothing_is_written(backend: Backend, tags: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        backend.store.put("state/1/default/e.json.gz", b"x", tags=tags)
    with pytest.raises(NotFound):
        backend.store.get("state/1/default/e.json.gz")


def test_set_tags_replaces_the_tag_set_and_keeps_the_bytes(backend: Backend) -> None:
    key = "state/1/default/retag.json.gz"
    first = backend.store.put(key, b"payload", tags={"Tier": "free", "ServerId": SERVER},
                              content_type="application/gzip")
    backend.store.set_tags(key, {"Tier": "premium", "ServerId": SERVER})
    assert backend.store.tags(key) == {"Tier": "premium", "ServerId": SERVER}
    # another adapter instance on the same storage reads the new tags back
    assert backend.new_store().tags(key) == {"Tier": "premium", "ServerId": SERVER}
    head = backend.store.head(key)
    assert backend.store.get(key) == b"payload"
    assert head.content_type == "application/gzip" and head.generation == first.generation
    backend.store.set_tags(key, {})
    assert backend.store.tags(key) == {}


def test_set_tags_keeps_a_document_swappable(backend: Backend) -> None:
    key = "themes/1/registry.json"
    doc = backend.store.replace(key, b"v1", expected_generation=None, tags={"Tier": "free"})
    backend.store.set_tags(key, {"Tier": "premium"})
    assert backend.store.get_document(key).generation == doc.generation
    backend.store.replace(key, b"v2", expected_generation=doc.generation, tags={"Tier": "premium"})
    assert backend.store.get(key) == b"v2" and backend.store.tags(key) == {"Tier": "premium"}


def test_set_tags_of_a_missing_object_raises_not_found_and_creates_nothing(backend: Backend) -> None:
    with pytest.raises(NotFound):
        backend.store.set_tags("state/1/default/nothing.json.gz", {"Tier": "premium"})
    assert list(backend.store.list("")) == []


@pytest.mark.parametrize("tags", [{"Tier": "premium&x=1"}, {f"t{i}": "v" for i in range(11)}])
def test_set_tags_refuses_bad_tags_and_keeps_the_old_ones(backend: Backend, tags: dict[str, str]) -> None:
    backend.store.put("state/1/default/f.json.gz", b"x", tags={"Tier": "free"})
    with pytest.raises(InvalidInput):
        backend.store.set_tags("state/1/default/f.json.gz", tags)
    assert backend.store.tags("state/1/default/f.json.gz") == {"Tier": "free"}


def test_delete_many_removes_every_key_and_is_idempotent(backend: Backend) -> None:
    keys = [f"state/1/default/backup.{i:04d}.json.gz" for i in range(30)]
    for key in keys:
        backend.store.put(key, b"x", tags={"Tier": "free"})
    backend.store.put("state/1/default/keep.json.gz", b"k")
    backend.store.delete_many([*keys[:20], "state/1/default/never-was.json.gz"])
    assert [o.key for o in backend.store.list("state/1/")] == sorted([*keys[20:], "state/1/default/keep.json.gz"])
    backend.store.delete_many(keys)
    backend.store.delete_many([])
    assert [o.key for o in backend.store.list("state/1/")] == ["state/1/default/keep.json.gz"]
    backend.store.put(keys[0], b"again")  # the key is free again
    assert backend.store.get(keys[0]) == b"again"


def test_delete_many_checks_every_key_before_removing_any(backend: Backend) -> None:
    backend.store.put("state/1/default/a.json.gz", b"x")
    with pytest.raises(InvalidName):
        backend.store.delete_many(["state/1/default/a.json.gz", "../etc/passwd"])
    assert backend.store.get("state/1/default/a.json.gz") == b"x"


def test_missing_objects_raise_not_found(backend: Backend) -> None:
    for call in (backend.store.get, backend.store.head, backend.store.tags):
        with pytest.raises(NotFound) as info:
            call("state/1/default/missing.json.gz")
        assert info.value.exit_code == EXIT_INVALID_INPUT
        assert "state/1/default/missing.json.gz" in info.value.message


def test_delete_is_idempotent_and_frees_the_key(backend: Backend) -> None:
    backend.store.put("themes/1/registry.json", b"v1", tags={"Tier": "free"})
    backend.store.delete("themes/1/registry.json")
    with pytest.raises(NotFound):
        backend.store.get("themes/1/registry.json")
    backend.store.delete("themes/1/registry.json")
    backend.store.delete("themes/1/never-existed.json")
    backend.store.put("themes/1/registry.json", b"v2", tags={"Tier": "premium"})
    assert backend.store.get("themes/1/registry.json") == b"v2"
    assert backend.store.tags("themes/1/registry.json") == {"Tier": "premium"}


def test_list_is_sorted_and_honours_prefixes(backend: Backend) -> None:
    keys = [
        "state/1/default/backup.20261125T170312042Z-aaaaaaaa.json.gz",
        "state/1/default/backup.20261125T170312042Z-bbbbbbbb.json.gz",
        "state/1/default/backup.20250101T000000000Z-cccccccc.json.gz",
        "state/1/staging/backup.20261125T170312042Z-dddddddd.json.gz",
        "state/12/default/backup.20261125T170312042Z-eeeeeeee.json.gz",
        "snapshots/1/20261125T170312042Z-ffffffff/manifest.json",
    ]
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    for i, key in enumerate(shuffled):
        backend.store.put(key, b"x" * i)
    assert [o.key for o in backend.store.list("")] == sorted(keys)
    assert [o.key for o in backend.store.list("state/1/")] == sorted(k for k in keys if k.startswith("state/1/"))
    assert [o.key for o in backend.store.list("state/1")] == sorted(k for k in keys if k.startswith("state/1"))
    partial = "state/1/default/backup.2026"
    assert [o.key for o in backend.store.list(partial)] == sorted(k for k in keys if k.startswith(partial))
    assert list(backend.store.list("exports/")) == []
    sizes = {o.key: o.size for o in backend.store.list("")}
    assert sizes == {key: shuffled.index(key) for key in keys}


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_refused_before_anything_happens(backend: Backend, key: str) -> None:
    for call in (
        lambda: backend.store.put(key, b"evil"),
        lambda: backend.store.get(key),
        lambda: backend.store.head(key),
        lambda: backend.store.tags(key),
        lambda: backend.store.set_tags(key, {"Tier": "premium"}),
        lambda: backend.store.delete(key),
        lambda: backend.store.delete_many([key]),
    ):
        with pytest.raises(InvalidName) as info:
            call()
        assert info.value.exit_code == EXIT_INVALID_INPUT
    assert list(backend.store.list("")) == []


@pytest.mark.parametrize("prefix", ["../", "/", "state/../", "state/%2e%2e/", "\u00e9", "x" * 5000, "state//"])
def test_hostile_prefixes_are_refused(backend: Backend, prefix: str) -> None:
    with pytest.raises(InvalidName):
        list(backend.store.list(prefix))


# --- catalog ------------------------------------------------------------------------------------


ITEM = {
    "id": "20261125T170312042Z-a1b2c3d4",
    "workspace": "default",
    "message": "before the r\u00f4le rework \u2713 \U0001f9ea",
    "serial": 7,
    "big": 2**62,
    "ratio": 0.25,
    "whole": 3.0,
    "ok": True,
    "nothing": None,
    "parts": [{"name": "state.json.gz", "sha256": "ab" * 32, "size": 123}],
    "nested": {"a": {"b": [1, 2, {"c": "d"}]}},
    "empty": {},
    "empties": [],
    "blank": "",
}


def test_catalog_item_round_trips(backend: Backend) -> None:
    sk = K.backup_sk(ITEM["id"])  # type: ignore[arg-type]
    backend.catalog.put_if_absent(PK, sk, ITEM)
    got = backend.catalog.get(PK, sk)
    assert got == {**ITEM, "whole": 3}
    assert got is not None
    assert isinstance(got["whole"], int) and isinstance(got["ratio"], float) and got["ok"] is True
    assert backend.catalog.get(PK, K.backup_sk("20261125T170312042Z-00000000")) is None


def test_put_if_absent_never_overwrites(backend: Backend) -> None:
    sk = K.snapshot_sk("20261125T170312042Z-a1b2c3d4")
    backend.catalog.put_if_absent(PK, sk, {"message": "first"})
    with pytest.raises(Conflict) as info:
        backend.catalog.put_if_absent(PK, sk, {"message": "second"})
    assert info.value.exit_code == EXIT_STATE
    assert backend.catalog.get(PK, sk) == {"message": "first"}


def _ids(n: int, *, start_ms: int = 0) -> list[str]:
    return [f"202611{(i // 3) + 10:02d}T1703120{(start_ms + i) % 100:02d}Z-{i:08x}" for i in range(n)]


def test_query_orders_pages_and_filters_by_prefix(backend: Backend) -> None:
    ids = _ids(11)
    order = ids[:]
    random.Random(5).shuffle(order)
    for backup_id in order:
        backend.catalog.put_if_absent(PK, K.backup_sk(backup_id), {"id": backup_id})
    backend.catalog.put_if_absent(PK, K.snapshot_sk(ids[0]), {"id": "snapshot"})
    backend.catalog.put_if_absent(PK, K.TIER_SK, {"tier": "free"})
    backend.catalog.put_if_absent(K.server_pk("999"), K.backup_sk(ids[1]), {"id": "other server"})

    for newest_first in (True, False):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=4, cursor=cursor, newest_first=newest_first)
            assert len(page.items) <= 4
            seen += [item["id"] for item in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        expected = sorted(ids, reverse=newest_first)
        assert seen == expected
        assert pages == 3  # 4 + 4 + 3: the last page says there is no more

    whole = backend.catalog.query(PK, "", limit=100, newest_first=False)
    assert len(whole.items) == 13 and whole.next_cursor is None
    exact = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=11)
    assert len(exact.items) == 11 and exact.next_cursor is None
    assert backend.catalog.query(K.server_pk("4242"), "", limit=10).items == []


def test_query_rejects_foreign_and_garbage_cursors(backend: Backend) -> None:
    for backup_id in _ids(3):
        backend.catalog.put_if_absent(PK, K.backup_sk(backup_id), {"id": backup_id})
    cursor = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput):
        backend.catalog.query(K.server_pk("999"), K.BACKUP_SK_PREFIX, limit=1, cursor=cursor)
    with pytest.raises(InvalidInput):
        backend.catalog.query(PK, K.SNAPSHOT_SK_PREFIX, limit=1, cursor=cursor)
    for garbage in ("", "!!!", "e30=", "x" * 10_000, "eyJ2IjoyfQ=="):
        with pytest.raises(InvalidInput):
            backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=1, cursor=garbage)
    for limit in (0, -1, 5000):
        with pytest.raises(InvalidInput):
            backend.catalog.query(PK, "", limit=limit)


def test_catalog_delete_is_idempotent(backend: Backend) -> None:
    sk = K.backup_sk("20261125T170312042Z-a1b2c3d4")
    backend.catalog.put_if_absent(PK, sk, {"id": 1})
    backend.catalog.delete(PK, sk)
    assert backend.catalog.get(PK, sk) is None
    backend.catalog.delete(PK, sk)
    backend.catalog.put_if_absent(PK, sk, {"id": 2})
    assert backend.catalog.get(PK, sk) == {"id": 2}


def test_catalog_delete_many_removes_every_item_and_only_those(backend: Backend) -> None:
    ids = [f"20261125T1703{i:02d}042Z-a1b2c3d4" for i in range(60)]  # more than one DynamoDB batch
    for ident in ids:
        backend.catalog.put_if_absent(PK, K.backup_sk(ident), {"id": ident})
    backend.catalog.put_if_absent(PK, K.TIER_SK, {"tier": "free"})
    gone = [(PK, K.backup_sk(i)) for i in ids[:55]] + [(PK, K.backup_sk("20200101T000000000Z-00000000"))]
    backend.catalog.delete_many(gone)
    left = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=100).items
    assert sorted(item["id"] for item in left) == ids[55:]
    assert backend.catalog.get(PK, K.TIER_SK) == {"tier": "free"}
    backend.catalog.delete_many(gone)  # idempotent
    backend.catalog.delete_many([])
    assert backend.new_catalog().get(PK, K.backup_sk(ids[0])) is None


def test_catalog_delete_many_checks_every_key_first(backend: Backend) -> None:
    sk = K.backup_sk("20261125T170312042Z-a1b2c3d4")
    backend.catalog.put_if_absent(PK, sk, {"id": 1})
    with pytest.raises(InvalidName):
        backend.catalog.delete_many([(PK, sk), (PK, "bad key with spaces")])
    assert backend.catalog.get(PK, sk) == {"id": 1}


def test_update_changes_fields_of_an_existing_item(backend: Backend) -> None:
    backend.catalog.put_if_absent(PK, K.TIER_SK, {"tier": "free", "since": 1})
    new = backend.catalog.update(PK, K.TIER_SK, {"tier": "premium", "by": "admin"})
    assert new == {"tier": "premium", "since": 1, "by": "admin"}
    assert backend.catalog.get(PK, K.TIER_SK) == new
    with pytest.raises(NotFound):
        backend.catalog.update(PK, K.META_SK, {"x": 1})
    assert backend.catalog.get(PK, K.META_SK) is None


def test_counter_counts_and_stops_at_its_ceiling(backend: Backend) -> None:
    sk = K.quota_sk("backup", __import__("datetime").date(2026, 11, 25))
    assert [backend.catalog.increment(PK, sk, ceiling=3) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(CeilingReached) as info:
        backend.catalog.increment(PK, sk, ceiling=3)
    assert info.value.exit_code == 7 and info.value.ceiling == 3
    assert backend.catalog.get(PK, sk) == {COUNTER_FIELD: 3}
    assert backend.catalog.increment(PK, sk, by=-1, ceiling=3) == 2  # a refund
    assert backend.catalog.increment(PK, sk, ceiling=None, by=10) == 12  # no ceiling: unlimited
    other = K.quota_sk("snapshot", __import__("datetime").date(2026, 11, 25))
    with pytest.raises(CeilingReached):
        backend.catalog.increment(PK, other, by=5, ceiling=4)
    assert backend.catalog.get(PK, other) is None
    with pytest.raises(InvalidInput):
        backend.catalog.increment(PK, other, by=1.5)  # type: ignore[arg-type]


def test_counter_never_passes_its_ceiling_under_contention(backend: Backend) -> None:
    sk = "QUOTA#backup#20261125"
    catalogs = [backend.new_catalog() for _ in range(4)]
    wins: list[int] = []
    refused = 0
    lock = threading.Lock()

    def hammer(catalog_index: int) -> None:
        nonlocal refused
        for _ in range(10):
            try:
                value = catalogs[catalog_index].increment(PK, sk, ceiling=17)
                with lock:
                    wins.append(value)
            except CeilingReached:
                with lock:
                    refused += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(len(catalogs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == list(range(1, 18))  # every value handed out once, none above 17
    assert refused == 40 - 17
    assert backend.catalog.get(PK, sk) == {COUNTER_FIELD: 17}


def test_expired_items_are_hidden_and_replaceable(backend: Backend) -> None:
    now = int(backend.clock())
    live, dying = K.backup_sk(_ids(2)[0]), K.backup_sk(_ids(2)[1])
    backend.catalog.put_if_absent(PK, live, {"id": "live"})
    backend.catalog.put_if_absent(PK, dying, {"id": "dying", "expires_at": now + 60})
    assert backend.catalog.get(PK, dying) == {"id": "dying", "expires_at": now + 60}
    assert len(backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=10).items) == 2

    backend.clock.now += 60
    assert backend.catalog.get(PK, dying) is None
    assert [i["id"] for i in backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=10).items] == ["live"]
    page = backend.catalog.query(PK, K.BACKUP_SK_PREFIX, limit=1)
    assert [i["id"] for i in page.items] == ["live"] and page.next_cursor is None
    with pytest.raises(NotFound):
        backend.catalog.update(PK, dying, {"id": "zombie"})
    backend.catalog.put_if_absent(PK, dying, {"id": "reborn"})  # an expired item does not block its key
    assert backend.catalog.get(PK, dying) == {"id": "reborn"}


def test_update_can_drop_an_expiry(backend: Backend) -> None:
    now = int(backend.clock())
    backend.catalog.put_if_absent(PK, K.META_SK, {"v": 1, "expires_at": now + 5})
    assert backend.catalog.update(PK, K.META_SK, {"expires_at": None}) == {"v": 1}
    backend.clock.now += 3600
    assert backend.catalog.get(PK, K.META_SK) == {"v": 1}


def test_expired_counter_restarts(backend: Backend) -> None:
    now = int(backend.clock())
    sk = "QUOTA#backup#20261125"
    assert backend.catalog.increment(PK, sk, ceiling=2, expires_at=now + 100) == 1
    assert backend.catalog.increment(PK, sk, ceiling=2, expires_at=now + 100) == 2
    with pytest.raises(CeilingReached):
        backend.catalog.increment(PK, sk, ceiling=2, expires_at=now + 100)
    backend.clock.now += 100
    assert backend.catalog.increment(PK, sk, ceiling=2, expires_at=now + 200) == 1
    assert backend.catalog.get(PK, sk) == {COUNTER_FIELD: 1, "expires_at": now + 200}


def test_large_unicode_values_round_trip(backend: Backend) -> None:
    text = "\u00e9\u2713\U0001f600\u202e\x00 " * 15_000  # ~200 kB of UTF-8, control chars included
    backend.catalog.put_if_absent(PK, K.META_SK, {"text": text})
    got = backend.catalog.get(PK, K.META_SK)
    assert got is not None and got["text"] == text


@pytest.mark.parametrize(
    "item",
    [
        {"text": "x" * 400_000},
        {"blob": b"bytes"},
        {"set": {1, 2}},
        {"nan": float("nan")},
        {"inf": float("inf")},
        {"PK": "spoof"},
        {"SK": "spoof"},
        {"expires_at": "tomorrow"},
        {"huge": 10**40},
        {1: "non-string field name"},
    ],
)
def test_unstorable_items_are_refused_and_nothing_is_written(backend: Backend, item: dict[object, object]) -> None:
    with pytest.raises(InvalidInput):
        backend.catalog.put_if_absent(PK, K.META_SK, item)  # type: ignore[arg-type]
    assert backend.catalog.get(PK, K.META_SK) is None


@pytest.mark.parametrize("bad", ["", "a b", "a\nb", "\u00e9", "x" * 2000, "SERVER#1\x00"])
def test_hostile_catalog_keys_are_refused(backend: Backend, bad: str) -> None:
    with pytest.raises(InvalidName):
        backend.catalog.put_if_absent(bad, "SK", {"a": 1})
    with pytest.raises(InvalidName):
        backend.catalog.put_if_absent(PK, bad, {"a": 1})
    with pytest.raises(InvalidName):
        backend.catalog.get(PK, bad)
    with pytest.raises(InvalidName):
        backend.catalog.increment(bad, "SK")
    assert backend.catalog.query(PK, "", limit=10).items == []
