"""Reading what a community would lose from Discord and turning it into snapshot parts.

:func:`capture` reads the guild's emojis, stickers and bans (three requests sent together, and one
more per 1000 bans; the settings come with the guild ``get_guild`` read, so the guild object is read
once), downloads every image from Discord's CDN and stores it in the media store (content-addressed:
an image already stored adds nothing), and, when asked, the last ``messages`` messages of every text
and announcement channel not excluded (100 per request, channels read concurrently). It also keeps what
the config does not hold of roles and channels (:mod:`gaib.snapshots.channel_fields`: forum tags, voice
settings, member overwrites, role icons and colours), the threads and forum posts
(:mod:`gaib.snapshots.threads`), with ``messages`` their last messages too, and the safety parts
(:mod:`gaib.snapshots.safety.capture`: AutoMod, onboarding, welcome screen, events, soundboard, five more
requests, event covers and sounds stored like images). It returns the
parts' plain bytes, the manifest's counts and ``extra`` entries, and the images (so the writer can
check they are still stored once its catalog item exists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gaib.bundles.media import MediaStore, media_entry
from gaib.discord import limits as L
from gaib.discord.community import (
    CHANNEL_SETTINGS,
    DISCORD_CDN,
    GUILD_IMAGES,
    Ban,
    Emoji,
    GuildSettings,
    Message,
    Sticker,
    avatar_url,
    emoji_path,
    guild_image_path,
    image_type,
    sticker_path,
)
from gaib.discord.models import ChannelType, Guild
from gaib.discord.port import DiscordPort
from gaib.interrupt import Workers
from gaib.snapshots import threads as thread_parts
from gaib.snapshots.channel_fields import capture_structure
from gaib.snapshots.parts import (
    FORMAT_VERSION,
    HISTORY_TYPES,
    dumps,
    dumps_lines,
    excluded,
    messages_part,
)
from gaib.snapshots.safety.capture import capture as capture_safety

T = TypeVar("T")
MAX_WORKERS = 8


@dataclass
class Captured:
    """Parts (name → plain bytes), counts and manifest ``extra`` of the community side of a snapshot."""

    parts: dict[str, bytes]
    counts: dict[str, int]
    extra: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict)

    @property
    def media_added(self) -> int:
        return int(self.extra.get("media_added", 0))


def _message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id, "type": m.type, "timestamp": m.timestamp, "edited_timestamp": m.edited_timestamp,
        "author": {"id": m.author.id, "username": m.author.username, "global_name": m.author.global_name,
                   "avatar_url": avatar_url(DISCORD_CDN, m.author), "bot": m.author.bot},
        "content": m.content, "embeds": list(m.embeds), "webhook_id": m.webhook_id,
        "attachments": [{"filename": a.filename, "url": a.url, "size": a.size, "content_type": a.content_type}
                        for a in m.attachments],
    }


class _Images:
    """Downloads images and stores them once; remembers what each one is."""

    def __init__(self, port: DiscordPort, media: MediaStore, tags: Mapping[str, str]) -> None:
        self.port, self.media, self.tags = port, media, tags
        self.entries: dict[str, dict[str, Any]] = {}
        self.images: dict[str, bytes] = {}
        self.added: set[str] = set()

    def fetch(self, path: str, max_bytes: int) -> tuple[bytes, str]:
        data = self.port.cdn_get(path, max_bytes=max_bytes)
        stored = self.media.put(data, tags=self.tags)
        if stored.added:
            self.added.add(stored.sha256)
        return data, stored.sha256

    def note(self, data: bytes, digest: str) -> dict[str, Any]:
        if digest not in self.entries:
            self.entries[digest] = media_entry(len(data), image_type(data))
            self.images[digest] = data
        return {"sha256": digest, "size": len(data), "type": self.entries[digest]["type"]}


def _given(settings: GuildSettings) -> Callable[[], GuildSettings]:
    return lambda: settings


def _run(pool: Workers, jobs: Sequence[Callable[[], T]]) -> list[T]:
    return [f.result() for f in [pool.submit(job) for job in jobs]]


def capture(port: DiscordPort, guild: Guild, media: MediaStore, *, messages: int = 0,
            exclude: Sequence[str] = (), tags: Mapping[str, str] | None = None,
            workers: int = MAX_WORKERS) -> Captured:
    """Read and store everything but the roles and channels (see the module docstring)."""
    images = _Images(port, media, tags or {})
    with Workers(max_workers=max(1, workers), thread_name_prefix="gaib-snapshot") as pool:
        # The guild object read with the roles carries the settings: no second GET /guilds/{id}.
        known = guild.settings
        f_settings = pool.submit(port.get_guild_settings if known is None else _given(known))
        f_emojis = pool.submit(port.list_emojis)
        f_stickers = pool.submit(port.list_stickers)
        f_bans = pool.submit(port.list_bans)
        settings: GuildSettings = f_settings.result()
        emojis: list[Emoji] = f_emojis.result()
        stickers: list[Sticker] = f_stickers.result()
        bans: list[Ban] = f_bans.result()

        def job(path: str, limit: int) -> Callable[[], tuple[bytes, str]]:
            return lambda: images.fetch(path, limit)

        paths = [(emoji_path(e), L.EMOJI_MAX_BYTES) for e in emojis]
        paths += [(sticker_path(s), L.STICKER_MAX_BYTES) for s in stickers]
        paths += [(guild_image_path(k, guild.id, getattr(settings, k)), L.GUILD_IMAGE_MAX_BYTES)
                  for k in GUILD_IMAGES if getattr(settings, k)]
        fetched = _run(pool, [job(path, limit) for path, limit in paths])

        categories = {c.id: c.name for c in guild.channels if c.type == ChannelType.CATEGORY}
        history = [c for c in guild.channels if c.type in HISTORY_TYPES]
        skipped = [c for c in history if excluded(c, categories, exclude)]
        wanted = [c for c in history if c not in skipped] if messages > 0 else []
        def history_of(channel_id: str) -> Callable[[], list[Message]]:
            return lambda: port.list_messages(channel_id, limit=messages)

        read = _run(pool, [history_of(c.id) for c in wanted])
        threads = thread_parts.read_threads(port, guild, pool)
        firsts = thread_parts.first_messages(port, guild, threads, pool)
        skipped_ids = {c.id for c in skipped}
        thread_wanted = [t for t in threads if t.parent_id not in skipped_ids] if messages > 0 else []
        thread_read = _run(pool, [history_of(t.id) for t in thread_wanted])
        safety = capture_safety(port, guild, settings.features, pool, images.fetch, images.note)
    got = iter(fetched)
    emoji_docs, sticker_docs = [], []
    role_names = {r.id: r.name for r in guild.roles}
    for e in emojis:
        data, digest = next(got)
        emoji_docs.append({"id": e.id, "name": e.name, "roles": list(e.roles), "animated": e.animated,
                           "role_names": [role_names.get(r, r) for r in e.roles], **images.note(data, digest)})
    for s in stickers:
        data, digest = next(got)
        sticker_docs.append({"id": s.id, "name": s.name, "tags": s.tags, "description": s.description,
                             "format_type": s.format_type, **images.note(data, digest)})
    pictures: dict[str, Any] = dict.fromkeys(GUILD_IMAGES)
    for key, value in ((k, getattr(settings, k)) for k in GUILD_IMAGES):
        if value:
            data, digest = next(got)
            pictures[key] = {"hash": value, **images.note(data, digest)}
    structure, member_overwrites = capture_structure(guild, images.fetch, images.note)
    tags = thread_parts.tag_names(guild)
    thread_docs = [thread_parts.thread_doc(t, tags, _message(firsts[t.id]) if firsts.get(t.id) else None)
                   for t in threads]
    names = {c.id: c.name for c in guild.channels}
    guild_doc = {
        "format_version": FORMAT_VERSION, "id": settings.id, "name": settings.name,
        "settings": settings.restorable(), **pictures, "premium_tier": settings.premium_tier,
        "features": list(settings.features),
        "channel_names": {v: names.get(v, v) for v in (getattr(settings, k) for k in CHANNEL_SETTINGS) if v},
    }
    parts: dict[str, bytes] = {
        "guild": dumps(guild_doc),
        "emojis": dumps({"format_version": FORMAT_VERSION, "emojis": emoji_docs}),
        "stickers": dumps({"format_version": FORMAT_VERSION, "stickers": sticker_docs}),
        "bans": dumps({"format_version": FORMAT_VERSION, "bans": [
            {"user_id": b.user_id, "username": b.username, "global_name": b.global_name, "reason": b.reason}
            for b in bans]}),
        "structure": dumps(structure),
        "threads": dumps({"format_version": FORMAT_VERSION, "threads": thread_docs}),
    }
    index: dict[str, Any] = {}
    total = 0
    for channel, page in zip(wanted, read, strict=True):
        oldest_first = sorted(page, key=lambda m: int(m.id))
        parts[messages_part(channel.id)] = dumps_lines(_message(m) for m in oldest_first)
        index[channel.id] = {"name": channel.name, "count": len(oldest_first)}
        total += len(oldest_first)
    thread_index: dict[str, Any] = {}
    thread_total = 0
    for thread, page in zip(thread_wanted, thread_read, strict=True):
        oldest_first = sorted(page, key=lambda m: int(m.id))
        parts[messages_part(thread.id)] = dumps_lines(_message(m) for m in oldest_first)
        thread_index[thread.id] = {"name": thread.name, "parent_id": thread.parent_id, "count": len(oldest_first)}
        thread_total += len(oldest_first)
    parts.update(safety.parts)
    added = sum(int(images.entries[d]["size"]) for d in images.added if d in images.entries)
    extra: dict[str, Any] = {"media": images.entries, "media_added": added,
                             "messages": index, "messages_per_channel": messages, "thread_messages": thread_index,
                             "excluded_channels": sorted(c.id for c in skipped) if messages > 0 else []}
    if safety.unavailable:
        extra["unavailable"] = safety.unavailable
    counts = {"emojis": len(emojis), "stickers": len(stickers), "bans": len(bans), "messages": total,
              "message_channels": len(index), "threads": len(threads), "thread_messages": thread_total,
              "member_overwrites": member_overwrites, **safety.counts}
    return Captured(parts=parts, counts=counts, extra=extra, images=images.images)
