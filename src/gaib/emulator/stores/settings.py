"""The guild's name, settings, boost level and the images of its icon and banner.

Discord's rules kept here: guild name 2-100 characters, the closed enums of the guild settings, an
AFK channel that is a voice channel and a system channel that is a text channel, the banner only from
boost level 2 (the ``BANNER`` feature) and an animated icon from level 1 (``ANIMATED_ICON``). Icons
and banners arrive as data URIs and are kept by CDN path (``icons/{guild}/{hash}.png``).
Community settings: the rules, public updates and safety alerts channels (text channels of this
server), the description (0-300, the spec's ``GuildPatchRequestPartial``), the invite splash (needs
``INVITE_SPLASH``, boost level 1) and the discovery splash (needs ``DISCOVERABLE``, which Discord grants
to community servers it lists; the control route ``POST /_emulator/guild {"features": [...]}`` grants
it here, with ``COMMUNITY``). Both splashes are kept like the banner (``splashes/{guild}/{hash}.png``,
``discovery-splashes/{guild}/{hash}.png``); a missing feature is 50035 ``GUILD_FEATURE_REQUIRED``.
The name survives :meth:`SettingsStore.reset`: only a PATCH or the data file change it.
"""

from __future__ import annotations

from typing import Any

from gaib.discord import limits as L
from gaib.discord.community import AFK_TIMEOUTS, image_type
from gaib.emulator.apierrors import FormErrors, form_error
from gaib.emulator.fields import MISSING, Fields, require_object
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.images import decode_data_uri, image_hash

LOCALES = ("ar", "bg", "cs", "da", "de", "el", "en-GB", "en-US", "es-419", "es-ES", "fi", "fr", "he", "hi", "hr",
           "hu", "id", "it", "ja", "ko", "lt", "nl", "no", "pl", "pt-BR", "ro", "ru", "sv-SE", "th", "tr", "uk",
           "vi", "zh-CN", "zh-TW")


def default_settings() -> dict[str, Any]:
    return {"icon": None, "banner": None, "description": None, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "afk_channel_id": None,
            "afk_timeout": 300, "system_channel_id": None, "system_channel_flags": 0, "preferred_locale": "en-US",
            "rules_channel_id": None, "public_updates_channel_id": None, "safety_alerts_channel_id": None,
            "splash": None, "discovery_splash": None, "granted_features": []}

#: Settings that name a text channel, checked and cleared like the system channel.
TEXT_CHANNEL_SETTINGS = ("system_channel_id", "rules_channel_id", "public_updates_channel_id",
                         "safety_alerts_channel_id")
#: Guild features the control route may grant (Discord grants them outside the API).
GRANTABLE = ("COMMUNITY", "DISCOVERABLE", "NEWS")
_IMAGE_FOLDERS = {"icon": "icons", "banner": "banners", "splash": "splashes", "discovery_splash": "discovery-splashes"}


class SettingsStore:
    """``values`` holds the settings as the API shows them (image fields as hashes); ``images`` the
    icon and banner bytes by CDN path."""

    def __init__(self, ctx: GuildContext, channels: ChannelStore, guild_name: str) -> None:
        self.ctx = ctx
        self.channels = channels
        self.guild_name = guild_name
        self.values: dict[str, Any] = {}
        self.premium_tier = 0
        self.images: dict[str, bytes] = {}
        self.reset()

    def reset(self) -> None:
        self.values = default_settings()
        self.premium_tier = 0
        self.images = {}

    @property
    def features(self) -> list[str]:
        out = []
        if self.premium_tier >= 1:
            out += ["ANIMATED_ICON", "INVITE_SPLASH"]
        if self.premium_tier >= 2:
            out += ["BANNER", "ROLE_ICONS"]
        return out + [f for f in self.values.get("granted_features", []) if f not in out]

    def set_granted_features(self, features: Any) -> None:
        """Control route: the features Discord grants outside the API (:data:`GRANTABLE`)."""
        if not isinstance(features, list) or any(f not in GRANTABLE for f in features):
            raise form_error(("features",), "BASE_TYPE_CHOICES", f"Values must be some of {GRANTABLE}.")
        self.values["granted_features"] = sorted(set(features))
        self.ctx.changed()

    def api_object(self) -> dict[str, Any]:
        """The settings part of Discord's guild object (``premium_tier`` and ``features`` included)."""
        s = self.values
        return {
            "icon": s["icon"], "description": s["description"], "banner": s["banner"],
            "afk_channel_id": s["afk_channel_id"], "afk_timeout": s["afk_timeout"],
            "system_channel_id": s["system_channel_id"], "system_channel_flags": s["system_channel_flags"],
            "verification_level": s["verification_level"],
            "default_message_notifications": s["default_message_notifications"],
            "explicit_content_filter": s["explicit_content_filter"], "preferred_locale": s["preferred_locale"],
            **{k: s.get(k) for k in ("rules_channel_id", "public_updates_channel_id", "safety_alerts_channel_id",
                                     "splash", "discovery_splash")},
            "premium_tier": self.premium_tier, "premium_subscription_count": (0, 2, 7, 14)[self.premium_tier],
            "features": self.features,
        }

    def update(self, body: Any) -> None:
        """PATCH /guilds/{id}: validate every field first, then apply."""
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        changes: dict[str, Any] = {}
        name = f.string("name", 2, 100, nullable=False)
        if isinstance(name, str):
            if len(name.strip()) < 2:
                errs.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
            changes["name"] = name.strip()
        for key, lo, hi in (("verification_level", 0, 4), ("default_message_notifications", 0, 1),
                            ("explicit_content_filter", 0, 2)):
            value = f.integer(key, choices=range(lo, hi + 1), nullable=False)
            if isinstance(value, int):
                changes[key] = value
        timeout = f.integer("afk_timeout", choices=AFK_TIMEOUTS, nullable=False)
        if isinstance(timeout, int):
            changes["afk_timeout"] = timeout
        flags = f.integer("system_channel_flags", 0, 2**31 - 1, nullable=False)
        if isinstance(flags, int):
            changes["system_channel_flags"] = flags
        locale = f.string("preferred_locale", 2, 10, nullable=False)
        if isinstance(locale, str):
            if locale not in LOCALES:
                errs.add(("preferred_locale",), "BASE_TYPE_CHOICES", f"Value must be one of {LOCALES}.")
            changes["preferred_locale"] = locale
        description = f.string("description", 0, 300)
        if description is not MISSING:
            changes["description"] = description
        for key, kinds, what in (("afk_channel_id", (2,), "a voice channel"),
                                 *((k, (0, 5), "a text channel") for k in TEXT_CHANNEL_SETTINGS)):
            target = f.snowflake(key)
            if target is MISSING:
                continue
            if target is not None:
                channel = self.channels.by_id.get(str(target))
                if channel is None or channel.type not in kinds:
                    errs.add((key,), "CHANNEL_TYPE_INVALID", f"Must be {what} of this server.")
            changes[key] = target
        self._image_changes(f, errs, changes)
        errs.raise_if_any()
        self._apply(changes)

    def _image_changes(self, f: Fields, errs: FormErrors, changes: dict[str, Any]) -> None:
        for key, feature in (("icon", None), ("banner", "BANNER"), ("splash", "INVITE_SPLASH"),
                             ("discovery_splash", "DISCOVERABLE")):
            raw = f.string(key, 0, 20_000_000)
            if raw is MISSING:
                continue
            if raw is None:
                changes[key] = None
                continue
            if feature is not None and feature not in self.features:
                errs.add((key,), "GUILD_FEATURE_REQUIRED", f"This server needs the {feature} feature.")
                continue
            image = decode_data_uri(errs, key, raw, L.GUILD_IMAGE_MAX_BYTES)
            if image is not None:
                if image_type(image) == "image/gif" and "ANIMATED_ICON" not in self.features and key == "icon":
                    errs.add((key,), "GUILD_FEATURE_REQUIRED", "This server needs the ANIMATED_ICON feature.")
                    continue
                changes[key] = image

    def _apply(self, changes: dict[str, Any]) -> None:
        gid = self.ctx.guild_id
        for key, value in changes.items():
            if key == "name":
                self.guild_name = value
            elif key in _IMAGE_FOLDERS and isinstance(value, bytes):
                digest = image_hash(value)
                folder = _IMAGE_FOLDERS[key]
                self.images[f"{folder}/{gid}/{digest}.{'gif' if digest.startswith('a_') else 'png'}"] = value
                self.values[key] = digest
            else:
                self.values[key] = value
        self.ctx.changed()

    def set_premium_tier(self, tier: Any) -> None:
        """Control route: the boost level 0-3 (a 50035 otherwise)."""
        if isinstance(tier, bool) or not isinstance(tier, int) or not 0 <= tier <= 3:
            raise form_error(("premium_tier",), "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2, 3}.")
        self.premium_tier = tier
        self.ctx.changed()

    def forget_channel(self, channel_id: str) -> None:
        """Part of deleting a channel: it stops being the AFK or system channel."""
        for key in ("afk_channel_id", *TEXT_CHANNEL_SETTINGS):
            if self.values.get(key) == channel_id:
                self.values[key] = None
