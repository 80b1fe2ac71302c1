"""gaib server snapshot create | list | restore | download | compare | delete | prune"""

from __future__ import annotations

import click

from gaib.bundles.order import describe
from gaib.cli.base import Ctx, any_workspace, get_ctx, group, server_options
from gaib.cli.progress import RunProgress
from gaib.cli.text import printable
from gaib.discord.limits import duration
from gaib.iac.plan import render as render_plan
from gaib.snapshots import service
from gaib.snapshots.community import ExtrasPlan
from gaib.snapshots.compare import render as render_comparison
from gaib.snapshots.members import MembersPlan
from gaib.snapshots.restore_types import SnapshotRestorePlan
from gaib.snapshots.selection import parse as parse_parts
from gaib.snapshots.store import SnapshotRecord

snapshot = group("snapshot", "Full snapshots of the server: create, list, restore, download, compare, delete, "
                            "prune.", aliases={"ls": "list", "rm": "delete"})


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


OBJECTS_LEGEND = ("OBJECTS: r roles, c categories, ch channels, e emojis, s stickers, b bans, msg messages; "
                  "IMAGES: bytes of images the snapshot needs (new: stored by it)")


def _counts(r: SnapshotRecord) -> str:
    c = r.manifest.counts
    text = f"{c.get('roles', 0)}r/{c.get('categories', 0)}c/{c.get('channels', 0)}ch"
    if "emojis" in c:
        text += f"/{c.get('emojis', 0)}e/{c.get('stickers', 0)}s/{c.get('bans', 0)}b"
    if c.get("messages"):
        text += f"/{c['messages']}msg"
    return text


def _media(r: SnapshotRecord) -> str:
    if not r.media:
        return "-"
    return f"{_size(r.media_size)} ({_size(r.media_added)} new)"


@snapshot.command("create")
@click.option("-m", "--message", default="", help="A note stored with the snapshot.")
@click.option("--codec", type=click.Choice(["gzip", "zstd"]), default="gzip", show_default=True,
              help="Compression of the parts.")
@click.option("--messages", "messages", default=0, show_default=True, type=click.IntRange(0, None), metavar="N",
              help="Also save the last N messages of each text channel (at most 100 on free, 1000 on premium).")
@click.option("--exclude-channel", "exclude", multiple=True, metavar="CHANNEL",
              help="A channel (id, name or Category/name) whose messages are not saved; repeatable. Adds to "
                   "backup.exclude in gaib.yaml.")
@server_options
def create(message: str, codec: str, messages: int, exclude: tuple[str, ...]) -> None:
    """Snapshot the live server (objects Gaib does not manage included, settings, emojis, stickers and bans)
    and the workspace's state."""
    ctx = get_ctx()
    rec = service.create(ctx.app(), message=message, codec_name="zstd" if codec == "zstd" else "gzip",
                         messages=messages, exclude=exclude)
    m = rec.manifest
    c = m.counts
    extras = (f", {c.get('emojis', 0)} emojis, {c.get('stickers', 0)} stickers, {c.get('bans', 0)} bans, "
              f"{c.get('threads', 0)} threads"
              + (f", {c.get('messages', 0)} messages in {c.get('message_channels', 0)} channels" if messages else ""))
    raw = m.extra.get("members")
    people: dict[str, object] = raw if isinstance(raw, dict) else {}
    extras += f", {c.get('members', 0)} members" if people.get("available", True) else ""
    note = (f"\nMembers' roles and nicknames were not saved: {people.get('hint')}"
            if people.get("available") is False else "")
    ctx.out.result(rec.to_dict(), f"Created snapshot {m.id}: {c.get('roles', 0)} roles, "
                                  f"{c.get('categories', 0)} categories, {c.get('channels', 0)} "
                                  f"channels, {c.get('overwrites', 0)} overwrites{extras} "
                                  f"({_size(m.stored_size)} + images {_size(rec.media_size)}, "
                                  f"{_size(rec.media_added)} of them new; {m.tier} tier).{note}")


@snapshot.command("list")
@click.option("-l", "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many.")
@click.option("--cursor", default=None, help="Continue after a previous page (from its next_cursor).")
@server_options
def list_(limit: int, cursor: str | None) -> None:
    """List snapshots, newest first."""
    ctx = get_ctx()
    damaged: list[str] = []
    records, next_cursor = service.list_snapshots(ctx.app(), limit=limit, cursor=cursor, damaged=damaged)
    for ident in damaged:
        ctx.out.warn(f"snapshot {printable(ident)} is damaged and not listed; remove it with "
                     f"'gaib server snapshot delete {printable(ident)}'")
    ahead = service.future_dated(ctx.app(), records)
    for ident, by in ahead.items():
        ctx.out.warn(f"snapshot {ident} is dated {describe(by)} ahead of the storage's clock (its writer's clock "
                     "ran ahead): it does not count as newer than the snapshots written after it")
    rows = [[r.id, r.manifest.workspace, r.manifest.trigger, _counts(r), r.manifest.serial,
             _size(r.manifest.stored_size), _media(r), printable(r.manifest.message)] for r in records]
    text = ctx.out.table(["ID", "WORKSPACE", "TRIGGER", "OBJECTS", "SERIAL", "SIZE", "IMAGES", "MESSAGE"], rows) \
        + "\n" + OBJECTS_LEGEND if records else "No snapshots."
    if next_cursor:
        text += f"\nMore: --cursor {next_cursor}"
    local = service.local_history(ctx.app()) if not records and cursor is None else None
    if local is not None:
        text += f"\n{local.notice()}"
    ctx.out.result({"snapshots": [r.to_dict() for r in records], "next_cursor": next_cursor, "damaged": damaged,
                    "local_store": local.to_dict() if local else None,
                    "future_dated": {i: int(by.total_seconds()) for i, by in ahead.items()}}, text)


_STRUCTURE_ONLY = ("Leave out bans, members and messages (no bot token needed); without it they need the "
                   "server's own bot token (DISCORD_BOT_TOKEN) or the operator role.")


@snapshot.command("download")
@click.argument("snapshot_id")
@click.option("-o", "--output", required=True, metavar="DIR",
              help="Folder to write to: any path (~ is expanded); made if missing, or an empty one.")
@click.option("--raw", is_flag=True, help="Keep the stored (compressed) bytes.")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty (its other files stay).")
@click.option("--structure-only", is_flag=True, help=_STRUCTURE_ONLY)
@server_options
def download(snapshot_id: str, output: str, raw: bool, force: bool, structure_only: bool) -> None:
    """Verify a snapshot and write its manifest, state, config and registry into DIR (bans, members and
    messages only with the server's own bot token, or as the operator role)."""
    ctx = get_ctx()
    done = service.download(ctx.app(), snapshot_id, output, raw=raw, force=force, structure_only=structure_only)
    ctx.out.result(done.to_dict(), f"Wrote {len(done.files)} files of snapshot {snapshot_id} to {done.folder}: "
                                   + ", ".join(p.name for p in done.files)
                                   + (f"\nNot written (--structure-only): {', '.join(done.skipped)}"
                                      if done.skipped else ""))


@snapshot.command("compare")
@click.argument("first")
@click.argument("second")
@click.option("--structure-only", is_flag=True, help=_STRUCTURE_ONLY)
@server_options
def compare(first: str, second: str, structure_only: bool) -> None:
    """Show what changed between two snapshots (bans, members and messages only with the server's own bot
    token, or as the operator role)."""
    ctx = get_ctx()
    result = service.compare(ctx.app(), first, second, structure_only=structure_only)
    note = result.get("personal")
    ctx.out.result(result, printable(render_comparison(result), keep_newlines=True)
                   + (f"\nNot compared (--structure-only): {', '.join(note['skipped'])}" if note else ""))


@snapshot.command("delete")
@click.argument("snapshot_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
def delete(snapshot_id: str, yes: bool) -> None:
    """Delete a snapshot (its catalog item, then its objects)."""
    ctx = get_ctx()
    ctx.confirm(f"Delete snapshot {snapshot_id}?", yes)
    released = service.delete(ctx.app(), snapshot_id)
    ctx.out.result({"deleted": snapshot_id, "images_removed": released},
                   f"Deleted snapshot {snapshot_id}" + (f" and {len(released)} images no other snapshot uses."
                                                        if released else "."))


def _restore_text(ctx: Ctx, plan: SnapshotRestorePlan) -> str:
    rec = plan.content.record
    lines = [f"Restore snapshot {rec.id} ({rec.manifest.created_at}) of server {rec.server_id}:"
             if plan.from_server is None else
             f"Copy the structure of snapshot {rec.id} ({rec.manifest.created_at}) of server {rec.server_id} into "
             f"this server (never its bans, members or messages):"]
    if plan.discord is not None:
        lines.append("Discord:" if plan.apply else "Discord (changed only with --apply):")
        lines += ["  " + ln for ln in render_plan(plan.discord).splitlines()]
    if plan.community is not None:
        lines += ["  " + ln for ln in _community_text(plan.community)]
    if plan.members is not None:
        lines += ["  " + ln for ln in _members_text(plan.members)]
    if not plan.selection.everything:
        lines.append(f"Parts restored: {', '.join(plan.selection.ordered())} (the config file is not rewritten).")
    if plan.state is not None:
        lines.append(f"State (serial {plan.state.current_serial} -> a new serial):")
        lines.append(plan.state.diff.render())
    for w in plan.warnings:
        lines.append(f"Warning: {w}")
    return printable("\n".join(lines), keep_newlines=True)


def _community_text(extras: ExtrasPlan) -> list[str]:
    c = extras.community
    out = []
    for key, value in c.settings.items():
        images = ("icon", "banner", "splash", "discovery_splash")
        shown = ("image from the snapshot" if value else "none") if key in images else value
        out.append(f"~ server {key.replace('_', ' ')}: {shown}")
    for item in c.items:
        if item.action != "adopt":
            sign = {"create": "+", "update": "~", "delete": "-"}[item.action]
            extra = f" ({', '.join(sorted(item.fields))})" if item.action == "update" else ""
            out.append(f"{sign} {item.kind} {item.name}{extra}")
    banned = sum(len(b.user_ids) for b in c.ban)
    if banned:
        out.append(f"+ {banned} bans ({len(c.ban)} request{'s' if len(c.ban) != 1 else ''})")
    if c.unban:
        out.append(f"- {len(c.unban)} bans made after the snapshot")
    for step in extras.safety.steps:
        sign = {"create": "+", "update": "~", "delete": "-", "put": "~"}[step.action]
        fields = f" ({', '.join(sorted(step.body))})" if step.action == "update" and step.part != "welcome" else ""
        out.append(f"{sign} {step.part} {step.name}{fields}")
    if extras.replay is not None:
        for ch in extras.replay.channels:
            left = (f"{ch.to_send} webhook messages left, {ch.already} posted by an interrupted run" if ch.already
                    else f"{ch.to_send} webhook messages")
            out.append(f"+ {len(ch.messages)} messages replayed into #{ch.name} ({left})")
        if extras.replay.kept:
            out.append(f"  history kept where it is: {', '.join('#' + n for n in extras.replay.kept)}")
    for field_step in extras.structure.steps if extras.structure is not None else ():
        what = (f"member overwrite {field_step.target} on #{field_step.name}" if field_step.kind == "overwrite"
                else f"{field_step.kind} {field_step.name} ({', '.join(sorted(field_step.body))})")
        out.append(f"~ {what}")
    for t in extras.threads.steps if extras.threads is not None else ():
        tags = f" [{', '.join(t.entry.get('applied_tag_names') or [])}]" if t.entry.get("applied_tag_names") else ""
        out.append(f"{'=' if t.live_id else '+'} thread {t.name}{tags}"
                   + (f", {len(t.messages)} messages" if t.messages else ""))
    out.append(f"Requests: {extras.total_requests} at least; Discord's limits make it take at least "
               f"{duration(extras.time_floor)}.")
    return out


def _members_text(m: MembersPlan) -> list[str]:
    if not m.available:
        return ["members: not restored (the Server Members intent is off)"]
    d = m.to_dict()
    out = [f"~ {d['change']} members: {d['roles_given']} roles given back"
           + (f", {d['roles_removed']} taken away (--exact-members)" if m.exact else "")
           + f", {d['nicknames']} nicknames ({d['change']} requests; Discord's global limit of 50 a second makes "
             f"it take at least {duration(m.time_floor())})"] if m.edits else []
    if m.left:
        out.append(f"  {len(m.left)} members left the server: {', '.join(m.left[:10])}"
                   + ("…" if len(m.left) > 10 else ""))
    return out


@snapshot.command("restore")
@click.argument("snapshot_id")
@click.option("--dry-run", is_flag=True, help="Show the plan against the live server and the state; write nothing.")
@click.option("--apply", "apply_", is_flag=True, help="Also make Discord match the snapshot (minimally).")
@click.option("--prune-unmanaged", is_flag=True,
              help="With --apply: also delete live objects neither the snapshot nor the state holds.")
@click.option("--force", is_flag=True, help="Restore a state of another lineage (bookkeeping restore).")
@click.option("--messages", "messages", is_flag=True,
              help="With --apply: replay the saved messages into channels the restore re-creates.")
@click.option("--only", "only", multiple=True, metavar="PARTS",
              help="Restore only these parts (comma-separated; see docs/commands.md).")
@click.option("--exclude", "exclude", multiple=True, metavar="PARTS", help="Restore every part but these.")
@click.option("--exact-members", is_flag=True,
              help="Also take away roles members gained since the snapshot.")
@click.option("--from-server", "from_server", default=None, metavar="SERVER",
              help="Copy the structure of another server's snapshot (roles, channels, settings, emojis, "
                   "stickers; never bans, members or messages) into this server; needs --apply or --dry-run.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask; also start a restore that exceeds Discord's caps.")
@server_options
def restore(snapshot_id: str, dry_run: bool, apply_: bool, prune_unmanaged: bool, force: bool, messages: bool,
            only: tuple[str, ...], exclude: tuple[str, ...], exact_members: bool, from_server: str | None,
            yes: bool) -> None:
    """Put a snapshot back: the state and config, and with --apply the Discord server itself (settings,
    emojis, stickers, bans, forum and voice settings, role icons, member overwrites, threads and forum
    posts included; --messages replays saved messages into re-created channels and threads)."""
    ctx = get_ctx()
    ports = ctx.app()
    chosen = parse_parts(only, exclude, messages=messages)
    plan = service.plan_restore(ports, snapshot_id, apply=apply_, dry_run=dry_run, prune_unmanaged=prune_unmanaged,
                                force=force, messages=chosen.includes("messages"), selection=chosen,
                                exact_members=exact_members, from_server=from_server)
    text = _restore_text(ctx, plan)
    if dry_run:
        ctx.out.result({"dry_run": True, "plan": plan.to_dict()}, text)
        return
    if not ctx.out.json_mode:
        ctx.out.info(text)
    what = ("Make Discord match snapshot" if apply_ else
            "Restore the state and config (Discord is not changed without --apply) of snapshot")
    ctx.confirm(f"{what} {snapshot_id}?", yes)
    with RunProgress(ctx.out, "restore") as progress:
        result = service.execute_restore(ports, plan, progress=progress, accept_caps=yes)
    data: dict[str, object] = {"dry_run": False, "plan": plan.to_dict(), "result": result.to_dict()}
    if not result.changed:
        where = "Discord and the state already match" if result.applied else "the state already holds"
        summary = (f"Nothing to restore: {where} snapshot {snapshot_id} (state serial {result.new_serial}); "
                   f"nothing was changed and no deployment was recorded.")
        undo = ""
    elif result.applied and result.apply is not None:
        a = result.apply
        summary = (f"Restored snapshot {snapshot_id} to Discord: {len(a.created)} created, {len(a.updated)} updated, "
                   f"{len(a.deleted)} deleted (state serial {a.serial}).")
        if result.extras is not None and result.extras.community is not None:
            c = result.extras.community
            summary += (f" Community: {len(c.settings)} settings, {len(c.created)} created, {len(c.updated)} updated, "
                        f"{len(c.deleted)} deleted, {c.banned} bans put back, {c.unbanned} lifted.")
        if result.extras is not None and (result.extras.structure or result.extras.threads):
            s, t = result.extras.structure, result.extras.threads
            summary += (f" {len(s.done) if s else 0} channel, overwrite and role fields set; "
                        f"{len(t.created) if t else 0} threads started, {len(t.adopted) if t else 0} found.")
        if result.extras is not None and result.extras.replay is not None:
            r = result.extras.replay
            summary += (f" {r.in_place} of {r.total} messages in place"
                        + (f" ({r.already} already there)." if r.already else "."))
        if result.members is not None and result.members.plan is not None and result.members.plan.available:
            summary += (f" Members: {result.members.changed} given back their roles and nicknames"
                        + (f", {len(result.members.left)} left the server." if result.members.left else "."))
        undo = f" Undo with: gaib server snapshot restore {result.pre_restore_snapshot_id} --apply"
    else:
        summary = (f"Restored the state and config of snapshot {snapshot_id}: state serial {result.previous_serial} "
                   f"-> {result.new_serial}.")
        undo = (f" Undo with: gaib server backup restore {result.pre_restore_backup_id}"
                if result.pre_restore_backup_id else "")
    wrote = f" Wrote {result.config_file}." if result.config_written else ""
    kept = f" Previous config kept as {result.previous_config}." if result.previous_config else ""
    text = summary + wrote + kept + undo
    if not result.applied:
        command = _apply_command(ctx, snapshot_id)
        data["apply_command"] = command
        text += f"\nDiscord was not changed; to make it match snapshot {snapshot_id}, run: {command}"
    ctx.out.result(data, text)


def _apply_command(ctx: Ctx, snapshot_id: str) -> str:
    """The command that also puts the snapshot back on Discord (naming the workspace when -w chose it)."""
    settings = ctx.settings()
    workspace = f" -w {settings.workspace}" if settings.workspace_source == "flag" else ""
    return f"gaib server snapshot restore {snapshot_id} --apply{workspace}"


@snapshot.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be removed and why; remove nothing.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@server_options
@any_workspace
def prune(dry_run: bool, yes: bool) -> None:
    """Remove the snapshots the server's tier no longer keeps (the newest always stays)."""
    from gaib.cli import prune as pruning

    pruning.run("snapshot", dry_run, yes)
