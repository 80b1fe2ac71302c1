"""Replaying a snapshot's saved messages into channels a restore re-created, exactly once.

Only channels whose snapshot-time id no longer exists are replayed into (they were re-created by the
restore). Per channel the replay keeps a journal (:mod:`gaib.snapshots.replay_journal`: snapshot message
→ new message, written as each send is acknowledged). Without one, the channel must still be empty (a
channel that holds history nobody replayed is never written to); the journal is written, then a temporary
webhook posts the messages oldest first (one after another, so their order is kept), then the webhook is
deleted, also when a message failed or the run was interrupted (Ctrl-C). With one (an earlier run was cut
off), the replay resumes: webhooks named "Gaib restore" an interrupted run left in the channel are
deleted, the messages posted after the last acknowledged one are read and those that are the next sends
(same content, same display name, posted by a webhook) are counted as in place, and only what is left is
sent. Each send asks the client to look before it posts again after a lost answer (``execute_webhook``
with ``dedupe_channel``), and the webhook is created the same way, so dropped answers never duplicate
anything. Channels are replayed concurrently. A thread (:mod:`gaib.snapshots.threads`) is replayed the same way
through a webhook of its parent channel (``thread_id``); a forum post's first message does not count
as history already there. The result says, per channel and in all, how many saved
messages are in place and how many were already there.

Each saved message becomes one or more webhook messages under the author's display name and avatar
(names Discord refuses for webhooks are adjusted): content longer than 2000 characters is split at a
line or word break, attachments stored with the snapshot are uploaded
again (others linked by URL), rich embeds are kept (at most 10). Every message is
sent with ``allowed_mentions: {"parse": []}`` and the silent flag, so a replay pings nobody, whatever the
content says (``@everyone``, role and user mentions). Discord's limits apply per webhook (5 per 2 s) and
per channel (30 per minute): the client waits for them, and :meth:`ReplayPlan.time_floor` says how long
that takes at least.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib import interrupt
from gaib.discord import limits as L
from gaib.discord.community import Message
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordError, DiscordNotFound, GaibError
from gaib.iac.progress import Reporter, Tick
from gaib.snapshots.attachments import FILES_KEY, files_of, upload
from gaib.snapshots.replay_journal import ChannelLog, ReplayJournal

WEBHOOK_NAME = "Gaib restore"
SUPPRESS_NOTIFICATIONS = 1 << 12
NO_PINGS: dict[str, Any] = {"parse": []}
MAX_NAME = 80
_EMBED_KEYS = ("title", "description", "url", "timestamp", "color", "footer", "author", "fields", "image",
               "thumbnail")
_NAME_FIXES = (("```", ""), ("@", ""), ("#", ""), (":", ""))


def webhook_username(author: Mapping[str, Any]) -> str:
    """The author's display name as a webhook may use it (1-80 characters; no ``discord``/``clyde``)."""
    name = str(author.get("global_name") or author.get("username") or "").strip()
    for bad, good in _NAME_FIXES:
        name = name.replace(bad, good)
    lowered = name.casefold()
    for word in ("discord", "clyde"):
        while word in lowered:  # "Discord" -> "Dis-cord": the letters and their case are kept
            at = lowered.index(word) + 3
            name = name[:at] + "-" + name[at:]
            lowered = name.casefold()
    name = " ".join(name.split())[:MAX_NAME].strip()
    if name.casefold() in ("everyone", "here", ""):
        name = f"{name} (user)".strip() if name else "Unknown user"
    return name


def split_content(text: str, limit: int = L.MESSAGE_CONTENT_MAX) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters whose concatenation is ``text``, each cut after a
    line break, else after a space, else at the limit (no break in the second half of the piece)."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit) + 1
        if cut <= limit // 2:
            cut = text.rfind(" ", 0, limit) + 1
        if cut <= limit // 2:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def _embeds(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for embed in message.get("embeds") or ():
        if isinstance(embed, dict) and embed.get("type", "rich") == "rich":
            kept = {k: embed[k] for k in _EMBED_KEYS if k in embed}
            if kept:
                out.append(kept)
    return out[:L.MESSAGE_EMBEDS_MAX]


def payloads(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The webhook messages one saved message becomes (none for a message with nothing to show)."""
    raw = message.get("author")
    author: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    text = str(message.get("content") or "")
    links = [str(a.get("url")) for a in message.get("attachments") or ()
             if isinstance(a, dict) and a.get("url") and not a.get("sha256")]  # stored files are uploaded
    if links:
        text = (text + "\n" if text else "") + "\n".join(links)
    pieces = split_content(text)
    embeds = _embeds(message)
    files = files_of(message)[:L.MESSAGE_FILES_MAX]
    if not pieces and not embeds and not files:
        return []
    base: dict[str, Any] = {"username": webhook_username(author), "allowed_mentions": NO_PINGS,
                            "flags": SUPPRESS_NOTIFICATIONS}
    avatar = str(author.get("avatar_url") or "")
    if avatar.startswith("https://") and len(avatar) <= 2048:
        base["avatar_url"] = avatar
    out = [{**base, "content": piece} for piece in pieces] or [dict(base)]
    if embeds:
        out[-1]["embeds"] = embeds
    if files:
        out[-1][FILES_KEY] = files
    return out


@dataclass(frozen=True)
class ChannelReplay:
    """One channel to replay into: its id then, its name, its messages (oldest first) and its id now
    (None while the restore has not re-created it)."""

    old_id: str
    name: str
    messages: tuple[Mapping[str, Any], ...]
    new_id: str | None = None
    already: int = 0
    """Webhook messages an interrupted replay already posted (from its journal; plans only)."""
    webhook_channel: str | None = None
    """For a thread: the channel whose webhook posts into it (``new_id`` is the thread)."""
    starter: bool = False
    """A forum post: its first message (id = the thread's) is there from the start, not replayed."""

    def sends(self) -> list[dict[str, Any]]:
        return [p for m in self.messages for p in payloads(m)]

    def keyed(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(message key, send key, payload) of every webhook message, oldest first: the send key is
        ``{snapshot message id}.{piece}`` (the message's position when it has no id)."""
        out = []
        for i, message in enumerate(self.messages):
            mkey = str(message.get("id") or f"i{i}")
            out += [(mkey, f"{mkey}.{n}", p) for n, p in enumerate(payloads(message))]
        return out

    @property
    def to_send(self) -> int:
        return max(0, len(self.sends()) - self.already)


@dataclass(frozen=True)
class ReplayPlan:
    channels: tuple[ChannelReplay, ...] = ()
    kept: tuple[str, ...] = ()
    """Names of channels with saved messages that still exist (their history is where it was)."""

    def requests(self) -> dict[str, int]:
        n = len(self.channels)
        if not n:
            return {}
        return {"GET /channels/{channel_id}/messages": n, "POST /channels/{channel_id}/webhooks": n,
                "POST /webhooks/{webhook_id}/{webhook_token}": sum(c.to_send for c in self.channels),
                "DELETE /webhooks/{webhook_id}": n}

    def time_floor(self) -> float:
        """Seconds the webhook limits impose at least (channels run side by side)."""
        return max((max(L.time_floor(c.to_send, L.WEBHOOK_EXECUTES),
                        L.time_floor(c.to_send, L.WEBHOOK_CHANNEL_MESSAGES)) for c in self.channels),
                   default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": [{"name": c.name, "snapshot_id": c.old_id, "id": c.new_id, "messages": len(c.messages),
                              "sends": c.to_send, "already": c.already} for c in self.channels],
                "kept": list(self.kept), "requests": self.requests(), "time_floor_seconds": self.time_floor()}


def plan_replay(saved: Mapping[str, Sequence[Mapping[str, Any]]], names: Mapping[str, str], *,
                live_channels: Sequence[str], ids: Mapping[str, str] | None = None,
                journal: ReplayJournal | None = None) -> ReplayPlan:
    """Channels whose messages go back: saved ones whose snapshot-time id is not live (``ids`` gives the
    id of the channel re-created in its place, once there is one). With ``journal``, what an interrupted
    replay posted into a channel that still exists counts as already there."""
    live = set(live_channels)
    targets, kept = [], []
    for old_id in sorted(saved, key=int):
        name = names.get(old_id, old_id)
        if old_id in live:
            kept.append(name)
            continue
        new_id = (ids or {}).get(old_id)
        if ids is not None and new_id is None:
            continue  # not re-created (a cap held it back): nothing to replay into
        log = journal.read(old_id) if journal is not None else None
        already = len(log.sent) if log is not None and log.channel_id in live and new_id in (None, log.channel_id) \
            else 0
        targets.append(ChannelReplay(old_id, name, tuple(saved[old_id]), new_id, already))
    return ReplayPlan(tuple(targets), tuple(kept))


@dataclass
class ReplayResult:
    channels: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(int(c.get("sent", 0)) for c in self.channels)

    def _total(self, key: str) -> int:
        return sum(int(c.get(key, 0)) for c in self.channels)

    @property
    def in_place(self) -> int:
        """Saved messages every piece of which is in its channel now."""
        return self._total("in_place")

    @property
    def total(self) -> int:
        """Saved messages with something to show, in the channels replayed into (or skipped)."""
        return self._total("total")

    @property
    def already(self) -> int:
        """Saved messages an interrupted run had put in place before this one started."""
        return self._total("already")

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "sent": self.sent, "in_place": self.in_place, "total": self.total,
                "already": self.already, "failed": self.failed}


def _matches(message: Message, payload: Mapping[str, Any]) -> bool:
    """Whether a message in the channel is what posting ``payload`` through a webhook made."""
    return (message.webhook_id is not None and message.author.username == payload.get("username")
            and message.content.strip() == str(payload.get("content") or "").strip()
            and len(message.embeds) == len(payload.get("embeds") or []))


def _reconcile(port: DiscordPort, channel_id: str, log: ChannelLog,
               todo: list[tuple[str, str, dict[str, Any]]]) -> bool:
    """Count as sent the next sends an interrupted run posted after its last acknowledged one (read in
    the channel, in order); True when any was found."""
    after = log.last() or channel_id
    posted = sorted(port.list_messages(channel_id, limit=L.MESSAGE_PAGE, after=after), key=lambda m: int(m.id))
    found, i = False, 0
    for message in posted:
        if i < len(todo) and _matches(message, todo[i][2]):
            log.sent[todo[i][1]] = message.id
            found, i = True, i + 1
    return found


def _remove_leftover_hooks(port: DiscordPort, channel_id: str, reason: str) -> None:
    """Delete the webhooks an interrupted replay left in the channel (named :data:`WEBHOOK_NAME`)."""
    for hook in port.list_webhooks(channel_id):
        if hook.name == WEBHOOK_NAME:
            with contextlib.suppress(DiscordNotFound):  # a retried delete that found it gone succeeded
                port.delete_webhook(hook.id, reason=reason)


def _replay_one(port: DiscordPort, target: ChannelReplay, progress: Reporter, reason: str,
                journal: ReplayJournal | None, stored: Mapping[str, bytes]) -> dict[str, Any]:
    assert target.new_id is not None
    keyed = target.keyed()
    messages = {m for m, _, _ in keyed}
    row: dict[str, Any] = {"name": target.name, "id": target.new_id, "messages": len(target.messages),
                           "total": len(messages), "sent": 0, "in_place": 0, "already": 0}
    log = journal.read(target.old_id) if journal is not None else None
    hook_channel = target.webhook_channel or target.new_id
    thread = target.new_id if target.webhook_channel else None
    if log is not None and log.channel_id != target.new_id:
        log = None  # the channel was re-created again since: that replay's messages went with it
    if log is None:
        held = port.list_messages(target.new_id, limit=2)
        if [m for m in held if not (target.starter and m.id == target.new_id)]:
            row["skipped"] = "the channel is not empty"
            progress(Tick("note", f"#{target.name} already holds messages; not replaying into it."))
            return row
        log = ChannelLog(target.old_id, target.new_id, target.name, len(keyed))
        if journal is not None:
            journal.write(log)  # before the webhook exists: a re-run knows this replay started
    else:
        _remove_leftover_hooks(port, hook_channel, reason)
        if _reconcile(port, target.new_id, log, [k for k in keyed if k[1] not in log.sent]) and journal:
            journal.write(log)

    def in_place() -> int:
        return sum(1 for m in messages if all(s in log.sent for mk, s, _ in keyed if mk == m))

    row["already"] = in_place()
    todo = [k for k in keyed if k[1] not in log.sent]
    if todo:
        hook = port.create_webhook(hook_channel, WEBHOOK_NAME, reason=reason, dedupe=True)
        try:
            for _, key, payload in todo:
                body, files = upload(payload, stored)
                posted = port.execute_webhook(hook.url, body, wait=True, dedupe_channel=target.new_id,
                                              dedupe_after=log.last(), thread_id=thread, files=files)
                mid = posted.get("id") if isinstance(posted, dict) else None
                if not isinstance(mid, str) or not mid.isdigit():
                    raise DiscordError("Discord did not return the message a webhook posted.")
                log.sent[key] = mid
                row["sent"] += 1
                if journal is not None:
                    journal.write(log)
        finally:
            row["in_place"] = in_place()
            # Also after Ctrl-C (the temporary webhook is never left behind); a retried delete that found
            # it gone succeeded.
            with interrupt.finishing(), contextlib.suppress(DiscordNotFound):
                port.delete_webhook(hook.id, reason=reason)
    row["in_place"] = in_place()
    progress(Tick("done", f"#{target.name}: {row['in_place']} of {row['total']} messages in place"
                  + (f" ({row['already']} already there)" if row["already"] else "")))
    return row


def execute_replay(port: DiscordPort, plan: ReplayPlan, *, progress: Reporter, reason: str,
                   concurrency: int = 4, journal: ReplayJournal | None = None,
                   stored: Mapping[str, bytes] | None = None) -> ReplayResult:
    """Replay every planned channel (see the module docstring); a failure is listed, never raised.
    ``stored``: the verified bytes of stored attachments by sha256, uploaded with their messages."""
    result = ReplayResult()
    todo = [c for c in plan.channels if c.new_id is not None]

    def run(target: ChannelReplay) -> None:
        try:
            result.channels.append(_replay_one(port, target, progress, reason, journal, stored or {}))
        except GaibError as exc:
            result.failed.append({"what": f"replay into #{target.name}", "code": exc.error_code,
                                  "message": exc.message})
            progress(Tick("failed", exc.message, address=f"#{target.name}"))

    if not todo:
        return result
    with interrupt.Workers(max_workers=max(1, min(concurrency, len(todo))), thread_name_prefix="gaib-replay") as pool:
        list(pool.map(run, todo))
    return result
