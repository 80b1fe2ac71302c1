"""Record: one stored bundle as its kind's store hands it out — a verified manifest and its common fields.

A :class:`Record` holds a :class:`gaib.bundles.manifest.Manifest` that was already verified (built by
``seal`` through the repository, or read back by ``parse_manifest``) and forwards the fields every kind
shares: who/what/when, sizes, checksums; and ``written``, what the catalog stamped on its item (write
sequence and the catalog's time: :mod:`gaib.bundles.order`). It never reads storage and never re-checks
the manifest.

Each kind subclasses it with only what is its own (``BackupRecord`` in :mod:`gaib.backups.store`,
``SnapshotRecord`` in :mod:`gaib.snapshots.store`, ``Deployment`` in :mod:`gaib.deployments.store`),
including its ``to_dict``: the output formats of docs/format.md differ by kind and are theirs to keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gaib.bundles import order
from gaib.bundles.manifest import Kind, Manifest
from gaib.storage.keys import parse_id


@dataclass(frozen=True)
class Record:
    """One bundle: its verified manifest, with the fields every kind has forwarded."""

    manifest: Manifest
    written: order.Written = field(default_factory=order.Written)
    """The catalog's stamp on the item (empty for an item written before sequences)."""

    @property
    def sequence(self) -> int | None:
        """The catalog's write sequence of the server's bundles (None: written before sequences)."""
        return self.written.sequence

    @property
    def created(self) -> datetime:
        """The creation time in the id (the writer's clock)."""
        return parse_id(self.manifest.id)

    def ahead_by(self, storage_now: float | None) -> timedelta | None:
        """How far the bundle's date runs ahead of the catalog's time (see :func:`gaib.bundles.order.ahead_by`)."""
        return order.ahead_by(self.created, self.written, storage_now)

    @property
    def kind(self) -> Kind:
        return self.manifest.kind

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def server_id(self) -> str:
        return self.manifest.server_id

    @property
    def workspace(self) -> str:
        return self.manifest.workspace

    @property
    def created_at(self) -> str:
        return self.manifest.created_at

    @property
    def trigger(self) -> str:
        return self.manifest.trigger

    @property
    def tier(self) -> str:
        return self.manifest.tier

    @property
    def message(self) -> str:
        return self.manifest.message

    @property
    def serial(self) -> int | None:
        """The state's serial when the bundle was written (None: there was no state)."""
        return self.manifest.serial

    @property
    def lineage(self) -> str | None:
        return self.manifest.lineage

    @property
    def counts(self) -> Mapping[str, int]:
        return self.manifest.counts

    @property
    def stored_size(self) -> int:
        """Bytes stored for every part (compressed)."""
        return self.manifest.stored_size

    @property
    def plain_size(self) -> int:
        """Bytes of every part before compression."""
        return self.manifest.plain_size

    @property
    def format_version(self) -> int:
        return self.manifest.format_version

    @property
    def authenticated(self) -> bool:
        """True when the manifest carries a MAC (checked before any part is read: one that fails is refused,
        BUNDLE_NOT_AUTHENTIC); False for a bundle written before sealing, until ``backup reseal``."""
        return self.manifest.mac is not None

    @property
    def manifest_sha256(self) -> str:
        """The manifest's checksum (empty for a legacy backup item, which has none)."""
        return self.manifest.manifest_sha256
