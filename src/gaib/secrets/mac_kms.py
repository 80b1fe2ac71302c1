"""``KmsMac``: manifest MACs made and checked by AWS KMS (``GenerateMac``/``VerifyMac``, HMAC_SHA_256).

The key is an HMAC KMS key (key spec ``HMAC_256``, usage ``GENERATE_VERIFY_MAC``) named by
``GAIB_MAC_KEY_ID``; its material never leaves KMS, so neither the bucket nor a role that can only write
bundles can make a MAC without a ``kms:GenerateMac`` grant on it. boto3 is loaded on first use (through
``gaib.aws``). A MAC KMS refuses as invalid (``KMSInvalidMacException``) is a False ``verify``; any other
failure (no such key, access denied) raises, since it proves nothing about the bundle.
"""

from __future__ import annotations

import functools
from typing import Any

from gaib import aws
from gaib.errors import ConfigError, StorageError
from gaib.secrets.mac import ALGORITHM

MAX_MESSAGE_BYTES = 4096
"""The most bytes KMS MACs in one request (a manifest's message is a few hundred)."""


class KmsMac:
    """HMAC-SHA-256 by the KMS key ``key_id`` (see the module docstring)."""

    def __init__(self, key_id: str, *, region: str | None = None, endpoint_url: str | None = None,
                 role: aws.RoleSession | None = None) -> None:
        self._key_id = key_id
        self._region = region
        self._endpoint_url = endpoint_url
        self._role = role

    def __repr__(self) -> str:
        return f"KmsMac({self._key_id!r})"

    @property
    def key_id(self) -> str:
        return self._key_id

    @functools.cached_property
    def client(self) -> Any:
        try:
            return aws.client("kms", region=self._region, endpoint_url=self._endpoint_url, role=self._role)
        except ImportError:
            raise ConfigError("Sealing bundles with KMS needs boto3, which is not installed.",
                              hint="Install Gaib with the aws extra: pip install 'gaib[aws]'.") from None

    def mac(self, message: bytes) -> bytes:
        if len(message) > MAX_MESSAGE_BYTES:
            raise ValueError("a KMS MAC message is at most 4096 bytes")
        try:
            response = self.client.generate_mac(KeyId=self._key_id, MacAlgorithm=ALGORITHM, Message=message)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            raise _failed(exc, f"Sealing a manifest with KMS key {self._key_id}") from None
        return bytes(response["Mac"])

    def verify(self, message: bytes, mac: bytes) -> bool:
        if not mac or len(message) > MAX_MESSAGE_BYTES:
            return False
        try:
            response = self.client.verify_mac(KeyId=self._key_id, MacAlgorithm=ALGORITHM, Message=message,
                                              Mac=mac)
        except Exception as exc:
            if aws.error_code(exc) in ("KMSInvalidMacException", "KMSInvalidMac"):
                return False
            raise _failed(exc, f"Checking a manifest's MAC with KMS key {self._key_id}") from None
        return bool(response.get("MacValid"))


def _failed(exc: BaseException, what: str) -> StorageError:
    translated = aws.translate(exc, what)
    if aws.error_code(exc) in ("NotFoundException", "InvalidKeyUsageException", "DisabledException",
                               "KMSInvalidStateException"):
        return StorageError(f"{what}: KMS refused the key ({aws.error_code(exc)}).",
                            hint="GAIB_MAC_KEY_ID must name an enabled HMAC_256 KMS key with usage "
                                 "GENERATE_VERIFY_MAC (docs/infrastructure.md).")
    return StorageError(translated.message, hint=translated.hint)
