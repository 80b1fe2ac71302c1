"""The emulated guild: roles, channels, overwrites and webhooks, changed the way Discord changes them
(settings, emojis, stickers, bans and messages: :mod:`gaib.emulator.community`).

Every public method validates its whole input first and raises :class:`ApiError` (Discord's status,
code and 50035 error tree) without changing anything; only then does it apply the change and bump
``revision``. Callers hold one lock around each call (the state is not thread-safe by itself).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.community import CommunityMixin
from gaib.emulator.fields import MISSING, Fields, parse_snowflake, require_list, require_object
from gaib.emulator.records import (
    CATEGORY,
    CREATABLE_TYPES,
    ChannelRec,
    DataFileError,
    OverwriteRec,
    RoleRec,
    WebhookRec,
)
from gaib.emulator.snowflake import SnowflakeGenerator

DATA_FORMAT = "gaib-emulator-guild/1"
# Discord's default @everyone permissions for a new guild (a decimal string in the API).
EVERYONE_PERMISSIONS = 2248473465835073
OWNER_ID = "80351110224678912"
MAX_ROLES = 250
MAX_CHANNELS = 500
MAX_PER_CATEGORY = 50
MAX_OVERWRITES_PER_REQUEST = 100
MAX_OVERWRITES_PER_CHANNEL = 1000
MAX_WEBHOOKS_PER_CHANNEL = 15
MAX_COLOR = 0xFFFFFF
MAX_SLOWMODE = 21600
EMBED_TOTAL_CHARS = 6000
FORBIDDEN_WEBHOOK_NAMES = ("clyde", "discord")
VOICE_LIMITS = {2: (96000, 99), 13: (64000, 10000)}  # type -> (max bitrate, max user_limit), tier 0


# Discord stores text, announcement and forum channel names in lower case with each run of
# whitespace turned into one dash ("Welcome Chat" becomes "welcome-chat"); other types keep the name.
TEXT_NAMED_TYPES = frozenset({0, 5, 15})


def text_channel_name(name: str) -> str:
    return "-".join(name.lower().split()) or name


class GuildState(CommunityMixin):
    """One guild's objects. ``revision`` increases on every change (the server saves on change)."""

    def __init__(self, guild_id: str, guild_name: str, ids: SnowflakeGenerator,
                 clock: Callable[[], float]) -> None:
        self.guild_id = guild_id
        self.guild_name = guild_name
        self.ids = ids
        self.clock = clock
        self.revision = 0
        self.roles: dict[str, RoleRec] = {}
        self.channels: dict[str, ChannelRec] = {}
        self.webhooks: dict[str, WebhookRec] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.reset()

    # ---- whole-guild ------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the guild: only @everyone (id = guild id) remains; webhooks and messages go too."""
        self.roles = {self.guild_id: RoleRec(id=self.guild_id, name="@everyone",
                                             permissions=EVERYONE_PERMISSIONS, position=0)}
        self.channels = {}
        self.webhooks = {}
        self.messages = {}
        self.reset_community()
        self.revision += 1

    def guild_object(self, with_counts: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.guild_id, "name": self.guild_name, "icon": None, "description": None,
            "home_header": None, "splash": None, "discovery_splash": None, "features": [],
            "banner": None, "owner_id": OWNER_ID, "application_id": None, "region": "deprecated",
            "afk_channel_id": None, "afk_timeout": 300, "system_channel_id": None,
            "system_channel_flags": 0, "widget_enabled": False, "widget_channel_id": None,
            "verification_level": 0, "roles": self.list_roles(), "default_message_notifications": 0,
            "mfa_level": 0, "explicit_content_filter": 0, "max_presences": None, "max_members": 500000,
            "max_stage_video_channel_users": 50, "max_video_channel_users": 25, "vanity_url_code": None,
            "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
            "rules_channel_id": None, "safety_alerts_channel_id": None, "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False, "nsfw": False, "nsfw_level": 0, "emojis": [],
            "stickers": [], "incidents_data": None,
        }
        out.update(self.settings_object())
        if with_counts:
            out["approximate_member_count"] = 1
            out["approximate_presence_count"] = 0
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": DATA_FORMAT, "guild": {"id": self.guild_id, "name": self.guild_name},
            "roles": [r.to_json() for r in self.roles.values()],
            "channels": [c.to_json() for c in self.channels.values()],
            "webhooks": [w.to_json() for w in self.webhooks.values()],
            "community": self.community_json(),
        }

    def load_json(self, data: Any) -> None:
        """Replace the guild with a saved one; raises DataFileError (and changes nothing) if malformed."""
        if not isinstance(data, dict) or data.get("format") != DATA_FORMAT:
            raise DataFileError(f"not a {DATA_FORMAT} document")
        guild = data.get("guild")
        if not isinstance(guild, dict) or guild.get("id") != self.guild_id:
            raise DataFileError(f"it holds another guild (expected id {self.guild_id})")
        name = guild.get("name")
        if not isinstance(name, str) or not 2 <= len(name) <= 100:
            raise DataFileError("guild name must be 2-100 characters")
        for key in ("roles", "channels", "webhooks"):
            if not isinstance(data.get(key), list):
                raise DataFileError(f"{key!r} must be a list")
        roles = {r.id: r for r in (RoleRec.from_json(x) for x in data["roles"])}
        channels = {c.id: c for c in (ChannelRec.from_json(x) for x in data["channels"])}
        webhooks = {w.id: w for w in (WebhookRec.from_json(x) for x in data["webhooks"])}
        if self.guild_id not in roles:
            raise DataFileError("the @everyone role (id = guild id) is missing")
        for channel in channels.values():
            if channel.parent_id is not None and channel.parent_id not in channels:
                raise DataFileError(f"channel {channel.id} has an unknown parent")
        for hook in webhooks.values():
            if hook.channel_id not in channels:
                raise DataFileError(f"webhook {hook.id} points to an unknown channel")
        community = data.get("community")
        self.guild_name = name
        self.roles, self.channels, self.webhooks = roles, channels, webhooks
        self.messages = {}
        self.load_community(community)
        for oid in [*roles, *channels, *webhooks]:
            self.ids.observe(oid)
        self.revision += 1

    # ---- roles ------------------------------------------------------------------------------

    def list_roles(self) -> list[dict[str, Any]]:
        ordered = sorted(self.roles.values(), key=lambda r: (r.position, int(r.id)))
        return [r.to_api() for r in ordered]

    def _role(self, role_id: str) -> RoleRec:
        role = self.roles.get(role_id)
        if role is None:
            raise E.unknown(E.UNKNOWN_ROLE)
        return role

    def get_role(self, role_id: str) -> dict[str, Any]:
        return self._role(role_id).to_api()

    def _role_changes(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes: dict[str, Any] = {
            "name": f.string("name", 1, 100),
            "permissions": f.bits("permissions"),
            "color": f.integer("color", 0, MAX_COLOR),
            "hoist": f.boolean("hoist"),
            "mentionable": f.boolean("mentionable"),
            "unicode_emoji": f.string("unicode_emoji", 0, 100),
        }
        colors = f.obj("colors")
        if isinstance(colors, dict):
            cf = Fields(colors, errs, ("colors",))
            changes["color"] = cf.integer("primary_color", 0, MAX_COLOR)
            changes["secondary_color"] = cf.integer("secondary_color", 0, MAX_COLOR)
            changes["tertiary_color"] = cf.integer("tertiary_color", 0, MAX_COLOR)
        icon = f.string("icon", 0, 10_000_000)
        if isinstance(icon, str):
            errs.add(("icon",), "GUILD_FEATURE_REQUIRED", "This server needs the ROLE_ICONS feature.")
        errs.raise_if_any()
        nullable = {"unicode_emoji", "secondary_color", "tertiary_color"}
        return {k: v for k, v in changes.items()
                if v is not MISSING and (v is not None or k in nullable)}

    def create_role(self, body: Any) -> dict[str, Any]:
        """New role just above @everyone (position 1; others move up). 30005 at 250 roles."""
        changes = self._role_changes(body)
        if len(self.roles) >= MAX_ROLES:
            raise ApiError(400, E.MAX_ROLES, f"Maximum number of server roles reached ({MAX_ROLES})")
        for role in self.roles.values():
            if role.position >= 1:
                role.position += 1
        everyone = self.roles[self.guild_id]
        role = RoleRec(id=self.ids.next(), name="new role", permissions=everyone.permissions, position=1)
        for key, value in changes.items():
            setattr(role, key, value)
        self.roles[role.id] = role
        self.revision += 1
        return role.to_api()

    def update_role(self, role_id: str, body: Any) -> dict[str, Any]:
        role = self._role(role_id)
        changes = self._role_changes(body)
        for key, value in changes.items():
            setattr(role, key, value)
        self.revision += 1
        return role.to_api()

    def reorder_roles(self, body: Any) -> list[dict[str, Any]]:
        """Move the listed roles; @everyone stays at 0, the others are renumbered 1..n. Returns all roles."""
        items = require_list(body)
        errs = FormErrors()
        moves: list[tuple[int, str]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errs.add((i,), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            f = Fields(item, errs, (i,))
            role_id = f.snowflake("id", required=True)
            position = f.integer("position", 0, 2**31 - 1)
            if isinstance(role_id, str) and isinstance(position, int):
                moves.append((position, role_id))
        errs.raise_if_any()
        for _, role_id in moves:
            self._role(role_id)
            if role_id == self.guild_id:
                raise ApiError(400, E.INVALID_ROLE, "Invalid Role")
        moved = {role_id for _, role_id in moves}
        rest = sorted((r for r in self.roles.values() if r.id != self.guild_id and r.id not in moved),
                      key=lambda r: (r.position, int(r.id)))
        order = [r.id for r in rest]
        for position, role_id in sorted(moves):
            order.insert(min(max(position - 1, 0), len(order)), role_id)
        for index, role_id in enumerate(order, start=1):
            self.roles[role_id].position = index
        self.revision += 1
        return self.list_roles()

    def delete_role(self, role_id: str) -> None:
        """Delete a role and every channel overwrite that names it; @everyone gives 50028."""
        role = self._role(role_id)
        if role_id == self.guild_id:
            raise ApiError(400, E.INVALID_ROLE, "Invalid Role")
        del self.roles[role_id]
        for other in self.roles.values():
            if other.position > role.position:
                other.position -= 1
        for channel in self.channels.values():
            channel.overwrites = [o for o in channel.overwrites if not (o.type == 0 and o.id == role_id)]
        self.revision += 1

    # ---- channels ---------------------------------------------------------------------------

    def list_channels(self) -> list[dict[str, Any]]:
        ordered = sorted(self.channels.values(), key=lambda c: (c.position, int(c.id)))
        return [c.to_api(self.guild_id) for c in ordered]

    def _channel(self, channel_id: str) -> ChannelRec:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise E.unknown(E.UNKNOWN_CHANNEL)
        return channel

    def get_channel(self, channel_id: str) -> dict[str, Any]:
        return self._channel(channel_id).to_api(self.guild_id)

    def _children(self, category_id: str, excluding: str | None = None) -> int:
        return sum(1 for c in self.channels.values() if c.parent_id == category_id and c.id != excluding)

    def _check_parent(self, errs: FormErrors, path: tuple[str | int, ...], parent_id: str,
                      child_type: int, child_id: str | None) -> None:
        parent = self.channels.get(parent_id)
        if child_type == CATEGORY:
            errs.add(path, "CHANNEL_PARENT_INVALID_TYPE", "Categories cannot have a parent category.")
        elif parent is None or parent.type != CATEGORY:
            errs.add(path, "CHANNEL_PARENT_INVALID_TYPE", "Not a category.")
        elif self._children(parent_id, excluding=child_id) >= MAX_PER_CATEGORY:
            errs.add(path, "CHANNEL_PARENT_MAX_CHANNELS",
                     f"Maximum number of channels in category reached ({MAX_PER_CATEGORY})")

    def _overwrites(self, errs: FormErrors, items: list[Any]) -> list[OverwriteRec]:
        out: dict[str, OverwriteRec] = {}
        for i, item in enumerate(items):
            path = ("permission_overwrites", i)
            if not isinstance(item, dict):
                errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            f = Fields(item, errs, path)
            target = f.snowflake("id", required=True)
            kind = f.integer("type", choices=(0, 1))
            allow = f.bits("allow")
            deny = f.bits("deny")
            if not isinstance(target, str):
                continue
            if kind is None or kind is MISSING:
                kind = 0 if target in self.roles else 1
            if kind == 0 and target not in self.roles:
                errs.add((*path, "id"), "UNKNOWN_ROLE", "Unknown role.")
            out[target] = OverwriteRec(id=target, type=int(kind),  # type: ignore[arg-type]
                                       allow=allow if isinstance(allow, int) else 0,
                                       deny=deny if isinstance(deny, int) else 0)
        return list(out.values())

    def _channel_changes(self, body: Any, current: ChannelRec | None) -> dict[str, Any]:
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
        max_bitrate, max_users = VOICE_LIMITS.get(effective, (384000, 10000))
        changes["bitrate"] = f.integer("bitrate", 8000, max_bitrate)
        changes["user_limit"] = f.integer("user_limit", 0, max_users)
        changes["rtc_region"] = f.string("rtc_region", 0, 100)
        changes["video_quality_mode"] = f.integer("video_quality_mode", choices=(1, 2))
        changes["flags"] = f.integer("flags", 0, 2**31 - 1)
        changes["default_auto_archive_duration"] = f.integer(
            "default_auto_archive_duration", choices=(60, 1440, 4320, 10080))
        changes["default_thread_rate_limit_per_user"] = f.integer(
            "default_thread_rate_limit_per_user", 0, MAX_SLOWMODE)
        parent = f.snowflake("parent_id")
        if isinstance(parent, str):
            self._check_parent(errs, ("parent_id",), parent, effective, current.id if current else None)
        changes["parent_id"] = parent
        overwrites = f.array("permission_overwrites", MAX_OVERWRITES_PER_REQUEST)
        if isinstance(overwrites, list):
            changes["overwrites"] = self._overwrites(errs, overwrites)
        errs.raise_if_any()
        nullable = {"topic", "rtc_region", "parent_id", "default_auto_archive_duration"}
        return {k: v for k, v in changes.items() if v is not MISSING and (v is not None or k in nullable)}

    def _next_position(self, channel_type: int, parent_id: str | None) -> int:
        siblings = [c.position for c in self.channels.values()
                    if c.parent_id == parent_id and (c.type == CATEGORY) == (channel_type == CATEGORY)]
        return max(siblings) + 1 if siblings else 0

    def create_channel(self, body: Any) -> dict[str, Any]:
        """Create a channel or category (201 in the API). 30013 at 500 channels, 50 per category."""
        changes = self._channel_changes(body, None)
        if len(self.channels) >= MAX_CHANNELS:
            raise ApiError(400, E.MAX_CHANNELS, f"Maximum number of guild channels reached ({MAX_CHANNELS})")
        kind = changes.pop("type")
        parent = changes.get("parent_id")
        position = changes.pop("position", None)
        if position is None:
            position = self._next_position(kind, parent)
        channel = ChannelRec(id=self.ids.next(), type=kind, name=changes.pop("name"), position=position)
        for key, value in changes.items():
            setattr(channel, key, value)
        self.channels[channel.id] = channel
        self.revision += 1
        return channel.to_api(self.guild_id)

    def update_channel(self, channel_id: str, body: Any) -> dict[str, Any]:
        channel = self._channel(channel_id)
        changes = self._channel_changes(body, channel)
        for key, value in changes.items():
            setattr(channel, key, value)
        self.revision += 1
        return channel.to_api(self.guild_id)

    def reorder_channels(self, body: Any) -> None:
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
            channel = self.channels.get(channel_id)
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
                source = self.channels[channel.parent_id].overwrites
                channel.overwrites = [OverwriteRec(o.id, o.type, o.allow, o.deny) for o in source]
        self.revision += 1

    def delete_channel(self, channel_id: str) -> dict[str, Any]:
        """Delete and return the channel; children of a category keep existing with parent_id null."""
        channel = self._channel(channel_id)
        shown = channel.to_api(self.guild_id)
        del self.channels[channel_id]
        for other in self.channels.values():
            if other.parent_id == channel_id:
                other.parent_id = None
        for hook_id in [h.id for h in self.webhooks.values() if h.channel_id == channel_id]:
            del self.webhooks[hook_id]
            self.messages.pop(hook_id, None)
        self.forget_channel(channel_id)
        for key in ("afk_channel_id", "system_channel_id"):
            if self.settings.get(key) == channel_id:
                self.settings[key] = None
        self.revision += 1
        return shown

    # ---- permission overwrites --------------------------------------------------------------

    def put_overwrite(self, channel_id: str, target_id: str, body: Any) -> None:
        channel = self._channel(channel_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        kind = f.integer("type", required=True, choices=(0, 1))
        allow = f.bits("allow")
        deny = f.bits("deny")
        errs.raise_if_any()
        if kind == 0 and target_id not in self.roles:
            raise E.unknown(E.UNKNOWN_ROLE)
        record = OverwriteRec(id=target_id, type=int(kind),  # type: ignore[arg-type]
                              allow=allow if isinstance(allow, int) else 0,
                              deny=deny if isinstance(deny, int) else 0)
        for index, existing in enumerate(channel.overwrites):
            if existing.id == target_id:
                channel.overwrites[index] = record
                break
        else:
            if len(channel.overwrites) >= MAX_OVERWRITES_PER_CHANNEL:
                raise ApiError(400, E.MAX_OVERWRITES,
                               f"Maximum number of channel permission overwrites reached "
                               f"({MAX_OVERWRITES_PER_CHANNEL})")
            channel.overwrites.append(record)
        self.revision += 1

    def delete_overwrite(self, channel_id: str, target_id: str) -> None:
        channel = self._channel(channel_id)
        kept = [o for o in channel.overwrites if o.id != target_id]
        if len(kept) == len(channel.overwrites):
            raise E.unknown(E.UNKNOWN_OVERWRITE)
        channel.overwrites = kept
        self.revision += 1

    # ---- webhooks ---------------------------------------------------------------------------

    def create_webhook(self, channel_id: str, body: Any, base_url: str) -> dict[str, Any]:
        channel = self._channel(channel_id)
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        name = f.string("name", 1, 80, required=True, nullable=False)
        f.string("avatar", 0, 10_000_000)
        if isinstance(name, str):
            _check_webhook_name(errs, ("name",), name)
        errs.raise_if_any()
        if channel.type == CATEGORY:
            raise ApiError(400, E.INVALID_CHANNEL_TYPE, "Cannot execute action on this channel type")
        if sum(1 for h in self.webhooks.values() if h.channel_id == channel_id) >= MAX_WEBHOOKS_PER_CHANNEL:
            raise ApiError(400, E.MAX_WEBHOOKS, f"Maximum number of webhooks reached ({MAX_WEBHOOKS_PER_CHANNEL})")
        hook = WebhookRec(id=self.ids.next(), token=secrets.token_urlsafe(51), channel_id=channel_id,
                          name=str(name))
        self.webhooks[hook.id] = hook
        self.messages[hook.id] = []
        self.revision += 1
        return hook.to_api(self.guild_id, base_url)

    def find_webhook(self, webhook_id: str, token: str) -> WebhookRec:
        """The webhook with this id and token; 404 10015 for an unknown id or a wrong token."""
        hook = self.webhooks.get(webhook_id)
        if hook is None or not secrets.compare_digest(hook.token.encode(), token.encode()):
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        return hook

    def execute_webhook(self, webhook_id: str, token: str, body: Any, thread_id: str | None) -> dict[str, Any]:
        """Post a message; returns it as a MessageResponse. 50006 when there is nothing to send."""
        hook = self.find_webhook(webhook_id, token)
        if thread_id is not None:
            raise E.unknown(E.UNKNOWN_CHANNEL)  # the emulator has no threads
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        content = f.string("content", 0, 2000)
        username = f.string("username", 1, 80)
        if isinstance(username, str):
            _check_webhook_name(errs, ("username",), username)
        f.string("avatar_url", 0, 2048)
        f.string("thread_name", 0, 100)
        tts = f.boolean("tts")
        flags = f.integer("flags", 0, 2**31 - 1)
        f.obj("allowed_mentions")
        f.obj("poll")
        components = f.array("components", 40)
        attachments = f.array("attachments", 10)
        embeds = f.array("embeds", 10)
        shown_embeds = _check_embeds(errs, embeds) if isinstance(embeds, list) else []
        errs.raise_if_any()
        has_content = isinstance(content, str) and content.strip() != ""
        if not (has_content or shown_embeds or components or attachments or isinstance(data.get("poll"), dict)):
            raise ApiError(400, E.EMPTY_MESSAGE, "Cannot send an empty message")
        message_id = self.ids.next()
        stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        message: dict[str, Any] = {
            "id": message_id, "type": 0, "content": content if isinstance(content, str) else "",
            "channel_id": hook.channel_id, "webhook_id": hook.id,
            "author": {"id": hook.id, "username": username if isinstance(username, str) else hook.name,
                       "avatar": None, "discriminator": "0000", "public_flags": 0, "flags": 0, "bot": True,
                       "global_name": None, "primary_guild": None},
            "attachments": [], "embeds": shown_embeds, "mentions": [], "mention_roles": [],
            "pinned": False, "mention_everyone": False, "tts": tts is True, "timestamp": stamp,
            "edited_timestamp": None, "flags": flags if isinstance(flags, int) else 0, "components": [],
        }
        stored = {**data, "id": message_id, "timestamp": stamp, "webhook_id": hook.id,
                  "channel_id": hook.channel_id}
        self.messages.setdefault(hook.id, []).append(stored)
        self.record_webhook_message(hook, data, message)
        self.revision += 1
        return message

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook (10015 if unknown); what it posted stays in the channel and in the log."""
        if webhook_id not in self.webhooks:
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        del self.webhooks[webhook_id]
        self.revision += 1

    def webhook_messages(self, webhook_id: str) -> list[dict[str, Any]]:
        if webhook_id not in self.webhooks and webhook_id not in self.messages:
            raise E.unknown(E.UNKNOWN_WEBHOOK)
        return list(self.messages.get(webhook_id, []))


def _check_webhook_name(errs: FormErrors, path: tuple[str, ...], name: str) -> None:
    lowered = name.casefold()
    for word in FORBIDDEN_WEBHOOK_NAMES:
        if word in lowered:
            errs.add(path, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{word}"')


def _check_embeds(errs: FormErrors, embeds: list[Any]) -> list[dict[str, Any]]:
    """Validate embeds (Discord's per-field limits and 6000 characters in total); returns their API form."""
    total = 0
    out: list[dict[str, Any]] = []
    for i, embed in enumerate(embeds):
        path: tuple[str | int, ...] = ("embeds", i)
        if not isinstance(embed, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        f = Fields(embed, errs, path)
        shown: dict[str, Any] = {"type": "rich"}
        for key, limit in (("title", 256), ("description", 4096), ("url", 2048), ("timestamp", 64)):
            value = f.string(key, 0, limit)
            if isinstance(value, str):
                shown[key] = value
                if key in ("title", "description"):
                    total += len(value)
        color = f.integer("color", 0, MAX_COLOR)
        if isinstance(color, int):
            shown["color"] = color
        for key, text_key, limit in (("footer", "text", 2048), ("author", "name", 256)):
            part = f.obj(key)
            if isinstance(part, dict):
                pf = Fields(part, errs, (*path, key))
                text = pf.string(text_key, 0, limit)
                pf.string("icon_url", 0, 2048)
                if key == "author":
                    pf.string("url", 0, 2048)
                if isinstance(text, str):
                    total += len(text)
                    shown[key] = {text_key: text}
        fields = f.array("fields", 25)
        if isinstance(fields, list):
            shown_fields = []
            for j, item in enumerate(fields):
                if not isinstance(item, dict):
                    errs.add((*path, "fields", j), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                    continue
                ff = Fields(item, errs, (*path, "fields", j))
                name = ff.string("name", 0, 256, required=True, nullable=False)
                value = ff.string("value", 0, 1024, required=True, nullable=False)
                inline = ff.boolean("inline")
                if isinstance(name, str) and isinstance(value, str):
                    total += len(name) + len(value)
                    shown_fields.append({"name": name, "value": value, "inline": inline is True})
            shown["fields"] = shown_fields
        out.append(shown)
    if total > EMBED_TOTAL_CHARS:
        errs.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_CHARS}")
    return out


def parse_path_id(value: str) -> str | None:
    """A path segment as a canonical snowflake string, or None."""
    number = parse_snowflake(value)
    return None if number is None else str(number)


__all__ = ["DataFileError", "GuildState", "form_error", "parse_path_id"]
