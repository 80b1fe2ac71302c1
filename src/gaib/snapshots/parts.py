"""The community parts of a snapshot: what they hold, how they are written and read back. Pure but for
the verified reads of :func:`load_extras`.

Parts (each one JSON document, or JSON lines for messages, compressed like every part):

``guild``               ``guild.json.gz``: the server's settings (name, verification level, notification
                        and content-filter defaults, AFK channel and timeout, system channel and flags,
                        locale), the icon and banner (Discord's hash, the sha256, size and media type of
                        the image), the boost tier and features, and the names of the channels they name
``emojis``              ``emojis.json.gz``: every custom emoji (id, name, roles by id and name, animated,
                        sha256 and size of its image)
``stickers``            ``stickers.json.gz``: every sticker (id, name, tags, description, format, sha256 and
                        size of its file)
``bans``                ``bans.json.gz``: every ban (user id, username, display name, reason)
``structure``           ``structure.json.gz``: what the config does not hold of roles and channels (forum
                        tags and settings, voice settings, member overwrites, role icons and colours;
                        :mod:`gaib.snapshots.channel_fields`)
``threads``             ``threads.json.gz``: threads and forum posts (:mod:`gaib.snapshots.threads`); with
                        ``--messages`` their messages are ``messages/{thread_id}`` parts
``members``             ``members.json.gz``: every member's roles and nickname, or "unavailable" without
                        the Server Members intent (:mod:`gaib.snapshots.members`)
``messages/{channel}``  ``messages/{channel_id}.jsonl.gz`` (with ``--messages N``): the channel's last N
                        messages, oldest first, one JSON object a line: id, author (id, username, display
                        name, avatar URL, bot), content, embeds, attachments (file name, URL, size, type),
                        timestamps, type

The safety parts (``automod``, ``onboarding``, ``welcome``, ``events``, ``soundboard``) are described in
:mod:`gaib.snapshots.safety.parts`; :func:`load_extras` reads them into :attr:`Extras.safety`.

Images (and sounds) live once in ``media/{server}/{sha256}`` (:mod:`gaib.bundles.media`); the manifest lists them in
``extra.media`` (``{sha256: {size, type}}``) and the channels whose messages it holds in
``extra.messages`` (``{channel_id: {name, count}}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gaib.bundles.manifest import Manifest
from gaib.bundles.media import MAX_IMAGE_BYTES, MediaStore
from gaib.bundles.repository import BundleRepository
from gaib.discord.community import GUILD_IMAGES
from gaib.discord.models import Channel, ChannelType
from gaib.errors import IntegrityError, InvalidInput
from gaib.names import check_snowflake
from gaib.snapshots.safety import parts as safety_parts
from gaib.snapshots.safety.parts import SAFETY_PARTS, Safety

FORMAT_VERSION = 1
COMMUNITY_PARTS = {"guild": "guild.json.gz", "emojis": "emojis.json.gz", "stickers": "stickers.json.gz",
                   "bans": "bans.json.gz", "structure": "structure.json.gz", "threads": "threads.json.gz",
                   "members": "members.json.gz", **SAFETY_PARTS}
#: Parts a snapshot holds only since they were added (issue 22): read when the manifest lists them.
LATER_PARTS = ("structure", "threads")
MESSAGES_PREFIX = "messages/"
#: Channel types whose history a snapshot saves (text and announcement channels).
HISTORY_TYPES = (ChannelType.TEXT, ChannelType.ANNOUNCEMENT)
#: The most messages per channel ``--messages`` may ask for, by tier.
MESSAGES_PER_CHANNEL = {"free": 100, "premium": 1000}


def messages_part(channel_id: str) -> str:
    return f"{MESSAGES_PREFIX}{check_snowflake(channel_id, 'channel id')}"


def channel_of_part(name: str) -> str | None:
    """The channel id of a ``messages/{channel_id}`` part name (None for any other name)."""
    if not name.startswith(MESSAGES_PREFIX):
        return None
    ident = name[len(MESSAGES_PREFIX):]
    return ident if ident.isascii() and ident.isdigit() and 0 < len(ident) <= 20 and ident[0] != "0" else None


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def dumps_lines(items: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                    + b"\n" for item in items)


# --- exclusion ------------------------------------------------------------------------------------------


def excluded(channel: Channel, categories: Mapping[str, str], patterns: Sequence[str]) -> bool:
    """Whether a channel matches one of ``patterns``: its id, its name (``#`` optional, any case) or
    ``Category/name``."""
    name = channel.name.casefold()
    parent = categories.get(channel.parent_id or "", "").casefold()
    for raw in patterns:
        pattern = raw.strip()
        if pattern == channel.id:
            return True
        text = pattern.removeprefix("#").casefold()
        if text == name or ("/" in text and text == f"{parent}/{name}"):
            return True
    return False


def check_patterns(patterns: Iterable[object]) -> tuple[str, ...]:
    out = []
    for p in patterns:
        if not isinstance(p, str) or not p.strip() or len(p) > 200:
            raise InvalidInput(f"Not a channel to exclude: {str(p)[:60]!r} (give a channel id, name or "
                               "Category/name).")
        out.append(p.strip())
    return tuple(out)


# --- reading back ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extras:
    """The community parts of a snapshot, decoded (empty for a snapshot taken before they existed)."""

    present: bool = False
    guild: dict[str, Any] = field(default_factory=dict)
    emojis: tuple[dict[str, Any], ...] = ()
    stickers: tuple[dict[str, Any], ...] = ()
    bans: tuple[dict[str, Any], ...] = ()
    messages: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    images: Mapping[str, bytes] = field(default_factory=dict)
    structure: Mapping[str, Any] = field(default_factory=dict)
    """The ``structure`` part (empty for a snapshot taken before it existed)."""
    threads: tuple[dict[str, Any], ...] = ()
    safety: Safety = field(default_factory=Safety)
    """AutoMod, onboarding, welcome screen, events and soundboard (:mod:`gaib.snapshots.safety.parts`)."""

    @property
    def thread_ids(self) -> frozenset[str]:
        return frozenset(str(t.get("id")) for t in self.threads)

    def image_refs(self) -> dict[str, str]:
        """sha256 → what uses it (for messages)."""
        refs: dict[str, str] = {}
        for role in (self.structure.get("roles") or {}).values():
            icon = role.get("icon") if isinstance(role, dict) else None
            if isinstance(icon, dict):
                refs[str(icon.get("sha256"))] = f"the icon of role @{role.get('name')}"
        for key in GUILD_IMAGES:
            image = self.guild.get(key)
            if isinstance(image, dict):
                refs[str(image.get("sha256"))] = f"the server {key.replace('_', ' ')}"
        for e in self.emojis:
            refs[str(e.get("sha256"))] = f"emoji {e.get('name')}"
        for s in self.stickers:
            refs[str(s.get("sha256"))] = f"sticker {s.get('name')}"
        for saved in self.messages.values():  # stored attachments of the messages loaded (a replay uploads them)
            for m in saved:
                for a in m.get("attachments") or ():
                    if isinstance(a, dict) and isinstance(a.get("sha256"), str):
                        refs[a["sha256"]] = f"attachment {str(a.get('filename'))[:60]}"
        refs.update(self.safety.media_refs())
        return refs


def _damaged(m: Manifest, part: str, why: str) -> IntegrityError:
    return IntegrityError(f"Snapshot {m.id}: part {part} is damaged ({why}).", details={"part": part})


def _doc(repo: BundleRepository, m: Manifest, part: str, key: str) -> Any:
    try:
        doc = json.loads(repo.read_part(m, part))
    except ValueError:
        raise _damaged(m, part, "not JSON") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION or not isinstance(
            doc.get(key, {}), dict | list):
        raise _damaged(m, part, f"not a version-{FORMAT_VERSION} {part} document")
    return doc


def _items(doc: dict[str, Any], key: str, m: Manifest, part: str,
           required: Sequence[str]) -> tuple[dict[str, Any], ...]:
    items = doc.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) and all(r in i for r in required) for i in items):
        raise _damaged(m, part, f"'{key}' is not a list of {part}")
    return tuple(items)


def _lines(repo: BundleRepository, m: Manifest, part: str) -> tuple[dict[str, Any], ...]:
    out = []
    for n, line in enumerate(repo.read_part(m, part).splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise _damaged(m, part, f"line {n} is not JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("author"), dict) or "id" not in item:
            raise _damaged(m, part, f"line {n} is not a message")
        out.append(item)
    return tuple(out)


def load_extras(repo: BundleRepository, manifest: Manifest, media: MediaStore, *, messages: bool = False,
                images: bool = False, channels: Callable[[str], bool] | None = None) -> Extras:
    """Every community part of a snapshot, each verified before it is decoded; with ``messages`` the
    saved messages (of the channels ``channels`` accepts), with ``images`` every image it needs, each
    read from the media store and verified. IntegrityError (exit 3) for anything damaged or missing."""
    m = manifest
    if "guild" not in m.parts:
        return Extras()
    guild = _doc(repo, m, "guild", "settings")
    if not isinstance(guild.get("settings"), dict):
        raise _damaged(m, "guild", "no settings")
    emojis = _items(_doc(repo, m, "emojis", "emojis"), "emojis", m, "emojis", ("id", "name", "sha256"))
    stickers = _items(_doc(repo, m, "stickers", "stickers"), "stickers", m, "stickers", ("id", "name", "sha256"))
    bans = _items(_doc(repo, m, "bans", "bans"), "bans", m, "bans", ("user_id",))
    saved: dict[str, tuple[dict[str, Any], ...]] = {}
    if messages:
        for name in m.parts:
            channel = channel_of_part(name)
            if channel is not None and (channels is None or channels(channel)):
                saved[channel] = _lines(repo, m, name)
    later = {"structure": {}, "threads": {}} | {p: _doc(repo, m, p, p if p == "threads" else "roles")
                                                for p in LATER_PARTS if p in m.parts}
    structure = later["structure"]
    if structure and not (isinstance(structure.get("channels"), dict) and isinstance(structure.get("roles"), dict)):
        raise _damaged(m, "structure", "'channels' or 'roles' is not a map")
    threads = _items(later["threads"], "threads", m, "threads", ("id", "parent_id", "name")) if later[
        "threads"] else ()
    extras = Extras(present=True, guild=guild, emojis=emojis, stickers=stickers, bans=bans, messages=saved,
                    structure=structure, threads=threads, safety=safety_parts.load(repo, m))
    if not images:
        return extras
    raw = m.extra.get("media")
    listed: dict[str, Any] = raw if isinstance(raw, dict) else {}
    loaded: dict[str, bytes] = {}
    for digest, what in extras.image_refs().items():
        if digest not in listed:
            raise _damaged(m, "media", f"{what} uses an image the manifest does not list")
        size = listed[digest].get("size") if isinstance(listed[digest], dict) else None
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_IMAGE_BYTES:
            raise _damaged(m, "media", f"the manifest lists the image of {what} without a size")
        loaded[digest] = b"".join(media.stream(digest, size, what=what))  # never more than its listed size
    return Extras(present=True, guild=guild, emojis=emojis, stickers=stickers, bans=bans, messages=saved,
                  images=loaded, structure=structure, threads=threads, safety=extras.safety)
