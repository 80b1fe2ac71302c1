"""Role endpoints: list, create (optionally deduplicated), update, delete and reorder a guild's roles.

Contract: role lists come back sorted by (position, id); ``create_role(dedupe=True)`` never creates a
second role with the same name when a retried POST had in fact been processed; a missing role raises
DiscordNotFound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from gaib.discord.endpoints.common import as_body, newest, parse, parse_list, require_guild, route
from gaib.discord.models import Role
from gaib.errors import InvalidInput
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.discord.transport import Probe, Transport


def by_position(roles: Iterable[Role]) -> list[Role]:
    return sorted(roles, key=lambda r: (r.position, int(r.id)))


class Roles:
    """The roles of the guild ``guild_id``, through ``transport``."""

    def __init__(self, transport: Transport, guild_id: str | None) -> None:
        self._transport = transport
        self._guild_id = guild_id

    def list_roles(self) -> list[Role]:
        """Every role of the guild (including @everyone, whose id is the guild id), by (position, id)."""
        return by_position(parse_list("role", Role.from_api, self.list_roles_raw()))

    def list_roles_raw(self) -> Any:
        """The role list as Discord sent it (a dedupe probe reads it)."""
        gid = require_guild(self._guild_id)
        return self._transport.request(route("GET", "/guilds/{guild_id}/roles", guild_id=gid))

    def create_role(self, fields: Mapping[str, Any], *, reason: str | None = None,
                    dedupe: bool = False) -> Role:
        """Create a role from a body such as :func:`gaib.discord.models.role_body` returns.

        Retrying a POST whose connection dropped (or that got a 5xx) may create the role twice: the
        server may have processed the first try. With ``dedupe=True`` the client instead re-lists the
        roles after such a failure and, if a role with exactly ``fields["name"]`` exists, returns that
        one (the newest, if several) rather than POSTing again. Only use it when role names are unique
        in the guild, which is how Gaib addresses roles. A failure before the request was sent
        (connection refused) is always resent.
        """
        body = as_body(fields, "role")
        probe: Probe | None = None
        if dedupe:
            if not isinstance(body.get("name"), str):
                raise InvalidInput("create_role(dedupe=True) needs a role name to look for.")
            name = body["name"]

            def probe() -> Any:
                return newest(r for r in (self.list_roles_raw() or [])
                              if isinstance(r, dict) and r.get("name") == name)

        post = route("POST", "/guilds/{guild_id}/roles", guild_id=require_guild(self._guild_id))
        return parse("role", Role.from_api,
                     self._transport.request(post, body=body, reason=reason, probe=probe))

    def update_role(self, role_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Role:
        """PATCH a role with the given fields; returns the updated role. DiscordNotFound if it is gone."""
        patch = route("PATCH", "/guilds/{guild_id}/roles/{role_id}", guild_id=require_guild(self._guild_id),
                      role_id=role_id)
        data = self._transport.request(patch, body=as_body(fields, "role"), reason=reason)
        return parse("role", Role.from_api, data)

    def delete_role(self, role_id: str, *, reason: str | None = None) -> None:
        """Delete a role. Raises DiscordNotFound (code 10011) when it does not exist."""
        delete = route("DELETE", "/guilds/{guild_id}/roles/{role_id}", guild_id=require_guild(self._guild_id),
                       role_id=role_id)
        self._transport.request(delete, reason=reason)

    def reorder_roles(self, positions: Iterable[tuple[str, int]], *,
                      reason: str | None = None) -> list[Role]:
        """Set role positions with one PATCH of ``[{id, position}]``; returns every role, by position."""
        body = []
        for role_id, position in positions:
            check_snowflake(role_id, "role id")
            if not isinstance(position, int) or isinstance(position, bool) or position < 0:
                raise InvalidInput(f"Invalid position {position!r} for role {role_id}.")
            body.append({"id": role_id, "position": position})
        if not body:
            return self.list_roles()
        patch = route("PATCH", "/guilds/{guild_id}/roles", guild_id=require_guild(self._guild_id))
        return by_position(parse_list("role", Role.from_api,
                                      self._transport.request(patch, body=body, reason=reason)))
