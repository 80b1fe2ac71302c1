"""RestoreEngine: put a backed-up state back, as a new serial, undoably (see gaib.backups.rollforward).

Plan, then execute. The plan verifies every checksum of the backup, checks its server id and lineage
against the current state (another lineage is refused unless forced) and computes the resource diff.
Execution, under the state lock: back up the current state (trigger ``pre-restore``), then write the
backup's resources and outputs as the new state with serial = current + 1 and the current lineage.
Restoring the pre-restore backup undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gaib.backups import rollforward
from gaib.backups.statediff import StateDiff
from gaib.backups.store import BackupManager, BackupRecord
from gaib.clock import Clock
from gaib.state.backend import StateBackend
from gaib.state.model import State


@dataclass(frozen=True)
class RestorePlan:
    backup: BackupRecord
    state: rollforward.RollForward

    @property
    def current_serial(self) -> int | None:
        return self.state.current_serial

    @property
    def diff(self) -> StateDiff:
        return self.state.diff

    def to_dict(self) -> dict[str, Any]:
        return {"backup": self.backup.to_dict(), "current_serial": self.state.current_serial,
                "current_lineage": self.state.current_lineage, "backup_lineage": self.backup.lineage,
                "diff": self.state.diff.to_dict(), "forced": self.state.forced}


@dataclass(frozen=True)
class RestoreResult:
    backup_id: str
    previous_serial: int | None
    new_serial: int
    pre_restore_backup_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"backup_id": self.backup_id, "previous_serial": self.previous_serial,
                "new_serial": self.new_serial, "pre_restore_backup_id": self.pre_restore_backup_id}


class RestoreEngine:
    def __init__(self, backups: BackupManager, backend: StateBackend, *, clock: Clock) -> None:
        self.backups = backups
        self.backend = backend
        self.clock = clock

    def plan(self, server_id: str, workspace: str, backup_id: str, *, force: bool = False) -> RestorePlan:
        """Verify and compare; writes nothing. Raises IntegrityError, LineageMismatch, StateError."""
        record = self.backups.get(server_id, backup_id)
        content = self.backups.load(record)  # every checksum verified here
        return RestorePlan(backup=record, state=rollforward.plan(self.backend, workspace, server_id, content,
                                                                 source=f"Backup {backup_id}", force=force))

    def execute(self, plan: RestorePlan, *, server_id: str, workspace: str) -> RestoreResult:
        """Under the lock: pre-restore backup, then the restored state as serial = current + 1."""
        def before(current: State) -> str:
            return self.backups.create(current, server_id=server_id, workspace=workspace, trigger="pre-restore",
                                       message=f"before restoring {plan.backup.id}").id

        done = rollforward.execute(self.backend, plan.state, server_id=server_id, workspace=workspace,
                                   clock=self.clock, operation=f"restore {plan.backup.id}", before=before)
        return RestoreResult(backup_id=plan.backup.id, previous_serial=done.previous_serial,
                             new_serial=done.new_serial, pre_restore_backup_id=done.pre_restore_id)
