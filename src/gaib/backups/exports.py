"""``export --backup``: keep each export of the live server, and the latest one, in the backup store.

``exports/{server_id}/config.{id}.yaml`` is written once (never overwritten); ``config.latest.yaml`` is
a stored document replaced by compare-and-swap (:func:`gaib.storage.documents.update_document`), so two
exports racing never leave it half-written and the newer id wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from gaib.ports import Ports
from gaib.storage.documents import update_document
from gaib.storage.keys import export_key, export_latest_key, new_id
from gaib.tiers.table import tier_of

YAML = "application/yaml"


@dataclass(frozen=True)
class StoredExport:
    id: str
    key: str
    latest_key: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "latest_key": self.latest_key, "bytes": self.size}


def store_export(ports: Ports, server_id: str, text: str) -> StoredExport:
    """Store ``text`` (an export of ``server_id``) under a new id and as the latest export."""
    data = text.encode("utf-8")
    export_id = new_id(ports.clock().astimezone(UTC))
    key = export_key(server_id, export_id)
    tags = {"Tier": tier_of(ports.catalog, server_id, register=True).name, "ServerId": server_id}
    ports.store.put(key, data, tags=tags, content_type=YAML)
    marker = f"# export {export_id}\n".encode()

    def newest(old: bytes | None) -> bytes:
        # A slower racer that read an export newer than its own leaves it in place.
        if old is not None and old.startswith(b"# export ") and old[9:38].decode("ascii", "replace") > export_id:
            return old
        return marker + data

    update_document(ports.store, export_latest_key(server_id), newest, tags=tags, content_type=YAML)
    return StoredExport(id=export_id, key=key, latest_key=export_latest_key(server_id), size=len(data))
