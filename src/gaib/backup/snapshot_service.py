"""Snapshot use cases: create, list, download, compare, delete and restore — on the run's ports.

Restore is plan, then execute. :func:`plan_restore` verifies every checksum of the snapshot and that it
belongs to this server before anything else, then (for ``--dry-run`` and ``--apply``) plans against the
live guild; it writes nothing. :func:`execute_restore`:

* without ``apply``: restores the bookkeeping — the snapshot's state rolled forward as the workspace's
  state (a ``pre-restore`` backup first, like ``backup restore``) and the snapshot's config written to
  the config file (the previous file kept beside it);
* with ``apply``: under the state lock, takes a ``pre-restore`` snapshot of the live server and state,
  re-plans against the guild as it is now, makes Discord match the snapshot minimally
  (:mod:`gaib.backup.snapshot_restore`), records every object in the state, and writes the snapshot's
  config to the config file (previous kept), so a plan right after shows no changes. Undo: restore the
  pre-restore snapshot with ``--apply``.

Both bring the snapshot's theme registry back as history, not as a rewrite: ``registry.json`` is not
replaced by the snapshot's copy; a new ``rollback`` deployment is recorded (config: the snapshot's)
that returns to the deployment current when the snapshot was taken, so everything recorded since
stays listed and ``theme rollback --steps 1`` walks back from that point
(:func:`gaib.backup.registry.record_snapshot_restore`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaib.backup import events, quota, registry, rollforward
from gaib.backup.backups import BackupManager
from gaib.backup.codec import Codec
from gaib.backup.compare import compare as compare_contents
from gaib.backup.compare import desired_of
from gaib.backup.converge import converge, keep_config
from gaib.backup.download import resolve_target, write_files
from gaib.backup.service import server_id as resolve_server
from gaib.backup.snapshot_restore import matching_state, restore_plan
from gaib.backup.snapshots import SnapshotContent, SnapshotManager, SnapshotRecord
from gaib.errors import ConfirmationRequired, GaibError, StateError
from gaib.iac.apply import ApplyResult
from gaib.iac.caps import CapEstimate
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter, Tick
from gaib.iac.service import with_limits
from gaib.ports import Ports
from gaib.secretguard import check_text
from gaib.state.locking import locked
from gaib.state.model import State
from gaib.storage.base import NotFound
from gaib.storage.keys import theme_registry_key


def manager(ports: Ports) -> SnapshotManager:
    return SnapshotManager(ports.store, ports.catalog, clock=ports.clock)


def _registry(ports: Ports, server_id: str) -> bytes | None:
    try:
        return ports.store.get(theme_registry_key(server_id))
    except NotFound:
        return None


def take(ports: Ports, *, server_id: str, message: str, trigger: str, state: State | None,
         codec_name: Codec = "gzip") -> SnapshotRecord:
    """Read the live guild and store a snapshot of it with ``state`` (no event; callers publish)."""
    guild = ports.discord.get_guild()
    return manager(ports).create(server_id=server_id, workspace=ports.settings.workspace, guild=guild, state=state,
                                 registry=_registry(ports, server_id), message=message, trigger=trigger,
                                 codec_name=codec_name)


def create(ports: Ports, *, message: str, codec_name: Codec = "gzip") -> SnapshotRecord:
    """An on-demand snapshot of the live server and the workspace's state; publishes its event.

    It counts against the tier's daily on-demand snapshot quota (TierLimit, exit 7, before Discord is
    read); a snapshot that fails gives its unit back."""
    check_text(ports.settings.environ, ports.settings.bot_token, message, "the snapshot message")
    sid = resolve_server(ports)
    started = time.monotonic()
    with quota.on_demand(ports, sid, "snapshot"):
        try:
            rec = take(ports, server_id=sid, message=message, trigger="on-demand",
                       state=ports.state.get(ports.settings.workspace), codec_name=codec_name)
        except GaibError as exc:
            events.failed(ports, "snapshot", exc, server_id=sid, duration_ms=_ms(started))
            raise
    m = rec.manifest
    events.succeeded(ports, "snapshot", server_id=sid, tier=m.tier, id=m.id, message=f"Snapshot {m.id} created",
                     stored=m.stored_size, plain=m.plain_size, duration_ms=_ms(started))
    return rec


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def list_snapshots(ports: Ports, *, limit: int, cursor: str | None,
                   damaged: list[str]) -> tuple[list[SnapshotRecord], str | None]:
    return manager(ports).list(resolve_server(ports), limit=limit, cursor=cursor, damaged=damaged)


def delete(ports: Ports, snapshot_id: str) -> None:
    manager(ports).delete(resolve_server(ports), snapshot_id)


def load(ports: Ports, snapshot_id: str) -> SnapshotContent:
    """Every part of a snapshot of this server, verified (NotFound, IntegrityError)."""
    mgr = manager(ports)
    return mgr.load(mgr.get(resolve_server(ports), snapshot_id))


@dataclass(frozen=True)
class Downloaded:
    snapshot: SnapshotRecord
    folder: Path
    files: list[Path]
    raw: bool

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot.to_dict(), "folder": str(self.folder),
                "files": [p.name for p in self.files], "raw": self.raw}


def download(ports: Ports, snapshot_id: str, output: str, *, raw: bool, force: bool) -> Downloaded:
    """Verify every checksum, then write the snapshot's files into ``output`` (inside the project)."""
    target = resolve_target(ports.settings.project_dir, output)
    mgr = manager(ports)
    record = mgr.get(resolve_server(ports), snapshot_id)
    files: dict[str, bytes] = {"manifest.json": record.manifest.to_json()}
    if raw:
        stored = mgr.stored_parts(record)
        files.update({record.manifest.part(n).key.rsplit("/", 1)[1]: data for n, data in stored.items()})
    else:
        for name in record.manifest.parts:
            plain = mgr.repo.read_part(record.manifest, name)
            files[record.manifest.part(name).key.rsplit("/", 1)[1].removesuffix(".gz")] = plain
    return Downloaded(record, target, write_files(target, files, force=force), raw)


def compare(ports: Ports, first: str, second: str) -> dict[str, Any]:
    """What changed from snapshot ``first`` to ``second`` (both verified first)."""
    return compare_contents(load(ports, first), load(ports, second))


# --- restore -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotRestorePlan:
    content: SnapshotContent
    apply: bool
    prune_unmanaged: bool
    discord: Plan | None
    caps: CapEstimate | None
    state: rollforward.RollForward | None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.content.record.to_dict(), "apply": self.apply,
                "prune_unmanaged": self.prune_unmanaged,
                "discord": self.discord.to_dict() if self.discord is not None else None,
                "caps": self.caps.to_dict() if self.caps is not None else None,
                "state": self.state.to_dict() if self.state is not None else None,
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

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "applied": self.applied, "config_file": self.config_file,
                "previous_config": self.previous_config, "pre_restore_snapshot_id": self.pre_restore_snapshot_id,
                "pre_restore_backup_id": self.pre_restore_backup_id,
                "apply": self.apply.to_dict() if self.apply is not None else None,
                "previous_serial": self.previous_serial, "new_serial": self.new_serial,
                "deployment_id": self.deployment_id}


def plan_restore(ports: Ports, snapshot_id: str, *, apply: bool, dry_run: bool, prune_unmanaged: bool = False,
                 force: bool = False) -> SnapshotRestorePlan:
    """Verify the snapshot, then plan; writes nothing. Reads the live guild for ``apply`` or ``dry_run``."""
    sid = resolve_server(ports)
    content = load(ports, snapshot_id)
    ws = ports.settings.workspace
    desired = desired_of(content)
    discord_plan = caps = None
    if apply or dry_run:
        live = ports.discord.get_guild()
        state = matching_state(ports.state.get(ws), content.objects, workspace=ws, server_id=sid)
        discord_plan = with_limits(ports, restore_plan(desired, state, live, prune_unmanaged=prune_unmanaged))
        caps = discord_plan.caps
    state_change = None
    if not apply:
        if content.state is None:
            raise StateError(f"Snapshot {snapshot_id} holds no state (the workspace had none when it was taken).",
                             code="STATE_NOT_FOUND",
                             hint="Restore it with --apply to put the server back and record it in the state.")
        state_change = rollforward.plan(ports.state, ws, sid, content.state, source=f"Snapshot {snapshot_id}",
                                        force=force)
    warnings = tuple(discord_plan.warnings if discord_plan else ()) + tuple(caps.messages() if caps else ())
    return SnapshotRestorePlan(content=content, apply=apply, prune_unmanaged=prune_unmanaged, discord=discord_plan,
                               caps=caps, state=state_change, warnings=warnings)


def _keep_config(ports: Ports, content: SnapshotContent) -> tuple[str, str | None]:
    """Write the snapshot's config to the config file; the previous file is kept beside it."""
    return keep_config(ports.settings.config_file, content.config_text, content.record.id)


def _record(ports: Ports, sid: str, content: SnapshotContent, result: SnapshotRestoreResult, *,
            partial: bool) -> None:
    """Bring the snapshot's registry back as history: a new deployment returning to the deployment that
    was current when the snapshot was taken (nothing recorded since is rewritten)."""
    recorded = registry.record_snapshot_restore(
        ports, sid, snapshot_id=content.record.id, snapshot_registry=content.registry,
        config_text=content.config_text, config_counts=dict(content.record.manifest.counts),
        applied=result.applied, result=result.apply.to_dict() if result.apply is not None else None,
        serial=result.new_serial if result.new_serial is not None else (result.apply.serial if result.apply else None),
        partial=partial)
    result.deployment_id = recorded.deployment.id if recorded is not None else None


def execute_restore(ports: Ports, plan: SnapshotRestorePlan, *, progress: Reporter,
                    accept_caps: bool) -> SnapshotRestoreResult:
    """Carry out a planned restore (see the module docstring); publishes a restore event."""
    sid = resolve_server(ports)
    started = time.monotonic()
    snapshot_id = plan.content.record.id
    tier = plan.content.record.manifest.tier
    try:
        result = _apply(ports, plan, sid, progress, accept_caps) if plan.apply else _bookkeeping(ports, plan, sid)
    except GaibError as exc:
        events.failed(ports, "restore", exc, server_id=sid, tier=tier, id=snapshot_id, duration_ms=_ms(started))
        raise
    events.succeeded(ports, "restore", server_id=sid, tier=tier, id=snapshot_id,
                     message=f"Snapshot {snapshot_id} restored" + (" to Discord" if plan.apply else ""),
                     duration_ms=_ms(started))
    return result


def _bookkeeping(ports: Ports, plan: SnapshotRestorePlan, sid: str) -> SnapshotRestoreResult:
    assert plan.state is not None
    ws = ports.settings.workspace
    backups = BackupManager(ports.store, ports.catalog, clock=ports.clock)
    snapshot_id = plan.content.record.id

    def before(current: State) -> str:
        return backups.create(current, server_id=sid, workspace=ws, trigger="pre-restore",
                              message=f"before restoring snapshot {snapshot_id}").id

    done = rollforward.execute(ports.state, plan.state, server_id=sid, workspace=ws, clock=ports.clock,
                               operation=f"snapshot restore {snapshot_id}", before=before)
    config_file, previous = _keep_config(ports, plan.content)
    result = SnapshotRestoreResult(snapshot_id=snapshot_id, applied=False, config_file=config_file,
                                   previous_config=previous, pre_restore_backup_id=done.pre_restore_id,
                                   previous_serial=done.previous_serial, new_serial=done.new_serial)
    _record(ports, sid, plan.content, result, partial=False)
    return result


def _apply(ports: Ports, plan: SnapshotRestorePlan, sid: str, progress: Reporter,
           accept_caps: bool) -> SnapshotRestoreResult:
    if plan.caps is not None and plan.caps.binds and not accept_caps:
        raise ConfirmationRequired("This restore needs more creates than Discord allows in its long windows: "
                                   + "; ".join(plan.caps.messages()) + ". Nothing was changed.",
                                   hint="Pass --yes to start anyway; what the caps hold back is created by "
                                        "running the restore again once they reset.")
    ws, content = ports.settings.workspace, plan.content
    snapshot_id = content.record.id

    def before(current: State | None) -> str:
        pre = take(ports, server_id=sid, message=f"before restoring snapshot {snapshot_id}", trigger="pre-restore",
                   state=current)
        progress(Tick("note", f"Took pre-restore snapshot {pre.id}."))
        return pre.id

    with locked(ports.state, ws, f"snapshot restore {snapshot_id}", ports.clock):
        done = converge(ports, server_id=sid, desired=desired_of(content), objects=content.objects,
                        prune_unmanaged=plan.prune_unmanaged, before=before, progress=progress)
        result = SnapshotRestoreResult(snapshot_id=snapshot_id, applied=True, config_file="", previous_config=None,
                                       pre_restore_snapshot_id=done.pre_restore_id,
                                       previous_serial=done.previous_serial, apply=done.result)
        if done.failure is None:
            result.new_serial = done.result.serial
        result.config_file, result.previous_config = _keep_config(ports, content)
        _record(ports, sid, content, result, partial=done.failure is not None)
    if done.failure is not None:
        done.failure.details["restore"] = result.to_dict()
        done.failure.hint = (f"Run the restore again to finish it. Undo everything with: gaib server snapshot "
                             f"restore {done.pre_restore_id} --apply")
        raise done.failure
    return result
