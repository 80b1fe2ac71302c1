"""Snapshot use cases: create, list, download, compare, delete and restore — on the run's ports.

Create reads the roles and channels, then (:mod:`gaib.snapshots.capture`) the settings, emojis,
stickers, bans and, with ``messages``, the recent messages of each text channel not excluded; the tier
bounds ``messages`` (:func:`check_messages`).

Restore is plan, then execute. :func:`plan_restore` verifies every checksum of the snapshot and that it
belongs to this server before anything else — with ``--dry-run``/``--apply`` also every image and (with
``messages``) every saved message part it needs — then plans against the live guild, its community
included (:mod:`gaib.snapshots.community`, which also counts the requests and the time Discord's
limits impose); it writes nothing. :func:`execute_restore`:

* without ``apply``: restores the bookkeeping — the snapshot's state rolled forward as the workspace's
  state (a ``pre-restore`` backup first, like ``backup restore``) and the snapshot's config written to
  the config file (the previous file kept beside it); Discord is not changed (the CLI says so and gives
  the ``--apply`` command);
* with ``apply``: under the state lock, takes a ``pre-restore`` snapshot of the live server and state,
  re-plans against the guild as it is now, makes Discord match the snapshot minimally
  (:mod:`gaib.iac.restore_plan`), records every object in the state, then puts back the
  settings, emojis, stickers and bans that differ and (``messages``) replays saved messages into the
  channels it re-created, and writes the snapshot's config to the config file (previous kept), so a
  plan right after shows no changes. Undo: restore the pre-restore snapshot with ``--apply``.

Either way, a restore that finds nothing to change (Discord, with ``apply``, and the state already match
the snapshot) writes nothing, takes no pre-restore copy and records no deployment
(``SnapshotRestoreResult.changed`` False); a config file that already holds the snapshot's config is
left alone.

Both bring the snapshot's theme registry back as history, not as a rewrite: ``registry.json`` is not
replaced by the snapshot's copy; a new ``rollback`` deployment is recorded (config: the snapshot's)
that returns to the deployment current when the snapshot was taken, so everything recorded since
stays listed and ``theme rollback --steps 1`` walks back from that point
(:func:`gaib.deployments.registry.record_snapshot_restore`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from gaib.backups import rollforward
from gaib.backups.store import BackupManager
from gaib.bundles import local_history as local
from gaib.bundles import order
from gaib.bundles.codec import Codec
from gaib.bundles.download import resolve_target
from gaib.bundles.media import MediaStore
from gaib.deployments import registry
from gaib.errors import (
    ConfirmationRequired,
    GaibError,
    InvalidInput,
    PartialFailure,
    StateError,
    TierLimit,
    UsageError,
)
from gaib.iac.converge import config_matches, converge, keep_config, recovered_plan
from gaib.iac.limit_tracking import with_limits
from gaib.iac.progress import Reporter, Tick, wait_reporter
from gaib.ports import Ports, server_id_of
from gaib.secretguard import check_live, check_text
from gaib.snapshots import attachments, crossing, personal
from gaib.snapshots import community as community_service
from gaib.snapshots import members as member_part
from gaib.snapshots import selection as parts_selection
from gaib.snapshots.capture import MAX_WORKERS, Captured, capture
from gaib.snapshots.compare import compare as compare_contents
from gaib.snapshots.compare import desired_of
from gaib.snapshots.parts import MESSAGES_PER_CHANNEL, check_patterns, load_extras
from gaib.snapshots.replay_journal import ReplayJournal
from gaib.snapshots.restore_types import SnapshotRestorePlan, SnapshotRestoreResult
from gaib.snapshots.store import Downloaded, SnapshotContent, SnapshotManager, SnapshotRecord, write_download
from gaib.state.locking import locked
from gaib.state.model import State
from gaib.storage.base import NotFound
from gaib.storage.keys import theme_registry_key
from gaib.tiers import events, quota
from gaib.tiers.table import tier_of


def local_history(ports: Ports) -> local.LocalHistory | None:
    """What the local store still holds of this server while the store is S3 (None: nothing, or the store
    in use is the local one); :func:`gaib.bundles.local_history.local_history`."""
    return local.local_history(ports, server_id_of(ports))


def manager(ports: Ports) -> SnapshotManager:
    return SnapshotManager(ports.store, ports.catalog, clock=ports.clock,
                           max_bundle_bytes=ports.settings.max_bundle_bytes, mac=ports.mac, notice=ports.notice)


def _registry(ports: Ports, server_id: str) -> bytes | None:
    try:
        return ports.store.get(theme_registry_key(server_id))
    except NotFound:
        return None


def take(ports: Ports, *, server_id: str, message: str, trigger: str, state: State | None,
         codec_name: Codec = "gzip", messages: int = 0, exclude: Sequence[str] = ()) -> SnapshotRecord:
    """Read the live guild (roles, channels, settings, emojis, stickers, bans and, with ``messages``, the
    last ``messages`` messages of each text channel not in ``exclude``) and store a snapshot of it with
    ``state`` (no event; callers publish)."""
    guild = ports.discord.get_guild()
    check_live(ports.settings.environ, ports.settings.bot_token, guild.texts())

    def community(media: MediaStore, tags: Mapping[str, str]) -> Captured:
        captured = capture(ports.discord, guild, media, messages=messages, exclude=exclude, tags=tags,
                           workers=min(MAX_WORKERS, ports.settings.discord_concurrency))
        member_part.add_to(captured, ports.discord, guild)
        if messages:
            attachments.add_to(captured, ports.discord, media, per_file=ports.settings.max_attachment_bytes,
                               per_snapshot=ports.settings.max_snapshot_attachment_bytes, tags=tags)
        return captured

    return manager(ports).create(server_id=server_id, workspace=ports.settings.workspace, guild=guild, state=state,
                                 registry=_registry(ports, server_id), message=message, trigger=trigger,
                                 codec_name=codec_name, community=community)


def check_messages(ports: Ports, server_id: str, messages: int) -> None:
    """``--messages N``: 0 (off) or 1 to the tier's maximum per channel (TierLimit, exit 7, above it)."""
    if isinstance(messages, bool) or not isinstance(messages, int) or messages < 0:
        raise InvalidInput("--messages takes a number of messages per channel (1 or more; 0 saves none).")
    if messages == 0:
        return
    tier = tier_of(ports.catalog, server_id)
    most = MESSAGES_PER_CHANNEL[tier.name]
    if messages > most:
        raise TierLimit(f"The {tier.name} tier keeps at most {most} messages per channel in a snapshot; "
                        f"{messages} were asked for. Nothing was read.",
                        details={"tier": tier.name, "messages_per_channel": most})


def create(ports: Ports, *, message: str, codec_name: Codec = "gzip", messages: int = 0,
           exclude: Sequence[str] = ()) -> SnapshotRecord:
    """An on-demand snapshot of the live server and the workspace's state; publishes its event.

    ``exclude`` adds to ``backup.exclude`` of gaib.yaml: channels whose messages are not saved. It counts
    against the tier's daily on-demand snapshot quota (TierLimit, exit 7, before Discord is read), after
    ``message``, ``messages`` and ``exclude`` are checked; a snapshot that fails gives its unit back."""
    check_text(ports.settings.environ, ports.settings.bot_token, message, "the snapshot message")
    sid = server_id_of(ports)
    started = time.monotonic()
    patterns = check_patterns([*ports.settings.backup_exclude, *exclude])
    check_messages(ports, sid, messages)
    with quota.on_demand(ports, sid, "snapshot"):
        try:
            rec = take(ports, server_id=sid, message=message, trigger="on-demand",
                       state=ports.state.get(ports.settings.workspace), codec_name=codec_name, messages=messages,
                       exclude=patterns)
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
    return manager(ports).list(server_id_of(ports), limit=limit, cursor=cursor, damaged=damaged)


def future_dated(ports: Ports, records: list[SnapshotRecord]) -> dict[str, timedelta]:
    """The listed snapshots dated more than 5 minutes ahead of the storage's clock, by id (see
    :func:`gaib.backups.service.future_dated`)."""
    return order.flagged(records, ports.catalog.storage_time())


def delete(ports: Ports, snapshot_id: str) -> list[str]:
    """Delete a snapshot and the images only it needed; returns their checksums."""
    return manager(ports).delete(server_id_of(ports), snapshot_id)


def load(ports: Ports, snapshot_id: str) -> SnapshotContent:
    """Every part of a snapshot of this server, verified (NotFound, IntegrityError)."""
    mgr = manager(ports)
    return mgr.load(mgr.get(server_id_of(ports), snapshot_id))


def download(ports: Ports, snapshot_id: str, output: str, *, raw: bool, force: bool,
             structure_only: bool = False) -> Downloaded:
    """Write the snapshot's files into the folder ``output`` names (any path a user types, see
    :func:`gaib.bundles.download.resolve_target`; checked before anything is read), each streamed from
    storage and verified before any is renamed into place (:func:`gaib.snapshots.store.write_download`);
    its bans, members and messages as :class:`gaib.snapshots.personal.Guard` decides."""
    settings = ports.settings
    target = resolve_target(settings.cwd or settings.project_dir, output, home=settings.home, force=force)
    mgr = manager(ports)
    record = mgr.get(server_id_of(ports), snapshot_id)
    guard = personal.Guard.of(ports, record.server_id, record.manifest.parts, structure_only)
    done = write_download(mgr, record, target, raw=raw, force=force, parts=guard.parts(record.manifest.parts),
                          skipped=guard.skipped)
    return guard.done(done, f"Snapshot {record.id} was written to {target}", "download")


def compare(ports: Ports, first: str, second: str, *, structure_only: bool = False) -> dict[str, Any]:
    """What changed from snapshot ``first`` to ``second`` (both verified first, their community parts and
    saved messages too; bans, members and messages as :func:`download` gives them out)."""
    mgr = manager(ports)
    sid = server_id_of(ports)
    records = [mgr.get(sid, ident) for ident in (first, second)]
    guard = personal.Guard.of(ports, sid, {n for r in records for n in r.manifest.parts}, structure_only)
    contents = [mgr.load(r) for r in records]
    extras = [guard.extras(load_extras(mgr.repo, c.record.manifest, MediaStore(ports.store, sid),
                                       messages=guard.messages)) for c in contents]
    members = guard.allows("members")
    saved = [member_part.load_members(mgr.repo, c.record.manifest) if members else None for c in contents]
    names = {**community_service.channel_names(contents[0].record.manifest.extra),
             **community_service.channel_names(contents[1].record.manifest.extra)}
    out = compare_contents(contents[0], contents[1], (extras[0], extras[1]), names)
    out["members"] = member_part.compare_members(saved[0], saved[1])
    out["identical"] = out["identical"] and not member_part.members_changed(out["members"])
    return guard.done(out, f"Snapshots {first} and {second} were compared", "comparison")


# --- restore -------------------------------------------------------------------------------------------


def plan_restore(ports: Ports, snapshot_id: str, *, apply: bool, dry_run: bool, prune_unmanaged: bool = False,
                 force: bool = False, messages: bool = False, selection: parts_selection.Selection | None = None,
                 exact_members: bool = False, from_server: str | None = None) -> SnapshotRestorePlan:
    """Verify the snapshot, then plan; writes nothing. Reads the live guild for ``apply`` or ``dry_run``.

    With ``apply`` or ``dry_run`` every image and (``messages``) every saved message part the restore
    needs is read and verified before the live server is even read (IntegrityError, exit 3).
    ``selection`` (``--only`` / ``--exclude``) narrows what is planned to its parts (default: every part
    but messages, and messages with ``messages``); ``exact_members`` also takes away roles members
    gained since the snapshot. ``from_server``: that server's snapshot, structure only
    (:mod:`gaib.snapshots.crossing`)."""
    sel = selection if selection is not None else parts_selection.parse(messages=messages)
    messages = sel.includes("messages")
    if messages and not (apply or dry_run):
        raise UsageError("--messages replays saved messages into re-created channels: it needs --apply "
                         "(or --dry-run to see what it would send).")
    if not sel.everything and not (apply or dry_run):
        raise UsageError("--only and --exclude choose what is put back on Discord: they need --apply "
                         "(or --dry-run to see the plan).")
    sid = server_id_of(ports)
    mgr = manager(ports)
    content = (crossing.source(mgr, from_server, snapshot_id, into=sid, apply=apply, dry_run=dry_run,
                               messages=messages, prune_unmanaged=prune_unmanaged)
               if from_server is not None else mgr.load(mgr.get(sid, snapshot_id)))
    ws = ports.settings.workspace
    desired = desired_of(content)
    discord_plan = caps = None
    saved_members: member_part.SavedMembers | None = None
    members_plan: member_part.MembersPlan | None = None
    extras = community = None
    notes: list[str] = []
    if apply or dry_run:
        extras = community_service.load_for_restore(mgr, content, messages=messages)
        saved_members = member_part.load_members(mgr.repo, content.record.manifest) if from_server is None else None
        if from_server is not None:
            extras = crossing.structure_only(extras)
        live = ports.discord.get_guild()
        discord_plan = with_limits(ports, parts_selection.narrow_structure(recovered_plan(
            ports, server_id=sid, desired=desired, current=ports.state.get(ws), objects=content.objects, live=live,
            prune_unmanaged=prune_unmanaged, operation="restore", reading=True).plan, sel))
        caps = discord_plan.caps
        if extras.present:
            live_community = community_service.read_live(ports.discord, extras,
                                                         workers=min(4, ports.settings.discord_concurrency),
                                                         guild=live, selection=sel)
            community = community_service.plan(
                extras, live_community, live, discord_plan, content.objects, prune_unmanaged=prune_unmanaged,
                messages=messages,
                names=community_service.channel_names(content.record.manifest.extra), apply_reads=apply,
                journal=replay_journal(ports, content) if messages else None, selection=sel, now=ports.clock(),
                ids=community_service.id_map(content.objects, ports.state.get(ws) or content.objects))
            notes += community.warnings()
        else:
            notes.append(f"Snapshot {snapshot_id} was taken before snapshots held settings, emojis, stickers and "
                         "bans; only roles, channels and the state are restored.")
        if messages and not extras.messages:
            notes.append(f"Snapshot {snapshot_id} holds no messages (take snapshots with --messages N).")
        if sel.includes("members") and saved_members is not None:
            now = ports.state.get(ws)
            members_plan = member_part.plan_live(ports.discord, saved_members, live, exact=exact_members,
                                                 ids=community_service.id_map(content.objects, now) if now else {},
                                             pending=community_service.recreated(discord_plan, content.objects))
            notes += members_plan.warnings()
    state_change = None
    if not apply and from_server is None:  # another server's state is never made this one's
        if content.state is None:
            raise StateError(f"Snapshot {snapshot_id} holds no state (the workspace had none when it was taken).",
                             code="STATE_NOT_FOUND",
                             hint="Restore it with --apply to put the server back and record it in the state.")
        state_change = rollforward.plan(ports.state, ws, sid, content.state, source=f"Snapshot {snapshot_id}",
                                        force=force)
    warnings = tuple(discord_plan.warnings if discord_plan else ()) + tuple(caps.messages() if caps else ())
    return SnapshotRestorePlan(content=content, apply=apply, prune_unmanaged=prune_unmanaged, discord=discord_plan,
                               caps=caps, state=state_change, warnings=warnings + tuple(notes), messages=messages,
                               extras=extras, community=community, selection=sel, saved_members=saved_members,
                               members=members_plan, from_server=from_server)


def replay_journal(ports: Ports, content: SnapshotContent) -> ReplayJournal:
    """Where a restore of ``content`` keeps the progress of its message replay."""
    return ReplayJournal(ports.store, content.record.server_id, content.record.id, ports.clock)


def _keep_config(ports: Ports, content: SnapshotContent) -> tuple[str, str | None, bool]:
    """Write the snapshot's config to the config file, the previous file kept beside it; a file that
    already holds it is left alone. Returns the path, the kept file (or None) and whether it wrote."""
    path = ports.settings.config_file
    written = not config_matches(path, content.config_text)
    return (*keep_config(path, content.config_text, content.record.id, ports.clock()), written)


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
    sid = server_id_of(ports)
    started = time.monotonic()
    snapshot_id = plan.content.record.id
    tier = plan.content.record.manifest.tier
    try:
        result = _apply(ports, plan, sid, progress, accept_caps) if plan.apply else _bookkeeping(ports, plan, sid)
    except GaibError as exc:
        events.failed(ports, "restore", exc, server_id=sid, tier=tier, id=snapshot_id, duration_ms=_ms(started))
        raise
    message = (f"Snapshot {snapshot_id} restored" + (" to Discord" if plan.apply else "") if result.changed
               else f"Snapshot {snapshot_id} already matches; nothing changed")
    events.succeeded(ports, "restore", server_id=sid, tier=tier, id=snapshot_id, message=message,
                     duration_ms=_ms(started))
    return result


def _bookkeeping(ports: Ports, plan: SnapshotRestorePlan, sid: str) -> SnapshotRestoreResult:
    assert plan.state is not None
    ws = ports.settings.workspace
    backups = BackupManager(ports.store, ports.catalog, clock=ports.clock, mac=ports.mac, notice=ports.notice)
    snapshot_id = plan.content.record.id

    def before(current: State) -> str:
        return backups.create(current, server_id=sid, workspace=ws, trigger="pre-restore",
                              message=f"before restoring snapshot {snapshot_id}").id

    done = rollforward.execute(ports.state, plan.state, server_id=sid, workspace=ws, clock=ports.clock,
                               operation=f"snapshot restore {snapshot_id}", before=before, skip_unchanged=True)
    config_file, previous, written = _keep_config(ports, plan.content)
    result = SnapshotRestoreResult(snapshot_id=snapshot_id, applied=False, config_file=config_file,
                                   previous_config=previous, pre_restore_backup_id=done.pre_restore_id,
                                   previous_serial=done.previous_serial, new_serial=done.new_serial,
                                   changed=done.changed, config_written=written)
    if done.changed:
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

    extras_planned = plan.community is not None and plan.community.has_work
    extras_planned = extras_planned or bool(plan.members and not plan.members.empty)
    sel = plan.selection
    with locked(ports.state, ws, f"snapshot restore {snapshot_id}", ports.clock):
        done = converge(ports, server_id=sid, desired=desired_of(content),
                        objects=parts_selection.narrow_objects(content.objects, sel),
                        prune_unmanaged=plan.prune_unmanaged, before=before, progress=progress,
                        more=extras_planned, narrow=partial(parts_selection.narrow_structure, selection=sel))
        result = SnapshotRestoreResult(snapshot_id=snapshot_id, applied=True, config_file="", previous_config=None,
                                       pre_restore_snapshot_id=done.pre_restore_id,
                                       previous_serial=done.previous_serial, apply=done.result,
                                       changed=done.changed)
        if done.failure is None:
            result.new_serial = done.result.serial
        if done.changed and done.failure is None and plan.extras is not None and plan.extras.present:
            current = ports.state.get(ws)
            ports.discord.on_wait(wait_reporter(progress))  # replay waits (30 messages a minute) are shown
            try:
                result.extras = community_service.apply(
                    ports.discord, plan.extras, content.objects, current if current is not None else content.objects,
                    prune_unmanaged=plan.prune_unmanaged, messages=plan.messages,
                    names=community_service.channel_names(content.record.manifest.extra), progress=progress,
                    reason=f"gaib snapshot restore {snapshot_id}", concurrency=ports.settings.discord_concurrency,
                    journal=replay_journal(ports, content), selection=sel, now=ports.clock())
            finally:
                ports.discord.on_wait(None)
        if done.changed and done.failure is None and plan.saved_members is not None and sel.includes("members"):
            current = ports.state.get(ws)
            result.members = member_part.restore_members(
                ports.discord, plan.saved_members,
                ids=community_service.id_map(content.objects, current if current is not None else content.objects),
                exact=bool(plan.members and plan.members.exact), progress=progress,
                reason=f"gaib snapshot restore {snapshot_id}", concurrency=ports.settings.discord_concurrency)
        if sel.everything:
            result.config_file, result.previous_config, result.config_written = _keep_config(ports, content)
        else:  # a partial restore: the config file still describes the server as it was
            result.config_file, result.previous_config, result.config_written = (
                str(ports.settings.config_file), None, False)
        if done.changed and plan.from_server is None:  # another server's registry is no history of this one
            _record(ports, sid, content, result,
                    partial=done.failure is not None or bool(result.extras and result.extras.failed)
                    or bool(result.members and result.members.failed))
    failed = [*(result.extras.failed if result.extras is not None else []),
              *(result.members.failed if result.members is not None else [])]
    if done.failure is None and failed:
        raise PartialFailure(
            f"The roles and channels of snapshot {snapshot_id} are back, but {len(failed)} step(s) of the settings, "
            "emojis, stickers, bans, members, AutoMod, onboarding, welcome screen, events, sounds or messages "
            "failed: " + "; ".join(f["message"] for f in failed[:3]),
            hint=f"Run the restore again to finish it. Undo everything with: gaib server snapshot restore "
                 f"{done.pre_restore_id} --apply",
            details={"restore": result.to_dict(), "failed": failed})
    if done.failure is not None:
        done.failure.details["restore"] = result.to_dict()
        done.failure.hint = (f"Run the restore again to finish it. Undo everything with: gaib server snapshot "
                             f"restore {done.pre_restore_id} --apply")
        raise done.failure
    return result
