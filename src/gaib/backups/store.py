"""BackupManager: state backups, each a one-part bundle (:mod:`gaib.bundles.repository`).

The part is the state as gzip (or zstd) JSON at ``state/{server}/{workspace}/backup.{id}.json.gz``;
the manifest lives in the catalog item only (no ``manifest.json`` object), so a backup costs one
object write and one item write (with the server's write sequence taken for it). Write order: the
object, then the item; a backup exists only once its item does. Delete order: the item first, then
the object. So a crash at any point never leaves an item without its object (at worst an orphan
object, invisible to every command). Items written before bundles existed (format version 1) are
still read and restored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from gaib.bundles.manifest import TRIGGERS, Manifest
from gaib.bundles.order import written_of
from gaib.bundles.record import Record
from gaib.bundles.repository import BundleRepository, Layout, PartData, page_ids
from gaib.errors import GaibError, IntegrityError, InvalidInput, NotFound
from gaib.names import check_name, check_snowflake
from gaib.setting_values import DEFAULT_MAX_BUNDLE_BYTES
from gaib.storage.base import Catalog, ObjectStore, damaged_reason
from gaib.storage.keys import backup_key, backup_sk, check_id, new_id, server_pk

if TYPE_CHECKING:  # the codec, tier, quota and state model: create and load only, never a listing
    from gaib.bundles import codec
    from gaib.secrets.mac import ManifestMac
    from gaib.state.model import State
    from gaib.tiers.table import TierPolicy

Trigger = Literal["on-demand", "scheduled", "pre-restore"]
MAX_MESSAGE = 500
STATE_PART = "state"


def layout(server_id: str, workspace: str, backup_id: str) -> Layout:
    """Where backup ``backup_id`` lives: its catalog key and its one part (no manifest object)."""
    return Layout(pk=server_pk(server_id), sk=backup_sk(backup_id),
                  part_keys={STATE_PART: backup_key(server_id, workspace, backup_id)})


@dataclass(frozen=True)
class BackupRecord(Record):
    """One backup as listed: its verified manifest, flattened for output (see docs/format.md)."""

    @property
    def serial(self) -> int:
        """The backed-up state's serial (0 rather than None: docs/format.md prints a number)."""
        return self.manifest.serial or 0

    @property
    def lineage(self) -> str:
        return self.manifest.lineage or ""

    @property
    def resources(self) -> int:
        return int(self.manifest.counts.get("resources", 0))

    @property
    def key(self) -> str:
        return self.manifest.part(STATE_PART).key

    def to_dict(self) -> dict[str, Any]:
        part = self.manifest.part(STATE_PART)
        return {"id": self.id, "server_id": self.server_id, "workspace": self.workspace,
                "created_at": self.created_at, "serial": self.serial, "lineage": self.lineage,
                "resources": self.resources, "message": self.message, "trigger": self.trigger, "tier": self.tier,
                "key": part.key, "codec": part.codec, "plain_size": part.plain_size,
                "stored_size": part.stored_size, "plain_sha256": part.plain_sha256,
                "stored_sha256": part.stored_sha256, "kind": self.kind, "format_version": self.format_version,
                "manifest_sha256": self.manifest_sha256 or None, "authenticated": self.authenticated,
                **self.written.to_dict()}


def _check_message(message: str) -> str:
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(f"The message is {len(message)} characters long; at most {MAX_MESSAGE} are kept.")
    return message


class BackupManager:
    """State backups: one-part bundles written and read through :class:`BundleRepository`."""

    def __init__(self, store: ObjectStore, catalog: Catalog, *, clock: Callable[[], datetime],
                 max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES, mac: ManifestMac | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.repo = BundleRepository(store, catalog, max_bundle_bytes=max_bundle_bytes, mac=mac, notice=notice)
        self.clock = clock

    def create(self, state: State, *, server_id: str, workspace: str, message: str = "",
               trigger: Trigger = "on-demand", codec_name: codec.Codec = "gzip",
               policy: TierPolicy | None = None) -> BackupRecord:
        """Store ``state`` as a new backup; returns its record. Never overwrites another backup.

        An ``on-demand`` backup first takes a unit of the tier's daily quota (``TierLimit``, exit 7,
        when it is used up, unless the workspace has no backup at all: the only one is never refused)
        and gives it back if storing fails (settles it once stored); scheduled and pre-restore backups
        never count. The catalog item carries no expiry: backups are removed by prune, which always keeps
        the newest backup of each server and workspace (docs/retention.md). ``policy`` is the
        server's tier when the caller already read it (a scheduled run lists servers by tier); without
        it the tier item is read (and written, free, when the server has none).
        """
        from gaib.tiers.quota import Quota
        from gaib.tiers.table import tier_of

        check_snowflake(server_id, "server id")
        check_name(workspace, "workspace name")
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        message = _check_message(message)
        now = self.clock().astimezone(UTC)
        backup_id = new_id(now)
        where = layout(server_id, workspace, backup_id)
        policy = policy or tier_of(self.catalog, server_id, register=True)
        header = Manifest(kind="backup", id=backup_id, server_id=server_id, workspace=workspace,
                          created_at=now.isoformat().replace("+00:00", "Z"), trigger=trigger, tier=policy.name,
                          message=message, serial=state.serial, lineage=state.lineage, parts={},
                          counts={"resources": len(state.resources)})
        parts = [PartData(STATE_PART, where.part_keys[STATE_PART], state.to_json())]
        tags = {"Tier": policy.name, "ServerId": server_id}
        quota = Quota(self.catalog, clock=self.clock)
        held = quota.take(server_id, "backup", policy, workspace=workspace) if trigger == "on-demand" else None
        try:
            manifest, written = self.repo.write(header, where, parts, codec_name=codec_name, tags=tags)
        except BaseException:
            if held is not None:
                quota.give_back(held)
            raise
        if held is not None:
            quota.settle(held)
        return BackupRecord(manifest, written)

    def get(self, server_id: str, backup_id: str) -> BackupRecord:
        """The record of ``backup_id``; raises NotFound (exit 6) if it does not exist, IntegrityError if damaged."""
        check_snowflake(server_id, "server id")
        check_id(backup_id, "backup id")
        item = self.catalog.get(server_pk(server_id), backup_sk(backup_id))
        if item is None:
            raise NotFound(f"No backup {backup_id} for server {server_id}.",
                           hint="List the backups with 'gaib server backup list'.")
        return self._record(server_id, backup_id, item)

    def record_of(self, server_id: str, item: dict[str, Any]) -> BackupRecord:
        """The checked record of one catalog item of ``server_id`` (as ``query`` returns it); raises
        InvalidName for an item without a well-formed id, IntegrityError for a damaged one."""
        return self._record(server_id, check_id(item.get("id"), "backup id"), item)

    def _record(self, server_id: str, backup_id: str, item: dict[str, Any]) -> BackupRecord:
        """The checked record of a catalog item; raises IntegrityError for a damaged one.

        The part's key must follow from the id: an item pointing anywhere else (another backup's
        object, another server's) is damage, and nothing is read from where it points.
        """
        reason = damaged_reason(item)
        if reason is not None:
            raise IntegrityError(f"The catalog item of backup {backup_id} is damaged: {reason}.")
        workspace = item.get("workspace")
        try:
            expected = layout(server_id, workspace if isinstance(workspace, str) else "", backup_id)
        except GaibError:
            raise IntegrityError(f"The catalog item of backup {backup_id} is damaged: its workspace "
                                 f"{str(workspace)[:40]!r} is not a workspace name.") from None
        where = f"backup {backup_id} (object {expected.part_keys[STATE_PART]})"
        manifest = self.repo.manifest(item, expected, where)
        if manifest.id != backup_id or manifest.server_id != server_id or manifest.kind != "backup":
            raise IntegrityError(f"The catalog item of {where} is damaged: it describes {manifest.kind} "
                                 f"{manifest.id[:40]} of server {manifest.server_id[:25]}.")
        return BackupRecord(manifest, written_of(item, where))

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
            for item, ident in zip(page.items, page_ids(page), strict=True):
                try:
                    rec = self._record(server_id, ident, item)
                except GaibError:
                    if damaged is None:
                        raise
                    damaged.append(ident)
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
        from gaib.state.model import parse_state

        return parse_state(self.repo.read_part(record.manifest, STATE_PART), record.key)

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
        except GaibError:
            record = None
        workspace = item.get("workspace")
        try:
            where = layout(server_id, workspace if isinstance(workspace, str) else "", backup_id)
        except GaibError:
            # Too damaged to tell its object: drop the item; at worst an orphan object no command lists.
            self.catalog.delete(pk, sk)
            return record
        self.repo.delete(where)
        return record
