"""Bundles bound to their server: the MAC a manifest is sealed with, and the checks a read makes.

Anyone who can write the backup store can copy server A's snapshot under server B's prefix, rewrite its
manifest to name B and recompute every checksum: ``manifest_sha256`` is a plain sha256. So each manifest
written now also carries a MAC (:class:`gaib.bundles.manifest.Seal`) made by the
:class:`gaib.secrets.mac.ManifestMac` port, whose key is not in the store (a KMS HMAC key on AWS, a key
file beside a local store). The MACed message (:func:`mac_message`) is the canonical JSON of:

* ``manifest_sha256``: the sha256 of the canonical body, so every field and every part key and checksum;
* ``server_id`` and ``workspace``: the server and workspace the manifest names;
* ``prefix``: the storage prefix its parts are stored under (``snapshots/{server}/{id}/``,
  ``state/{server}/{workspace}/``, ``themes/{server}/deployments/``) and ``catalog``: the catalog
  partition and sort key of its item;
* ``purpose``: ``gaib bundle manifest v1``, so no other MAC made with the key can pass for one.

A read (``BundleRepository``) first refuses a manifest that names another server than the partition it
is listed under (:func:`check_place`, ``BUNDLE_NOT_AUTHENTIC``, exit 3), then, before the first byte of
any part is returned, verifies the MAC (:func:`authenticate`): a MAC that fails (a copy under another
prefix, a rewritten server or workspace, an edited field, another key) is ``BUNDLE_NOT_AUTHENTIC``. A
manifest without a MAC was written before sealing: it is read, flagged as unauthenticated, until
``gaib server backup reseal`` seals it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from gaib.bundles.manifest import Manifest, Seal, canonical_json
from gaib.digest import sha256_hex
from gaib.errors import BundleNotAuthentic, MissingSetting
from gaib.storage.keys import SERVER_PK_PREFIX

if TYPE_CHECKING:
    from gaib.secrets.mac import ManifestMac

PURPOSE = "gaib bundle manifest v1"
_SK_PREFIXES = {"backup": "BACKUP#", "snapshot": "SNAPSHOT#", "deployment": "DEPLOY#"}


def prefix_of(manifest: Manifest) -> str:
    """The storage prefix shared by the manifest's part keys, up to its last ``/``."""
    keys = sorted(part.key for part in manifest.parts.values())
    if not keys:
        return ""
    first, last = keys[0], keys[-1]
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[: first.rfind("/", 0, n) + 1] if "/" in first[:n] else ""


def catalog_key(manifest: Manifest) -> tuple[str, str]:
    """The catalog key a manifest's item is written under: ``SERVER#{server}``, ``{KIND}#{ts}#{id}``."""
    return SERVER_PK_PREFIX + manifest.server_id, f"{_SK_PREFIXES[manifest.kind]}{manifest.id[:19]}#{manifest.id}"


def mac_message(manifest: Manifest) -> bytes:
    """The bytes a manifest's MAC is made over (see the module docstring): a few hundred, always."""
    pk, sk = catalog_key(manifest)
    return canonical_json({
        "purpose": PURPOSE, "manifest_sha256": sha256_hex(canonical_json(manifest.body())),
        "server_id": manifest.server_id, "workspace": manifest.workspace, "prefix": prefix_of(manifest),
        "catalog": [pk, sk],
    })


def sealed(manifest: Manifest, mac: ManifestMac) -> Manifest:
    """``manifest`` (its checksum already computed) with its MAC."""
    from gaib.secrets.mac import ALGORITHM

    value = mac.mac(mac_message(manifest))
    return replace(manifest, mac=Seal(algorithm=ALGORITHM, key_id=mac.key_id,
                                      value=base64.b64encode(value).decode("ascii")))


def check_place(manifest: Manifest, server_id: str, where: str) -> None:
    """BundleNotAuthentic unless ``manifest`` names ``server_id``, the server it is stored under."""
    if manifest.server_id != server_id:
        raise BundleNotAuthentic(
            f"The manifest of {where} names server {manifest.server_id[:25]}, but it is stored under server "
            f"{server_id[:25]}: it is a copy, not this server's bundle; nothing was read from it.",
            details={"manifest": where[:200], "stored_under": server_id[:25],
                     "names_server": manifest.server_id[:25]})


def authenticate(manifest: Manifest, mac: ManifestMac | None, where: str) -> bool:
    """True when the manifest's MAC verifies; False when it has none (written before sealing).

    Raises BundleNotAuthentic (exit 3) when the MAC does not verify, and MissingSetting (exit 2) when
    the manifest has a MAC but no key is configured to check it (S3 storage without ``GAIB_MAC_KEY_ID``).
    """
    from gaib.secrets.mac import ALGORITHM

    if manifest.mac is None:
        return False
    if mac is None:
        raise MissingSetting(f"The manifest of {where} is sealed with a MAC, and no key is configured to check it.",
                             hint="Set GAIB_MAC_KEY_ID to the KMS HMAC key that seals this store's manifests.")
    try:
        value = base64.b64decode(manifest.mac.value, validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if manifest.mac.algorithm != ALGORITHM or not value or not mac.verify(mac_message(manifest), value):
        raise BundleNotAuthentic(
            f"The manifest of {where} fails its MAC check: it was changed, copied from another server or "
            "place, or sealed with another key than this store's; nothing was read from it.",
            details={"manifest": where[:200], "server_id": manifest.server_id[:25],
                     "mac_key_id": manifest.mac.key_id[:300]})
    return True


def unauthenticated_notice(manifest: Manifest) -> str:
    """The warning a command prints when it reads a bundle written before sealing."""
    return (f"{manifest.kind.capitalize()} {manifest.id} has no MAC (written before bundles were sealed): it "
            "cannot be proven to be this server's. Run 'gaib server backup reseal' to seal this server's "
            "bundles after checking them.")


Notice = Callable[[str], None]
