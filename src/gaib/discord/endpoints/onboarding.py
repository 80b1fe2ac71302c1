"""Onboarding and welcome-screen endpoints (Discord's JSON objects).

Contract: ``get_onboarding`` / ``put_onboarding`` read and replace the guild's onboarding (prompts,
default channels, mode, enabled; Discord answers 350000 when enabled onboarding would fall below its
requirements); ``get_welcome_screen`` / ``update_welcome_screen`` read and change the welcome screen
(description, welcome channels; ``enabled`` is written here and read back from the guild's
``WELCOME_SCREEN_ENABLED`` feature). Answers are checked to be JSON objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord.endpoints.common import as_body, parse, require_guild, route

if TYPE_CHECKING:
    from gaib.discord.transport import Transport


def _object(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)


class Onboarding:
    """The onboarding and welcome screen of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def get_onboarding(self) -> dict[str, Any]:
        get = route("GET", "/guilds/{guild_id}/onboarding", guild_id=require_guild(self._guild_id))
        return parse("onboarding", _object, self._transport.request(get))

    def put_onboarding(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        put = route("PUT", "/guilds/{guild_id}/onboarding", guild_id=require_guild(self._guild_id))
        return parse("onboarding", _object,
                     self._transport.request(put, body=as_body(fields, "onboarding"), reason=reason))

    def get_welcome_screen(self) -> dict[str, Any]:
        get = route("GET", "/guilds/{guild_id}/welcome-screen", guild_id=require_guild(self._guild_id))
        return parse("welcome screen", _object, self._transport.request(get))

    def update_welcome_screen(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        patch = route("PATCH", "/guilds/{guild_id}/welcome-screen", guild_id=require_guild(self._guild_id))
        return parse("welcome screen", _object,
                     self._transport.request(patch, body=as_body(fields, "welcome screen"), reason=reason))
