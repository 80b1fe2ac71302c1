"""The Discord routes the emulator serves, as (template → method → handler), and path matching.

Templates use Discord's parameter names; every ``*_id`` parameter must be a snowflake (checked by
the server, 50035 otherwise). Handlers take a :class:`Call` and return a :class:`Reply`; they reach
the guild through its stores (``c.state.roles``, ``c.state.channels`` …).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gaib.emulator.guild import GuildState
from gaib.emulator.safety.routes import SAFETY_ROUTES
from gaib.emulator.stores.audit import bot_user

API_PREFIX = "/api/v10"


@dataclass(frozen=True)
class Call:
    state: GuildState
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None


Handler = Callable[[Call], Reply]


def _truthy(value: str | None) -> bool:
    return value in ("true", "True", "1")


def audit_reason(headers: dict[str, str]) -> str | None:
    """The ``X-Audit-Log-Reason`` a request carried (URL-decoded): a ban's reason, and the reason of the
    audit-log entry the change makes."""
    raw = headers.get("x-audit-log-reason")
    return urllib.parse.unquote(raw)[:512] if raw else None


def _get_guild(c: Call) -> Reply:
    return Reply(200, c.state.guild_object(_truthy(c.query.get("with_counts"))))


def _list_roles(c: Call) -> Reply:
    return Reply(200, c.state.roles.listing())


def _create_role(c: Call) -> Reply:
    return Reply(200, c.state.roles.create(c.body))


def _reorder_roles(c: Call) -> Reply:
    return Reply(200, c.state.roles.reorder(c.body))


def _get_role(c: Call) -> Reply:
    return Reply(200, c.state.roles.get(c.params["role_id"]))


def _update_role(c: Call) -> Reply:
    return Reply(200, c.state.roles.update(c.params["role_id"], c.body))


def _delete_role(c: Call) -> Reply:
    c.state.delete_role(c.params["role_id"])
    return Reply(204)


def _list_channels(c: Call) -> Reply:
    return Reply(200, c.state.channels.listing())


def _create_channel(c: Call) -> Reply:
    return Reply(201, c.state.channels.create(c.body))


def _reorder_channels(c: Call) -> Reply:
    c.state.channels.reorder(c.body)
    return Reply(204)


def _update_guild(c: Call) -> Reply:
    c.state.settings.update(c.body)
    return Reply(200, c.state.guild_object(False))


def _list_emojis(c: Call) -> Reply:
    return Reply(200, c.state.emojis.listing())


def _create_emoji(c: Call) -> Reply:
    return Reply(201, c.state.emojis.create(c.body))


def _get_emoji(c: Call) -> Reply:
    return Reply(200, c.state.emojis.get(c.params["emoji_id"]))


def _update_emoji(c: Call) -> Reply:
    return Reply(200, c.state.emojis.update(c.params["emoji_id"], c.body))


def _delete_emoji(c: Call) -> Reply:
    c.state.emojis.delete(c.params["emoji_id"])
    return Reply(204)


def _list_stickers(c: Call) -> Reply:
    return Reply(200, c.state.stickers.listing())


def _create_sticker(c: Call) -> Reply:
    return Reply(201, c.state.stickers.create(c.body))


def _get_sticker(c: Call) -> Reply:
    return Reply(200, c.state.stickers.get(c.params["sticker_id"]))


def _update_sticker(c: Call) -> Reply:
    return Reply(200, c.state.stickers.update(c.params["sticker_id"], c.body))


def _delete_sticker(c: Call) -> Reply:
    c.state.stickers.delete(c.params["sticker_id"])
    return Reply(204)


def _list_bans(c: Call) -> Reply:
    return Reply(200, c.state.bans.listing(c.query))


def _get_ban(c: Call) -> Reply:
    return Reply(200, c.state.bans.get(c.params["user_id"]))


def _ban(c: Call) -> Reply:
    c.state.bans.ban(c.params["user_id"], c.body, audit_reason(c.headers))
    return Reply(204)


def _unban(c: Call) -> Reply:
    c.state.bans.unban(c.params["user_id"])
    return Reply(204)


def _bulk_ban(c: Call) -> Reply:
    return Reply(200, c.state.bans.bulk_ban(c.body, audit_reason(c.headers)))


def _remove_member(c: Call) -> Reply:
    c.state.members.remove(c.params["user_id"])
    return Reply(204)


def _get_me(c: Call) -> Reply:
    """The bot's own user (spec ``UserPIIResponse``: ``mfa_enabled`` and ``locale`` are required)."""
    return Reply(200, {**bot_user(), "mfa_enabled": True, "locale": "en-US", "verified": True, "email": None})


def _list_members(c: Call) -> Reply:
    return Reply(200, c.state.members.listing(c.query))


def _get_member(c: Call) -> Reply:
    return Reply(200, c.state.members.get(c.params["user_id"]))


def _update_member(c: Call) -> Reply:
    return Reply(200, c.state.members.update(c.params["user_id"], c.body))


def _list_messages(c: Call) -> Reply:
    return Reply(200, c.state.messages.listing(c.params["channel_id"], c.query))


def _delete_webhook(c: Call) -> Reply:
    c.state.webhooks.delete(c.params["webhook_id"])
    return Reply(204)


def _get_channel(c: Call) -> Reply:
    ident = c.params["channel_id"]
    return Reply(200, c.state.threads.get(ident) if ident in c.state.threads else c.state.channels.get(ident))


def _update_channel(c: Call) -> Reply:
    ident = c.params["channel_id"]
    if ident in c.state.threads:
        return Reply(200, c.state.threads.update(ident, c.body))
    return Reply(200, c.state.channels.update(ident, c.body))


def _create_thread(c: Call) -> Reply:
    return Reply(201, c.state.threads.create(c.params["channel_id"], c.body))


def _active_threads(c: Call) -> Reply:
    return Reply(200, c.state.threads.active())


def _archived_public_threads(c: Call) -> Reply:
    return Reply(200, c.state.threads.archived_public(c.params["channel_id"], c.query))


def _delete_channel(c: Call) -> Reply:
    return Reply(200, c.state.delete_channel(c.params["channel_id"]))


def _put_overwrite(c: Call) -> Reply:
    c.state.overwrites.put(c.params["channel_id"], c.params["overwrite_id"], c.body)
    return Reply(204)


def _delete_overwrite(c: Call) -> Reply:
    c.state.overwrites.delete(c.params["channel_id"], c.params["overwrite_id"])
    return Reply(204)


def _list_audit_log(c: Call) -> Reply:
    return Reply(200, c.state.audit.listing(c.query))


def _list_channel_webhooks(c: Call) -> Reply:
    return Reply(200, c.state.webhooks.listing(c.params["channel_id"], c.base_url))


def _create_webhook(c: Call) -> Reply:
    return Reply(200, c.state.webhooks.create(c.params["channel_id"], c.body, c.base_url))


def _execute_webhook(c: Call) -> Reply:
    thread = c.query.get("thread_id")
    message = c.state.webhooks.execute(c.params["webhook_id"], c.params["webhook_token"], c.body, thread)
    return Reply(200, message) if _truthy(c.query.get("wait")) else Reply(204)


WEBHOOK_EXECUTE = "/webhooks/{webhook_id}/{webhook_token}"

ROUTES: dict[str, dict[str, Handler]] = {
    "/guilds/{guild_id}": {"GET": _get_guild, "PATCH": _update_guild},
    "/guilds/{guild_id}/roles": {"GET": _list_roles, "POST": _create_role, "PATCH": _reorder_roles},
    "/guilds/{guild_id}/roles/{role_id}": {"GET": _get_role, "PATCH": _update_role, "DELETE": _delete_role},
    "/guilds/{guild_id}/channels": {"GET": _list_channels, "POST": _create_channel, "PATCH": _reorder_channels},
    "/guilds/{guild_id}/emojis": {"GET": _list_emojis, "POST": _create_emoji},
    "/guilds/{guild_id}/emojis/{emoji_id}": {"GET": _get_emoji, "PATCH": _update_emoji, "DELETE": _delete_emoji},
    "/guilds/{guild_id}/stickers": {"GET": _list_stickers, "POST": _create_sticker},
    "/guilds/{guild_id}/stickers/{sticker_id}": {"GET": _get_sticker, "PATCH": _update_sticker,
                                                 "DELETE": _delete_sticker},
    "/guilds/{guild_id}/bans": {"GET": _list_bans},
    "/guilds/{guild_id}/bans/{user_id}": {"GET": _get_ban, "PUT": _ban, "DELETE": _unban},
    "/guilds/{guild_id}/bulk-ban": {"POST": _bulk_ban},
    "/guilds/{guild_id}/members": {"GET": _list_members},
    "/guilds/{guild_id}/members/{user_id}": {"GET": _get_member, "PATCH": _update_member,
                                             "DELETE": _remove_member},
    "/users/@me": {"GET": _get_me},
    "/channels/{channel_id}/messages": {"GET": _list_messages},
    "/webhooks/{webhook_id}": {"DELETE": _delete_webhook},
    "/channels/{channel_id}": {"GET": _get_channel, "PATCH": _update_channel, "DELETE": _delete_channel},
    "/channels/{channel_id}/permissions/{overwrite_id}": {"PUT": _put_overwrite, "DELETE": _delete_overwrite},
    "/channels/{channel_id}/webhooks": {"GET": _list_channel_webhooks, "POST": _create_webhook},
    "/guilds/{guild_id}/audit-logs": {"GET": _list_audit_log},
    "/channels/{channel_id}/threads": {"POST": _create_thread},
    "/guilds/{guild_id}/threads/active": {"GET": _active_threads},
    "/channels/{channel_id}/threads/archived/public": {"GET": _archived_public_threads},
    WEBHOOK_EXECUTE: {"POST": _execute_webhook},
}

ROUTES.update(SAFETY_ROUTES)

_SPLIT = [(template, template.strip("/").split("/")) for template in ROUTES]


def match(path: str) -> tuple[str, dict[str, str]] | None:
    """The route template and raw path parameters for ``path`` (relative to /api/v10), or None."""
    parts = path.strip("/").split("/") if path.startswith("/") else []
    if path != "/" + "/".join(parts):
        return None  # trailing or doubled slashes are not Discord routes
    for template, pattern in _SPLIT:
        if len(pattern) != len(parts):
            continue
        params: dict[str, str] = {}
        for want, got in zip(pattern, parts, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return template, params
    return None


def major_id(template: str, params: dict[str, str]) -> str:
    """The top-level resource id that splits rate-limit buckets (Discord's "major parameter")."""
    if template == WEBHOOK_EXECUTE:
        return f"{params['webhook_id']}/{params['webhook_token']}"
    return params.get("guild_id") or params.get("channel_id") or params.get("webhook_id") or ""
