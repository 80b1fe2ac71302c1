"""Choose and open the backup storage: the local folder + SQLite, or S3 + DynamoDB.

Selection (explicit arguments first, then the ``environ`` mapping a caller may pass — the process
environment is never read here; the composition root passes resolved settings): a bucket (``bucket=``
or ``GAIB_BACKUP_BUCKET``) selects AWS unless ``backend="local"``; the table defaults to
``GAIB_BACKUP_TABLE`` then ``gaib-backup-metadata``; the KMS key to ``GAIB_BACKUP_KMS_KEY``; the
region to ``AWS_REGION`` then ``AWS_DEFAULT_REGION``; the endpoint to ``AWS_ENDPOINT_URL``.
Otherwise the local store under ``root`` (default ``.gaib/backups``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gaib.errors import ConfigError, MissingSetting
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.local import LocalObjectStore, StoreRoot
from gaib.storage.sqlite_catalog import SqliteCatalog

if TYPE_CHECKING:
    from gaib.aws import RoleSession
    from gaib.storage.awsclient import RequestCounter

DEFAULT_ROOT = Path(".gaib") / "backups"
DEFAULT_TABLE = "gaib-backup-metadata"

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_TABLE_RE = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def open_storage(
    *,
    backend: str | None = None,
    root: Path | str | None = None,
    bucket: str | None = None,
    table: str | None = None,
    kms_key_id: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    role: RoleSession | None = None,
    counter: RequestCounter | None = None,
) -> tuple[ObjectStore, Catalog]:
    """Open the configured (ObjectStore, Catalog) pair; raises ``ConfigError`` for bad settings.

    With AWS, both adapters share one ``RequestCounter`` (``store.requests is catalog.requests``) and one
    ``ResponseClock`` (the ``Date`` headers behind ``catalog.storage_time()``).
    With ``role`` (a server's role session, ``gaib.aws.RoleSession``) the AWS clients use its credentials;
    ``counter`` is the request counter to share (a run's, for one server's storage).
    Nothing is created or contacted here: the local store initialises itself on its first write.
    """
    env: Mapping[str, str] = environ or {}
    bucket = bucket or env.get("GAIB_BACKUP_BUCKET") or None
    chosen = backend or ("aws" if bucket else "local")
    if chosen == "local":
        store_root = StoreRoot(Path(root) if root is not None else DEFAULT_ROOT)
        return LocalObjectStore(store_root.path), SqliteCatalog(store_root, clock=clock)
    if chosen != "aws":
        raise ConfigError(f"Unknown backup backend {chosen[:20]!r}: use 'local' or 'aws'.")
    if not bucket:
        raise MissingSetting("The AWS backup backend needs a bucket.",
                             hint="Set GAIB_BACKUP_BUCKET (or pass the bucket) to use S3 for backups.")
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(f"Invalid S3 bucket name {bucket[:70]!r}.",
                          hint="Bucket names are 3-63 lowercase letters, digits, '.' or '-'.")
    table = table or env.get("GAIB_BACKUP_TABLE") or DEFAULT_TABLE
    if not _TABLE_RE.fullmatch(table):
        raise ConfigError(f"Invalid DynamoDB table name {table[:70]!r}.",
                          hint="Table names are 3-255 letters, digits, '_', '-' or '.'.")
    kms_key_id = kms_key_id or env.get("GAIB_BACKUP_KMS_KEY") or None
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    endpoint = endpoint_url or env.get("AWS_ENDPOINT_URL") or None

    from gaib.storage.aws import DynamoCatalog, RequestCounter, S3ObjectStore
    from gaib.storage.awsclient import ResponseClock

    counter = counter if counter is not None else RequestCounter()
    seen = ResponseClock()  # the catalog's time comes from S3's responses too
    store = S3ObjectStore(bucket, kms_key_id=kms_key_id, region=region, endpoint_url=endpoint, counter=counter,
                          response_clock=seen, role=role)
    catalog = DynamoCatalog(table, region=region, endpoint_url=endpoint, counter=counter, clock=clock,
                            response_clock=seen, role=role)
    return store, catalog
