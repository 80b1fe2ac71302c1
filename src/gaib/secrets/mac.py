"""The manifest MAC port: authenticate bundle manifests with a key that is never in the backup store.

A bundle's manifest is sealed with ``mac(message)`` when it is written and checked with
``verify(message, mac)`` before any of its parts is read (:mod:`gaib.bundles.authentic` builds the
message). Whoever can write to the bucket or the local store folder can copy and rewrite manifests and
recompute their checksums, but cannot make a MAC: the key lives elsewhere. Adapters:

* :class:`gaib.secrets.mac_local.LocalMacKey`: HMAC-SHA-256 with 32 random bytes in a key file beside
  the local store (created on first seal, mode 0600, never overwritten), as restic keeps its key
  outside the data it protects;
* :class:`gaib.secrets.mac_kms.KmsMac`: AWS KMS ``GenerateMac``/``VerifyMac`` (``HMAC_SHA_256``) on
  the HMAC key ``GAIB_MAC_KEY_ID`` names; the key material never leaves KMS.

Contracts every adapter keeps: ``mac`` is deterministic for one key and message; ``verify`` returns
False (never raises) for a MAC that this key did not make over this message, including one of the wrong
length or made by another key; it raises only when the key cannot be used at all (``MissingSetting`` /
``StorageError``), and never creates a key. ``key_id`` names the key without revealing it.
"""

from __future__ import annotations

from typing import Final, Protocol

ALGORITHM: Final = "HMAC_SHA_256"
"""The one MAC algorithm manifests use (KMS's name for HMAC with SHA-256)."""


class ManifestMac(Protocol):
    """Makes and checks MACs over manifest messages with one key kept outside the backup store."""

    @property
    def key_id(self) -> str:
        """A name for the key, recorded beside each MAC (a KMS key ARN, or ``local:`` and a fingerprint)."""
        ...

    def mac(self, message: bytes) -> bytes:
        """The MAC of ``message`` (32 bytes for HMAC-SHA-256); creates the local key on first use."""
        ...

    def verify(self, message: bytes, mac: bytes) -> bool:
        """True only when ``mac`` is this key's MAC of ``message``."""
        ...
