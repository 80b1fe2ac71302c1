"""The Discord port: what services need from Discord, on plain models.

Services (plan, apply, export, import, restore, rollback) take a ``DiscordPort`` and never speak
HTTP; the adapter is :class:`gaib.discord.client.DiscordClient` (httpx, to discord.com or the
bundled emulator), built by the composition root (:mod:`gaib.wiring`). The contract suite
``tests/discord/test_port_contract.py`` holds the adapter to this contract against the emulator.

Contract, for every adapter:

* Guild-level methods work on the one guild the port was made for.
* A missing object raises ``DiscordNotFound`` (exit 4); a refused request ``DiscordError`` with
  Discord's code and field paths; no method returns a partial result silently.
* ``create_*`` with ``dedupe=True`` (and ``execute_webhook`` with ``dedupe_channel``) never creates a
  second object (message) when a request is retried after a dropped connection: the adapter looks for
  the object it may already have created first.
* A delete retried after a lost answer that finds the object gone succeeds (the first try deleted it);
  so does a bulk ban whose users all turn out to be banned already (``BulkBanResult.already``).
* ``reason`` ends up in the guild's audit log, readable back with ``audit_log`` (the bot needs View
  Audit Log: DiscordPermissionError otherwise); it never carries secrets.
* Calls may come from several threads at once (apply sends independent requests concurrently); the
  adapter keeps to Discord's buckets and global limit across them.
* Community (settings, emojis, stickers, bans, messages, webhooks): list methods return every item
  (paging as Discord requires: bans 1000 and messages 100 per request); images go in and come out as
  bytes, never larger than the limit the caller names (``cdn_get``) or Discord takes (256 KiB for an
  emoji, 512 KiB for a sticker: InvalidInput, nothing sent). ``cdn_get`` reads Discord's CDN without
  the bot token.
* Limits: a wait the adapter must make (a used-up bucket, a 429, the name/topic sub-limit) is
  announced to the ``on_wait`` listener first; a wait longer than the adapter's patience (a day-long
  cap) raises ``DiscordRateLimited`` with ``details["window"]`` naming the long window
  (:data:`gaib.discord.limits.LONG_WINDOWS`) and ``details["retry_after"]`` in seconds, without
  sending. ``limit_usage`` reports what the responses showed; ``prime_limits`` hands over what an
  earlier run learned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from gaib.discord.community import Ban, BulkBanResult, Emoji, GuildSettings, Member, Message, Sticker
from gaib.discord.limits import Usage, Wait
from gaib.discord.models import AuditEntry, Channel, Guild, Overwrite, Role, Thread, Webhook


class DiscordPort(Protocol):
    """The operations the IaC services perform on one guild."""

    def get_guild(self) -> Guild:
        """The guild with its roles and channels, each sorted by (position, id)."""
        ...

    def create_role(self, fields: Mapping[str, Any], *, reason: str | None = None,
                    dedupe: bool = False) -> Role:
        """Create a role; returns it with its new id."""
        ...

    def update_role(self, role_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Role:
        """Change the given fields of a role; returns the updated role. Raises DiscordNotFound."""
        ...

    def delete_role(self, role_id: str, *, reason: str | None = None) -> None:
        """Delete a role. Raises DiscordNotFound."""
        ...

    def reorder_roles(self, positions: Iterable[tuple[str, int]], *,
                      reason: str | None = None) -> list[Role]:
        """Set role positions in one request; returns every role by position."""
        ...

    def create_channel(self, fields: Mapping[str, Any], *, reason: str | None = None,
                       dedupe: bool = False) -> Channel:
        """Create a channel or category (overwrites and parent inline); returns it with its new id."""
        ...

    def update_channel(self, channel_id: str, fields: Mapping[str, Any], *,
                       reason: str | None = None) -> Channel:
        """Change the given fields of a channel; returns the updated channel. Raises DiscordNotFound."""
        ...

    def delete_channel(self, channel_id: str, *, reason: str | None = None) -> Channel | None:
        """Delete a channel; returns it as it was (None when a retried request found it already gone).
        Raises DiscordNotFound."""
        ...

    def reorder_channels(self, moves: Iterable[Mapping[str, Any]], *, reason: str | None = None) -> None:
        """Apply ``{id, position?, parent_id?, lock_permissions?}`` moves with as few requests as Discord allows."""
        ...

    def set_overwrite(self, channel_id: str, overwrite: Overwrite, *, reason: str | None = None) -> None:
        """Create or replace one permission overwrite of a channel."""
        ...

    def delete_overwrite(self, channel_id: str, target_id: str, *, reason: str | None = None) -> None:
        """Remove one permission overwrite of a channel."""
        ...

    # -- community: settings, emojis, stickers, bans, messages, webhooks ----------------------------

    def get_guild_settings(self) -> GuildSettings:
        """The guild's settings (name, icon and banner hashes, verification, notifications, AFK and system
        channels, boost tier and features)."""
        ...

    def update_guild_settings(self, fields: Mapping[str, Any], *, reason: str | None = None) -> GuildSettings:
        """PATCH the guild with Discord's field names (``icon``/``banner`` as data URIs or None)."""
        ...

    def cdn_get(self, path: str, *, max_bytes: int) -> bytes:
        """The bytes at ``path`` on Discord's CDN (``emojis/{id}.png`` …). DiscordNotFound when absent;
        DiscordError when larger than ``max_bytes``."""
        ...

    def list_emojis(self) -> list[Emoji]:
        """The guild's custom emojis."""
        ...

    def create_emoji(self, name: str, image: bytes, *, roles: Sequence[str] = (),
                     reason: str | None = None, dedupe: bool = False) -> Emoji:
        """Upload a custom emoji (PNG, JPEG, WebP or GIF, at most 256 KiB); returns it with its new id.
        ``dedupe``: a new emoji of that name after a lost answer is the one the first try made."""
        ...

    def update_emoji(self, emoji_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Emoji:
        """Rename an emoji or change the roles allowed to use it. Raises DiscordNotFound."""
        ...

    def delete_emoji(self, emoji_id: str, *, reason: str | None = None) -> None:
        """Delete an emoji. Raises DiscordNotFound."""
        ...

    def list_stickers(self) -> list[Sticker]:
        """The guild's stickers."""
        ...

    def create_sticker(self, name: str, tags: str, description: str | None, image: bytes, *,
                       reason: str | None = None, dedupe: bool = False) -> Sticker:
        """Upload a sticker (PNG, APNG, GIF or Lottie JSON, at most 512 KiB; sent as multipart form data).
        ``dedupe`` as for emojis."""
        ...

    def update_sticker(self, sticker_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Sticker:
        """Change a sticker's name, tags or description. Raises DiscordNotFound."""
        ...

    def delete_sticker(self, sticker_id: str, *, reason: str | None = None) -> None:
        """Delete a sticker. Raises DiscordNotFound."""
        ...

    def list_bans(self) -> list[Ban]:
        """Every ban of the guild, by user id (1000 per request)."""
        ...

    def ban(self, user_id: str, *, reason: str | None = None) -> None:
        """Ban one user (deleting none of their messages); ``reason`` becomes the ban's reason."""
        ...

    def bulk_ban(self, user_ids: Sequence[str], *, reason: str | None = None) -> BulkBanResult:
        """Ban up to 200 users in one request; returns who was banned and who was not."""
        ...

    def unban(self, user_id: str, *, reason: str | None = None) -> None:
        """Lift a ban. Raises DiscordNotFound when the user is not banned."""
        ...

    def list_members(self) -> list[Member]:
        """Every member of the guild, by user id (1000 per request). Needs the GUILD_MEMBERS privileged
        intent: without it raises ``MembersIntentMissing`` (a DiscordPermissionError, Discord's 50001)."""
        ...

    def edit_member(self, user_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Member:
        """One PATCH of a member's ``roles`` (the whole list of role ids) and/or ``nick`` (None clears it).
        Raises DiscordNotFound for a user who is not a member, DiscordPermissionError for a role at or above
        the bot's highest role."""
        ...

    def bot_user_id(self) -> str:
        """The bot's own user id (its member's roles tell which roles it may hand out)."""
        ...

    def list_messages(self, channel_id: str, *, limit: int, before: str | None = None,
                      after: str | None = None) -> list[Message]:
        """Up to ``limit`` messages of a channel, newest first (100 per request), older than ``before``
        or (``after``) the ones right after that message id."""
        ...

    def list_webhooks(self, channel_id: str) -> list[Webhook]:
        """The channel's webhooks, oldest first (incoming ones with their secret ``url``)."""
        ...

    def create_webhook(self, channel_id: str, name: str, *, reason: str | None = None,
                       dedupe: bool = False) -> Webhook:
        """Create an incoming webhook in a channel; its ``url`` is a secret. ``dedupe``: see above (the
        newest webhook of that name in the channel is the one a retried create made)."""
        ...

    def execute_webhook(self, url: str, payload: Mapping[str, Any], *, wait: bool = False,
                        dedupe_channel: str | None = None, dedupe_after: str | None = None,
                        thread_id: str | None = None, files: Sequence[tuple[str, bytes]] = ()) -> Any:
        """Post through a webhook URL (no bot token); the created message with ``wait=True``. With
        ``dedupe_channel`` (the webhook's channel; needs ``wait``), a retry first looks at the channel's
        messages after ``dedupe_after`` for the one this webhook posted with this content and name.
        ``thread_id``: post into that thread of the webhook's channel (``dedupe_channel`` is the thread).
        ``files`` (file name, bytes; at most 10) are uploaded with the message (multipart)."""
        ...

    def delete_webhook(self, webhook_id: str, *, reason: str | None = None) -> None:
        """Delete a webhook. Raises DiscordNotFound."""
        ...

    def audit_log(self, action_type: int, *, limit: int = 100, before: str | None = None) -> list[AuditEntry]:
        """One page (1-100) of the guild's audit-log entries of ``action_type``, newest first, older than
        ``before``. Raises DiscordPermissionError without View Audit Log."""
        ...

    # -- threads and forum posts ------------------------------------------------------------------

    def list_active_threads(self) -> list[Thread]:
        """Every active (not archived) thread and forum post of the guild."""
        ...

    def list_archived_threads(self, channel_id: str) -> list[Thread]:
        """Every archived public thread (or post) of a channel, newest archive first (paged)."""
        ...

    def create_thread(self, channel_id: str, fields: Mapping[str, Any], *, reason: str | None = None,
                      dedupe: bool = False) -> Thread:
        """Start a thread (text or announcement channel) or a post (forum or media channel; ``fields``
        then carry its first ``message`` and may carry ``applied_tags``). ``dedupe`` as for channels:
        an active thread of that name in that channel after a lost answer is the one the first try made."""
        ...

    def update_thread(self, thread_id: str, fields: Mapping[str, Any], *, reason: str | None = None) -> Thread:
        """Change a thread (``archived``, ``locked``, ``applied_tags`` …). Raises DiscordNotFound."""
    # -- community safety: AutoMod, onboarding, welcome screen, events, soundboard ----------------
    # Discord's JSON objects (dicts), as the endpoints document them; ids as strings.

    def list_automod_rules(self) -> list[dict[str, Any]]:
        """The guild's AutoMod rules (Discord's rule objects)."""
        ...

    def create_automod_rule(self, fields: Mapping[str, Any], *, reason: str | None = None,
                            dedupe: bool = False) -> dict[str, Any]:
        """Create an AutoMod rule; returns it with its new id (``dedupe`` as for emojis, by name)."""
        ...

    def update_automod_rule(self, rule_id: str, fields: Mapping[str, Any], *,
                            reason: str | None = None) -> dict[str, Any]:
        """Change an AutoMod rule (its trigger type stays). Raises DiscordNotFound."""
        ...

    def delete_automod_rule(self, rule_id: str, *, reason: str | None = None) -> None:
        """Delete an AutoMod rule. Raises DiscordNotFound."""
        ...

    def get_onboarding(self) -> dict[str, Any]:
        """The guild's onboarding (prompts, default channels, mode, enabled)."""
        ...

    def put_onboarding(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        """Replace the onboarding; DiscordError (350000) when enabled onboarding misses Discord's requirements."""
        ...

    def get_welcome_screen(self) -> dict[str, Any]:
        """The welcome screen (description, welcome channels)."""
        ...

    def update_welcome_screen(self, fields: Mapping[str, Any], *, reason: str | None = None) -> dict[str, Any]:
        """Change the welcome screen (description, welcome channels, enabled)."""
        ...

    def list_scheduled_events(self, *, with_user_count: bool = False) -> list[dict[str, Any]]:
        """The guild's scheduled and active events."""
        ...

    def create_scheduled_event(self, fields: Mapping[str, Any], *, reason: str | None = None,
                               dedupe: bool = False) -> dict[str, Any]:
        """Create a scheduled event (cover ``image`` as a data URI); ``dedupe`` as for emojis, by name."""
        ...

    def update_scheduled_event(self, event_id: str, fields: Mapping[str, Any], *,
                               reason: str | None = None) -> dict[str, Any]:
        """Change a scheduled event. Raises DiscordNotFound."""
        ...

    def list_soundboard_sounds(self) -> list[dict[str, Any]]:
        """The guild's soundboard sounds (``sound_id``, name, volume, emoji)."""
        ...

    def create_soundboard_sound(self, name: str, sound: bytes, *, volume: float | None = None,
                                emoji_id: str | None = None, emoji_name: str | None = None,
                                reason: str | None = None, dedupe: bool = False) -> dict[str, Any]:
        """Upload a sound (MP3 or Ogg, at most 512 KiB: InvalidInput otherwise, nothing sent)."""
        ...

    def update_soundboard_sound(self, sound_id: str, fields: Mapping[str, Any], *,
                                reason: str | None = None) -> dict[str, Any]:
        """Change a sound's name, volume or emoji. Raises DiscordNotFound."""
        ...

    def delete_soundboard_sound(self, sound_id: str, *, reason: str | None = None) -> None:
        """Delete a sound. Raises DiscordNotFound."""
        ...

    def on_wait(self, listener: Callable[[Wait], None] | None) -> None:
        """Tell ``listener`` about every rate-limit wait before it starts (None: stop telling)."""
        ...

    def limit_usage(self) -> Usage:
        """The long windows the responses showed (``role_creates`` …: limit, remaining, seconds to the
        reset) and the name/topic edits sent per channel in the last 10 minutes (ages in seconds)."""
        ...

    def prime_limits(self, usage: Usage) -> None:
        """Count name/topic edits an earlier run made (``usage.name_topic``) against their channels."""
        ...

    def close(self) -> None:
        """Release connections; the port is not used afterwards."""
        ...
