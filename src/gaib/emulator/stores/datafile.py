"""The emulator's data file format (``gaib-emulator-guild/1``): every store of a guild as one JSON document.

:func:`dump` gives the document; :func:`load` reads one back into a guild. ``load`` validates the
whole document first and raises :class:`DataFileError` without changing anything when it is
malformed or holds another guild; webhook bodies (``sent``, ``posted``) are not saved.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gaib.emulator.safety.state import SafetyStores
from gaib.emulator.stores.emojis import EmojiRec
from gaib.emulator.stores.members import MemberRec
from gaib.emulator.stores.records import ChannelRec, DataFileError, RoleRec, WebhookRec
from gaib.emulator.stores.settings import default_settings
from gaib.emulator.stores.stickers import StickerRec
from gaib.emulator.stores.threads import ThreadRec

if TYPE_CHECKING:
    from gaib.emulator.guild import GuildState

DATA_FORMAT = "gaib-emulator-guild/1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dump(guild: GuildState) -> dict[str, Any]:
    settings = guild.settings
    return {
        "format": DATA_FORMAT, "guild": {"id": guild.guild_id, "name": settings.guild_name},
        "roles": [r.to_json() for r in guild.roles.by_id.values()],
        "channels": [c.to_json() for c in guild.channels.by_id.values()],
        "webhooks": [w.to_json() for w in guild.webhooks.by_id.values()],
        "threads": guild.threads.to_json(),
        "community": {
            "settings": dict(settings.values), "premium_tier": settings.premium_tier,
            "images": {k: _b64(v) for k, v in settings.images.items()},
            "emojis": [{"id": e.id, "name": e.name, "roles": e.roles, "image": _b64(e.image)}
                       for e in guild.emojis.by_id.values()],
            "stickers": [{"id": s.id, "name": s.name, "tags": s.tags, "description": s.description,
                          "format_type": s.format_type, "data": _b64(s.data)} for s in guild.stickers.by_id.values()],
            "bans": dict(guild.bans.reasons), "users": dict(guild.users.by_id), "history": guild.messages.history,
        },
        "members": {uid: m.to_json() for uid, m in guild.members.by_id.items()},
        "safety": guild.safety.to_json(),
    }


@dataclass
class _Community:
    """The ``community`` section, parsed (empty when the document has none)."""

    settings: dict[str, Any] = field(default_factory=default_settings)
    premium_tier: int = 0
    images: dict[str, bytes] = field(default_factory=dict)
    emojis: dict[str, EmojiRec] = field(default_factory=dict)
    stickers: dict[str, StickerRec] = field(default_factory=dict)
    bans: dict[str, str | None] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _community(data: Any) -> _Community:
    if data is None:
        return _Community()
    try:
        out = _Community(
            settings={**default_settings(), **data["settings"]},
            premium_tier=int(data["premium_tier"]),
            images={str(k): base64.b64decode(v) for k, v in data["images"].items()},
            emojis={str(e["id"]): EmojiRec(str(e["id"]), str(e["name"]), base64.b64decode(e["image"]),
                                           [str(r) for r in e["roles"]]) for e in data["emojis"]},
            stickers={str(s["id"]): StickerRec(str(s["id"]), str(s["name"]), str(s["tags"]), s["description"],
                                               int(s["format_type"]), base64.b64decode(s["data"]))
                      for s in data["stickers"]},
            bans={str(k): (str(v) if v is not None else None) for k, v in data["bans"].items()},
            users={str(k): dict(v) for k, v in data["users"].items()},
            history={str(k): [dict(m) for m in v] for k, v in data["history"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise DataFileError(f"malformed community section ({type(exc).__name__})") from None
    if not 0 <= out.premium_tier <= 3:
        raise DataFileError("premium_tier must be 0-3")
    return out


def load(guild: GuildState, data: Any) -> None:
    """Replace the guild's contents with a saved document; raises DataFileError (and changes nothing)
    if it is malformed. Later snowflakes are larger than every id it holds."""
    gid = guild.guild_id
    if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
        raise DataFileError(f"not a {DATA_FORMAT} document")
    head = data.get("guild")
    if not isinstance(head, dict) or head.get("id") != gid:
        raise DataFileError(f"it holds another guild (expected id {gid})")
    name = head.get("name")
    if not isinstance(name, str) or not 2 <= len(name) <= 100:
        raise DataFileError("guild name must be 2-100 characters")
    for key in ("roles", "channels", "webhooks"):
        if not isinstance(data.get(key), list):
            raise DataFileError(f"{key!r} must be a list")
    roles = {r.id: r for r in (RoleRec.from_json(x) for x in data["roles"])}
    channels = {c.id: c for c in (ChannelRec.from_json(x) for x in data["channels"])}
    webhooks = {w.id: w for w in (WebhookRec.from_json(x) for x in data["webhooks"])}
    if gid not in roles:
        raise DataFileError("the @everyone role (id = guild id) is missing")
    for channel in channels.values():
        if channel.parent_id is not None and channel.parent_id not in channels:
            raise DataFileError(f"channel {channel.id} has an unknown parent")
    for hook in webhooks.values():
        if hook.channel_id not in channels:
            raise DataFileError(f"webhook {hook.id} points to an unknown channel")
    community = _community(data.get("community"))
    raw_threads = data.get("threads", [])
    if not isinstance(raw_threads, list):
        raise DataFileError("'threads' must be a list")
    threads = {t.id: t for t in (ThreadRec.from_json(x) for x in raw_threads)}
    if any(t.parent_id not in channels for t in threads.values()):
        raise DataFileError("a thread points to an unknown channel")
    raw_members = data.get("members", {})
    if not isinstance(raw_members, dict):
        raise DataFileError("'members' must be an object")
    members = {str(uid): MemberRec.from_json(m) for uid, m in raw_members.items()}
    safety = SafetyStores(guild.ctx, guild.roles, guild.channels, guild.settings)
    try:
        safety.load_json(data.get("safety"))
    except ValueError as exc:
        raise DataFileError(str(exc)) from None

    guild.clear()
    guild.safety = safety
    guild.settings.guild_name = name
    guild.roles.by_id, guild.channels.by_id, guild.webhooks.by_id = roles, channels, webhooks
    guild.settings.values, guild.settings.premium_tier = community.settings, community.premium_tier
    guild.settings.images = community.images
    guild.emojis.by_id, guild.stickers.by_id = community.emojis, community.stickers
    guild.bans.reasons, guild.users.by_id = community.bans, community.users
    guild.messages.history = community.history
    guild.threads.by_id = threads
    guild.members.by_id = members
    for oid in [*roles, *channels, *webhooks, *threads, *community.emojis, *community.stickers,
                *safety.automod.by_id, *safety.events.by_id, *safety.sounds.by_id]:
        guild.ids.observe(oid)
    for messages in community.history.values():
        for m in messages:
            guild.ids.observe(m["id"])
    guild.ctx.changed()
