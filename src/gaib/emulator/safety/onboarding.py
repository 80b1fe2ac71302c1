"""Onboarding (``GET/PUT /guilds/{id}/onboarding``) and the welcome screen (``GET/PATCH
/guilds/{id}/welcome-screen``).

Discord's rules kept here (sources: the OpenAPI spec's ``UpdateGuildOnboardingRequest`` and
``WelcomeScreenPatchRequestPartial``; discord-api-docs ``resources/guild`` at c98d64bc, "Modify Guild
Onboarding" and "Guild Onboarding Mode"; the JSON error codes 350000):

* at most 15 prompts of 1-100 characters, each with 1-50 options (title 1-50, description at most
  100, at most 50 roles and 50 channels of this server), at most 500 default channels;
* enabled onboarding needs at least 7 default channels, 5 of which let @everyone send messages
  (mode 1, ``ONBOARDING_ADVANCED``, also counts the channels the prompts' options give): a PUT that
  leaves it enabled below that is 400 with code 350000 and nothing changes;
* a prompt or option id the guild does not hold yet gets a new snowflake;
* the welcome screen: a description of at most 140 characters and at most 5 welcome channels (a
  description of 1-50 characters each); ``enabled`` shows as the ``WELCOME_SCREEN_ENABLED`` feature.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from gaib.discord import limits as L
from gaib.emulator.apierrors import ApiError, FormErrors
from gaib.emulator.fields import Fields, require_object
from gaib.emulator.safety.common import everyone_can_send, id_list
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.roles import RoleStore

REQUIREMENTS_NOT_MET = 350000
MIN_DEFAULT_CHANNELS = L.ONBOARDING_MIN_CHANNELS
MIN_SENDABLE_CHANNELS = L.ONBOARDING_MIN_SENDABLE


def _default_onboarding(guild_id: str) -> dict[str, Any]:
    return {"guild_id": guild_id, "prompts": [], "default_channel_ids": [], "enabled": False, "mode": 0}


class OnboardingStore:
    """The guild's onboarding and welcome screen, in Discord's response shapes."""

    def __init__(self, ctx: GuildContext, roles: RoleStore, channels: ChannelStore) -> None:
        self.ctx, self.roles, self.channels = ctx, roles, channels
        self.onboarding: dict[str, Any] = _default_onboarding(ctx.guild_id)
        self.welcome: dict[str, Any] = {"description": None, "welcome_channels": []}
        self.welcome_enabled = False

    def reset(self) -> None:
        self.onboarding = _default_onboarding(self.ctx.guild_id)
        self.welcome = {"description": None, "welcome_channels": []}
        self.welcome_enabled = False

    # ---- onboarding ---------------------------------------------------------------------------

    def get(self) -> dict[str, Any]:
        return deepcopy(self.onboarding)

    def put(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        new = deepcopy(self.onboarding)
        enabled = f.boolean("enabled")
        if isinstance(enabled, bool):
            new["enabled"] = enabled
        mode = f.integer("mode", choices=(0, 1))
        if isinstance(mode, int):
            new["mode"] = mode
        defaults = id_list(errs, ("default_channel_ids",), data.get("default_channel_ids"), 500)
        if defaults is not None:
            for n, ident in enumerate(defaults):
                if ident not in self.channels.by_id:
                    errs.add(("default_channel_ids", n), "BASE_TYPE_CHOICES", "Must be a channel of this server.")
            new["default_channel_ids"] = defaults
        prompts = f.array("prompts", 15)
        if isinstance(prompts, list):
            new["prompts"] = [self._prompt(errs, n, p) for n, p in enumerate(prompts)]
        errs.raise_if_any()
        if new["enabled"] and not self.meets_requirements(new):
            raise ApiError(400, REQUIREMENTS_NOT_MET, "Cannot enable onboarding, requirements are not met")
        self.onboarding = new
        self.ctx.changed()
        return deepcopy(new)

    def meets_requirements(self, onboarding: dict[str, Any]) -> bool:
        """At least 7 channels, 5 of which @everyone may send messages in (see the module docstring)."""
        counted = list(onboarding["default_channel_ids"])
        if onboarding["mode"] == 1:
            counted += [c for p in onboarding["prompts"] for o in p["options"] for c in o["channel_ids"]]
        channels = [c for c in dict.fromkeys(counted) if c in self.channels.by_id]
        sendable = [c for c in channels if everyone_can_send(self.ctx.guild_id, self.roles, self.channels, c)]
        return len(channels) >= MIN_DEFAULT_CHANNELS and len(sendable) >= MIN_SENDABLE_CHANNELS

    def _prompt(self, errs: FormErrors, n: int, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errs.add(("prompts", n), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return {"options": []}
        path = ("prompts", n)
        f = Fields(raw, errs, path)
        known = {p["id"] for p in self.onboarding["prompts"]}
        ident = f.snowflake("id", required=True)
        title = f.string("title", 1, 100, required=True)
        options = f.array("options", 50)
        if options is None or (isinstance(options, list) and not options) or "options" not in raw:
            errs.add((*path, "options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        kind = f.integer("type", choices=(0, 1))
        flags = {k: f.boolean(k) for k in ("single_select", "required", "in_onboarding")}
        return {
            "id": ident if isinstance(ident, str) and ident in known else self.ctx.ids.next(),
            "title": title if isinstance(title, str) else "",
            "options": [self._option(errs, (*path, "options", i), o)
                        for i, o in enumerate(options if isinstance(options, list) else [])],
            "single_select": flags["single_select"] is True, "required": flags["required"] is True,
            "in_onboarding": flags["in_onboarding"] is not False, "type": kind if isinstance(kind, int) else 0,
        }

    def _option(self, errs: FormErrors, path: tuple[str | int, ...], raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return {}
        f = Fields(raw, errs, path)
        known = {o["id"] for p in self.onboarding["prompts"] for o in p["options"]}
        ident = f.snowflake("id")
        title = f.string("title", 1, 50, required=True)
        description = f.string("description", 0, 100)
        emoji_id = f.snowflake("emoji_id")
        emoji_name = f.string("emoji_name", 0, 100)
        animated = f.boolean("emoji_animated")
        lists: dict[str, list[str]] = {}
        for key, where in (("role_ids", self.roles.by_id), ("channel_ids", self.channels.by_id)):
            ids = id_list(errs, (*path, key), raw.get(key), 50) or []
            for n, one in enumerate(ids):
                if one not in where:
                    errs.add((*path, key, n), "BASE_TYPE_CHOICES", "Must be an id of this server.")
            lists[key] = ids
        return {"id": ident if isinstance(ident, str) and ident in known else self.ctx.ids.next(),
                "title": title if isinstance(title, str) else "",
                "description": description if isinstance(description, str) else "",
                "emoji": {"id": emoji_id if isinstance(emoji_id, str) else None,
                          "name": emoji_name if isinstance(emoji_name, str) else None, "animated": animated is True},
                **lists}

    # ---- welcome screen -----------------------------------------------------------------------

    def get_welcome(self) -> dict[str, Any]:
        return deepcopy(self.welcome)

    def patch_welcome(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        new = deepcopy(self.welcome)
        description = f.string("description", 0, 140)
        if description is None or isinstance(description, str):
            new["description"] = description
        enabled = f.boolean("enabled")
        channels = f.array("welcome_channels", 5)
        if isinstance(channels, list):
            new["welcome_channels"] = [self._welcome_channel(errs, n, c) for n, c in enumerate(channels)]
        errs.raise_if_any()
        self.welcome = new
        if isinstance(enabled, bool):
            self.welcome_enabled = enabled
        self.ctx.changed()
        return deepcopy(new)

    def _welcome_channel(self, errs: FormErrors, n: int, raw: Any) -> dict[str, Any]:
        path = ("welcome_channels", n)
        if not isinstance(raw, dict):
            errs.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return {}
        f = Fields(raw, errs, path)
        channel = f.snowflake("channel_id", required=True)
        if isinstance(channel, str) and channel not in self.channels.by_id:
            errs.add((*path, "channel_id"), "BASE_TYPE_CHOICES", "Must be a channel of this server.")
        description = f.string("description", 1, 50, required=True)
        emoji_id = f.snowflake("emoji_id")
        emoji_name = f.string("emoji_name", 0, 100)
        return {"channel_id": channel, "description": description if isinstance(description, str) else "",
                "emoji_id": emoji_id if isinstance(emoji_id, str) else None,
                "emoji_name": emoji_name if isinstance(emoji_name, str) else None}

    def forget_channel(self, channel_id: str) -> None:
        """Part of deleting a channel: it leaves the default channels, options and welcome channels."""
        ob = self.onboarding
        ob["default_channel_ids"] = [c for c in ob["default_channel_ids"] if c != channel_id]
        for p in ob["prompts"]:
            for o in p["options"]:
                o["channel_ids"] = [c for c in o["channel_ids"] if c != channel_id]
        self.welcome["welcome_channels"] = [w for w in self.welcome["welcome_channels"]
                                            if w.get("channel_id") != channel_id]

    def forget_role(self, role_id: str) -> None:
        for p in self.onboarding["prompts"]:
            for o in p["options"]:
                o["role_ids"] = [r for r in o["role_ids"] if r != role_id]
