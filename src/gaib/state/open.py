"""Build the configured state backend from Settings."""

from __future__ import annotations

from gaib.errors import MissingSetting
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.state.local import LocalBackend


def open_backend(settings: Settings) -> StateBackend:
    if settings.backend == "s3":
        from gaib.state.s3 import S3Backend

        if not settings.s3_bucket:
            raise MissingSetting("The S3 state backend needs a bucket.",
                                 hint="Set GAIB_S3_BUCKET or backend.bucket in gaib.yaml.")
        if not settings.s3_table:
            raise MissingSetting("The S3 state backend needs a DynamoDB lock table.",
                                 hint="Set GAIB_DYNAMODB_TABLE or backend.dynamodb_table in gaib.yaml.")
        return S3Backend(bucket=settings.s3_bucket, table=settings.s3_table, guild_id=settings.require_guild(),
                         prefix=settings.s3_prefix, region=settings.aws_region,
                         endpoint_url=settings.aws_endpoint_url, kms_key_id=settings.s3_kms_key_id,
                         stale_after=settings.lock_stale_after)
    return LocalBackend(settings.state_dir, stale_after=settings.lock_stale_after)
