"""``gaib server backup reseal``: seal this server's bundles written before manifests carried a MAC.

Each of the server's backups, snapshots and deployments whose catalog item has no ``mac`` is first checked
whole, as ``backup verify --all`` checks it (:func:`gaib.bundles.check.check_bundle`: the manifest names
this server and the bundle its key names, every part's sizes and checksums, a snapshot's images); only a
bundle that passes every check is sealed (:func:`gaib.bundles.authentic.sealed`): its ``manifest.json``
(snapshots) is replaced by the same manifest with its MAC, then the catalog item gains the ``mac`` field.
``manifest_sha256`` does not change. A bundle that fails any check, or a version-1 backup item (which has
no manifest to seal: take a new backup), is never sealed and is listed with the reason. Sealed bundles are
left as they are. ``dry_run`` checks and lists, and writes nothing.

Sealing is what makes a bundle provably this server's from then on; it proves nothing about how it got
there, so a bundle that someone copied in before the reseal passes too if it names this server. Run it
once, after upgrading, on a store only you could write to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.bundles.authentic import sealed
from gaib.bundles.manifest import LEGACY_BACKUP_FORMAT
from gaib.bundles.repository import MANIFEST_CONTENT_TYPE, BundleRepository
from gaib.errors import GaibError, MissingSetting
from gaib.ports import Ports, server_id_of
from gaib.scheduled.verify import KINDS, _check, _check_images, _listed
from gaib.storage.keys import server_pk


@dataclass
class ResealReport:
    """What a reseal found and did for one server."""

    server_id: str
    dry_run: bool
    sealed: list[dict[str, str]] = field(default_factory=list)
    """Bundles sealed (or, dry run, to be sealed): kind and id."""
    already: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    """Bundles left unsealed: kind, id and the reason (a failed check, a version-1 backup)."""

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "dry_run": self.dry_run, "sealed": self.sealed,
                "already_sealed": self.already, "refused": self.refused}


def reseal(ports: Ports, *, dry_run: bool = False) -> ResealReport:
    """Seal this server's unauthenticated bundles that pass every check (see the module docstring).

    Raises MissingSetting (exit 2) when no key is configured (S3 storage without ``GAIB_MAC_KEY_ID``)."""
    mac = ports.mac
    if mac is None:
        raise MissingSetting("No key is configured to seal manifests with.",
                             hint="Set GAIB_MAC_KEY_ID to the KMS HMAC key of this store (docs/format.md).")
    server_id = server_id_of(ports)
    report = ResealReport(server_id=server_id, dry_run=dry_run)
    repo = BundleRepository(ports.store, ports.catalog, max_bundle_bytes=ports.settings.max_bundle_bytes, mac=mac)
    images: dict[str, GaibError | None] = {}
    for kind in KINDS:
        for entry in _listed(ports, server_id, kind):
            if entry.item.get("mac") is not None:
                report.already += 1
                continue
            checked = _check(repo, kind, server_id, entry)
            if checked.manifest is not None and kind.name == "snapshot":
                _check_images(repo, server_id, checked, images)
            manifest = checked.manifest
            if checked.failures or manifest is None:
                first = checked.failures[0] if checked.failures else None
                reason = f"{first.part}: {first.error.message}" if first else "its manifest cannot be read"
                report.refused.append({"kind": kind.name, "id": entry.ident, "reason": reason[:300]})
                continue
            if manifest.format_version == LEGACY_BACKUP_FORMAT:
                report.refused.append({"kind": kind.name, "id": entry.ident,
                                       "reason": "a version-1 backup has no manifest to seal; take a new backup"})
                continue
            report.sealed.append({"kind": kind.name, "id": entry.ident})
            if dry_run:
                continue
            done = sealed(manifest, mac)
            assert done.mac is not None
            layout = kind.layout(server_id, entry.ident, entry.item)
            if layout.manifest_key is not None:
                stored = ports.store.get_document(layout.manifest_key)
                ports.store.replace(layout.manifest_key, done.to_json(), expected_generation=stored.generation,
                                    tags=ports.store.tags(layout.manifest_key), content_type=MANIFEST_CONTENT_TYPE)
            ports.catalog.update(server_pk(server_id), layout.sk, {"mac": done.mac.to_dict()})
    return report
