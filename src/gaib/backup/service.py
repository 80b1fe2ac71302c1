"""Backup use cases wired to settings: open storage, pick the server id, create/list/restore/delete."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gaib.backup.backups import BackupManager, BackupRecord
from gaib.backup.restore import RestoreEngine, RestorePlan, RestoreResult
from gaib.errors import MissingSetting, StateNotFound
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.state.open import open_backend
from gaib.storage.base import Catalog, ObjectStore


@dataclass
class BackupContext:
    settings: Settings
    backend: StateBackend
    store: ObjectStore
    catalog: Catalog
    manager: BackupManager
    clock: Callable[[], datetime]

    def server_id(self) -> str:
        """The server the backups belong to: -g / DISCORD_GUILD_ID / gaib.yaml, else the state's guild id."""
        if self.settings.guild_id:
            return self.settings.guild_id
        state = self.backend.get(self.settings.workspace)
        if state is not None and state.guild_id:
            return state.guild_id
        raise MissingSetting("No Discord server id is known for these backups.",
                             hint="Pass -g ID or set DISCORD_GUILD_ID.")


def open_backups(settings: Settings, clock: Callable[[], datetime]) -> BackupContext:
    from gaib.storage.open import open_storage

    store, catalog = open_storage(root=settings.backup_dir, bucket=settings.backup_bucket,
                                  table=settings.backup_table, kms_key_id=settings.backup_kms_key,
                                  region=settings.aws_region, environ=settings.environ,
                                  clock=lambda: clock().timestamp())
    backend = open_backend(settings)
    return BackupContext(settings=settings, backend=backend, store=store, catalog=catalog,
                         manager=BackupManager(store, catalog, clock=clock), clock=clock)


def create(ctx: BackupContext, message: str) -> BackupRecord:
    ws = ctx.settings.workspace
    state = ctx.backend.get(ws)
    if state is None:
        raise StateNotFound(f"Workspace '{ws}' has no state to back up.")
    return ctx.manager.create(state, server_id=ctx.server_id(), workspace=ws, message=message)


def list_backups(ctx: BackupContext, *, limit: int, cursor: str | None, all_workspaces: bool,
                 damaged: list[str] | None = None) -> tuple[list[BackupRecord], str | None]:
    return ctx.manager.list(ctx.server_id(), workspace=None if all_workspaces else ctx.settings.workspace,
                            limit=limit, cursor=cursor, damaged=damaged)


def plan_restore(ctx: BackupContext, backup_id: str, *, force: bool) -> RestorePlan:
    engine = RestoreEngine(ctx.manager, ctx.backend, clock=ctx.clock)
    return engine.plan(ctx.server_id(), ctx.settings.workspace, backup_id, force=force)


def execute_restore(ctx: BackupContext, plan: RestorePlan) -> RestoreResult:
    engine = RestoreEngine(ctx.manager, ctx.backend, clock=ctx.clock)
    return engine.execute(plan, server_id=ctx.server_id(), workspace=ctx.settings.workspace)
