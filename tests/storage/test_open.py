"""Choosing the backend from explicit values and the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gaib.errors import EXIT_CONFIG, ConfigError, MissingSetting
from gaib.storage.local import LocalObjectStore
from gaib.storage.open import open_storage
from gaib.storage.sqlite_catalog import SqliteCatalog


def test_local_is_the_default(tmp_path: Path) -> None:
    store, catalog = open_storage(root=tmp_path / "b", environ={})
    assert isinstance(store, LocalObjectStore) and isinstance(catalog, SqliteCatalog)
    assert store.root.path == tmp_path / "b" and catalog.path == tmp_path / "b" / "catalog.sqlite3"
    store, _ = open_storage(environ={})
    assert isinstance(store, LocalObjectStore) and store.root.path == Path(".gaib/backups")


def test_a_bucket_in_the_environment_selects_aws() -> None:
    from gaib.storage.aws import DynamoCatalog, S3ObjectStore

    env = {"GAIB_BACKUP_BUCKET": "gaib-backups-123", "GAIB_BACKUP_KMS_KEY": "alias/gaib", "AWS_REGION": "eu-west-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    store, catalog = open_storage(environ=env)
    assert isinstance(store, S3ObjectStore) and isinstance(catalog, DynamoCatalog)
    assert store.bucket == "gaib-backups-123" and store.kms_key_id == "alias/gaib"
    assert catalog.table == "gaib-backup-metadata"
    assert store.client.meta.region_name == "eu-west-1"
    _, catalog = open_storage(environ={**env, "GAIB_BACKUP_TABLE": "custom-table"})
    assert isinstance(catalog, DynamoCatalog) and catalog.table == "custom-table"
    store, _ = open_storage(environ=env, backend="local")
    assert isinstance(store, LocalObjectStore)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"backend": "aws"}, MissingSetting),
        ({"backend": "ftp"}, ConfigError),
        ({"bucket": "Bad_Bucket"}, ConfigError),
        ({"bucket": "../etc"}, ConfigError),
        ({"bucket": "gaib-ok", "table": "no spaces"}, ConfigError),
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict[str, str], error: type[ConfigError]) -> None:
    with pytest.raises(error) as info:
        open_storage(environ={}, **kwargs)  # type: ignore[arg-type]
    assert info.value.exit_code == EXIT_CONFIG


def test_importing_storage_does_not_import_boto3() -> None:
    code = (
        "import sys, gaib.storage, gaib.storage.aws, gaib.storage.keys, gaib.bundles.codec;"
        "print(sorted(m for m in ('boto3', 'botocore', 'zstandard') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
