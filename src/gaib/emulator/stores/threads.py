"""The guild's threads and forum posts, as Discord keeps them.

A thread belongs to a parent channel: text and announcement channels get threads without a first
message (public, type 11; announcement threads are type 10), forum and media channels get posts
(public threads, type 11) created with their first message, whose id is the thread's id, as on Discord.
Rules kept here: the name is 1-100 characters; ``auto_archive_duration`` one of 60, 1440, 4320, 10080;
slow mode up to 6 hours; a post carries at most 5 of its parent's tags (``applied_tags``: unknown ids
are 50035); a post needs its message (50035 ``BASE_TYPE_REQUIRED``); any other parent type is 50024.
Archiving stamps ``archive_timestamp``; a webhook message into an archived thread unarchives it, into a
locked and archived one answers 50083. Active threads are listed for the guild, archived public ones
per parent, newest archive first, paged by ``before`` (an ISO 8601 time). Deleting a parent deletes its
threads (:class:`gaib.emulator.guild.GuildState`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import Fields, require_object
from gaib.emulator.stores.audit import BOT_USER_ID
from gaib.emulator.stores.channels import MAX_SLOWMODE, ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.messages import MessageStore, stamp
from gaib.emulator.stores.records import POST_TYPES, DataFileError

PUBLIC_THREAD, ANNOUNCEMENT_THREAD = 11, 10
THREAD_ARCHIVED = 50083
THREAD_PARENTS = frozenset({0, 5, *POST_TYPES})


@dataclass
class ThreadRec:
    id: str
    parent_id: str
    name: str
    type: int = PUBLIC_THREAD
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320
    archive_timestamp: str = ""
    create_timestamp: str = ""
    rate_limit_per_user: int = 0
    applied_tags: list[str] = field(default_factory=list)
    flags: int = 0

    def to_api(self, guild_id: str, message_count: int) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.type, "flags": self.flags, "guild_id": guild_id, "name": self.name,
            "parent_id": self.parent_id, "owner_id": BOT_USER_ID, "last_message_id": None,
            "rate_limit_per_user": self.rate_limit_per_user,
            "thread_metadata": {"archived": self.archived, "archive_timestamp": self.archive_timestamp,
                                "auto_archive_duration": self.auto_archive_duration, "locked": self.locked,
                                "create_timestamp": self.create_timestamp},
            "message_count": message_count, "member_count": 1, "total_message_sent": message_count,
            "applied_tags": list(self.applied_tags),
        }

    @classmethod
    def from_json(cls, data: Any) -> ThreadRec:
        try:
            rec = cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise DataFileError(f"malformed thread ({type(exc).__name__})") from None
        if not all(isinstance(getattr(rec, k), str) for k in ("id", "parent_id", "name", "archive_timestamp")):
            raise DataFileError("malformed thread")
        return rec


class ThreadStore:
    """Threads by id; their messages live in the message store's history under the thread's id."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore, messages: MessageStore) -> None:
        self.ctx = ctx
        self.channels = channels
        self.messages = messages
        self.by_id: dict[str, ThreadRec] = {}

    def reset(self) -> None:
        self.by_id = {}

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self.by_id

    def _shown(self, thread: ThreadRec) -> dict[str, Any]:
        return thread.to_api(self.ctx.guild_id, len(self.messages.history.get(thread.id, [])))

    def find(self, thread_id: str) -> ThreadRec:
        thread = self.by_id.get(thread_id)
        if thread is None:
            raise E.unknown(E.UNKNOWN_CHANNEL)
        return thread

    def get(self, thread_id: str) -> dict[str, Any]:
        return self._shown(self.find(thread_id))

    def _tags(self, errs: FormErrors, f: Fields, parent_id: str) -> list[str] | None:
        raw = f.array("applied_tags", L.APPLIED_TAGS_MAX)
        if not isinstance(raw, list):
            return None
        known = {str(t["id"]) for t in self.channels.find(parent_id).available_tags}
        out = []
        for i, tag in enumerate(raw):
            if not isinstance(tag, str) or tag not in known:
                errs.add(("applied_tags", i), "BASE_TYPE_CHOICES", "Unknown tag.")
            else:
                out.append(tag)
        return out

    def create(self, parent_id: str, body: Any) -> dict[str, Any]:
        """POST /channels/{parent}/threads (201): a thread, or a post with its first message."""
        parent = self.channels.find(parent_id)
        if parent.type not in THREAD_PARENTS:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        name = f.string("name", 1, 100, required=True, nullable=False)
        duration = f.integer("auto_archive_duration", choices=L.AUTO_ARCHIVE_DURATIONS)
        slowmode = f.integer("rate_limit_per_user", 0, MAX_SLOWMODE)
        kind = f.integer("type", choices=(10, 11, 12))
        post = parent.type in POST_TYPES
        message = f.obj("message") if post else None
        tags = self._tags(errs, f, parent_id) if post else None
        content = None
        if post:
            if not isinstance(message, dict):
                errs.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            else:
                content = Fields(message, errs, ("message",)).string("content", 0, L.MESSAGE_CONTENT_MAX)
                if not (isinstance(content, str) and content.strip()) and not message.get("embeds"):
                    errs.add(("message",), "BASE_TYPE_REQUIRED", "Cannot send an empty message")
        errs.raise_if_any()
        now = stamp(self.ctx.clock())
        thread = ThreadRec(
            id=self.ctx.ids.next(), parent_id=parent_id, name=str(name),
            type=ANNOUNCEMENT_THREAD if parent.type == 5 else (kind if kind == 12 else PUBLIC_THREAD),
            auto_archive_duration=duration if isinstance(duration, int) else (
                parent.default_auto_archive_duration or 4320),
            archive_timestamp=now, create_timestamp=now,
            rate_limit_per_user=slowmode if isinstance(slowmode, int) else parent.default_thread_rate_limit_per_user,
            applied_tags=tags or [])
        self.by_id[thread.id] = thread
        shown = self._shown(thread)
        if post and isinstance(message, dict):
            first = self.messages.starter(thread.id, str(content or ""), message.get("embeds"))
            shown["message"] = first
            shown.update(message_count=1, total_message_sent=1)
        self.ctx.changed()
        return shown

    def update(self, thread_id: str, body: Any) -> dict[str, Any]:
        """PATCH /channels/{thread}: name, archived, locked, auto-archive, slow mode, applied tags, flags."""
        thread = self.find(thread_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        name = f.string("name", 1, 100, nullable=False)
        archived, locked = f.boolean("archived", nullable=False), f.boolean("locked", nullable=False)
        duration = f.integer("auto_archive_duration", choices=L.AUTO_ARCHIVE_DURATIONS)
        slowmode = f.integer("rate_limit_per_user", 0, MAX_SLOWMODE)
        flags = f.integer("flags", 0, 2**31 - 1)
        parent = self.channels.find(thread.parent_id)
        tags = self._tags(errs, f, thread.parent_id) if parent.type in POST_TYPES else None
        errs.raise_if_any()
        if isinstance(name, str):
            thread.name = name
        if isinstance(archived, bool) and archived != thread.archived:
            thread.archived = archived
            thread.archive_timestamp = stamp(self.ctx.clock())
        if isinstance(locked, bool):
            thread.locked = locked
        if isinstance(duration, int):
            thread.auto_archive_duration = duration
        if isinstance(slowmode, int):
            thread.rate_limit_per_user = slowmode
        if isinstance(flags, int):
            thread.flags = flags
        if tags is not None:
            thread.applied_tags = tags
        self.ctx.changed()
        return self._shown(thread)

    def delete(self, thread_id: str) -> dict[str, Any]:
        thread = self.find(thread_id)
        shown = self._shown(thread)
        del self.by_id[thread_id]
        self.messages.forget_channel(thread_id)
        self.ctx.changed()
        return shown

    def active(self) -> dict[str, Any]:
        """GET /guilds/{id}/threads/active: every thread not archived (ThreadsResponse)."""
        threads = sorted((t for t in self.by_id.values() if not t.archived), key=lambda t: int(t.id))
        return {"threads": [self._shown(t) for t in threads], "members": [], "has_more": False}

    def archived_public(self, parent_id: str, query: dict[str, str]) -> dict[str, Any]:
        """GET /channels/{parent}/threads/archived/public: newest archive first, ``before`` an ISO 8601
        time, ``limit`` 2-100 (default 50)."""
        parent = self.channels.find(parent_id)
        if parent.type not in THREAD_PARENTS:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        errs = FormErrors()
        limit = 50
        raw = query.get("limit")
        if raw is not None:
            if not raw.isdigit() or not 2 <= int(raw) <= L.ARCHIVED_THREADS_PAGE:
                errs.add(("limit",), "NUMBER_TYPE_MAX", f"int value should be between 2 and {L.ARCHIVED_THREADS_PAGE}.")
            else:
                limit = int(raw)
        before: datetime | None = None
        if "before" in query:
            try:
                before = datetime.fromisoformat(query["before"])
            except ValueError:
                errs.add(("before",), "DATE_TYPE_PARSE", "Could not parse the date.")
        errs.raise_if_any()
        threads = [t for t in self.by_id.values() if t.parent_id == parent_id and t.archived and t.type != 12
                   and (before is None or datetime.fromisoformat(t.archive_timestamp) < before)]
        threads.sort(key=lambda t: (t.archive_timestamp, int(t.id)), reverse=True)
        page = threads[:limit]
        return {"threads": [self._shown(t) for t in page], "members": [], "has_more": len(threads) > limit}

    def accepting(self, thread_id: str, channel_id: str) -> str:
        """Where a webhook of channel ``channel_id`` posts with ``thread_id``: the thread (10003 unless it is
        a thread of that channel; 50083 when archived and locked; an archived one is unarchived)."""
        thread = self.by_id.get(thread_id)
        if thread is None or thread.parent_id != channel_id:
            raise E.unknown(E.UNKNOWN_CHANNEL)
        if thread.archived and thread.locked:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived")
        if thread.archived:
            thread.archived = False
            thread.archive_timestamp = stamp(self.ctx.clock())
        return thread.id

    def forget_parent(self, channel_id: str) -> None:
        """Part of deleting a channel: its threads and their messages go with it."""
        for tid in [t.id for t in self.by_id.values() if t.parent_id == channel_id]:
            del self.by_id[tid]
            self.messages.forget_channel(tid)

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(t) for t in self.by_id.values()]
