"""Threads and forum posts in a snapshot: the ``threads`` part, and putting missing ones back.

Capture reads the guild's active threads (one request) and the archived public threads of every text,
announcement, forum and media channel (one request per 100), and the first message of every forum or
media post (one request each). The part (``threads.json.gz``) holds per thread: id, parent id, name, type,
archived and locked state, auto-archive duration, slow mode, applied tags (ids and names) and, for a
post, its first message. With ``--messages N`` each thread's last N messages are saved like a channel's
(``messages/{thread_id}``).

Restore, after the channels are back (:func:`plan_threads`, :func:`execute_threads`): a saved thread whose
id is live stays as it is. A missing one is found in its parent as it is now (re-created parents through
the state) by name — a thread an interrupted restore started is taken, not started again — or started:
a post with ``POST /channels/{forum}/threads`` carrying its first message (sent by the bot) and its tags
under their ids now (matched by name: :func:`gaib.snapshots.channel_fields.tag_map`), a thread with
``POST /channels/{channel}/threads``. Its saved messages (with ``messages``; a post's first message
excepted, the post already carries it) are then replayed into it through a webhook of the parent
(:mod:`gaib.snapshots.replay`: journaled, exactly once), and last it is archived and locked as it was
(a message posted into an archived thread unarchives it). A parent that is not there (not re-created)
leaves its threads out, with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib.discord.models import ChannelType, Guild, Thread
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.iac.progress import Reporter, Tick
from gaib.interrupt import Workers
from gaib.snapshots.replay import ChannelReplay, ReplayPlan, ReplayResult, execute_replay, payloads
from gaib.snapshots.replay_journal import ReplayJournal

PART = "threads"
FILE = "threads.json.gz"
THREAD_PARENTS = (ChannelType.TEXT, ChannelType.ANNOUNCEMENT, ChannelType.FORUM, ChannelType.MEDIA)
POST_PARENTS = (ChannelType.FORUM, ChannelType.MEDIA)
ANNOUNCEMENT_THREAD, PUBLIC_THREAD = 10, 11


def read_threads(port: DiscordPort, guild: Guild, pool: Workers) -> list[Thread]:
    """The guild's active threads and the archived public ones of every channel that can hold threads."""
    parents = [c.id for c in guild.channels if c.type in THREAD_PARENTS]
    active = pool.submit(port.list_active_threads)
    archived = [pool.submit(port.list_archived_threads, cid) for cid in parents]
    seen: dict[str, Thread] = {t.id: t for t in active.result() if t.parent_id in set(parents)}
    for future in archived:
        for t in future.result():
            seen.setdefault(t.id, t)
    return sorted(seen.values(), key=lambda t: int(t.id))


def first_messages(port: DiscordPort, guild: Guild, threads: Sequence[Thread], pool: Workers) -> dict[
        str, Any]:
    """The first message of every post (a forum or media thread), by thread id (its id is the thread's; a
    post whose first message was deleted has None)."""
    posts = {c.id for c in guild.channels if c.type in POST_PARENTS}
    wanted = [t for t in threads if t.parent_id in posts]
    futures = {t.id: pool.submit(port.list_messages, t.id, limit=1, after=str(int(t.id) - 1)) for t in wanted}
    out: dict[str, Any] = {}
    for tid, future in futures.items():
        first = next(iter(future.result()), None)
        out[tid] = first if first is not None and first.id == tid else None
    return out


def thread_doc(t: Thread, tag_names: Mapping[str, str], first: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": t.id, "parent_id": t.parent_id, "name": t.name, "type": t.type, "archived": t.archived,
            "locked": t.locked, "auto_archive_duration": t.auto_archive_duration,
            "rate_limit_per_user": t.rate_limit_per_user, "applied_tags": list(t.applied_tags),
            "applied_tag_names": [tag_names.get(x, x) for x in t.applied_tags], "first_message": first}


def tag_names(guild: Guild) -> dict[str, str]:
    return {t.id: t.name for c in guild.channels for t in c.available_tags}


# --- planning ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadStep:
    """One saved thread to put back: its entry, its parent now (None: not there yet), the thread now
    (None: to be started) and its saved messages (without a post's first message)."""

    entry: Mapping[str, Any]
    parent_id: str | None
    live_id: str | None
    messages: tuple[Mapping[str, Any], ...] = ()
    state: tuple[bool, bool] | None = None
    """(archived, locked) of the thread found in its place (None: to be started)."""

    @property
    def name(self) -> str:
        return str(self.entry.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "snapshot_id": self.entry.get("id"), "parent_id": self.parent_id,
                "id": self.live_id, "action": "adopt" if self.live_id else "create",
                "messages": len(self.messages), "archived": bool(self.entry.get("archived")),
                "locked": bool(self.entry.get("locked")), "tags": list(self.entry.get("applied_tag_names") or [])}


@dataclass(frozen=True)
class ThreadsPlan:
    steps: tuple[ThreadStep, ...] = ()
    kept: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def has_work(self) -> bool:
        """Whether a thread is to be started, archived or locked, or has messages to replay: a thread an
        earlier restore re-created (adopted by name), found as saved with nothing to post, is no work."""
        return bool(self.requests()) or any(s.messages for s in self.steps)

    def requests(self) -> dict[str, int]:
        create = sum(1 for s in self.steps if s.live_id is None)
        patch = sum(1 for s in self.steps if (s.entry.get("archived") or s.entry.get("locked"))
                    and s.state != (True, bool(s.entry.get("locked"))))
        out = {"POST /channels/{channel_id}/threads": create, "PATCH /channels/{channel_id}": patch}
        return {k: v for k, v in out.items() if v}

    def to_dict(self) -> dict[str, Any]:
        return {"threads": [s.to_dict() for s in self.steps], "kept": list(self.kept), "requests": self.requests(),
                "warnings": list(self.warnings)}


def plan_threads(saved: Sequence[Mapping[str, Any]], live: Guild, live_threads: Sequence[Thread], *,
                 ids: Mapping[str, str], messages: Mapping[str, Sequence[Mapping[str, Any]]],
                 pending: Sequence[str] = ()) -> ThreadsPlan:
    """Which saved threads go back (see the module docstring). ``ids``: snapshot-time channel id → id now;
    ``pending``: snapshot-time ids of channels the restore will re-create (a dry run)."""
    channels = {c.id for c in live.channels}
    live_ids = {t.id for t in live_threads}
    steps, kept, warnings = [], [], []
    for entry in saved:
        tid, parent = str(entry.get("id")), str(entry.get("parent_id"))
        if tid in live_ids:
            kept.append(str(entry.get("name")))
            continue
        now = ids.get(parent, parent if parent in channels else None)
        if now is None and parent not in pending:
            warnings.append(f"Thread {entry.get('name')!r}: its channel is not in the server; it is left out.")
            continue
        found = next((t for t in live_threads if now is not None and t.parent_id == now
                      and t.name == entry.get("name")), None)
        first = entry.get("first_message")
        first_id = first.get("id") if isinstance(first, dict) else None
        rest = tuple(m for m in messages.get(tid, ()) if m.get("id") != first_id)
        steps.append(ThreadStep(entry, now, found.id if found else None, rest,
                                (found.archived, found.locked) if found else None))
    return ThreadsPlan(tuple(steps), tuple(kept), tuple(warnings))


# --- execution -----------------------------------------------------------------------------------------


@dataclass
class ThreadsResult:
    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    replay: ReplayResult | None = None
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "adopted": self.adopted, "failed": self.failed,
                "messages": self.replay.to_dict() if self.replay is not None else None}


def _start_body(step: ThreadStep, parent_type: int | None, tags: Mapping[str, str]) -> dict[str, Any]:
    entry = step.entry
    body: dict[str, Any] = {"name": step.name, "auto_archive_duration": int(entry.get("auto_archive_duration") or 4320)}
    if entry.get("rate_limit_per_user"):
        body["rate_limit_per_user"] = int(entry["rate_limit_per_user"])
    if parent_type in POST_PARENTS:
        first = entry.get("first_message")
        pieces = payloads(first) if isinstance(first, dict) else []
        message: dict[str, Any] = {"content": step.name}
        if pieces:
            message = {k: pieces[0][k] for k in ("content", "embeds") if pieces[0].get(k)}
        body["message"] = {**message, "allowed_mentions": {"parse": []}}
        body["applied_tags"] = [tags[t] for t in entry.get("applied_tags") or () if t in tags][:5]
    else:
        body["type"] = ANNOUNCEMENT_THREAD if parent_type == ChannelType.ANNOUNCEMENT else PUBLIC_THREAD
    return body


def execute_threads(port: DiscordPort, plan: ThreadsPlan, live: Guild, *, tags: Mapping[str, str],
                    messages: bool, progress: Reporter, reason: str, journal: ReplayJournal | None,
                    stored: Mapping[str, bytes] | None = None) -> ThreadsResult:
    """Start the missing threads, replay their messages (``stored``: attachment bytes by sha256, uploaded
    again), archive and lock them as saved; a failure is listed, never raised."""
    result = ThreadsResult()
    types = {c.id: int(c.type) for c in live.channels}
    ready: list[tuple[ThreadStep, str]] = []

    def attempt(what: str, step: Callable[[], None]) -> bool:
        try:
            step()
        except GaibError as exc:
            result.failed.append({"what": what, "code": exc.error_code, "message": exc.message})
            progress(Tick("failed", exc.message, address=what))
            return False
        return True

    for s in plan.steps:
        if s.parent_id is None:
            continue
        if s.live_id is not None:
            ready.append((s, s.live_id))
            result.adopted.append(s.name)
            continue
        made: list[str] = []

        def start(s: ThreadStep = s, made: list[str] = made) -> None:
            assert s.parent_id is not None
            made.append(port.create_thread(s.parent_id, _start_body(s, types.get(s.parent_id), tags), reason=reason,
                                           dedupe=True).id)

        if attempt(f"thread {s.name}", start):
            ready.append((s, made[0]))
            result.created.append(s.name)
            progress(Tick("done", f"thread {s.name}"))
    if messages:
        replays = tuple(ChannelReplay(str(s.entry.get("id")), s.name, s.messages, new_id, webhook_channel=s.parent_id,
                                      starter=types.get(s.parent_id or "") in POST_PARENTS)
                        for s, new_id in ready if s.messages)
        # One after another: a resumed replay removes the leftover webhooks of the parent channel, which
        # its other threads' replays would otherwise be using.
        result.replay = execute_replay(port, ReplayPlan(replays), progress=progress, reason=reason,
                                       concurrency=1, journal=journal, stored=stored)
        result.failed += result.replay.failed
    for s, new_id in ready:
        fields = {k: True for k in ("archived", "locked") if s.entry.get(k)}
        replayed = bool(result.replay and any(c.get("sent") for c in result.replay.channels if c.get("id") == new_id))
        if fields and s.state == (True, bool(s.entry.get("locked"))) and not replayed:
            continue  # found archived (and locked) as saved, and nothing was posted into it
        if fields:
            attempt(f"archive thread {s.name}", _archive(port, new_id, fields, reason))
    return result


def _archive(port: DiscordPort, thread_id: str, fields: Mapping[str, Any], reason: str) -> Callable[[], None]:
    def run() -> None:
        port.update_thread(thread_id, fields, reason=reason)
    return run
