"""AWS adapter specifics, against moto's server over HTTP: encryption, tags, conditional writes,
request counting, table set-up and error mapping."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from gaib.errors import EXIT_GENERAL, StorageError
from gaib.storage.aws import DynamoCatalog, S3ObjectStore, ensure_table
from gaib.storage.s3 import S3ObjectStore as S3Direct
from tests.storage.conftest import Clock, make_aws

pytestmark = pytest.mark.aws


def _record_headers(client: Any) -> list[tuple[str, dict[str, str]]]:
    sent: list[tuple[str, dict[str, str]]] = []

    def hook(request: Any, event_name: str, **_: Any) -> None:
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        sent.append((event_name.rsplit(".", 1)[-1], headers))

    client.meta.events.register("before-send", hook)
    return sent


def test_kms_key_requests_sse_kms(aws_env: dict[str, str]) -> None:
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    backend = make_aws(aws_env, Clock(), kms_key_id=key_id)
    assert isinstance(backend.store, S3ObjectStore)
    sent = _record_headers(backend.store.client)
    backend.store.put("state/1/default/a.json.gz", b"x", tags={"Tier": "premium", "ServerId": "1"})
    head = backend.store.client.head_object(Bucket=backend.store.bucket, Key="state/1/default/a.json.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)
    put_headers = next(h for op, h in sent if op == "PutObject")
    assert put_headers["x-amz-server-side-encryption"] == "aws:kms"
    assert put_headers["if-none-match"] == "*"


def test_without_a_kms_key_no_encryption_is_requested(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.store, S3ObjectStore)
    sent = _record_headers(backend.store.client)
    backend.store.put("state/1/default/a.json.gz", b"x")
    put_headers = next(h for op, h in sent if op == "PutObject")
    assert not [h for h in put_headers if h.startswith("x-amz-server-side-encryption")]
    head = backend.store.client.head_object(Bucket=backend.store.bucket, Key="state/1/default/a.json.gz")
    assert head.get("ServerSideEncryption") != "AES256"


def test_objects_are_tagged_in_s3(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.store, S3ObjectStore)
    backend.store.put("snapshots/1/20261125T170312042Z-a1b2c3d4/manifest.json", b"{}",
                      tags={"Tier": "free", "ServerId": "123456789012345678"})
    tagging = boto3.client("s3").get_object_tagging(
        Bucket=backend.store.bucket, Key="snapshots/1/20261125T170312042Z-a1b2c3d4/manifest.json"
    )
    assert {t["Key"]: t["Value"] for t in tagging["TagSet"]} == {"Tier": "free", "ServerId": "123456789012345678"}


def test_requests_are_counted_per_operation(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.store, S3ObjectStore) and isinstance(backend.catalog, DynamoCatalog)
    counter = backend.store.requests
    assert backend.catalog.requests is counter  # open_storage shares one counter
    counter.reset()
    backend.store.put("state/1/default/a.json.gz", b"x")
    backend.store.get("state/1/default/a.json.gz")
    backend.catalog.increment("SERVER#1", "QUOTA#backup#20261125", ceiling=5)
    backend.catalog.put_if_absent("SERVER#1", "BACKUP#1#1", {"a": 1})
    backend.catalog.query("SERVER#1", "BACKUP#", limit=10)
    assert counter.by_operation() == {
        "s3.PutObject": 1,
        "s3.GetObject": 1,
        "dynamodb.UpdateItem": 1,
        "dynamodb.PutItem": 1,
        "dynamodb.Query": 1,
    }
    assert counter.total == 5


def test_ensure_table_enables_ttl_and_is_idempotent(aws_env: dict[str, str]) -> None:
    ensure_table("gaib-ensure-test")
    ensure_table("gaib-ensure-test")
    ddb = boto3.client("dynamodb")
    ttl = ddb.describe_time_to_live(TableName="gaib-ensure-test")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"
    table = ddb.describe_table(TableName="gaib-ensure-test")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"PK": "HASH", "SK": "RANGE"}


def test_missing_bucket_and_table_are_storage_errors(aws_env: dict[str, str]) -> None:
    store = S3Direct("gaib-no-such-bucket-xyz")
    for call in (lambda: store.put("state/1/x", b"1"), lambda: list(store.list(""))):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.exit_code == EXIT_GENERAL
        assert "NoSuchBucket" in info.value.message
    catalog = DynamoCatalog("gaib-no-such-table")
    with pytest.raises(StorageError) as info2:
        catalog.get("SERVER#1", "TIER")
    assert "ResourceNotFoundException" in info2.value.message


def test_unreachable_endpoint_is_a_storage_error(aws_env: dict[str, str]) -> None:
    from tests.support.procs import free_port

    store = S3Direct("gaib-any", endpoint_url=f"http://127.0.0.1:{free_port()}")
    store.client.meta.config.retries = {"max_attempts": 1}
    with pytest.raises(StorageError) as info:
        store.get("state/1/x")
    assert "could not be reached" in info.value.message
    assert "testing" not in info.value.message  # no credentials in messages
