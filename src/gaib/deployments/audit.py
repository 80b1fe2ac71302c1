"""The theme audit log: one immutable JSON object per event at ``themes/{server_id}/audit/{id}.json``.

Events (``what``):

``deploy``         an apply recorded a deployment (``outcome`` ``success`` or ``partial``)
``rollback``       a rollback (or a snapshot restore) recorded a deployment returning to an earlier one
``failure``        an apply or rollback failed; what it did is in ``error`` (nothing was recorded)
``registry-read``  a rollback read the registry to resolve its target (``outcome`` ``read``)

Each records who (``actor``, ``via``), when (``at``), the operation (``apply``, ``rollback``,
``snapshot-restore``), from which deployment to which (``from``, ``to``, ``deployment``: the one recorded),
the theme, and ``detail`` (counts, steps, dry run). The id is the event's time plus random digits, so
events never share a key and list in time order. Written with ``ObjectStore.put`` (never overwritten);
texts are scrubbed of secrets and clipped before they are stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gaib.clock import Clock
from gaib.errors import GaibError
from gaib.names import check_snowflake
from gaib.notify.events import clean_text
from gaib.storage.base import NotFound, ObjectStore
from gaib.storage.keys import check_id, new_id, theme_audit_key, theme_audit_prefix

AUDIT_FORMAT = 1
What = Literal["deploy", "rollback", "failure", "registry-read"]
Outcome = Literal["success", "partial", "failed", "read"]
Operation = Literal["apply", "rollback", "snapshot-restore"]
WHATS: tuple[str, ...] = ("deploy", "rollback", "failure", "registry-read")
MAX_TEXT = 500


@dataclass(frozen=True)
class AuditEvent:
    id: str
    server_id: str
    workspace: str
    at: str
    actor: str
    via: str
    what: str
    operation: str
    outcome: str
    from_id: str | None = None
    to_id: str | None = None
    deployment: str | None = None
    theme: Mapping[str, Any] | None = None
    error: Mapping[str, str] | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": AUDIT_FORMAT, "id": self.id, "server_id": self.server_id,
                "workspace": self.workspace, "at": self.at, "actor": self.actor, "via": self.via,
                "what": self.what, "operation": self.operation, "outcome": self.outcome, "from": self.from_id,
                "to": self.to_id, "deployment": self.deployment,
                "theme": dict(self.theme) if self.theme is not None else None,
                "error": dict(self.error) if self.error is not None else None, "detail": dict(self.detail)}


def error_info(exc: GaibError, secrets: list[str]) -> dict[str, str]:
    """An error as an audit event keeps it: its code and its message, scrubbed and clipped."""
    return {"code": exc.error_code, "message": clean_text(exc.message, secrets, limit=MAX_TEXT)}


def write(store: ObjectStore, clock: Clock, *, server_id: str, workspace: str, actor: str, via: str, what: What,
          operation: Operation, outcome: Outcome, from_id: str | None = None, to_id: str | None = None,
          deployment: str | None = None, theme: Mapping[str, Any] | None = None,
          error: Mapping[str, str] | None = None, detail: Mapping[str, Any] | None = None) -> AuditEvent:
    """Store one event; returns it. Never overwrites (a fresh id per event)."""
    check_snowflake(server_id, "server id")
    now = clock()
    event = AuditEvent(id=new_id(now), server_id=server_id, workspace=workspace,
                       at=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                       actor=clean_text(actor, limit=64), via=via, what=what, operation=operation,
                       outcome=outcome, from_id=from_id, to_id=to_id, deployment=deployment, theme=theme,
                       error=error, detail=detail or {})
    data = json.dumps(event.to_dict(), indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    store.put(theme_audit_key(server_id, event.id), data, content_type="application/json",
              tags={"ServerId": server_id})
    return event


def _parse(data: bytes, key: str) -> dict[str, Any]:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format_version") != AUDIT_FORMAT or doc.get("what") not in WHATS:
        raise ValueError(key)
    return doc


def list_events(store: ObjectStore, server_id: str, *, limit: int, damaged: list[str]) -> list[dict[str, Any]]:
    """The newest ``limit`` events, newest first. One listing of the prefix plus one read per event; an
    unreadable event is named in ``damaged`` and skipped; a key that is not an event's is ignored."""
    prefix = theme_audit_prefix(server_id)
    keys = [info.key for info in store.list(prefix)]
    ids = [k[len(prefix):-len(".json")] for k in keys if k.endswith(".json")]
    ids = [i for i in ids if _is_id(i)]
    out: list[dict[str, Any]] = []
    for ident in sorted(ids, reverse=True)[:limit]:
        key = theme_audit_key(server_id, ident)
        try:
            out.append(_parse(store.get(key), key))
        except NotFound:
            continue  # removed between the listing and the read
        except ValueError:
            damaged.append(ident)
    return out


def _is_id(text: str) -> bool:
    try:
        check_id(text)
    except GaibError:
        return False
    return True
