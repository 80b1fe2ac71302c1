"""The Discord REST client: the adapter of :class:`gaib.discord.port.DiscordPort`, built by
:mod:`gaib.wiring` (nothing else imports it).

:class:`DiscordClient` composes, and delegates every port method to:

* :class:`gaib.discord.transport.Transport`, the one place a request is sent (headers, rate limits,
  429s, retries, redaction; its module docstring states the contract every request keeps), which also
  answers ``on_wait``, ``limit_usage`` and ``prime_limits``;
* the endpoint groups of :mod:`gaib.discord.endpoints` (guild, roles, channels and overwrites, emojis,
  stickers, bans, messages, webhooks, audit log, AutoMod, onboarding and welcome screen, scheduled
  events, soundboard), which check ids before anything is sent (InvalidName, exit 6)
  and read Discord's answers into :mod:`gaib.discord.models` and :mod:`gaib.discord.community` objects;
* :class:`gaib.discord.cdn.Cdn` for ``cdn_get`` (no bot token, nothing recorded).

The bot token never appears in ``repr``, an error message, a log line or a recording.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gaib.discord import limits as L
from gaib.discord.cdn import Cdn
from gaib.discord.community import Ban, BulkBanResult, Emoji, GuildSettings, Member, Message, Sticker
from gaib.discord.endpoints.audit import AuditLog
from gaib.discord.endpoints.automod import Automod
from gaib.discord.endpoints.bans import Bans
from gaib.discord.endpoints.channels import Channels
from gaib.discord.endpoints.emojis import Emojis
from gaib.discord.endpoints.events import Events
from gaib.discord.endpoints.guild import GuildEndpoints
from gaib.discord.endpoints.members import Members
from gaib.discord.endpoints.messages import Messages
from gaib.discord.endpoints.onboarding import Onboarding
from gaib.discord.endpoints.roles import Roles
from gaib.discord.endpoints.soundboard import Soundboard
from gaib.discord.endpoints.stickers import Stickers
from gaib.discord.endpoints.threads import Threads
from gaib.discord.endpoints.webhooks import Webhooks
from gaib.discord.models import AuditEntry, Channel, Guild, Overwrite, Role, Thread, Webhook
from gaib.discord.ratelimit import Clock, RetryPolicy
from gaib.discord.transport import DEFAULT_API_URL, USER_AGENT, Transport, bot_token
from gaib.errors import MissingSetting
from gaib.names import check_snowflake


class DiscordClient:
    """Synchronous client for the Discord REST endpoints Gaib uses (NOTES §3).

    ``base_url`` is the API root including the version (``https://discord.com/api/v10`` or an
    emulator's ``http://127.0.0.1:PORT/api/v10``), ``token`` the bot token (a leading ``Bot `` is
    accepted and dropped), ``guild_id`` the server the guild-level methods work on (they raise
    MissingSetting without it). The other arguments go to :class:`~gaib.discord.transport.Transport`.
    Use it as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        *,
        token: str,
        guild_id: str | None = None,
        record_path: str | Path | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        global_per_second: int = 50,
        max_concurrency: int = 32,
    ) -> None:
        token = bot_token(token)  # checked before the server id, as the errors have always come
        self._guild_id = check_snowflake(guild_id, "server id") if guild_id is not None else None
        self.transport = Transport(base_url, token=token, record_path=record_path, clock=clock, retry=retry,
                                   rng=rng, connect_timeout=connect_timeout, read_timeout=read_timeout,
                                   global_per_second=global_per_second, max_concurrency=max_concurrency)
        self.roles = Roles(self.transport, self._guild_id)
        self.channels = Channels(self.transport, self._guild_id)
        self.guild = GuildEndpoints(self.transport, self._guild_id, roles=self.roles, channels=self.channels)
        self.emojis = Emojis(self.transport, self._guild_id)
        self.stickers = Stickers(self.transport, self._guild_id)
        self.bans = Bans(self.transport, self._guild_id)
        self.members = Members(self.transport, self._guild_id)
        self.messages = Messages(self.transport)
        self.webhooks = Webhooks(self.transport, messages_after=self.messages.raw_after)
        self.audit = AuditLog(self.transport, self._guild_id)
        self.threads = Threads(self.transport, self._guild_id)
        self.automod = Automod(self.transport, self._guild_id)
        self.onboarding = Onboarding(self.transport, self._guild_id)
        self.events = Events(self.transport, self._guild_id)
        self.soundboard = Soundboard(self.transport, self._guild_id)
        self.cdn = Cdn(self.transport)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **kwargs: Any) -> DiscordClient:
        """Build from ``DISCORD_BOT_TOKEN``, ``DISCORD_GUILD_ID`` (optional), ``GAIB_DISCORD_API_URL``
        (default Discord's v10 API) and ``GAIB_DISCORD_RECORD`` (optional recording path).

        Keyword arguments override the environment (e.g. ``guild_id=``). Raises MissingSetting (exit 2)
        when no token is set.
        """
        token = environ.get("DISCORD_BOT_TOKEN", "")
        if not token.strip():
            raise MissingSetting("DISCORD_BOT_TOKEN is not set.",
                                 hint="Export DISCORD_BOT_TOKEN with the bot's token.")
        kwargs.setdefault("guild_id", environ.get("DISCORD_GUILD_ID") or None)
        kwargs.setdefault("record_path", environ.get("GAIB_DISCORD_RECORD") or None)
        base_url = kwargs.pop("base_url", None) or environ.get("GAIB_DISCORD_API_URL") or DEFAULT_API_URL
        return cls(base_url, token=token, **kwargs)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def guild_id(self) -> str | None:
        return self._guild_id

    @property
    def cdn_root(self) -> str:
        return self.cdn.root

    def __repr__(self) -> str:
        return f"DiscordClient(base_url={self.base_url!r}, guild_id={self.guild_id!r}, token=[redacted])"

    def close(self) -> None:
        self.transport.close()
        self.cdn.close()

    def __enter__(self) -> DiscordClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- limits -----------------------------------------------------------------------------------

    def on_wait(self, listener: Callable[[L.Wait], None] | None) -> None:
        self.transport.on_wait(listener)

    def limit_usage(self) -> L.Usage:
        return self.transport.limit_usage()

    def prime_limits(self, usage: L.Usage) -> None:
        self.transport.prime_limits(usage)

    # -- guild, roles, channels, overwrites -------------------------------------------------------

    def get_guild(self) -> Guild:
        return self.guild.get_guild()

    def list_roles(self) -> list[Role]:
        return self.roles.list_roles()

    def list_channels(self) -> list[Channel]:
        return self.channels.list_channels()

    def get_channel(self, channel_id: str) -> Channel:
        return self.channels.get_channel(channel_id)

    def create_role(self, fields: Mapping[str, Any], *, reason: str | None = None,
                    dedupe: bool = False) -> Role:
        return self.roles.create_role(fields, reason=reason, dedupe=dedupe)

    def update_role(self, role_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Role:
        return self.roles.update_role(role_id, fields, reason=reason)

    def delete_role(self, role_id: str, *, reason: str | None = None) -> None:
        self.roles.delete_role(role_id, reason=reason)

    def reorder_roles(self, positions: Iterable[tuple[str, int]], *,
                      reason: str | None = None) -> list[Role]:
        return self.roles.reorder_roles(positions, reason=reason)

    def create_channel(self, fields: Mapping[str, Any], *, reason: str | None = None,
                       dedupe: bool = False) -> Channel:
        return self.channels.create_channel(fields, reason=reason, dedupe=dedupe)

    def update_channel(self, channel_id: str, fields: Mapping[str, Any], *,
                       reason: str | None = None) -> Channel:
        return self.channels.update_channel(channel_id, fields, reason=reason)

    def delete_channel(self, channel_id: str, *, reason: str | None = None) -> Channel | None:
        return self.channels.delete_channel(channel_id, reason=reason)

    def reorder_channels(self, moves: Iterable[Mapping[str, Any]], *, reason: str | None = None) -> None:
        self.channels.reorder_channels(moves, reason=reason)

    def set_overwrite(self, channel_id: str, overwrite: Overwrite, *, reason: str | None = None) -> None:
        self.channels.set_overwrite(channel_id, overwrite, reason=reason)

    def delete_overwrite(self, channel_id: str, target_id: str, *, reason: str | None = None) -> None:
        self.channels.delete_overwrite(channel_id, target_id, reason=reason)

    # -- community: settings, the CDN, emojis, stickers, bans, messages, webhooks -----------------

    def get_guild_settings(self) -> GuildSettings:
        return self.guild.get_guild_settings()

    def update_guild_settings(self, fields: Mapping[str, Any], *, reason: str | None = None) -> GuildSettings:
        return self.guild.update_guild_settings(fields, reason=reason)

    def cdn_get(self, path: str, *, max_bytes: int) -> bytes:
        return self.cdn.get(path, max_bytes=max_bytes)

    def list_emojis(self) -> list[Emoji]:
        return self.emojis.list_emojis()

    def create_emoji(self, name: str, image: bytes, *, roles: Sequence[str] = (),
                     reason: str | None = None, dedupe: bool = False) -> Emoji:
        return self.emojis.create_emoji(name, image, roles=roles, reason=reason, dedupe=dedupe)

    def update_emoji(self, emoji_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Emoji:
        return self.emojis.update_emoji(emoji_id, fields, reason=reason)

    def delete_emoji(self, emoji_id: str, *, reason: str | None = None) -> None:
        self.emojis.delete_emoji(emoji_id, reason=reason)

    def list_stickers(self) -> list[Sticker]:
        return self.stickers.list_stickers()

    def create_sticker(self, name: str, tags: str, description: str | None, image: bytes, *,
                       reason: str | None = None, dedupe: bool = False) -> Sticker:
        return self.stickers.create_sticker(name, tags, description, image, reason=reason, dedupe=dedupe)

    def update_sticker(self, sticker_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Sticker:
        return self.stickers.update_sticker(sticker_id, fields, reason=reason)

    def delete_sticker(self, sticker_id: str, *, reason: str | None = None) -> None:
        self.stickers.delete_sticker(sticker_id, reason=reason)

    def list_bans(self) -> list[Ban]:
        return self.bans.list_bans()

    def ban(self, user_id: str, *, reason: str | None = None) -> None:
        self.bans.ban(user_id, reason=reason)

    def bulk_ban(self, user_ids: Sequence[str], *, reason: str | None = None) -> BulkBanResult:
        return self.bans.bulk_ban(user_ids, reason=reason)

    def unban(self, user_id: str, *, reason: str | None = None) -> None:
        self.bans.unban(user_id, reason=reason)

    def list_members(self) -> list[Member]:
        return self.members.list_members()

    def edit_member(self, user_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Member:
        return self.members.edit_member(user_id, fields, reason=reason)

    def bot_user_id(self) -> str:
        return self.members.bot_user_id()

    def list_messages(self, channel_id: str, *, limit: int, before: str | None = None,
                      after: str | None = None) -> list[Message]:
        return self.messages.list_messages(channel_id, limit=limit, before=before, after=after)

    def list_webhooks(self, channel_id: str) -> list[Webhook]:
        return self.webhooks.list_webhooks(channel_id)

    def create_webhook(self, channel_id: str, name: str, *, reason: str | None = None,
                       dedupe: bool = False) -> Webhook:
        return self.webhooks.create_webhook(channel_id, name, reason=reason, dedupe=dedupe)

    def execute_webhook(self, url: str, payload: Mapping[str, Any], *, wait: bool = False,
                        dedupe_channel: str | None = None, dedupe_after: str | None = None,
                        thread_id: str | None = None, files: Sequence[tuple[str, bytes]] = ()) -> Any:
        return self.webhooks.execute_webhook(url, payload, wait=wait, dedupe_channel=dedupe_channel,
                                             dedupe_after=dedupe_after, thread_id=thread_id, files=files)

    def delete_webhook(self, webhook_id: str, *, reason: str | None = None) -> None:
        self.webhooks.delete_webhook(webhook_id, reason=reason)

    def audit_log(self, action_type: int, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        return self.audit.audit_log(action_type, limit=limit, before=before)

    # -- threads --------------------------------------------------------------------------------

    def list_active_threads(self) -> list[Thread]:
        return self.threads.list_active_threads()

    def list_archived_threads(self, channel_id: str) -> list[Thread]:
        return self.threads.list_archived_threads(channel_id)

    def create_thread(self, channel_id: str, fields: Mapping[str, Any], *, reason: str | None = None,
                      dedupe: bool = False) -> Thread:
        return self.threads.create_thread(channel_id, fields, reason=reason, dedupe=dedupe)

    def update_thread(self, thread_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Thread:
        return self.threads.update_thread(thread_id, fields, reason=reason)


    # -- community safety -------------------------------------------------------------------------

    def list_automod_rules(self) -> list[dict[str, Any]]:
        return self.automod.list_rules()

    def create_automod_rule(self, fields: Mapping[str, Any], *, reason: str | None = None,
                            dedupe: bool = False) -> dict[str, Any]:
        return self.automod.create_rule(fields, reason=reason, dedupe=dedupe)

    def update_automod_rule(self, rule_id: str, fields: Mapping[str, Any], *,
                            reason: str | None = None) -> dict[str, Any]:
        return self.automod.update_rule(rule_id, fields, reason=reason)

    def delete_automod_rule(self, rule_id: str, *, reason: str | None = None) -> None:
        self.automod.delete_rule(rule_id, reason=reason)

    def get_onboarding(self) -> dict[str, Any]:
        return self.onboarding.get_onboarding()

    def put_onboarding(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        return self.onboarding.put_onboarding(fields, reason=reason)

    def get_welcome_screen(self) -> dict[str, Any]:
        return self.onboarding.get_welcome_screen()

    def update_welcome_screen(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        return self.onboarding.update_welcome_screen(fields, reason=reason)

    def list_scheduled_events(self, *, with_user_count: bool = False) -> list[dict[str, Any]]:
        return self.events.list_events(with_user_count=with_user_count)

    def create_scheduled_event(self, fields: Mapping[str, Any], *, reason: str | None = None,
                               dedupe: bool = False) -> dict[str, Any]:
        return self.events.create_event(fields, reason=reason, dedupe=dedupe)

    def update_scheduled_event(self, event_id: str, fields: Mapping[str, Any], *,
                               reason: str | None = None) -> dict[str, Any]:
        return self.events.update_event(event_id, fields, reason=reason)

    def list_soundboard_sounds(self) -> list[dict[str, Any]]:
        return self.soundboard.list_sounds()

    def create_soundboard_sound(self, name: str, sound: bytes, *, volume: float | None = None,
                                emoji_id: str | None = None, emoji_name: str | None = None,
                                reason: str | None = None, dedupe: bool = False) -> dict[str, Any]:
        return self.soundboard.create_sound(name, sound, volume=volume, emoji_id=emoji_id, emoji_name=emoji_name,
                                            reason=reason, dedupe=dedupe)

    def update_soundboard_sound(self, sound_id: str, fields: Mapping[str, Any], *,
                                reason: str | None = None) -> dict[str, Any]:
        return self.soundboard.update_sound(sound_id, fields, reason=reason)

    def delete_soundboard_sound(self, sound_id: str, *, reason: str | None = None) -> None:
        self.soundboard.delete_sound(sound_id, reason=reason)

__all__ = ["DEFAULT_API_URL", "USER_AGENT", "DiscordClient"]
