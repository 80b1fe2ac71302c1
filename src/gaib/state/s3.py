"""The S3 state backend with a DynamoDB lock table shaped like Terraform's.

State lives at ``{prefix}{guild_id}/{workspace}/terraform.tfstate``. Writes are conditional:
``If-Match`` on the ETag that was read (``If-None-Match: *`` for a new state), so a concurrent writer
makes the second put fail instead of overwriting. The lock item is keyed ``LockID = <bucket>/<key>``
(string hash key, as Terraform's table), holds Terraform's JSON ``Info`` and is written with a
conditional put (absent, or older than the stale age) and released with a conditional delete on the
lock id, so an existing Terraform lock table serves.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gaib import aws
from gaib.errors import NotFound, SerialConflict
from gaib.names import check_name, check_snowflake
from gaib.state.backend import LockInfo, check_write, lock_from_json
from gaib.state.model import State, parse_state

STATE_NAME = "terraform.tfstate"
MARKER_NAME = "workspace.json"


class S3Backend:
    def __init__(self, *, bucket: str, table: str, guild_id: str, prefix: str = "gaib/state/",
                 region: str | None = None, endpoint_url: str | None = None, kms_key_id: str | None = None,
                 stale_after: timedelta = timedelta(hours=1)) -> None:
        self.bucket = bucket
        self.table = table
        self.guild_id = check_snowflake(guild_id, "guild id")
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.kms_key_id = kms_key_id
        self.stale_after = stale_after
        self._s3 = aws.client("s3", region=region, endpoint_url=endpoint_url)
        self._ddb = aws.client("dynamodb", region=region, endpoint_url=endpoint_url)
        self.description = f"s3://{bucket}/{self.prefix}{self.guild_id}/ (lock table {table})"

    def key(self, workspace: str) -> str:
        return f"{self.prefix}{self.guild_id}/{check_name(workspace, 'workspace name')}/{STATE_NAME}"

    def _marker(self, workspace: str) -> str:
        return f"{self.prefix}{self.guild_id}/{check_name(workspace, 'workspace name')}/{MARKER_NAME}"

    def _lock_id(self, workspace: str) -> str:
        return f"{self.bucket}/{self.key(workspace)}"

    def _encryption(self) -> dict[str, str]:
        """SSE-KMS with the configured key; otherwise nothing (the bucket's default encryption)."""
        if not self.kms_key_id:
            return {}
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}

    # --- state -----------------------------------------------------------------------------------
    def _read(self, workspace: str) -> tuple[State | None, str | None]:
        key = self.key(workspace)
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=key)
            raw = obj["Body"].read()
        except Exception as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                return None, None
            raise aws.translate(exc, f"Reading state s3://{self.bucket}/{key}") from None
        return parse_state(raw, f"s3://{self.bucket}/{key}"), str(obj["ETag"])

    def get(self, workspace: str) -> State | None:
        return self._read(workspace)[0]

    def put(self, state: State, *, expected_serial: int | None) -> None:
        key = self.key(state.workspace)
        source = f"s3://{self.bucket}/{key}"
        current, etag = self._read(state.workspace)
        check_write(current, state, expected_serial, source)
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": state.to_json(),
                                "ContentType": "application/json"}
        if etag is None:
            args["IfNoneMatch"] = "*"
        else:
            args["IfMatch"] = etag
        args.update(self._encryption())
        try:
            self._s3.put_object(**args)
        except Exception as exc:
            if aws.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise SerialConflict(f"The state at {source} changed while this run was writing it; "
                                     "not overwriting it.") from None
            raise aws.translate(exc, f"Writing state {source}") from None
        self.create_workspace(state.workspace)

    # --- workspaces ------------------------------------------------------------------------------
    def list_workspaces(self) -> list[str]:
        base = f"{self.prefix}{self.guild_id}/"
        names: list[str] = []
        try:
            paginator = self._s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base, Delimiter="/"):
                for cp in page.get("CommonPrefixes", []):
                    names.append(cp["Prefix"][len(base):].rstrip("/"))
        except Exception as exc:
            raise aws.translate(exc, f"Listing workspaces in s3://{self.bucket}/{base}") from None
        valid = []
        for name in names:
            try:
                valid.append(check_name(name))
            except Exception:
                continue
        return sorted(valid)

    def workspace_exists(self, workspace: str) -> bool:
        for key in (self._marker(workspace), self.key(workspace)):
            try:
                self._s3.head_object(Bucket=self.bucket, Key=key)
                return True
            except Exception as exc:
                if aws.error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                    raise aws.translate(exc, f"Checking workspace {workspace}") from None
        return False

    def create_workspace(self, workspace: str) -> None:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._marker(workspace),
                                "Body": json.dumps({"workspace": workspace}).encode(), "IfNoneMatch": "*",
                                **self._encryption()}
        try:
            self._s3.put_object(**args)
        except Exception as exc:
            if aws.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return
            raise aws.translate(exc, f"Creating workspace {workspace}") from None

    def delete(self, workspace: str) -> None:
        if not self.workspace_exists(workspace):
            raise NotFound(f"Workspace '{workspace}' does not exist.")
        try:
            # State first: a crash in between leaves an empty workspace, never an orphaned state.
            self._s3.delete_object(Bucket=self.bucket, Key=self.key(workspace))
            self._s3.delete_object(Bucket=self.bucket, Key=self._marker(workspace))
        except Exception as exc:
            raise aws.translate(exc, f"Deleting workspace {workspace}") from None

    # --- locks -----------------------------------------------------------------------------------
    def lock_info(self, workspace: str) -> LockInfo | None:
        try:
            item = self._ddb.get_item(TableName=self.table, Key={"LockID": {"S": self._lock_id(workspace)}},
                                      ConsistentRead=True).get("Item")
        except Exception as exc:
            raise aws.translate(exc, f"Reading lock table {self.table}") from None
        if not item:
            return None
        info = item.get("Info")
        raw = info.get("S") if isinstance(info, dict) else None
        if not isinstance(raw, str):
            return LockInfo.unreadable(self._lock_id(workspace), "no Info string")
        return lock_from_json(raw, self._lock_id(workspace))

    def lock(self, workspace: str, operation: str, now: datetime) -> LockInfo:
        info = LockInfo.new(operation, f"s3://{self.bucket}/{self.key(workspace)}", now)
        cutoff = int((now - self.stale_after).timestamp())
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={"LockID": {"S": self._lock_id(workspace)}, "Info": {"S": json.dumps(info.to_dict())},
                      "LockOwner": {"S": info.id}, "CreatedEpoch": {"N": str(int(now.timestamp()))}},
                ConditionExpression="attribute_not_exists(LockID) OR CreatedEpoch < :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
            )
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                held = self.lock_info(workspace)
                if held is None:  # released in between: try once more
                    return self.lock(workspace, operation, now)
                raise held.held_error() from None
            raise aws.translate(exc, f"Taking the lock in {self.table}") from None
        return info

    def unlock(self, workspace: str, lock_id: str) -> None:
        try:
            self._ddb.delete_item(TableName=self.table, Key={"LockID": {"S": self._lock_id(workspace)}},
                                  ConditionExpression="LockOwner = :id",
                                  ExpressionAttributeValues={":id": {"S": lock_id}})
        except Exception as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return  # someone force-unlocked and re-locked: not ours to release
            raise aws.translate(exc, f"Releasing the lock in {self.table}") from None

    def force_unlock(self, workspace: str) -> LockInfo | None:
        held = self.lock_info(workspace)
        try:
            self._ddb.delete_item(TableName=self.table, Key={"LockID": {"S": self._lock_id(workspace)}})
        except Exception as exc:
            raise aws.translate(exc, f"Releasing the lock in {self.table}") from None
        return held


def ensure_state_infra(*, bucket: str, table: str, region: str | None, endpoint_url: str | None) -> None:
    """Create the state bucket and lock table if missing (demo and tests; production uses Terraform)."""
    s3 = aws.client("s3", region=region, endpoint_url=endpoint_url)
    ddb = aws.client("dynamodb", region=region, endpoint_url=endpoint_url)
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception as exc:
        if aws.error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise aws.translate(exc, f"Creating bucket {bucket}") from None
    try:
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
    except Exception as exc:
        if aws.error_code(exc) != "ResourceInUseException":
            raise aws.translate(exc, f"Creating table {table}") from None
