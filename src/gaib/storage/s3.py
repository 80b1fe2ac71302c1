"""``ObjectStore`` over an S3 bucket.

* ``put`` never overwrites: its ``PutObject`` carries ``If-None-Match: *``; S3 (and moto's server) answer
  412 ``PreconditionFailed`` (or 409 ``ConditionalRequestConflict`` while a racing write is in
  flight) when the key exists, which becomes ``Conflict``.
* Encryption: with a KMS key configured, ``ServerSideEncryption=aws:kms`` and ``SSEKMSKeyId``;
  without one, no encryption headers at all, so the bucket's default encryption applies (never an
  explicit AES256 that would override a bucket's KMS default).
* Tags (``Tier``, ``ServerId``...) go in the same request through the ``Tagging`` parameter;
  ``set_tags`` is ``PutObjectTagging`` on the current version (no new version, bytes untouched);
  an empty set is ``DeleteObjectTagging`` after a ``HeadObject`` (which raises ``NotFound``).
* ``delete_many`` is ``DeleteObjects`` (quiet mode, 1,000 keys per request); on a versioned bucket
  each key gets a delete marker, exactly like ``DeleteObject``.
* Documents: the generation is the object's ETag. ``replace`` is ``PutObject`` with
  ``If-Match: <etag>`` (or ``If-None-Match: *`` to create); S3 answers 412 when the ETag moved
  on, 404 when the object is gone and 409 while a racing conditional write is in flight — all
  ``Conflict``. Without KMS an ETag is the MD5 of the bytes, so A → B → A brings A's ETag back;
  the swap then replaces exactly the bytes the writer read (see ``local.py`` on ABA). Bucket
  versioning (the Terraform enables it) keeps the history. moto's server, used in tests, refuses
  a stale or missing ``If-Match`` too (412/404), though its check and write are not one atomic
  step as they are in S3; the multi-process race test passes on it all the same.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from gaib import aws
from gaib.errors import Conflict, GaibError, InvalidInput, NotFound, StorageError
from gaib.storage.awsclient import RequestCounter, ResponseClock, make_client
from gaib.storage.base import (
    DEFAULT_CONTENT_TYPE,
    STREAM_CHUNK,
    ObjectInfo,
    StoredDocument,
    check_key,
    check_prefix,
    check_tags,
    document_conflict,
)

_MISSING = {"NoSuchKey", "404", "NotFound"}
_TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_DELETE_BATCH = 1000  # DeleteObjects' limit per request


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
        response_clock: ResponseClock | None = None,
        role: aws.RoleSession | None = None,
    ) -> None:
        self._role = role  # a role session (one server's): its clients use that session's credentials
        self.bucket = bucket
        self.kms_key_id = kms_key_id or None
        self.requests = counter if counter is not None else RequestCounter()
        self.response_clock = response_clock
        self._region, self._endpoint_url = region, endpoint_url

    @functools.cached_property
    def client(self) -> Any:
        """The boto3 client, made on first use (a command refused before any I/O never pays for it)."""
        return make_client("s3", region=self._region, endpoint_url=self._endpoint_url, counter=self.requests,
                           clock=self.response_clock, role=self._role)

    def _fail(self, exc: Exception, what: str, key: str) -> GaibError:
        code = aws.error_code(exc)
        if code in _MISSING:
            return NotFound(f"Object {key} does not exist.", details={"key": key})
        if code in _TAKEN:
            return Conflict(f"Object {key} already exists; objects are never overwritten.", details={"key": key})
        return aws.translate(exc, f"{what} s3://{self.bucket}/{key}")

    def _params(self, key: str, data: bytes, tags: Mapping[str, str] | None, content_type: str) -> dict[str, Any]:
        check_key(key)
        clean_tags = check_tags(tags)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("ObjectStore writes take bytes")
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": bytes(data), "ContentType": content_type}
        if clean_tags:
            params["Tagging"] = urlencode(clean_tags)
        if self.kms_key_id:
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = self.kms_key_id
        return params

    def put(
        self,
        key: str,
        data: bytes,
        *,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Store ``data`` at ``key``; raises ``Conflict`` if the key exists."""
        params = self._params(key, data, tags, content_type)
        try:
            response = self.client.put_object(IfNoneMatch="*", **params)
        except Exception as exc:
            raise self._fail(exc, "Writing", key) from None
        return ObjectInfo(key=key, size=len(params["Body"]), content_type=content_type,
                          generation=response.get("ETag"))

    def replace(
        self,
        key: str,
        data: bytes,
        *,
        expected_generation: str | None,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Compare-and-swap on the ETag: ``PutObject`` with ``If-Match`` (``If-None-Match: *`` when
        ``expected_generation`` is None); raises ``Conflict`` if the object changed, vanished or exists."""
        params = self._params(key, data, tags, content_type)
        if expected_generation is None:
            params["IfNoneMatch"] = "*"
        elif isinstance(expected_generation, str) and expected_generation:
            params["IfMatch"] = expected_generation
        else:
            raise InvalidInput("A document generation is a non-empty string (from get_document or head).")
        try:
            response = self.client.put_object(**params)
        except Exception as exc:
            err = self._fail(exc, "Writing", key)
            if isinstance(err, (NotFound, Conflict)):
                raise document_conflict(key, expected_generation, deleted=isinstance(err, NotFound)) from None
            raise err from None
        return ObjectInfo(key=key, size=len(params["Body"]), content_type=content_type,
                          generation=response.get("ETag"))

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return body

    def stream(self, key: str, *, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        """One ``GetObject`` whose body is read ``chunk_size`` bytes at a time; raises ``NotFound`` at the call."""
        check_key(key)
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInput("A chunk size is a positive number of bytes.")
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return self._chunks(body, key, chunk_size)

    def _chunks(self, body: Any, key: str, size: int) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = body.read(size)
                except Exception as exc:
                    raise aws.translate(exc, f"Reading s3://{self.bucket}/{key}") from None
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def get_document(self, key: str) -> StoredDocument:
        """The bytes at ``key`` and their ETag, from one ``GetObject``; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return StoredDocument(data=body, generation=str(response["ETag"]))

    def head(self, key: str) -> ObjectInfo:
        """Size, time, content type and ETag of ``key``; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "Reading", key) from None
        return ObjectInfo(key=key, size=int(response["ContentLength"]), modified=response.get("LastModified"),
                          content_type=response.get("ContentType"), generation=response.get("ETag"))

    def tags(self, key: str) -> dict[str, str]:
        """The object's tags; raises ``NotFound``."""
        check_key(key)
        try:
            response = self.client.get_object_tagging(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "Reading tags of", key) from None
        return {t["Key"]: t["Value"] for t in response.get("TagSet", [])}

    def set_tags(self, key: str, tags: Mapping[str, str]) -> None:
        """``PutObjectTagging``: the object's whole tag set becomes ``tags``; raises ``NotFound``."""
        check_key(key)
        clean_tags = check_tags(tags)
        try:
            if clean_tags:
                self.client.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={
                    "TagSet": [{"Key": k, "Value": v} for k, v in clean_tags.items()]})
            else:  # the same outcome; an empty TagSet trips some S3 look-alikes
                self.client.head_object(Bucket=self.bucket, Key=key)
                self.client.delete_object_tagging(Bucket=self.bucket, Key=key)
        except Exception as exc:
            raise self._fail(exc, "Tagging", key) from None

    def delete_many(self, keys: Sequence[str]) -> None:
        """``DeleteObjects`` in batches of 1,000; raises ``StorageError`` naming the keys S3 refused."""
        for key in keys:
            check_key(key)
        refused: builtins.list[str] = []
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start:start + _DELETE_BATCH]
            try:
                response = self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": k} for k in batch], "Quiet": True})
            except Exception as exc:
                raise aws.translate(exc, f"Deleting {len(batch)} objects from s3://{self.bucket}") from None
            refused += [str(e.get("Key", "?")) for e in response.get("Errors", [])
                        if e.get("Code") not in _MISSING]
        if refused:
            raise StorageError(f"S3 refused to delete {len(refused)} of {len(keys)} objects, e.g. {refused[0]}.",
                               details={"keys": refused[:50]})

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

