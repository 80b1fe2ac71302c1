"""Backup use cases: create, list, get, restore, delete — on the run's ports.

Each function takes the run's :class:`gaib.ports.Ports` (settings, clock, state backend, backup
store and catalog) and returns plain values for the CLI to render. Nothing here builds an adapter.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from gaib.backups.store import BackupManager, BackupRecord
from gaib.bundles import order
from gaib.errors import IntegrityError, StateNotFound, TierLimit
from gaib.ports import Ports, server_id_of
from gaib.secretguard import check_text

if TYPE_CHECKING:
    from gaib.backups.exports import StoredExport
    from gaib.backups.restore import RestorePlan, RestoreResult
    from gaib.bundles.local_history import LocalHistory


def manager(ports: Ports) -> BackupManager:
    return BackupManager(ports.store, ports.catalog, clock=ports.clock,
                         max_bundle_bytes=ports.settings.max_bundle_bytes, mac=ports.mac, notice=ports.notice)


def create(ports: Ports, message: str) -> BackupRecord:
    """Back up the current workspace's state (trigger ``on-demand``); StateNotFound if it has none,
    TierLimit (exit 7, with a ``quota.reached`` event) when the tier's daily quota is used up."""
    ws = ports.settings.workspace
    check_text(ports.settings.environ, ports.settings.bot_token, message, "the backup message")
    state = ports.state.get(ws)
    if state is None:
        raise StateNotFound(f"Workspace '{ws}' has no state to back up.")
    sid = server_id_of(ports)
    try:
        return manager(ports).create(state, server_id=sid, workspace=ws, message=message)
    except TierLimit as exc:
        from gaib.tiers import events  # loaded only when there is something to publish

        events.quota_reached(ports, exc, server_id=sid, tier=str(exc.details.get("tier", "free")))
        raise


def list_backups(ports: Ports, *, limit: int, cursor: str | None, all_workspaces: bool,
                 damaged: list[str] | None = None) -> tuple[list[BackupRecord], str | None]:
    """Newest first; damaged items are reported in ``damaged`` and skipped."""
    return manager(ports).list(server_id_of(ports), workspace=None if all_workspaces else ports.settings.workspace,
                               limit=limit, cursor=cursor, damaged=damaged)


def local_history(ports: Ports) -> LocalHistory | None:
    """What the local store still holds of this server while backups go to S3 (None: nothing, or the
    store in use is the local one); :func:`gaib.bundles.local_history.local_history`."""
    from gaib.bundles import local_history as local  # asked only when a listing finds nothing

    return local.local_history(ports, server_id_of(ports))


def future_dated(ports: Ports, records: list[BackupRecord]) -> dict[str, timedelta]:
    """The listed backups dated more than 5 minutes ahead of the storage's clock (their writer's clock ran
    ahead), by id: they do not count as newer for it (:mod:`gaib.bundles.order`)."""
    return order.flagged(records, ports.catalog.storage_time())


def find(ports: Ports, backup_id: str) -> BackupRecord | None:
    """The backup's record, None if its catalog item is damaged; raises NotFound if there is none."""
    try:
        return manager(ports).get(server_id_of(ports), backup_id)
    except IntegrityError:
        return None


def delete(ports: Ports, backup_id: str) -> BackupRecord | None:
    """Delete a backup (item first, then its object); returns its record (None if it was damaged)."""
    return manager(ports).delete(server_id_of(ports), backup_id)


def plan_restore(ports: Ports, backup_id: str, *, force: bool) -> RestorePlan:
    """Verify the backup and compare it with the current state; writes nothing."""
    from gaib.backups.restore import RestoreEngine

    engine = RestoreEngine(manager(ports), ports.state, clock=ports.clock)
    return engine.plan(server_id_of(ports), ports.settings.workspace, backup_id, force=force)


def execute_restore(ports: Ports, plan: RestorePlan) -> RestoreResult:
    """Under the lock: a pre-restore backup, then the backup's state as serial = current + 1."""
    from gaib.backups.restore import RestoreEngine

    engine = RestoreEngine(manager(ports), ports.state, clock=ports.clock)
    return engine.execute(plan, server_id=server_id_of(ports), workspace=ports.settings.workspace)


def keep_export(ports: Ports, server_id: str, text: str) -> StoredExport:
    """``export --backup``: store ``text`` (an export of the live server) under a new id and as the
    server's latest export (:func:`gaib.backups.exports.store_export`)."""
    from gaib.backups.exports import store_export

    return store_export(ports, server_id, text)
