"""AutoMod rules: ``/guilds/{id}/auto-moderation/rules`` (list, create, get, modify, delete).

Discord's rules kept here (sources: discord-api-docs ``resources/auto-moderation`` at c98d64bc, "Trigger
Types" and "Trigger Metadata Field Limits"; the OpenAPI spec's ``*UpsertRequest`` schemas):

* per guild at most 6 KEYWORD (1) rules and 1 each of SPAM (3), KEYWORD_PRESET (4), MENTION_SPAM (5)
  and MEMBER_PROFILE (6): one more is a 50035 ``AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED``;
* ``keyword_filter`` at most 1000 strings of 1-60 characters, ``regex_patterns`` at most 10 of 1-260,
  ``allow_list`` at most 100 (KEYWORD, MEMBER_PROFILE) or 1000 (KEYWORD_PRESET) of 1-60, ``presets``
  from 1-3, ``mention_total_limit`` 0-50;
* a name of 1-100 characters, ``event_type`` 1 or 2, 1-5 actions (1 block, 2 flag to a channel of this
  server, 3 timeout of 0-2419200 s, 4 quarantine), at most 20 exempt roles and 50 exempt channels, each
  of this server; the trigger type cannot change after creation.

An unknown rule is 404 with code 10066.
"""

from __future__ import annotations

from typing import Any

from gaib.discord import limits as L
from gaib.emulator.apierrors import ApiError, FormErrors, form_error
from gaib.emulator.fields import Fields, require_object
from gaib.emulator.safety.common import id_list
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.roles import RoleStore

UNKNOWN_RULE = 10066
BOT_ID = "100000000000000001"
MAX_RULES = L.AUTOMOD_MAX_RULES
LIST_LIMITS = L.AUTOMOD_LISTS
PRESET_ALLOW_LIST = L.AUTOMOD_PRESET_ALLOW_LIST
TIMEOUT_MAX = 2_419_200


def _metadata_shape(trigger: int, meta: dict[str, Any]) -> dict[str, Any]:
    if trigger in (1, 6):
        return {k: list(meta.get(k) or []) for k in ("keyword_filter", "regex_patterns", "allow_list")}
    if trigger == 4:
        return {"allow_list": list(meta.get("allow_list") or []), "presets": list(meta.get("presets") or [])}
    if trigger == 5:
        return {"mention_total_limit": int(meta.get("mention_total_limit") or 0),
                "mention_raid_protection_enabled": bool(meta.get("mention_raid_protection_enabled"))}
    return {}


class AutomodStore:
    """The guild's AutoMod rules by id, in Discord's response shape."""

    def __init__(self, ctx: GuildContext, roles: RoleStore, channels: ChannelStore) -> None:
        self.ctx, self.roles, self.channels = ctx, roles, channels
        self.by_id: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        self.by_id = {}

    def listing(self) -> list[dict[str, Any]]:
        return [dict(r) for r in sorted(self.by_id.values(), key=lambda r: int(r["id"]))]

    def get(self, rule_id: str) -> dict[str, Any]:
        rule = self.by_id.get(rule_id)
        if rule is None:
            raise ApiError(404, UNKNOWN_RULE, "Unknown auto moderation rule")
        return dict(rule)

    def create(self, body: Any) -> dict[str, Any]:
        data = require_object(body)
        errs = FormErrors()
        f = Fields(data, errs)
        trigger = f.integer("trigger_type", required=True, choices=MAX_RULES)
        fields = self._fields(data, errs, trigger if isinstance(trigger, int) else 1, creating=True)
        errs.raise_if_any()
        assert isinstance(trigger, int)
        if sum(1 for r in self.by_id.values() if r["trigger_type"] == trigger) >= MAX_RULES[trigger]:
            raise form_error((), "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                             f"Maximum number of rules of this trigger type reached ({MAX_RULES[trigger]}).")
        rule: dict[str, Any] = {"id": self.ctx.ids.next(), "guild_id": self.ctx.guild_id, "creator_id": BOT_ID,
                "trigger_type": trigger, "enabled": False, "exempt_roles": [], "exempt_channels": [],
                "trigger_metadata": _metadata_shape(trigger, {})}
        rule.update(fields)
        self.by_id[rule["id"]] = rule
        self.ctx.changed()
        return dict(rule)

    def update(self, rule_id: str, body: Any) -> dict[str, Any]:
        rule = self.get(rule_id)
        errs = FormErrors()
        fields = self._fields(require_object(body), errs, int(rule["trigger_type"]), creating=False)
        errs.raise_if_any()
        rule.update(fields)
        self.by_id[rule_id] = rule
        self.ctx.changed()
        return dict(rule)

    def delete(self, rule_id: str) -> None:
        self.get(rule_id)
        del self.by_id[rule_id]
        self.ctx.changed()

    def forget(self, object_id: str) -> None:
        """Part of deleting a role or channel: it stops being exempt (a flag action keeps its id)."""
        for rule in self.by_id.values():
            for key in ("exempt_roles", "exempt_channels"):
                if object_id in rule[key]:
                    rule[key] = [x for x in rule[key] if x != object_id]

    # ---- validation ---------------------------------------------------------------------------

    def _fields(self, data: dict[str, Any], errs: FormErrors, trigger: int, *, creating: bool) -> dict[str, Any]:
        f = Fields(data, errs)
        out: dict[str, Any] = {}
        name = f.string("name", 1, 100, required=creating, nullable=False)
        if isinstance(name, str):
            out["name"] = name
        event = f.integer("event_type", required=creating, nullable=False, choices=(1, 2))
        if isinstance(event, int):
            out["event_type"] = event
        enabled = f.boolean("enabled")
        if isinstance(enabled, bool):
            out["enabled"] = enabled
        for key, most, known in (("exempt_roles", 20, self.roles.by_id), ("exempt_channels", 50, self.channels.by_id)):
            ids = id_list(errs, (key,), data.get(key), most)
            if ids is not None:
                for n, ident in enumerate(ids):
                    if ident not in known:
                        errs.add((key, n), "BASE_TYPE_CHOICES", "Must be an id of this server.")
                out[key] = ids
        actions = f.array("actions", 5)
        if isinstance(actions, list):
            if not actions:
                errs.add(("actions",), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
            out["actions"] = [self._action(errs, n, a) for n, a in enumerate(actions)]
        elif creating:
            errs.add(("actions",), "BASE_TYPE_REQUIRED", "This field is required")
        meta = f.obj("trigger_metadata")
        if isinstance(meta, dict):
            out["trigger_metadata"] = self._metadata(errs, trigger, meta)
        return out

    def _action(self, errs: FormErrors, n: int, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errs.add(("actions", n), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return {}
        f = Fields(raw, errs, ("actions", n))
        kind = f.integer("type", required=True, choices=(1, 2, 3, 4))
        meta = f.obj("metadata")
        meta = meta if isinstance(meta, dict) else {}
        m = Fields(meta, errs, ("actions", n, "metadata"))
        shown: dict[str, Any] = {}
        if kind == 1:
            message = m.string("custom_message", 0, 150)
            if isinstance(message, str):
                shown["custom_message"] = message
        elif kind == 2:
            channel = m.snowflake("channel_id", required=True)
            if isinstance(channel, str) and channel not in self.channels.by_id:
                errs.add(("actions", n, "metadata", "channel_id"), "BASE_TYPE_CHOICES",
                         "Must be a channel of this server.")
            shown["channel_id"] = channel
        elif kind == 3:
            seconds = m.integer("duration_seconds", 0, TIMEOUT_MAX, required=True)
            shown["duration_seconds"] = seconds if isinstance(seconds, int) else 0
        return {"type": kind if isinstance(kind, int) else 1, "metadata": shown}

    def _metadata(self, errs: FormErrors, trigger: int, meta: dict[str, Any]) -> dict[str, Any]:
        path = ("trigger_metadata",)
        for key, (most, longest) in LIST_LIMITS.items():
            if key not in meta or meta[key] is None:
                continue
            most = PRESET_ALLOW_LIST if key == "allow_list" and trigger == 4 else most
            items = meta[key]
            if not isinstance(items, list):
                errs.add((*path, key), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
                continue
            if len(items) > most:
                errs.add((*path, key), "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")
            for n, item in enumerate(items):
                if not isinstance(item, str) or not 1 <= len(item) <= longest:
                    errs.add((*path, key, n), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {longest} in length.")
        presets = meta.get("presets")
        if presets is not None and (not isinstance(presets, list) or any(p not in (1, 2, 3) for p in presets)):
            errs.add((*path, "presets"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        Fields(meta, errs, path).integer("mention_total_limit", 0, 50)
        return _metadata_shape(trigger, meta)
