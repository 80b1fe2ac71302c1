"""The catalog's tier index (``index_query``), run against every adapter: SQLite and DynamoDB's GSI
``tier-index`` on moto."""

from __future__ import annotations

import pytest

from gaib.errors import EXIT_INVALID_INPUT, InvalidInput, InvalidName
from gaib.storage import keys as K
from gaib.storage.base import TIER_INDEX
from tests.support.storage.backends import Backend


def _server(n: int) -> str:
    return f"1{n:017d}"


def _register(backend: Backend, n: int, tier: str, **extra: object) -> tuple[str, str]:
    pk = K.server_pk(_server(n))
    backend.catalog.put_if_absent(pk, K.TIER_SK, {"tier": tier, "server_tier": tier, "server_id": _server(n), **extra})
    return pk, K.TIER_SK


def _all(backend: Backend, value: str, limit: int = 100) -> tuple[list[tuple[str, str]], int]:
    keys: list[tuple[str, str]] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = backend.catalog.index_query(TIER_INDEX, value, limit=limit, cursor=cursor)
        assert len(page.keys) <= limit
        keys += page.keys
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return keys, pages


def test_the_index_lists_the_servers_of_a_tier(backend: Backend) -> None:
    free = [_register(backend, n, "free") for n in (5, 1, 3, 9, 7)]
    premium = [_register(backend, n, "premium") for n in (4, 2, 8)]
    # Backup items carry `tier` too, but not `server_tier`: they are not in the index.
    backend.catalog.put_if_absent(K.server_pk(_server(1)), K.backup_sk("20261125T170312042Z-a1b2c3d4"),
                                  {"tier": "free", "server_id": _server(1)})
    assert backend.catalog.index_query(TIER_INDEX, "free").keys == sorted(free)
    assert backend.catalog.index_query(TIER_INDEX, "premium").keys == sorted(premium)
    page = backend.catalog.index_query(TIER_INDEX, "enterprise")
    assert page.keys == [] and page.next_cursor is None


def test_the_index_pages_with_a_cursor(backend: Backend) -> None:
    expected = sorted(_register(backend, n, "free") for n in range(11))
    _register(backend, 50, "premium")
    keys, pages = _all(backend, "free", limit=4)
    assert keys == expected and pages == 3  # 4 + 4 + 3: the last page says there is no more
    exact = backend.catalog.index_query(TIER_INDEX, "free", limit=11)
    assert exact.keys == expected and exact.next_cursor is None
    cursor = backend.catalog.index_query(TIER_INDEX, "free", limit=4).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput):
        backend.catalog.index_query(TIER_INDEX, "premium", limit=4, cursor=cursor)  # another listing's cursor
    with pytest.raises(InvalidInput):
        backend.catalog.query(K.server_pk(_server(0)), "", cursor=cursor)
    query_cursor = backend.catalog.query(K.server_pk(_server(0)), "", limit=1).next_cursor
    for garbage in ("", "!!!", "e30=", "x" * 10_000, query_cursor or "none"):
        with pytest.raises(InvalidInput):
            backend.catalog.index_query(TIER_INDEX, "free", cursor=garbage)
    for limit in (0, -1, 5000):
        with pytest.raises(InvalidInput):
            backend.catalog.index_query(TIER_INDEX, "free", limit=limit)


def test_a_server_moved_to_premium_is_listed_only_there(backend: Backend) -> None:
    _register(backend, 1, "free")
    moved = _register(backend, 2, "free")
    backend.catalog.update(*moved, {"tier": "premium", "server_tier": "premium"})
    assert backend.catalog.index_query(TIER_INDEX, "free").keys == [(K.server_pk(_server(1)), K.TIER_SK)]
    assert backend.catalog.index_query(TIER_INDEX, "premium").keys == [moved]


def test_a_server_whose_field_is_removed_leaves_the_index(backend: Backend) -> None:
    gone = _register(backend, 1, "free")
    assert backend.catalog.update(*gone, {"server_tier": None}) == {"tier": "free", "server_id": _server(1)}
    assert backend.catalog.index_query(TIER_INDEX, "free").keys == []
    backend.catalog.put_if_absent(K.server_pk(_server(2)), K.TIER_SK, {"tier": "free", "server_tier": None})
    assert backend.catalog.get(K.server_pk(_server(2)), K.TIER_SK) == {"tier": "free"}
    assert backend.catalog.index_query(TIER_INDEX, "free").keys == []


def test_expired_items_are_not_listed(backend: Backend) -> None:
    now = int(backend.clock())
    _register(backend, 1, "free")
    dying = _register(backend, 2, "free", expires_at=now + 60)
    assert len(backend.catalog.index_query(TIER_INDEX, "free").keys) == 2
    backend.clock.now += 60
    page = backend.catalog.index_query(TIER_INDEX, "free", limit=1)
    assert page.keys == [(K.server_pk(_server(1)), K.TIER_SK)] and page.next_cursor is None
    assert dying not in backend.catalog.index_query(TIER_INDEX, "free").keys


HOSTILE_VALUES = ["../x", "x" * 10_000, "pr\u00e9mium", "\uff46ree", "", "free premium", "free\x00", "free/x", "-free"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_index_values_are_refused(backend: Backend, value: str) -> None:
    with pytest.raises(InvalidName) as info:
        backend.catalog.index_query(TIER_INDEX, value)
    assert info.value.exit_code == EXIT_INVALID_INPUT
    with pytest.raises(InvalidInput) as info2:
        backend.catalog.put_if_absent(K.server_pk(_server(1)), K.TIER_SK, {"tier": "free", "server_tier": value})
    assert info2.value.exit_code == EXIT_INVALID_INPUT
    assert backend.catalog.get(K.server_pk(_server(1)), K.TIER_SK) is None


@pytest.mark.parametrize("stored", [7, True, ["free"], {"tier": "free"}])
def test_an_indexed_field_must_be_a_name(backend: Backend, stored: object) -> None:
    pk = K.server_pk(_server(1))
    with pytest.raises(InvalidInput):
        backend.catalog.put_if_absent(pk, K.TIER_SK, {"server_tier": stored})
    backend.catalog.put_if_absent(pk, K.TIER_SK, {"server_tier": "free"})
    with pytest.raises(InvalidInput):
        backend.catalog.update(pk, K.TIER_SK, {"server_tier": stored})
    assert backend.catalog.get(pk, K.TIER_SK) == {"server_tier": "free"}


@pytest.mark.parametrize("index", ["tier-index2", "TIER-INDEX", "", "../tier-index", "PK", "server_tier"])
def test_unknown_indexes_are_refused(backend: Backend, index: str) -> None:
    with pytest.raises(InvalidInput) as info:
        backend.catalog.index_query(index, "free")
    assert info.value.exit_code == EXIT_INVALID_INPUT
    assert "tier-index" in info.value.message
