"""Catalog.get_many: the contract on both catalogs (SQLite and DynamoDB on moto)."""

from __future__ import annotations

import pytest

from gaib.errors import InvalidName
from tests.support.storage.backends import Backend

CLAIM = "RUN#free#20261125T0300Z"


def test_get_many_returns_the_live_items_among_the_keys(backend: Backend) -> None:
    cat = backend.catalog
    for i in range(250):  # more than one DynamoDB request's 100 keys
        cat.put_if_absent(f"SERVER#{i}", "SCHEDULE", {"n": i})
    now = int(backend.clock())
    cat.put_if_absent("SERVER#1", CLAIM, {"status": "running", "expires_at": now + 5})
    cat.put_if_absent("SERVER#2", CLAIM, {"status": "done", "expires_at": now - 5})  # expired: as if absent
    keys = [(f"SERVER#{i}", "SCHEDULE") for i in range(0, 300, 2)] + [("SERVER#1", CLAIM), ("SERVER#2", CLAIM)]

    found = cat.get_many(keys + keys[:3])

    assert set(found) == {(f"SERVER#{i}", "SCHEDULE") for i in range(0, 250, 2)} | {("SERVER#1", CLAIM)}
    assert found[("SERVER#8", "SCHEDULE")] == {"n": 8}
    assert cat.get_many([]) == {}


def test_get_many_checks_every_key_first(backend: Backend) -> None:
    with pytest.raises(InvalidName):
        backend.catalog.get_many([("SERVER#1", "SCHEDULE"), ("SERVER#1", "has space")])


def test_get_many_on_a_catalog_never_written_is_empty(tmp_path: object) -> None:
    from pathlib import Path

    from gaib.storage.sqlite_catalog import SqliteCatalog

    assert SqliteCatalog(Path(str(tmp_path)) / "nothing").get_many([("A", "B")]) == {}
