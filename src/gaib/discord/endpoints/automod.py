"""AutoMod rule endpoints: list, create, modify and delete a guild's rules (Discord's JSON objects).

Contract: rules come back as Discord's rule objects (``id``, ``name``, ``trigger_type``,
``trigger_metadata``, ``actions``, ``exempt_roles``, ``exempt_channels``, ``enabled`` …), checked to be
JSON objects with an id; ids are checked before anything is sent (InvalidName). ``dedupe=True`` reads
the rules first and, after a failure the server may have processed, returns a new rule of that name
instead of creating it again. A missing rule raises DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord.endpoints.common import as_body, parse, parse_list, require_guild, route
from gaib.discord.endpoints.emojis import new_named

if TYPE_CHECKING:
    from gaib.discord.transport import Transport

BASE = "/guilds/{guild_id}/auto-moderation/rules"
ITEM = BASE + "/{rule_id}"


def raw_object(data: dict[str, Any]) -> dict[str, Any]:
    """A Discord object that carries an id (KeyError otherwise, which :func:`parse` reports)."""
    str(data["id"])
    return dict(data)


class Automod:
    """The AutoMod rules of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def _list_raw(self) -> Any:
        return self._transport.request(route("GET", BASE, guild_id=require_guild(self._guild_id)))

    def list_rules(self) -> list[dict[str, Any]]:
        return parse_list("AutoMod rule", raw_object, self._list_raw())

    def create_rule(self, fields: Mapping[str, Any], *, reason: str | None = None,
                    dedupe: bool = False) -> dict[str, Any]:
        body = as_body(fields, "AutoMod rule")
        post = route("POST", BASE, guild_id=require_guild(self._guild_id))
        probe = new_named(self._list_raw, str(body.get("name"))) if dedupe else None
        return parse("AutoMod rule", raw_object, self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_rule(self, rule_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        patch = route("PATCH", ITEM, guild_id=require_guild(self._guild_id), rule_id=rule_id)
        return parse("AutoMod rule", raw_object,
                     self._transport.request(patch, body=as_body(fields, "AutoMod rule"), reason=reason))

    def delete_rule(self, rule_id: str, *, reason: str | None = None) -> None:
        self._transport.request(route("DELETE", ITEM, guild_id=require_guild(self._guild_id), rule_id=rule_id),
                                reason=reason)
