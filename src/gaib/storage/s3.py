"""``ObjectStore`` over an S3 bucket.

* Never overwrites: every ``PutObject`` carries ``If-None-Match: *``; S3 (and moto's server) answer
  412 ``PreconditionFailed`` (or 409 ``ConditionalRequestConflict`` while a racing write is in
  flight) when the key exists, which becomes ``Conflict``.
* Encryption: with a KMS key configured, ``ServerSideEncryption=aws:kms`` and ``SSEKMSKeyId``;
  without one, no encryption headers at all, so the bucket's default encryption applies (never an
  explicit AES256 that would override a bucket's KMS default).
* Tags (``Tier``, ``ServerId``...) go in the same request through the ``Tagging`` parameter.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from gaib import aws
from gaib.errors import Conflict, GaibError, NotFound
from gaib.storage.awsclient import RequestCounter, make_client
from gaib.storage.base import DEFAULT_CONTENT_TYPE, ObjectInfo, check_key, check_prefix, check_tags

_MISSING = {"NoSuchKey", "404", "NotFound"}
_TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class S3ObjectStore:
    """``ObjectStore`` over ``bucket``. ``requests`` counts the HTTP requests it sent."""

    def __init__(
        self,
        bucket: str,
        *,
        kms_key_id: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.bucket = bucket
        self.kms_key_id = kms_key_id or None
        self.requests = counter if counter is not None else RequestCounter()
        self._region, self._endpoint_url = region, endpoint_url

    @functools.cached_property
    def client(self) -> Any:
        """The boto3 client, made on first use (a command refused before any I/O never pays for it)."""
        return make_client("s3", region=self._region, endpoint_url=self._endpoint_url, counter=self.requests)

    def _fail(self, exc: Exception, what: str, key: str) -> GaibError:
        code = aws.error_code(exc)
        if code in _MISSING:
            return NotFound(f"Object {key} does not exist.", details={"key": key})
        if code in _TAKEN:
            return Conflict(f"Object {key} already exists; objects are never overwritten.", details={"key": key})
        return aws.translate(exc, f"{what} s3://{self.bucket}/{key}")

    def put(
        self,
        key: str,
        data: bytes,
        *,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Store ``data`` at ``key``; raises ``Conflict`` if the key exists."""
        check_key(key)
        clean_tags = check_tags(tags)
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": bytes(data),
            "ContentType": content_type,
            "IfNoneMatch": "*",
        }
        if clean_tags:
            params["Tagging"] = urlencode(clean_tags)
        if self.kms_key_id:
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = self.kms_key_id
        try:
            self.client.put_object(**params)
        except Exception as exc:
            raise self._fail(exc, "Writing", key) from None
        return ObjectInfo(key=key, size=len(data), content_type=content_type)

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return body

    def head(self, key: str) -> ObjectInfo:
        """Size, time and content type of ``key``; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return ObjectInfo(key=key, size=int(response["ContentLength"]), modified=response.get("LastModified"),
                          content_type=response.get("ContentType"))

    def tags(self, key: str) -> dict[str, str]:
        """The object's tags; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.get_object_tagging(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "Reading tags of", key) from None
        return {t["Key"]: t["Value"] for t in response.get("TagSet", [])}

    def delete(self, key: str) -> None:
        """Remove ``key``; idempotent (S3's DeleteObject is)."""
        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            err = self._fail(exc, "Deleting", key)
            if not isinstance(err, NotFound):
                raise err from None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under ``prefix``, sorted by key (S3 lists in UTF-8 byte order; keys are ASCII)."""
        check_prefix(prefix)
        found: builtins.list[ObjectInfo] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    found.append(ObjectInfo(key=obj["Key"], size=int(obj["Size"]),
                                            modified=obj.get("LastModified")))
        except Exception as exc:
            raise aws.translate(exc, f"Listing s3://{self.bucket}/{prefix}") from None
        found.sort(key=lambda info: info.key)
        return iter(found)
