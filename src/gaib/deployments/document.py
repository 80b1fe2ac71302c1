"""The registry document ``themes/{server_id}/registry.json``: the current deployment and recent history.

::

    {"format_version": 1, "server_id": "…", "updated_at": "…Z",
     "current": {entry} | null,
     "history": [{entry}, …]}          # newest first, at most RECENT, history[0] is current

Each entry is :meth:`gaib.deployments.store.Deployment.summary`. The document is a convenience view
(snapshots store it as their ``theme-registry`` part, other tools may read it); the catalog's
``DEPLOY#`` items are the truth, and every command reads those.

Every deployment rewrites the document by compare-and-swap (:func:`gaib.storage.documents.update_document`)
from two sources: the newest catalog items read just before, which are authoritative for the span
they cover, and the stored document's entries newer than all of those (a racing deployment's, written
meanwhile). So a lost race never loses a deployment, and an entry that was pruned, damaged or missed
by a crash is put right by the next deployment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

REGISTRY_FORMAT = 1
RECENT = 10


def empty(server_id: str) -> dict[str, Any]:
    """The document of a server with no recorded deployment."""
    return {"format_version": REGISTRY_FORMAT, "server_id": server_id, "current": None, "history": []}


def encode(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def empty_registry(server_id: str) -> bytes:
    """The stored form of :func:`empty`."""
    return encode(empty(server_id))


def entries(data: bytes | Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The well-formed history entries of a document, stored (bytes) or parsed (none if it is absent,
    unreadable or of another format version); never raises."""
    if data is None:
        return []
    doc: Any = data
    if isinstance(data, bytes):
        try:
            doc = json.loads(data)
        except ValueError:
            return []
    if not isinstance(doc, Mapping) or doc.get("format_version") != REGISTRY_FORMAT:
        return []
    history = doc.get("history")
    if not isinstance(history, list):
        return []
    return [e for e in history if isinstance(e, dict) and isinstance(e.get("id"), str)
            and isinstance(e.get("created_at"), str)]


def current_entry(data: bytes | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The current deployment's entry of a stored document, or None (absent, unreadable, empty)."""
    found = entries(data)
    return found[0] if found else None


def merged(old: bytes | None, server_id: str, fresh: Iterable[Mapping[str, Any]], *, updated_at: str) -> bytes:
    """The new document: ``fresh`` (the newest catalog entries, newest first in the catalog's order of
    writes, kept in that order) after the entries of ``old`` the listing did not see and dated after all
    of them (a concurrent writer's), at most RECENT."""
    authoritative = [dict(e) for e in fresh]
    newest_known = max((e["id"] for e in authoritative), default="")
    seen = {e["id"] for e in authoritative}
    unseen = sorted((e for e in entries(old) if e["id"] > newest_known and e["id"] not in seen),
                    key=lambda e: str(e["id"]), reverse=True)
    history = (unseen + authoritative)[:RECENT]
    doc = {"format_version": REGISTRY_FORMAT, "server_id": server_id, "updated_at": updated_at,
           "current": history[0] if history else None, "history": history}
    return encode(doc)
