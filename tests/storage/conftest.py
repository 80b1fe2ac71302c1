from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.open import open_storage

START = 1_800_000_000.0


class Clock:
    """The only mock: a settable clock (epoch seconds) handed to the catalog adapters."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    name: str
    store: ObjectStore
    catalog: Catalog
    clock: Clock
    new_catalog: Callable[[], Catalog]  # another adapter instance on the same storage
    new_store: Callable[[], ObjectStore]


def make_local(root: Path, clock: Clock) -> Backend:
    from gaib.storage.local import LocalObjectStore
    from gaib.storage.sqlite_catalog import SqliteCatalog

    store, catalog = open_storage(backend="local", root=root, clock=clock, environ={})
    return Backend("local", store, catalog, clock, lambda: SqliteCatalog(root, clock=clock),
                   lambda: LocalObjectStore(root))


def make_aws(env: dict[str, str], clock: Clock, *, kms_key_id: str | None = None) -> Backend:
    from gaib.storage.aws import DynamoCatalog, S3ObjectStore, ensure_bucket, ensure_table

    suffix = uuid.uuid4().hex[:12]
    bucket, table = f"gaib-test-{suffix}", f"gaib-test-{suffix}"
    ensure_bucket(bucket)
    ensure_table(table)
    store, catalog = open_storage(bucket=bucket, table=table, kms_key_id=kms_key_id, environ=env, clock=clock)
    return Backend("aws", store, catalog, clock, lambda: DynamoCatalog(table, clock=clock),
                   lambda: S3ObjectStore(bucket, kms_key_id=kms_key_id))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Backend:
    if request.param == "local":
        return make_local(tmp_path / "store", clock)
    env = request.getfixturevalue("aws_env")
    return make_aws(env, clock)
