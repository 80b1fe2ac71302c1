"""An object store and catalog pair, on a local folder or on S3 + DynamoDB (moto), for the storage
contract tests: each ``Backend`` can open a second adapter instance on the same storage."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.open import open_storage
from tests.support.clocks import Clock


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
    """A fresh bucket and table on moto (boto3 must already point there: the ``aws_env`` fixture)."""
    from gaib.storage.aws import DynamoCatalog, S3ObjectStore, ensure_bucket, ensure_table

    suffix = uuid.uuid4().hex[:12]
    bucket, table = f"gaib-test-{suffix}", f"gaib-test-{suffix}"
    ensure_bucket(bucket)
    ensure_table(table)
    store, catalog = open_storage(bucket=bucket, table=table, kms_key_id=kms_key_id, environ=env, clock=clock)
    return Backend("aws", store, catalog, clock, lambda: DynamoCatalog(table, clock=clock),
                   lambda: S3ObjectStore(bucket, kms_key_id=kms_key_id))
