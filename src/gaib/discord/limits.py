"""Discord's rate limits as measured and published by others, and what a client learned about them.

Discord documents the mechanism (headers, 429 bodies, the global and invalid-request limits) but not
most of the figures; the ones below were measured and published by client libraries and users. Each
constant names its source. Nothing here overrides what Discord's headers say: the client throttles
from the headers. The figures serve three purposes:

* the emulator's ``discord`` profile (:mod:`gaib.emulator.ratelimit`) enforces them;
* plans count creates against the long per-guild windows before any header was seen
  (:mod:`gaib.iac.caps`);
* the client honours the name/topic sub-limit of ``PATCH /channels/{id}``, which no header shows.

The value types at the end (:class:`WindowState`, :class:`Usage`, :class:`Wait`) are what the Discord
port reports about limits (:meth:`gaib.discord.port.DiscordPort.limit_usage`, ``on_wait``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    """``limit`` requests per ``seconds``, counted per ``per`` (guild, channel, webhook, token, ip)."""

    limit: int
    seconds: float
    per: str

    def describe(self) -> str:
        """``250 per 48 h``, ``2 per 10 min``, ``5 per 15 s``."""
        return f"{self.limit} per {span(self.seconds)}"


def span(seconds: float) -> str:
    """A window length for people: ``48 h``, ``24 h``, ``10 min``, ``15 s``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def duration(seconds: float) -> str:
    """A wait for people: ``0.4 s``, ``9 min 40 s``, ``2 h 5 min``, ``1 d 23 h``."""
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


# POST /guilds/{guild.id}/roles: 250 per 48 h per guild, and no short bucket. hata
# (HuyaneMatsu/hata, hata/discord/http/rate_limit_groups.py, role_create: limiter guild_id, limit
# 250, resets after 172800 s); headers seen in discord-net/Discord.Net #1451 (X-RateLimit-Limit: 250,
# X-RateLimit-Reset-After: 101995); "250 roles per 2 days" in discord/discord-api-docs #1480.
ROLE_CREATES = Limit(250, 172_800.0, "guild")

# POST /guilds/{guild.id}/channels: 500 per 24 h per guild. Announced by Discord to bot developers
# for 16 August 2022 (reported at n3tc0rd.digitalpress.blog/new-discord-channel-creation-ratelimit;
# relied on in deanxv/coze-discord-proxy #64). hata has no measured figure (channel_create: OPT).
CHANNEL_CREATES = Limit(500, 86_400.0, "guild")

# PATCH /guilds/{guild.id}/roles/{role.id}: 1000 per 24 h per guild (hata rate_limit_groups.py,
# role_edit: limiter guild_id, limit 1000, resets after 86400 s).
ROLE_EDITS = Limit(1000, 86_400.0, "guild")

# PATCH /channels/{channel.id}: 5 per 15 s per channel (hata rate_limit_groups.py, channel_edit:
# limiter channel_id, limit 5, resets after 15, "has sub-limits"; the same headers are quoted in
# discord/discord-api-docs #1900).
CHANNEL_EDITS = Limit(5, 15.0, "channel")

# The sub-limit of PATCH /channels/{channel.id}: a request that sets the name or the topic counts
# against 2 per 10 minutes per channel, and the 429 arrives while the 5/15 s headers still show
# requests remaining (discord/discord-api-docs #1900 quotes X-RateLimit-Remaining: 4 on such a 429;
# #2208 and python-discord/bot #966 give 2 per 10 minutes; discord-api-docs PR #2760).
NAME_TOPIC_EDITS = Limit(2, 600.0, "channel")

# PUT and DELETE /channels/{channel.id}/permissions/{overwrite.id} share one bucket: 10 per 15 s per
# channel (hata rate_limit_groups.py, GROUP_PERMISSION_OVERWRITE_MODIFY).
OVERWRITE_EDITS = Limit(10, 15.0, "channel")

# POST /webhooks/{webhook.id}/{webhook.token}: 5 per 2 s per webhook (hata rate_limit_groups.py,
# GROUP_WEBHOOK_EXECUTE).
WEBHOOK_EXECUTES = Limit(5, 2.0, "webhook")

# The same webhook route is also limited per channel: 30 messages per 60 s, shared by every webhook
# of the channel; no header shows it (a Discord engineer in discord/discord-api-docs #367: "the 30/60
# was added as a limit to the channel itself"; the figure every webhook guide repeats). Gaib replays a
# channel's history through one temporary webhook, so it counts these per webhook.
WEBHOOK_CHANNEL_MESSAGES = Limit(30, 60.0, "channel")

# GET /channels/{channel.id}/messages: 5 per 5 s per channel (hata rate_limit_groups.py,
# message_get_chunk: limiter channel_id, limit 5, resets after 5 s).
MESSAGE_READS = Limit(5, 5.0, "channel")

# GET /guilds/{guild.id}/bans: 10 per 10 s per guild (hata rate_limit_groups.py, guild_ban_get_chunk).
BAN_READS = Limit(10, 10.0, "guild")

# POST /guilds/{guild.id}/emojis: 50 per hour (hata rate_limit_groups.py, emoji_create: limit 50, resets
# after 3600 s; Discord's emoji docs say emoji routes are limited per guild, with headers that may be
# wrong). PATCH and DELETE of one emoji share 1 per 2 s (hata emoji_edit, emoji_delete).
EMOJI_CREATES = Limit(50, 3600.0, "guild")
EMOJI_EDITS = Limit(1, 2.0, "guild")

# POST /guilds/{guild.id}/stickers: 50 per hour; PATCH and DELETE of one sticker 1 per 2 s (hata
# rate_limit_groups.py, sticker_guild_create, sticker_guild_edit, sticker_guild_delete).
STICKER_CREATES = Limit(50, 3600.0, "guild")
STICKER_EDITS = Limit(1, 2.0, "guild")

# 50 requests per second per bot token, across routes (Discord's rate-limit documentation,
# /work/shared/discord-api/NOTES.md §5).
GLOBAL = Limit(50, 1.0, "token")

# 10,000 invalid requests (answered 401, 403 or 429; 429s of scope "shared" excepted) per 10 minutes
# per IP, then a temporary ban (Discord's rate-limit documentation, NOTES.md §5).
INVALID_REQUESTS = Limit(10_000, 600.0, "ip")

# The ban comes from Cloudflare, not from the API: 429 with the text "error code: 1015" and no
# X-RateLimit headers (discord/discord-api-docs #1771, #1356); it lasted about an hour with a retry
# after of 1 h in discord/discord-api-docs #5385.
BAN_SECONDS = 3600.0
BAN_BODY = "error code: 1015"

# --- sizes and counts (not rate limits) ---------------------------------------------------------------

# Emoji images: at most 256 KiB (Discord's emoji resource docs, "Create Guild Emoji": emojis and animated
# emojis have a maximum file size of 256 KiB; an image over it is refused with 50035 BINARY_TYPE_MAX_SIZE).
EMOJI_MAX_BYTES = 256 * 1024
# Sticker files: PNG, APNG, GIF or Lottie JSON, at most 512 KiB (Discord's sticker resource docs,
# "Create Guild Sticker"; discord-api-types RESTPostAPIGuildStickerFormDataBody).
STICKER_MAX_BYTES = 512 * 1024
# Guild icons and banners Gaib downloads or uploads: Discord documents no figure; 10 MiB bounds memory.
GUILD_IMAGE_MAX_BYTES = 10 * 1024 * 1024

# Soundboard sounds: MP3 or Ogg, at most 512 KiB (discord-api-docs resources/soundboard at c98d64bc,
# "Create Guild Soundboard Sound"); 8 sounds, 24/36/48 from boost level 1/2/3 (Discord's boosting FAQ).
SOUND_MAX_BYTES = 512 * 1024
SOUND_SLOTS = (8, 24, 36, 48)
# AutoMod rules per trigger type (1 KEYWORD, 3 SPAM, 4 KEYWORD_PRESET, 5 MENTION_SPAM, 6 MEMBER_PROFILE) and
# the trigger-metadata list limits (discord-api-docs resources/auto-moderation at c98d64bc, "Trigger Types"
# and "Trigger Metadata Field Limits"; the spec's KeywordTriggerMetadata: maxItems/maxLength agree).
AUTOMOD_MAX_RULES = {1: 6, 3: 1, 4: 1, 5: 1, 6: 1}
AUTOMOD_LISTS = {"keyword_filter": (1000, 60), "regex_patterns": (10, 260), "allow_list": (100, 60)}
AUTOMOD_PRESET_ALLOW_LIST = 1000
AUTOMOD_EXEMPT_ROLES, AUTOMOD_EXEMPT_CHANNELS, AUTOMOD_ACTIONS = 20, 50, 5
# Enabled onboarding needs at least 7 default channels, 5 of which @everyone may send messages in; mode 1
# (ONBOARDING_ADVANCED) counts the prompts' channels too (discord-api-docs resources/guild at c98d64bc,
# "Modify Guild Onboarding"; error 350000). At most 15 prompts of at most 50 options (spec).
ONBOARDING_MIN_CHANNELS, ONBOARDING_MIN_SENDABLE = 7, 5
# At most 100 scheduled or active events per guild (discord-api-docs resources/guild-scheduled-event at
# c98d64bc; error 30038 "Maximum number of uncompleted guild scheduled events reached").
EVENTS_MAX = 100

# Custom emoji slots per boost tier (premium_tier 0-3), static and animated counted separately
# (sunarjs/sunar packages/limits/src/guild.ts: 50/100/150/250 of each; Discord's "Server Boosting" FAQ).
EMOJI_SLOTS = (50, 100, 150, 250)
# Sticker slots per boost tier (tryforge/ForgeScript guildStickerLimit.js: 5/15/30/60; the boosting FAQ).
STICKER_SLOTS = (5, 15, 30, 60)

# Voice bitrate ceilings per boost tier (premium_tier 0-3): 96, 128, 256 and 384 kbps (discord-api-docs,
# Channel resource "Modify Channel": bitrate 8000 to 96000, up to 384000 with boosts or VIP regions; the
# "Server Boosting" FAQ: 128 kbps at level 1, 256 at level 2, 384 at level 3). Stage channels stay at
# 64 kbps whatever the tier (NOTES.md §4.3). The floor is 8000 for both (NOTES.md §4.3, the spec).
VOICE_BITRATE_MAX = (96000, 128000, 256000, 384000)
STAGE_BITRATE_MAX = 64000
BITRATE_MIN = 8000
# User limits: voice 0-99, stage 0-10,000 (NOTES.md §4.3, from "Modify Channel"); 0 means no limit.
VOICE_USER_LIMIT_MAX = 99
STAGE_USER_LIMIT_MAX = 10000
# Forum and media channels: at most 20 tags, a tag name at most 20 characters (NOTES.md §4.3 and §6: "at
# most 20 tags"; the docs' forum tag object: name 0-20 characters; the spec allows 50, the stricter wins).
FORUM_TAGS_MAX = 20
FORUM_TAG_NAME_MAX = 20
# A thread or forum post may carry at most 5 tags (discord-api-docs "Start Thread in Forum or Media
# Channel": applied_tags, max 5; spec CreateForumThreadRequest.applied_tags maxItems 5).
APPLIED_TAGS_MAX = 5
# Thread auto-archive durations in minutes (NOTES.md §4.3: 60/1440/4320/10080).
AUTO_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
# Archived public threads: at most 100 per request, paged by ``before`` (an ISO 8601 archive timestamp;
# discord-api-docs "List Public Archived Threads"; the spec: limit 2-100).
ARCHIVED_THREADS_PAGE = 100
# Role icons need the ROLE_ICONS guild feature, which boost level 2 unlocks (Discord's "Server Boosting"
# FAQ and "Role Icons" support article; NOTES.md §4.2: icon needs ROLE_ICONS); without it Discord answers
# 403 with JSON code 50101 "This server needs more boosts to perform this action" (discord-api-docs,
# Opcodes and Status Codes, JSON error codes; discord.py's Forbidden on role icons in guild cloners). An
# icon image is at most 256 KiB (the "Role Icons" support article: under 256 KB).
ROLE_ICONS_TIER = 2
ROLE_ICON_MAX_BYTES = 256 * 1024
MORE_BOOSTS_REQUIRED = 50101

# Paging: GET /guilds/{id}/bans returns at most 1000 bans per request, GET /channels/{id}/messages at
# most 100 messages (Discord's OpenAPI spec: limit maximum 1000 / 100); POST /guilds/{id}/bulk-ban takes
# at most 200 user ids (spec: BulkBanUsersRequest.user_ids maxItems 200).
BAN_PAGE = 1000
MESSAGE_PAGE = 100
BULK_BAN_MAX = 200
# GET /guilds/{id}/members returns at most 1000 members a request (spec: list_guild_members limit maximum
# 1000); a member's nickname is at most 32 characters (spec: update_guild_member nick maxLength 32).
MEMBER_PAGE = 1000
# A message carries at most 10 files (spec: IncomingWebhookRequestPartial.attachments maxItems 10).
MESSAGE_FILES_MAX = 10
NICK_MAX = 32
# Discord's code for "Missing Access": what the member list answers a bot without the GUILD_MEMBERS
# privileged intent (NOTES.md §2; discord-api-docs#2174, PR #8321; discordgo#820).
MISSING_ACCESS = 50001

# A message's content is at most 2000 characters when a bot or webhook sends it (NOTES.md §6); members
# with Nitro may write 4000, so a replay splits longer bodies. At most 10 embeds per message.
MESSAGE_CONTENT_MAX = 2000
MESSAGE_EMBEDS_MAX = 10


def time_floor(count: int, limit: Limit) -> float:
    """Seconds ``count`` requests need at least under ``limit`` when its window starts fresh with the first
    (fixed windows: every full window after the first costs its length)."""
    if count <= limit.limit:
        return 0.0
    return ((count + limit.limit - 1) // limit.limit - 1) * limit.seconds


#: The long per-guild windows a plan counts against, by name, with the route each one limits.
LONG_WINDOWS: dict[str, Limit] = {
    "role_creates": ROLE_CREATES,
    "channel_creates": CHANNEL_CREATES,
    "role_edits": ROLE_EDITS,
}
LONG_WINDOW_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/guilds/{guild_id}/roles"): "role_creates",
    ("POST", "/guilds/{guild_id}/channels"): "channel_creates",
    ("PATCH", "/guilds/{guild_id}/roles/{role_id}"): "role_edits",
}
#: What each long window counts, for messages ("creates 260 roles").
WINDOW_NOUNS: dict[str, tuple[str, str]] = {
    "role_creates": ("creates", "roles"),
    "channel_creates": ("creates", "channels"),
    "role_edits": ("edits", "roles"),
}

#: Prefix of the client's sub-limit keys for webhook executions (``webhook:{id}``); other keys are channel
#: ids counting name/topic edits.
WEBHOOK_SUB = "webhook:"


def sub_limit(key: str) -> Limit:
    """The sub-limit a client-side ``sub`` key counts against."""
    return WEBHOOK_CHANNEL_MESSAGES if key.startswith(WEBHOOK_SUB) else NAME_TOPIC_EDITS


#: Body fields of PATCH /channels/{id} that count against NAME_TOPIC_EDITS.
NAME_TOPIC_FIELDS = ("name", "topic")


# --- what a client reports --------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowState:
    """A long window as the last response showed it: ``remaining`` of ``limit`` left, resetting
    ``reset_after`` seconds from the moment this value was made."""

    limit: int
    remaining: int
    reset_after: float


@dataclass(frozen=True)
class Usage:
    """What a client knows about the guild's limits, relative to now.

    ``windows``: long-window name (``role_creates`` …) → its state. ``name_topic``: channel id → ages in
    seconds of the name/topic edits sent to it within the last 10 minutes. ``recent``: for each request
    still inside the global window, how long ago Discord can have counted it at the latest (so a run
    right after another one keeps to the global limit the two share).
    """

    windows: Mapping[str, WindowState] = field(default_factory=dict)
    name_topic: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    recent: tuple[float, ...] = ()


@dataclass(frozen=True)
class Wait:
    """The client is about to sleep ``seconds`` before sending ``route`` (a redacted ``METHOD path``),
    because of ``reason`` (a sentence for people)."""

    route: str
    seconds: float
    reason: str
