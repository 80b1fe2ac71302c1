"""Replaying a snapshot's saved messages into channels a restore re-created.

Only channels whose snapshot-time id no longer exists are replayed into (they were re-created by the
restore), and only when the re-created channel is still empty: a channel that holds history is never
written to, so running a restore again never duplicates a replay. Per channel: one read to check it is
empty, a temporary webhook, the messages oldest first (one after another, so their order is kept), then
the webhook is deleted, also when a message failed or the run was interrupted (Ctrl-C). Channels are
replayed concurrently.

Each saved message becomes one or more webhook messages under the author's display name and avatar
(names Discord refuses for webhooks are adjusted): content longer than 2000 characters is split at a
line or word break, attachments are linked by URL, rich embeds are kept (at most 10). Every message is
sent with ``allowed_mentions: {"parse": []}`` and the silent flag, so a replay pings nobody, whatever the
content says (``@everyone``, role and user mentions). Discord's limits apply per webhook (5 per 2 s) and
per channel (30 per minute): the client waits for them, and :meth:`ReplayPlan.time_floor` says how long
that takes at least.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib import interrupt
from gaib.discord import limits as L
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.iac.progress import Reporter, Tick

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
    links = [str(a.get("url")) for a in message.get("attachments") or () if isinstance(a, dict) and a.get("url")]
    if links:
        text = (text + "\n" if text else "") + "\n".join(links)
    pieces = split_content(text)
    embeds = _embeds(message)
    if not pieces and not embeds:
        return []
    base: dict[str, Any] = {"username": webhook_username(author), "allowed_mentions": NO_PINGS,
                            "flags": SUPPRESS_NOTIFICATIONS}
    avatar = str(author.get("avatar_url") or "")
    if avatar.startswith("https://") and len(avatar) <= 2048:
        base["avatar_url"] = avatar
    out = [{**base, "content": piece} for piece in pieces] or [dict(base)]
    if embeds:
        out[-1]["embeds"] = embeds
    return out


@dataclass(frozen=True)
class ChannelReplay:
    """One channel to replay into: its id then, its name, its messages (oldest first) and its id now
    (None while the restore has not re-created it)."""

    old_id: str
    name: str
    messages: tuple[Mapping[str, Any], ...]
    new_id: str | None = None

    def sends(self) -> list[dict[str, Any]]:
        return [p for m in self.messages for p in payloads(m)]


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
                "POST /webhooks/{webhook_id}/{webhook_token}": sum(len(c.sends()) for c in self.channels),
                "DELETE /webhooks/{webhook_id}": n}

    def time_floor(self) -> float:
        """Seconds the webhook limits impose at least (channels run side by side)."""
        return max((max(L.time_floor(len(c.sends()), L.WEBHOOK_EXECUTES),
                        L.time_floor(len(c.sends()), L.WEBHOOK_CHANNEL_MESSAGES)) for c in self.channels),
                   default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": [{"name": c.name, "snapshot_id": c.old_id, "id": c.new_id, "messages": len(c.messages),
                              "sends": len(c.sends())} for c in self.channels],
                "kept": list(self.kept), "requests": self.requests(), "time_floor_seconds": self.time_floor()}


def plan_replay(saved: Mapping[str, Sequence[Mapping[str, Any]]], names: Mapping[str, str], *,
                live_channels: Sequence[str], ids: Mapping[str, str] | None = None) -> ReplayPlan:
    """Channels whose messages go back: saved ones whose snapshot-time id is not live (``ids`` gives the
    id of the channel re-created in its place, once there is one)."""
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
        targets.append(ChannelReplay(old_id, name, tuple(saved[old_id]), new_id))
    return ReplayPlan(tuple(targets), tuple(kept))


@dataclass
class ReplayResult:
    channels: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(int(c.get("sent", 0)) for c in self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "sent": self.sent, "failed": self.failed}


def _replay_one(port: DiscordPort, target: ChannelReplay, progress: Reporter, reason: str) -> dict[str, Any]:
    assert target.new_id is not None
    row: dict[str, Any] = {"name": target.name, "id": target.new_id, "messages": len(target.messages), "sent": 0}
    if port.list_messages(target.new_id, limit=1):
        row["skipped"] = "the channel is not empty"
        progress(Tick("note", f"#{target.name} already holds messages; not replaying into it."))
        return row
    hook = port.create_webhook(target.new_id, WEBHOOK_NAME, reason=reason)
    try:
        for payload in target.sends():
            port.execute_webhook(hook.url, payload, wait=True)
            row["sent"] += 1
    finally:
        with interrupt.finishing():  # also after Ctrl-C: the temporary webhook is never left behind
            port.delete_webhook(hook.id, reason=reason)
    progress(Tick("done", f"replayed {len(target.messages)} messages into #{target.name}"))
    return row


def execute_replay(port: DiscordPort, plan: ReplayPlan, *, progress: Reporter, reason: str,
                   concurrency: int = 4) -> ReplayResult:
    """Replay every planned channel (see the module docstring); a failure is listed, never raised."""
    result = ReplayResult()
    todo = [c for c in plan.channels if c.new_id is not None]

    def run(target: ChannelReplay) -> None:
        try:
            result.channels.append(_replay_one(port, target, progress, reason))
        except GaibError as exc:
            result.failed.append({"what": f"replay into #{target.name}", "code": exc.error_code,
                                  "message": exc.message})
            progress(Tick("failed", exc.message, address=f"#{target.name}"))

    if not todo:
        return result
    with interrupt.Workers(max_workers=max(1, min(concurrency, len(todo))), thread_name_prefix="gaib-replay") as pool:
        list(pool.map(run, todo))
    return result
