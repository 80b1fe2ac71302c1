"""Gaib's backup storage for a test, on the local project folder or on S3 + DynamoDB (moto).

``backup_storage_env`` makes a fresh bucket and table on moto and returns the variables that point Gaib
at them (``state_backend_env`` the same for the state backend); the local store needs none (it lives in
the project's ``.gaib/backups``). ``make_project`` seeds a project on either: a state and one backup.
"""

from __future__ import annotations

import uuid

from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state


def backup_storage_env(aws_env: dict[str, str], prefix: str = "backups") -> dict[str, str]:
    """``aws_env`` plus ``GAIB_BACKUP_BUCKET``/``GAIB_BACKUP_TABLE`` naming a new, empty bucket and table
    (named ``{prefix}-<random>``) on the moto server ``aws_env`` points at, and ``GAIB_MAC_KEY_ID`` naming
    a new HMAC KMS key there (what seals the manifests)."""
    from gaib.storage.aws import ensure_bucket, ensure_table

    suffix = uuid.uuid4().hex[:10]
    bucket = table = f"{prefix}-{suffix}"
    ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    return {**aws_env, "GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table,
            "GAIB_MAC_KEY_ID": hmac_key(aws_env)}


def hmac_key(aws_env: dict[str, str]) -> str:
    """The ARN of a new HMAC_256 KMS key (usage GENERATE_VERIFY_MAC) on the moto server ``aws_env`` names."""
    import boto3

    kms = boto3.client("kms", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    made = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description="gaib manifests")
    return str(made["KeyMetadata"]["Arn"])


def state_backend_env(aws_env: dict[str, str]) -> dict[str, str]:
    """``aws_env`` plus ``GAIB_S3_BUCKET``/``GAIB_DYNAMODB_TABLE`` naming a new, empty state bucket and lock
    table on the moto server ``aws_env`` points at: Gaib's state then lives on S3 + DynamoDB."""
    from gaib.state.s3 import ensure_state_infra

    suffix = uuid.uuid4().hex[:10]
    bucket, table = f"tfstate-{suffix}", f"locks-{suffix}"
    ensure_state_infra(bucket=bucket, table=table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    return {**aws_env, "GAIB_S3_BUCKET": bucket, "GAIB_DYNAMODB_TABLE": table}


def make_project(cli: CliRunner, storage: dict[str, str] | None = None) -> CliRunner:
    """A project folder with a state (serial 4, three roles) and one backup ("seed"), Discord pointing
    nowhere; backups on the local store, or on the storage ``storage`` names (``backup_storage_env``)."""
    cli.environ.update({"DISCORD_GUILD_ID": GUILD, "GAIB_DISCORD_API_URL": "http://127.0.0.1:9"})
    cli.environ.update(storage or {})
    seed_state(cli.cwd)
    made = cli("server", "backup", "create", "-m", "seed", "--json")
    assert made.exit_code == 0, made.stdout
    return cli
