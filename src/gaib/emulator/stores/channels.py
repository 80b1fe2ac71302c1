"""The guild's channels and categories: creates, edits, bulk reorders and deletes as Discord does them.

Discord's rules kept here: at most 500 channels (30013) and 50 per category; categories have no
parent and a parent must be a category; only text and announcement channels convert into each other;
text, announcement and forum names are stored lower case with each run of whitespace as one dash;
slow mode up to 6 hours; voice bitrate by boost level (stage 64 kbps), user limits 0-99 (voice) and
0-10,000 (stage); forum and media channels with at most 20 tags (each kept under its id, a new tag
given one), a default reaction, sort order and (forum) layout; more than one parent
change in one reorder gives 40009; unknown ids raise 404 10003. Deleting a channel here leaves its
children without a parent; its webhooks, history and settings references go in
:class:`gaib.emulator.guild.GuildState`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import MISSING, Fields, require_list, require_object
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.overwrites import MAX_OVERWRITES_PER_REQUEST, parse_overwrites
from gaib.emulator.stores.records import CATEGORY, CREATABLE_TYPES, POST_TYPES, ChannelRec, OverwriteRec
from gaib.emulator.stores.roles import RoleStore

MAX_CHANNELS = 500
MAX_PER_CATEGORY = 50
MAX_SLOWMODE = 21600

# Discord stores text, announcement, forum and media channel names in lower case with each run of
# whitespace turned into one dash ("Welcome Chat" becomes "welcome-chat"); other types keep the name.
TEXT_NAMED_TYPES = frozenset({0, 5, 15, 16})


def voice_limits(channel_type: int, tier: int) -> tuple[int, int]:
    """(highest bitrate, highest user limit) of a channel type at a boost tier (gaib.discord.limits)."""
    if channel_type == 13:
        return L.STAGE_BITRATE_MAX, L.STAGE_USER_LIMIT_MAX
    if channel_type == 2:
        return L.VOICE_BITRATE_MAX[tier], L.VOICE_USER_LIMIT_MAX
    return L.VOICE_BITRATE_MAX[tier], L.STAGE_USER_LIMIT_MAX


def _tags(errs: FormErrors, raw: list[Any]) -> list[dict[str, Any]]:
    """Validated forum tags (``id`` kept when given: the caller keeps known ids and numbers new ones)."""
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errs.add(("available_tags", i), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        f = Fields(item, errs, ("available_tags", i))
        name = f.string("name", 1, L.FORUM_TAG_NAME_MAX, required=True, nullable=False)
        emoji_id = f.snowflake("emoji_id")
        emoji_name = f.string("emoji_name", 0, 100)
        moderated = f.boolean("moderated")
        ident = f.snowflake("id")
        out.append({"id": ident if isinstance(ident, str) else None, "name": name, "moderated": moderated is True,
                    "emoji_id": emoji_id if isinstance(emoji_id, str) else None,
                    "emoji_name": emoji_name if isinstance(emoji_name, str) and emoji_name else None})
    return out


def text_channel_name(name: str) -> str:
    return "-".join(name.lower().split()) or name


class ChannelStore:
    """The channels by id (categories included)."""

    def __init__(self, ctx: GuildContext, roles: RoleStore) -> None:
        self.ctx = ctx
        self.roles = roles
        self.by_id: dict[str, ChannelRec] = {}
        self.tier: Callable[[], int] = lambda: 0
        """The guild's boost tier (set by the guild: the settings store holds it)."""

    def reset(self) -> None:
        self.by_id = {}

    def listing(self) -> list[dict[str, Any]]:
        ordered = sorted(self.by_id.values(), key=lambda c: (c.position, int(c.id)))
        return [c.to_api(self.ctx.guild_id) for c in ordered]

    def find(self, channel_id: str) -> ChannelRec:
        """The channel; raises 404 10003 if unknown."""
        channel = self.by_id.get(channel_id)
        if channel is None:
            raise E.unknown(E.UNKNOWN_CHANNEL)
        return channel

    def get(self, channel_id: str) -> dict[str, Any]:
        return self.find(channel_id).to_api(self.ctx.guild_id)

    def _children(self, category_id: str, excluding: str | None = None) -> int:
        return sum(1 for c in self.by_id.values() if c.parent_id == category_id and c.id != excluding)

    def _check_parent(self, errs: FormErrors, path: tuple[str | int, ...], parent_id: str,
                      child_type: int, child_id: str | None) -> None:
        parent = self.by_id.get(parent_id)
        if child_type == CATEGORY:
            errs.add(path, "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have a parent category.")
        elif parent is None or parent.type != CATEGORY:
            errs.add(path, "CHANNEL_PARENT_INVALID_TYPE", "Not a category.")
        elif self._children(parent_id, excluding=child_id) >= MAX_PER_CATEGORY:
            errs.add(path, "CHANNEL_PARENT_MAX_CHANNELS",
                     f"Maximum number of channels in category reached ({MAX_PER_CATEGORY})")

    def _changes(self, body: Any, current: ChannelRec | None) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        creating = current is None
        changes: dict[str, Any] = {"name": f.string("name", 1, 100, required=creating, nullable=False)}
        kind = f.integer("type", choices=CREATABLE_TYPES)
        if current is not None and isinstance(kind, int) and kind != current.type and {
                kind, current.type} != {0, 5}:
            errs.add(("type",), "BASE_TYPE_CHOICES", "Only text and announcement channels can be converted.")
        effective = kind if isinstance(kind, int) else (current.type if current else 0)
        changes["type"] = effective
        if isinstance(changes["name"], str) and effective in TEXT_NAMED_TYPES:
            changes["name"] = text_channel_name(changes["name"])
        changes["position"] = f.integer("position", 0, 2**31 - 1)
        topic = f.string("topic", 0, 4096)
        topic_max = 4096 if effective == 15 else 1024
        if isinstance(topic, str) and len(topic) > topic_max:
            errs.add(("topic",), "BASE_TYPE_MAX_LENGTH", f"Must be {topic_max} or fewer in length.")
        changes["topic"] = topic
        changes["nsfw"] = f.boolean("nsfw")
        changes["rate_limit_per_user"] = f.integer("rate_limit_per_user", 0, MAX_SLOWMODE)
        max_bitrate, max_users = voice_limits(effective, self.tier())
        changes["bitrate"] = f.integer("bitrate", L.BITRATE_MIN, max_bitrate)
        changes["user_limit"] = f.integer("user_limit", 0, max_users)
        changes["rtc_region"] = f.string("rtc_region", 0, 100)
        changes["video_quality_mode"] = f.integer("video_quality_mode", choices=(1, 2))
        changes["flags"] = f.integer("flags", 0, 2**31 - 1)
        changes["default_auto_archive_duration"] = f.integer(
            "default_auto_archive_duration", choices=(60, 1440, 4320, 10080))
        changes["default_thread_rate_limit_per_user"] = f.integer(
            "default_thread_rate_limit_per_user", 0, MAX_SLOWMODE)
        if effective in POST_TYPES:
            self._forum_changes(f, errs, changes)
        parent = f.snowflake("parent_id")
        if isinstance(parent, str):
            self._check_parent(errs, ("parent_id",), parent, effective, current.id if current else None)
        changes["parent_id"] = parent
        overwrites = f.array("permission_overwrites", MAX_OVERWRITES_PER_REQUEST)
        if isinstance(overwrites, list):
            changes["overwrites"] = parse_overwrites(errs, overwrites, self.roles)
        errs.raise_if_any()
        nullable = {"topic", "rtc_region", "parent_id", "default_auto_archive_duration", "default_reaction_emoji",
                    "default_sort_order"}
        return {k: v for k, v in changes.items() if v is not MISSING and (v is not None or k in nullable)}

    @staticmethod
    def _forum_changes(f: Fields, errs: FormErrors, changes: dict[str, Any]) -> None:
        tags = f.array("available_tags", L.FORUM_TAGS_MAX)
        if isinstance(tags, list):
            changes["available_tags"] = _tags(errs, tags)
        reaction = f.obj("default_reaction_emoji")
        if isinstance(reaction, dict):
            rf = Fields(reaction, errs, ("default_reaction_emoji",))
            emoji_id, emoji_name = rf.snowflake("emoji_id"), rf.string("emoji_name", 0, 100)
            emoji_id = emoji_id if isinstance(emoji_id, str) else None
            emoji_name = emoji_name if isinstance(emoji_name, str) and emoji_name else None
            changes["default_reaction_emoji"] = ({"emoji_id": emoji_id, "emoji_name": emoji_name}
                                                 if emoji_id or emoji_name else None)
        else:
            changes["default_reaction_emoji"] = reaction  # None clears it; MISSING leaves it
        changes["default_sort_order"] = f.integer("default_sort_order", choices=(0, 1))
        changes["default_forum_layout"] = f.integer("default_forum_layout", choices=(0, 1, 2))


    def _next_position(self, channel_type: int, parent_id: str | None) -> int:
        siblings = [c.position for c in self.by_id.values()
                    if c.parent_id == parent_id and (c.type == CATEGORY) == (channel_type == CATEGORY)]
        return max(siblings) + 1 if siblings else 0

    def create(self, body: Any) -> dict[str, Any]:
        """Create a channel or category (201 in the API). 30013 at 500 channels, 50 per category."""
        changes = self._changes(body, None)
        if len(self.by_id) >= MAX_CHANNELS:
            raise ApiError(400, E.MAX_CHANNELS, f"Maximum number of guild channels reached ({MAX_CHANNELS})")
        kind = changes.pop("type")
        parent = changes.get("parent_id")
        position = changes.pop("position", None)
        if position is None:
            position = self._next_position(kind, parent)
        channel = ChannelRec(id=self.ctx.ids.next(), type=kind, name=changes.pop("name"), position=position)
        tags = changes.pop("available_tags", None)
        for key, value in changes.items():
            setattr(channel, key, value)
        if tags is not None:
            channel.available_tags = [{**t, "id": self.ctx.ids.next()} for t in tags]
        self.by_id[channel.id] = channel
        self.ctx.changed()
        return channel.to_api(self.ctx.guild_id)

    def update(self, channel_id: str, body: Any) -> dict[str, Any]:
        channel = self.find(channel_id)
        changes = self._changes(body, channel)
        tags = changes.pop("available_tags", None)
        for key, value in changes.items():
            setattr(channel, key, value)
        if tags is not None:
            known = {str(t["id"]) for t in channel.available_tags}
            channel.available_tags = [{**t, "id": t["id"] if t["id"] in known else self.ctx.ids.next()}
                                      for t in tags]
        self.ctx.changed()
        return channel.to_api(self.ctx.guild_id)

    def reorder(self, body: Any) -> None:
        """Bulk position/parent update; more than one parent change in one request gives 40009."""
        items = require_list(body)
        errs = FormErrors()
        plans: list[tuple[ChannelRec, Any, Any, bool]] = []
        parent_changes = 0
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            f = Fields(item, errs, (i,))
            channel_id = f.snowflake("id", required=True)
            position = f.integer("position", 0, 2**31 - 1)
            parent = f.snowflake("parent_id")
            lock = f.boolean("lock_permissions")
            if not isinstance(channel_id, str):
                continue
            channel = self.by_id.get(channel_id)
            if channel is None:
                errs.add((i, "id"), "CHANNEL_NOT_FOUND", "Unknown channel.")
                continue
            if parent is not MISSING and parent != channel.parent_id:
                parent_changes += 1
                if isinstance(parent, str):
                    self._check_parent(errs, (i, "parent_id"), parent, channel.type, channel.id)
            plans.append((channel, position, parent, lock is True))
        errs.raise_if_any()
        if parent_changes > 1:
            raise ApiError(400, E.ONE_PARENT_CHANGE,
                           "Only one channel can change its parent_id in a single request")
        for channel, position, parent, lock in plans:
            if isinstance(position, int):
                channel.position = position
            if parent is not MISSING:
                channel.parent_id = parent
            if lock and channel.parent_id is not None:
                source = self.by_id[channel.parent_id].overwrites
                channel.overwrites = [OverwriteRec(o.id, o.type, o.allow, o.deny) for o in source]
        self.ctx.changed()

    def delete(self, channel_id: str) -> dict[str, Any]:
        """Delete and return the channel; children of a category keep existing with parent_id null."""
        channel = self.find(channel_id)
        shown = channel.to_api(self.ctx.guild_id)
        del self.by_id[channel_id]
        for other in self.by_id.values():
            if other.parent_id == channel_id:
                other.parent_id = None
        self.ctx.changed()
        return shown
