"""What a snapshot restore plans and what it did: :class:`SnapshotRestorePlan` (built by
:func:`gaib.snapshots.service.plan_restore`, writes nothing) and :class:`SnapshotRestoreResult` (returned by
:func:`gaib.snapshots.service.execute_restore`), with their ``--json`` shapes (docs/commands.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.backups import rollforward
from gaib.iac.apply_result import ApplyResult
from gaib.iac.caps import CapEstimate
from gaib.iac.plan import Plan
from gaib.snapshots import community as community_service
from gaib.snapshots import members as member_part
from gaib.snapshots import selection as parts_selection
from gaib.snapshots.parts import Extras
from gaib.snapshots.store import SnapshotContent


@dataclass(frozen=True)
class SnapshotRestorePlan:
    content: SnapshotContent
    apply: bool
    prune_unmanaged: bool
    discord: Plan | None
    caps: CapEstimate | None
    state: rollforward.RollForward | None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    messages: bool = False
    extras: Extras | None = None
    community: community_service.ExtrasPlan | None = None
    selection: parts_selection.Selection = field(default_factory=parts_selection.Selection)
    saved_members: member_part.SavedMembers | None = None
    members: member_part.MembersPlan | None = None
    from_server: str | None = None  # the server whose structure is copied (None: this server's own snapshot)

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.content.record.to_dict(), "apply": self.apply, "from_server": self.from_server,
                "parts": self.selection.ordered(), "exact_members": bool(self.members and self.members.exact),
                "members": self.members.to_dict() if self.members is not None else None,
                "prune_unmanaged": self.prune_unmanaged, "messages": self.messages,
                "discord": self.discord.to_dict() if self.discord is not None else None,
                "caps": self.caps.to_dict() if self.caps is not None else None,
                "state": self.state.to_dict() if self.state is not None else None,
                "extras": self.community.to_dict() if self.community is not None else None,
                "warnings": list(self.warnings)}


@dataclass
class SnapshotRestoreResult:
    snapshot_id: str
    applied: bool
    config_file: str
    previous_config: str | None
    pre_restore_snapshot_id: str | None = None
    pre_restore_backup_id: str | None = None
    apply: ApplyResult | None = None
    previous_serial: int | None = None
    new_serial: int | None = None
    deployment_id: str | None = None
    extras: community_service.ExtrasDone | None = None
    members: member_part.MembersResult | None = None
    changed: bool = True
    """False when Discord (with ``applied``) and the state already matched the snapshot: nothing was
    written there, no pre-restore copy taken and no deployment recorded."""
    config_written: bool = True
    """False when the config file already held the snapshot's config (it is then left alone)."""

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "applied": self.applied, "config_file": self.config_file,
                "previous_config": self.previous_config, "pre_restore_snapshot_id": self.pre_restore_snapshot_id,
                "pre_restore_backup_id": self.pre_restore_backup_id,
                "apply": self.apply.to_dict() if self.apply is not None else None,
                "previous_serial": self.previous_serial, "new_serial": self.new_serial,
                "deployment_id": self.deployment_id, "changed": self.changed,
                "discord_changed": self.applied and self.changed, "config_written": self.config_written,
                "extras": self.extras.to_dict() if self.extras is not None else None,
                "members": self.members.to_dict() if self.members is not None else None}
