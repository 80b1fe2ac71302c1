"""BackupManager: state backups stored as gzip (or zstd) objects with a catalog item each.

Write order: the object, then the catalog item; a backup exists only once its item does. Delete
order: the item first, then the object. So a crash at any point never leaves an item without its
object (at worst an orphan object, invisible to every command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from gaib.backup import codec
from gaib.backup.tiers import tier_of
from gaib.errors import GaibError, IntegrityError, NotFound
from gaib.names import check_name, check_snowflake
from gaib.state.model import State, parse_state
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.keys import backup_key, backup_sk, check_id, new_id, server_pk

Trigger = Literal["on-demand", "scheduled", "pre-restore"]
TRIGGERS = ("on-demand", "scheduled", "pre-restore")
MAX_MESSAGE = 500


@dataclass(frozen=True)
class BackupRecord:
    """The catalog item of one backup (see docs/format.md)."""

    id: str
    server_id: str
    workspace: str
    created_at: str
    serial: int
    lineage: str
    resources: int
    message: str
    trigger: str
    tier: str
    key: str
    codec: str
    plain_size: int
    stored_size: int
    plain_sha256: str
    stored_sha256: str
    expires_at: int
    kind: str = "backup"
    format_version: int = 1

    def to_item(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BackupRecord:
        """The record of a catalog item; raises IntegrityError (exit 3) for a damaged item."""
        fields = {k: item[k] for k in cls.__dataclass_fields__ if k in item}
        try:
            return cls(**fields)
        except TypeError:
            missing = sorted(k for k, f in cls.__dataclass_fields__.items() if k not in item
                             and f.default is MISSING)
            raw_key = item.get("key")
            key = raw_key if isinstance(raw_key, str) else "?"
            raise IntegrityError(f"The catalog item of backup {str(item.get('id'))[:40]} (object {key[:200]}) "
                                 f"is damaged: it lacks {', '.join(missing)}.",
                                 details={"key": key}) from None

    def to_dict(self) -> dict[str, Any]:
        return self.to_item()


class BackupManager:
    def __init__(self, store: ObjectStore, catalog: Catalog, *, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock

    def create(self, state: State, *, server_id: str, workspace: str, message: str = "",
               trigger: Trigger = "on-demand", codec_name: codec.Codec = "gzip") -> BackupRecord:
        """Store ``state`` as a new backup; returns its record. Never overwrites another backup."""
        check_snowflake(server_id, "server id")
        check_name(workspace, "workspace name")
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        message = message.strip()
        if len(message) > MAX_MESSAGE:
            from gaib.errors import InvalidInput

            raise InvalidInput(f"The message is {len(message)} characters long; at most {MAX_MESSAGE} are kept.")
        now = self.clock().astimezone(UTC)
        backup_id = new_id(now)
        key = backup_key(server_id, workspace, backup_id)
        policy = tier_of(self.catalog, server_id, register=True)
        enc = codec.encode(state.to_json(), codec_name)
        self.store.put(key, enc.data, tags={"Tier": policy.name, "ServerId": server_id},
                       content_type="application/gzip" if enc.codec == "gzip" else "application/zstd")
        record = BackupRecord(
            id=backup_id, server_id=server_id, workspace=workspace,
            created_at=now.isoformat().replace("+00:00", "Z"), serial=state.serial, lineage=state.lineage,
            resources=len(state.resources), message=message, trigger=trigger, tier=policy.name, key=key,
            codec=enc.codec, plain_size=enc.plain_size, stored_size=enc.stored_size,
            plain_sha256=enc.plain_sha256, stored_sha256=enc.stored_sha256,
            expires_at=int((now + policy.retention).timestamp()),
        )
        self.catalog.put_if_absent(server_pk(server_id), backup_sk(backup_id), record.to_item())
        return record

    def get(self, server_id: str, backup_id: str) -> BackupRecord:
        """The record of ``backup_id``; raises NotFound (exit 6) if it does not exist or expired."""
        check_snowflake(server_id, "server id")
        check_id(backup_id, "backup id")
        item = self.catalog.get(server_pk(server_id), backup_sk(backup_id))
        if item is None:
            raise NotFound(f"No backup {backup_id} for server {server_id}.",
                           hint="List the backups with 'gaib server backup list'.")
        return self._record(server_id, backup_id, item)

    @staticmethod
    def _record(server_id: str, backup_id: str, item: dict[str, Any]) -> BackupRecord:
        """The checked record of a catalog item; raises IntegrityError for a damaged one."""
        record = BackupRecord.from_item(item)
        # The key must follow from the id: an item pointing anywhere else (another backup's
        # object, another server's) is damage, and nothing is read from where it points.
        try:
            expected = backup_key(server_id, record.workspace, backup_id)
        except GaibError:
            expected = None
        if record.id != backup_id or record.key != expected:
            raise IntegrityError(f"The catalog item of backup {backup_id} is damaged: it points at object "
                                 f"{str(record.key)[:200]}, not at {expected or 'a key of this backup'}.",
                                 details={"key": str(record.key)[:200]})
        return record

    def list(self, server_id: str, *, workspace: str | None = None, limit: int = 20,
             cursor: str | None = None, damaged: list[str] | None = None) -> tuple[list[BackupRecord], str | None]:
        """Newest first, at most ``limit``; expired backups are hidden. Returns (records, next cursor).

        A damaged catalog item raises IntegrityError, unless ``damaged`` is given: then the item's id
        is appended to it and the item is skipped (so one bad item cannot hide every other backup).
        """
        check_snowflake(server_id, "server id")
        if workspace is not None:
            check_name(workspace, "workspace name")
        out: list[BackupRecord] = []
        while True:
            page = self.catalog.query(server_pk(server_id), "BACKUP#", limit=limit, cursor=cursor)
            for item in page.items:
                try:
                    rec = BackupRecord.from_item(item)
                except IntegrityError:
                    if damaged is None:
                        raise
                    damaged.append(str(item.get("id", "?"))[:80])
                    continue
                if workspace is None or rec.workspace == workspace:
                    out.append(rec)
            cursor = page.next_cursor
            if len(out) >= limit or cursor is None:
                break
        if len(out) > limit:
            # Filtering made the page overshoot: resume after the last record returned.
            from gaib.storage.items import encode_cursor

            out = out[:limit]
            cursor = encode_cursor(server_pk(server_id), backup_sk(out[-1].id))
        return out, cursor

    def load(self, record: BackupRecord) -> State:
        """The backed-up state; every checksum is verified first (IntegrityError, exit 3)."""
        try:
            stored = self.store.get(record.key)
        except NotFound:
            # A backup exists only once its object does (write order), so a listed backup
            # without its object is damage, not "no such backup".
            raise IntegrityError(f"Stored object {record.key} of backup {record.id} is missing.",
                                 details={"key": record.key}) from None
        plain = codec.decode(stored, expected_plain_sha256=record.plain_sha256,
                             expected_stored_sha256=record.stored_sha256, key=record.key)
        return parse_state(plain, record.key)

    def delete(self, server_id: str, backup_id: str) -> BackupRecord | None:
        """Remove a backup: catalog item first, then the object; raises NotFound.

        A damaged item is deleted too (so it cannot block pruning forever), and returns None. The
        object removed is always the one at the key the id gives, never one a damaged item
        points at (which may belong to another backup).
        """
        check_snowflake(server_id, "server id")
        check_id(backup_id, "backup id")
        pk, sk = server_pk(server_id), backup_sk(backup_id)
        item = self.catalog.get(pk, sk)
        if item is None:
            raise NotFound(f"No backup {backup_id} for server {server_id}.",
                           hint="List the backups with 'gaib server backup list'.")
        try:
            record: BackupRecord | None = self._record(server_id, backup_id, item)
        except IntegrityError:
            record = None
        self.catalog.delete(pk, sk)
        workspace = item.get("workspace")
        try:
            key = backup_key(server_id, workspace if isinstance(workspace, str) else "", backup_id)
        except GaibError:
            return record  # too damaged to tell its object: at worst an orphan, invisible to list
        self.store.delete(key)
        return record
