"""The AWS adapters (S3 objects, DynamoDB catalog) and helpers that create their bucket and table.

``ensure_bucket``/``ensure_table`` are for tests, demos and first-time set-up against moto or a
sandbox account; production infrastructure comes from infrastructure/terraform/gaib-backups.tf.
boto3 is imported lazily, only when a client is made.
"""

from __future__ import annotations

import time
from typing import Any

from gaib import aws
from gaib.storage.awsclient import RequestCounter, make_client
from gaib.storage.base import EXPIRES_FIELD, TIER_INDEX, TIER_INDEX_FIELD
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


_ATTRIBUTES = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
    {"AttributeName": TIER_INDEX_FIELD, "AttributeType": "S"},
]
_TIER_INDEX = {
    "IndexName": TIER_INDEX,
    "KeySchema": [
        {"AttributeName": TIER_INDEX_FIELD, "KeyType": "HASH"},
        {"AttributeName": "PK", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "KEYS_ONLY"},
}


def _active(description: dict[str, Any]) -> bool:
    return description.get("TableStatus") == "ACTIVE" and all(
        i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in description.get("GlobalSecondaryIndexes", [])
    )


def ensure_table(
    table: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    wait_seconds: float = 60.0,
) -> None:
    """Create the catalog table as the Terraform does (PK/SK strings, on-demand, the keys-only GSI
    ``tier-index`` on ``server_tier``/``PK``, TTL on ``expires_at``, point-in-time recovery) unless
    it exists; a table made before the index gets it added. Waits until table and index are ACTIVE.
    Idempotent."""
    client = make_client("dynamodb", region=region, endpoint_url=endpoint_url, counter=None)
    try:
        client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=_ATTRIBUTES,
            GlobalSecondaryIndexes=[_TIER_INDEX],
            BillingMode="PAY_PER_REQUEST",
        )
    except Exception as exc:
        if aws.error_code(exc) != "ResourceInUseException":
            raise aws.translate(exc, f"Creating table {table}") from None
    deadline = time.monotonic() + wait_seconds
    try:
        while not _active(description := client.describe_table(TableName=table)["Table"]):
            if time.monotonic() > deadline:
                raise aws.translate(TimeoutError(), f"Waiting for table {table} to become active")
            time.sleep(0.5)
        if not any(i["IndexName"] == TIER_INDEX for i in description.get("GlobalSecondaryIndexes", [])):
            client.update_table(
                TableName=table,
                AttributeDefinitions=_ATTRIBUTES,
                GlobalSecondaryIndexUpdates=[{"Create": _TIER_INDEX}],
            )
            while not _active(client.describe_table(TableName=table)["Table"]):
                if time.monotonic() > deadline:
                    raise aws.translate(TimeoutError(), f"Waiting for index {TIER_INDEX} of {table}")
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
