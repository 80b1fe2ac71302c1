"""The AWS adapters (S3 objects, DynamoDB catalog) and helpers that create their bucket and table.

``ensure_bucket``/``ensure_table`` are for tests, demos and first-time set-up against moto or a
sandbox account; production infrastructure comes from infrastructure/terraform/gaib-backups.tf.
boto3 is imported lazily, only when a client is made.
"""

from __future__ import annotations

import time

from gaib import aws
from gaib.storage.awsclient import RequestCounter, make_client
from gaib.storage.base import EXPIRES_FIELD
from gaib.storage.dynamodb import DynamoCatalog
from gaib.storage.s3 import S3ObjectStore

__all__ = ["DynamoCatalog", "RequestCounter", "S3ObjectStore", "ensure_bucket", "ensure_table"]


def ensure_bucket(bucket: str, *, region: str | None = None, endpoint_url: str | None = None) -> None:
    """Create ``bucket`` unless this account already owns it (idempotent)."""
    client = make_client("s3", region=region, endpoint_url=endpoint_url, counter=None)
    params: dict[str, object] = {"Bucket": bucket}
    actual_region = region or client.meta.region_name
    if actual_region and actual_region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": actual_region}
    try:
        client.create_bucket(**params)
    except Exception as exc:
        if aws.error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise aws.translate(exc, f"Creating bucket {bucket}") from None


def ensure_table(
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    wait_seconds: float = 60.0,
) -> None:
    """Create the catalog table (PK/SK strings, on-demand, TTL on ``expires_at``, point-in-time
    recovery) unless it exists; waits until it is ACTIVE. Idempotent."""
    client = make_client("dynamodb", region=region, endpoint_url=endpoint_url, counter=None)
    try:
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except Exception as exc:
        if aws.error_code(exc) != "ResourceInUseException":
            raise aws.translate(exc, f"Creating table {table}") from None
    deadline = time.monotonic() + wait_seconds
    try:
        while client.describe_table(TableName=table)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise aws.translate(TimeoutError(), f"Waiting for table {table} to become active")
            time.sleep(0.5)
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_FIELD},
            )
        client.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    except Exception as exc:
        raise aws.translate(exc, f"Configuring table {table}") from None
