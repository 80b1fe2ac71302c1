"""The emulated guild: one store per kind of resource (:mod:`gaib.emulator.stores`), composed here.

:class:`GuildState` owns what spans stores: deleting a role (its overwrites go too) or a channel
(its webhooks, history and AFK/system-channel settings go too), the guild object, reset and the
data file. Every other change is made through a store, e.g. ``state.roles.create(body)``; each
validates its whole input first and raises :class:`~gaib.emulator.apierrors.ApiError` without
changing anything. ``revision`` grows on every change (the server saves the data file on change).
Callers hold one lock around each call (the state is not thread-safe by itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaib.emulator.safety.state import SafetyStores
from gaib.emulator.snowflake import SnowflakeGenerator
from gaib.emulator.stores import datafile
from gaib.emulator.stores.audit import AuditLog
from gaib.emulator.stores.bans import BanStore
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.emojis import EmojiStore
from gaib.emulator.stores.members import MemberStore
from gaib.emulator.stores.messages import MessageStore
from gaib.emulator.stores.overwrites import OverwriteStore
from gaib.emulator.stores.roles import RoleStore
from gaib.emulator.stores.settings import SettingsStore
from gaib.emulator.stores.stickers import StickerStore
from gaib.emulator.stores.threads import ThreadStore
from gaib.emulator.stores.users import UserStore
from gaib.emulator.stores.webhooks import WebhookStore

OWNER_ID = "80351110224678912"


class GuildState:
    """One guild's objects, as stores: ``roles``, ``channels``, ``threads``, ``overwrites``, ``webhooks``,
    ``settings``, ``emojis``, ``stickers``, ``bans``, ``users``, ``messages`` (channel history),
    ``members`` (roles and nicknames), ``audit`` (the audit log) and ``safety`` (AutoMod, onboarding,
    welcome screen, events, soundboard)."""

    def __init__(self, guild_id: str, guild_name: str, ids: SnowflakeGenerator,
                 clock: Callable[[], float]) -> None:
        self.ctx = GuildContext(guild_id, ids, clock)
        self.users = UserStore()
        self.roles = RoleStore(self.ctx)
        self.channels = ChannelStore(self.ctx, self.roles)
        self.overwrites = OverwriteStore(self.ctx, self.channels, self.roles)
        self.settings = SettingsStore(self.ctx, self.channels, guild_name)
        self.emojis = EmojiStore(self.ctx, self.roles, self.settings)
        self.stickers = StickerStore(self.ctx, self.settings)
        self.bans = BanStore(self.ctx, self.users)
        self.messages = MessageStore(self.ctx, self.channels, self.roles, self.users)
        self.webhooks = WebhookStore(self.ctx, self.channels, self.messages)
        self.threads = ThreadStore(self.ctx, self.channels, self.messages)
        self.channels.tier = lambda: self.settings.premium_tier
        self.roles.features = lambda: self.settings.features
        self.roles.images = lambda: self.settings.images
        self.messages.is_thread = self.threads.__contains__
        self.webhooks.thread_target = self.threads.accepting
        self.audit = AuditLog(self.ctx)
        self.members = MemberStore(self.ctx, self.users, self.roles)
        self.safety = SafetyStores(self.ctx, self.roles, self.channels, self.settings)
        self.reset()

    @property
    def guild_id(self) -> str:
        return self.ctx.guild_id

    @property
    def guild_name(self) -> str:
        return self.settings.guild_name

    @property
    def ids(self) -> SnowflakeGenerator:
        return self.ctx.ids

    @property
    def revision(self) -> int:
        return self.ctx.revision

    # ---- whole-guild ------------------------------------------------------------------------

    def clear(self) -> None:
        """Empty every store (only @everyone left; the name stays) without counting a change."""
        self.users.reset()
        self.roles.reset()
        self.channels.reset()
        self.settings.reset()
        self.emojis.reset()
        self.stickers.reset()
        self.bans.reset()
        self.messages.reset()
        self.webhooks.reset()
        self.threads.reset()
        self.audit.reset()
        self.members.reset()
        self.safety.reset()

    def reset(self) -> None:
        """Empty the guild: only @everyone (id = guild id) remains; webhooks and messages go too."""
        self.clear()
        self.ctx.changed()

    def guild_object(self, with_counts: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.guild_id, "name": self.guild_name, "icon": None, "description": None,
            "home_header": None, "splash": None, "discovery_splash": None, "features": [],
            "banner": None, "owner_id": OWNER_ID, "application_id": None, "region": "deprecated",
            "afk_channel_id": None, "afk_timeout": 300, "system_channel_id": None,
            "system_channel_flags": 0, "widget_enabled": False, "widget_channel_id": None,
            "verification_level": 0, "roles": self.roles.listing(), "default_message_notifications": 0,
            "mfa_level": 0, "explicit_content_filter": 0, "max_presences": None, "max_members": 500000,
            "max_stage_video_channel_users": 50, "max_video_channel_users": 25, "vanity_url_code": None,
            "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
            "rules_channel_id": None, "safety_alerts_channel_id": None, "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False, "nsfw": False, "nsfw_level": 0, "emojis": [],
            "stickers": [], "incidents_data": None,
        }
        out.update(self.settings.api_object())
        out.update(emojis=self.emojis.listing(), stickers=self.stickers.listing())
        out["features"] = [*out["features"], *self.safety.features()]
        if with_counts:
            out["approximate_member_count"] = 1
            out["approximate_presence_count"] = 0
        return out

    def to_json(self) -> dict[str, Any]:
        """The guild as a data file document (:mod:`gaib.emulator.stores.datafile`)."""
        return datafile.dump(self)

    def load_json(self, data: Any) -> None:
        """Replace the guild with a saved one; raises DataFileError (and changes nothing) if malformed."""
        datafile.load(self, data)

    # ---- changes that span stores -----------------------------------------------------------

    def delete_role(self, role_id: str) -> None:
        """Delete a role, every channel overwrite that names it and every member's hold of it; @everyone
        gives 50028."""
        self.roles.delete(role_id)
        self.overwrites.forget_role(role_id)
        self.members.forget_role(role_id)
        self.safety.forget_role(role_id)

    def delete_channel(self, channel_id: str) -> dict[str, Any]:
        """Delete and return the channel; children of a category keep existing with parent_id null;
        its webhooks and history go, and it stops being the AFK or system channel."""
        if channel_id in self.threads:
            return self.threads.delete(channel_id)
        shown = self.channels.delete(channel_id)
        self.threads.forget_parent(channel_id)
        self.webhooks.forget_channel(channel_id)
        self.messages.forget_channel(channel_id)
        self.settings.forget_channel(channel_id)
        self.safety.forget_channel(channel_id)
        return shown
