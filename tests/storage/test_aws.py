"""AWS adapter specifics, against moto's server over HTTP: encryption, tags, conditional writes,
request counting, table set-up and error mapping."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from gaib.errors import EXIT_GENERAL, StorageError
from gaib.storage.aws import DynamoCatalog, S3ObjectStore, ensure_table
from gaib.storage.s3 import S3ObjectStore as S3Direct
from tests.support.clocks import Clock
from tests.support.storage.backends import make_aws

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


# --- documents ----------------------------------------------------------------------------------


def test_replace_sends_if_match_with_the_etag_and_moto_enforces_it(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.store, S3ObjectStore)
    sent = _record_headers(backend.store.client)
    created = backend.store.replace("themes/1/registry.json", b"v1", expected_generation=None)
    doc = backend.store.get_document("themes/1/registry.json")
    assert doc.generation == created.generation
    backend.store.replace("themes/1/registry.json", b"v2", expected_generation=doc.generation)
    puts = [h for op, h in sent if op == "PutObject"]
    assert puts[0]["if-none-match"] == "*" and "if-match" not in puts[0]
    assert puts[1]["if-match"] == doc.generation and "if-none-match" not in puts[1]
    # The emulator itself refuses a stale ETag (412) and a missing key (404) on If-Match.
    raw = boto3.client("s3")
    for key, status in (("themes/1/registry.json", 412), ("themes/1/missing.json", 404)):
        with pytest.raises(Exception) as info:
            raw.put_object(Bucket=backend.store.bucket, Key=key, Body=b"x", IfMatch=doc.generation)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status  # type: ignore[attr-defined]
    assert backend.store.get("themes/1/registry.json") == b"v2"


def test_bucket_versioning_keeps_every_replaced_document(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.store, S3ObjectStore)
    raw = boto3.client("s3")
    raw.put_bucket_versioning(Bucket=backend.store.bucket, VersioningConfiguration={"Status": "Enabled"})
    key = "metadata/1/backup-schedule.json"
    backend.store.replace(key, b"v1", expected_generation=None)
    for body in (b"v2", b"v3"):
        backend.store.replace(key, body, expected_generation=backend.store.get_document(key).generation)
    versions = raw.list_object_versions(Bucket=backend.store.bucket, Prefix=key)["Versions"]
    bodies = sorted(raw.get_object(Bucket=backend.store.bucket, Key=key, VersionId=v["VersionId"])["Body"].read()
                    for v in versions)
    assert bodies == [b"v1", b"v2", b"v3"]


# --- tier index ---------------------------------------------------------------------------------


def test_ensure_table_creates_the_tier_index_like_the_terraform(aws_env: dict[str, str]) -> None:
    ensure_table("gaib-gsi-test")
    table = boto3.client("dynamodb").describe_table(TableName="gaib-gsi-test")["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "tier-index"
    assert {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]} == {"server_tier": "HASH", "PK": "RANGE"}
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"


def test_ensure_table_adds_the_tier_index_to_an_older_table(aws_env: dict[str, str]) -> None:
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="gaib-old-table",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    catalog = DynamoCatalog("gaib-old-table")
    catalog.put_if_absent("SERVER#1", "TIER", {"tier": "free", "server_tier": "free"})
    ensure_table("gaib-old-table")
    ensure_table("gaib-old-table")
    indexes = ddb.describe_table(TableName="gaib-old-table")["Table"]["GlobalSecondaryIndexes"]
    assert [i["IndexName"] for i in indexes] == ["tier-index"]
    assert catalog.index_query("tier-index", "free").keys == [("SERVER#1", "TIER")]


def test_one_page_of_the_index_costs_a_query_and_a_batch_read(aws_env: dict[str, str]) -> None:
    backend = make_aws(aws_env, Clock())
    assert isinstance(backend.catalog, DynamoCatalog)
    for n in range(5):
        backend.catalog.put_if_absent(f"SERVER#{n}", "TIER", {"tier": "free", "server_tier": "free"})
    backend.catalog.requests.reset()
    page = backend.catalog.index_query("tier-index", "free", limit=10)
    assert len(page.keys) == 5
    assert backend.catalog.requests.by_operation() == {"dynamodb.Query": 1, "dynamodb.BatchGetItem": 1}
