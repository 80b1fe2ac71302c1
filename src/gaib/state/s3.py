"""The S3 state backend with a DynamoDB lock table both Gaibs (and Terraform's table layout) share.

State lives at a key made from a template: the original Gaib's ``servers/${workspace}/terraform.tfstate``
by default, or ``backend.key`` (``${workspace}`` and ``${guild_id}`` are replaced). Gaib's older
layout ``{key_prefix}{guild_id}/{workspace}/terraform.tfstate`` is a template too; with no key
configured, a state found only there (and not at the original's default key) is still used, with a
notice. Writes are conditional: ``If-Match`` on the ETag that was read (``If-None-Match: *`` for a
new state), so a concurrent writer makes the second put fail instead of overwriting. With
``encrypt`` (the default) objects are written with SSE-KMS (``kms_key_id``, else the AWS managed key).

The lock item (one format, honoured by this Gaib and the original): hash key ``LockID =
<bucket>/<key>``; ``ID``, ``Who``, ``Operation``, ``Created`` (ISO 8601 with milliseconds, ``Z``),
``TTL`` (epoch seconds when it goes stale) and ``Info`` (Terraform's lock-info JSON). It is taken
with ``attribute_not_exists(LockID) OR Created < :stale`` (items of earlier Gaib builds, which
carry ``CreatedEpoch`` instead, are aged by that), released with a conditional delete on ``ID``
(or the earlier ``LockOwner``), so a lock taken by either tool stops the other.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gaib import aws, safejson
from gaib.errors import ConfigError, MissingSetting, NotFound, SerialConflict
from gaib.names import NAME_PATTERN, check_name, check_snowflake
from gaib.state.backend import MAX_LOCK_BYTES, LockInfo, check_write
from gaib.state.model import State, parse_state

STATE_NAME = "terraform.tfstate"
MARKER_NAME = "workspace.json"
DEFAULT_KEY = "servers/${workspace}/terraform.tfstate"
LEGACY_PREFIX = "gaib/state/"
DEFAULT_TABLE = "gaib-locks"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_KNOWN_VARIABLES = ("workspace", "guild_id")


def iso_ms(moment: datetime) -> str:
    """``2025-11-02T10:20:30.123Z``: the timestamp form the original writes (sorts as text)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class S3Backend:
    def __init__(self, *, bucket: str, table: str = DEFAULT_TABLE, guild_id: str | None = None,
                 prefix: str | None = None, key: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, kms_key_id: str | None = None, encrypt: bool = True,
                 profile: str | None = None, stale_after: timedelta = timedelta(hours=1),
                 notice: Callable[[str], None] | None = None, clients: tuple[Any, Any] | None = None) -> None:
        self.bucket = bucket
        self.table = table
        self.guild_id = check_snowflake(guild_id, "guild id") if guild_id else None
        if key is None and prefix:
            key = (prefix if prefix.endswith("/") else prefix + "/") + "${guild_id}/${workspace}/" + STATE_NAME
        self.explicit = key is not None
        self.template = _check_template(key or DEFAULT_KEY)
        if "${guild_id}" in self.template and self.guild_id is None:
            raise MissingSetting("The S3 state key uses ${guild_id}, but no Discord server id is set.",
                                 hint="Pass -g ID, set DISCORD_GUILD_ID, or give server.id in the config.")
        self.kms_key_id = kms_key_id
        self.encrypt = encrypt
        self.stale_after = stale_after
        self.notice = notice
        self._chosen: dict[str, str] = {}
        # ``clients`` (S3, DynamoDB): shared boto3 clients, so a scheduled run reading thousands of states
        # does not pay for making two clients per state.
        self._s3, self._ddb = clients if clients is not None else (
            aws.client("s3", region=region, endpoint_url=endpoint_url, profile=profile),
            aws.client("dynamodb", region=region, endpoint_url=endpoint_url, profile=profile))
        self.description = f"s3://{bucket}/{self._render(self.template, '<workspace>')} (lock table {table})"

    # --- keys ------------------------------------------------------------------------------------
    def _render(self, template: str, workspace: str) -> str:
        return template.replace("${workspace}", workspace).replace("${guild_id}", self.guild_id or "")

    def key(self, workspace: str) -> str:
        """The state's key for ``workspace`` (InvalidName for a bad name)."""
        check_name(workspace, "workspace name")
        chosen = self._chosen.get(workspace)
        if chosen is not None:
            return chosen
        if "${workspace}" not in self.template and workspace != "default":
            raise ConfigError(f"backend.key {self.template!r} has no ${{workspace}}, so only the 'default' "
                              f"workspace can be used (not {workspace!r}).",
                              hint="Add ${workspace} to backend.key, e.g. servers/${workspace}/terraform.tfstate.")
        chosen = self._render(self.template, workspace)
        if not self.explicit and self.guild_id is not None and not self._exists(chosen):
            legacy = f"{LEGACY_PREFIX}{self.guild_id}/{workspace}/{STATE_NAME}"
            if self._exists(legacy):
                chosen = legacy
                if self.notice is not None:
                    self.notice(f"using the state at s3://{self.bucket}/{legacy} (Gaib's earlier layout); set "
                                f"backend.key_prefix: {LEGACY_PREFIX} in gaib.yaml to keep using it")
        self._chosen[workspace] = chosen
        return chosen

    def _marker(self, workspace: str) -> str:
        """``workspace.json`` beside the state when the workspace is a folder of the key (so an empty
        workspace exists); ``<key>.workspace.json`` otherwise."""
        key = self.key(workspace)
        if key != self._render(self.template, workspace) or _folder_per_workspace(self.template):
            return key.rsplit("/", 1)[0] + "/" + MARKER_NAME
        return key + "." + MARKER_NAME

    def _lock_id(self, workspace: str) -> str:
        return f"{self.bucket}/{self.key(workspace)}"

    def _exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as exc:
            if aws.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise aws.translate(exc, f"Checking s3://{self.bucket}/{key}") from None

    def _encryption(self) -> dict[str, str]:
        """SSE-KMS when ``encrypt`` (with the configured key, else the AWS managed one), else nothing."""
        if not self.encrypt:
            return {}
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {"ServerSideEncryption": "aws:kms"}

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
    def _listing(self, template: str) -> tuple[str, re.Pattern[str]]:
        """(list prefix, pattern whose ``ws`` group is the workspace of a state or marker key)."""
        head, _, tail = template.partition("${workspace}")
        prefix = self._render(head, "")
        ws = f"(?P<ws>{NAME_PATTERN})"
        tail_text = self._render(tail, "")
        marker_tail = (tail_text.rsplit("/", 1)[0] + "/" + MARKER_NAME) if _folder_per_workspace(template) \
            else tail_text + "." + MARKER_NAME
        pattern = re.compile(re.escape(prefix) + ws + f"(?:{re.escape(tail_text)}|{re.escape(marker_tail)})")
        return prefix, pattern

    def list_workspaces(self) -> list[str]:
        templates = [self.template]
        if not self.explicit and self.guild_id is not None:
            templates.append(f"{LEGACY_PREFIX}${{guild_id}}/${{workspace}}/{STATE_NAME}")
        names: set[str] = set()
        for template in templates:
            if "${workspace}" not in template:
                if self._exists(self._render(template, "")):
                    names.add("default")
                continue
            prefix, pattern = self._listing(template)
            try:
                paginator = self._s3.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                    for obj in page.get("Contents", []):
                        m = pattern.fullmatch(obj["Key"])
                        if m:
                            names.add(m.group("ws"))
            except Exception as exc:
                raise aws.translate(exc, f"Listing workspaces in s3://{self.bucket}/{prefix}") from None
        return sorted(names)

    def workspace_exists(self, workspace: str) -> bool:
        """True when the workspace's marker or its state exists. A backend of one exact key (a backup
        schedule's state location) also finds the marker ``workspace new`` left in the key's folder."""
        keys = [self._marker(workspace), self.key(workspace)]
        if "${workspace}" not in self.template and "/" in self.key(workspace):
            keys.append(self.key(workspace).rsplit("/", 1)[0] + "/" + MARKER_NAME)
        return any(self._exists(key) for key in keys)

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
        return lock_from_item(item, f"s3://{self.bucket}/{self.key(workspace)}")

    def lock(self, workspace: str, operation: str, now: datetime) -> LockInfo:
        path = f"s3://{self.bucket}/{self.key(workspace)}"
        info = dataclasses.replace(LockInfo.new(operation, path, now), created=iso_ms(now))
        cutoff = now - self.stale_after
        try:
            self._ddb.put_item(
                TableName=self.table,
                Item={"LockID": {"S": self._lock_id(workspace)}, "ID": {"S": info.id}, "Who": {"S": info.who},
                      "Operation": {"S": info.operation}, "Created": {"S": info.created},
                      "TTL": {"N": str(int((now + self.stale_after).timestamp()))},
                      "Info": {"S": json.dumps(info.to_dict())}},
                ConditionExpression=("attribute_not_exists(LockID) OR Created < :stale OR "
                                     "(attribute_not_exists(Created) AND CreatedEpoch < :cutoff)"),
                ExpressionAttributeValues={":stale": {"S": iso_ms(cutoff)},
                                           ":cutoff": {"N": str(int(cutoff.timestamp()))}},
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
                                  ConditionExpression="ID = :id OR LockOwner = :id",
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


def lock_from_item(item: dict[str, Any], path: str) -> LockInfo:
    """The holder named by a lock item of either tool: the original's top-level attributes (``ID``,
    ``Who``, ``Operation``, ``Created``, ``Info`` as text) or Terraform-style ``Info`` JSON."""
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value["S"]) if isinstance(value, dict) and "S" in value else None

    doc: dict[str, Any] = {}
    raw_info = text("Info")
    if raw_info:
        try:
            parsed = safejson.loads(raw_info, max_bytes=MAX_LOCK_BYTES, max_depth=16)
        except safejson.JsonProblem:
            parsed = None  # still a lock: its holder shows as unknown
        if isinstance(parsed, dict):
            doc.update(parsed)
    for name in ("ID", "Who", "Operation", "Created"):
        value = text(name)
        if value:
            doc[name] = value
    if not doc.get("ID") and text("LockOwner"):
        doc["ID"] = text("LockOwner")
    if not doc.get("Who"):
        doc["Who"] = "unknown (unreadable lock item)"
    doc.setdefault("Path", path)
    return LockInfo.from_dict(doc)


def _folder_per_workspace(template: str) -> bool:
    return template.partition("${workspace}")[2].startswith("/")


def _check_template(template: str) -> str:
    for m in _VARIABLE.finditer(template):
        if m.group(1) not in _KNOWN_VARIABLES:
            raise ConfigError(f"backend.key {template!r} uses ${{{m.group(1)}}}; only ${{workspace}} and "
                              "${guild_id} can be used there.",
                              hint="e.g. servers/${workspace}/terraform.tfstate")
    return template.lstrip("/")


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
