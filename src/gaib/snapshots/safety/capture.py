"""Reading the safety parts from Discord (five requests sent together) and storing their media.

:func:`capture` reads the AutoMod rules, the onboarding, the welcome screen, the scheduled events and the
soundboard sounds, downloads each event cover and sound through ``fetch`` (the snapshot's media store:
content-addressed, an image or sound already stored adds nothing) and returns the parts' plain bytes.
A part Discord refuses to show the bot (403: it lacks Manage Server or Manage Events) is left out and
named in :attr:`SafetyCaptured.unavailable`; the snapshot still succeeds. A server without a welcome
screen (404) has ``welcome: null``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from gaib.discord import limits as L
from gaib.discord.models import Guild
from gaib.discord.port import DiscordPort
from gaib.errors import DiscordNotFound, DiscordPermissionError
from gaib.interrupt import Workers
from gaib.snapshots.safety.parts import document

Fetch = Callable[[str, int], tuple[bytes, str]]
Note = Callable[[bytes, str], dict[str, Any]]
VIEW_CHANNEL, SEND_MESSAGES = 1 << 10, 1 << 11


@dataclass
class SafetyCaptured:
    parts: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)


def sendable_channels(guild: Guild) -> list[str]:
    """Channels @everyone may view and send messages in (its permissions, then the channel's @everyone
    overwrite): what Discord's onboarding requirements count."""
    everyone = next((r for r in guild.roles if r.id == guild.id), None)
    base = everyone.permissions if everyone is not None else 0
    out = []
    for channel in guild.channels:
        perms = base
        for ow in channel.permission_overwrites:
            if ow.id == guild.id:
                perms = (perms & ~ow.deny) | ow.allow
        if perms & (VIEW_CHANNEL | SEND_MESSAGES) == VIEW_CHANNEL | SEND_MESSAGES:
            out.append(channel.id)
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(rule["id"]), "name": rule.get("name"), "event_type": rule.get("event_type", 1),
            "trigger_type": rule.get("trigger_type"), "trigger_metadata": rule.get("trigger_metadata") or {},
            "actions": list(rule.get("actions") or []), "enabled": bool(rule.get("enabled")),
            "exempt_roles": [str(r) for r in rule.get("exempt_roles") or []],
            "exempt_channels": [str(c) for c in rule.get("exempt_channels") or []]}


def _event(event: dict[str, Any]) -> dict[str, Any]:
    meta = event.get("entity_metadata") if isinstance(event.get("entity_metadata"), dict) else {}
    return {"id": str(event["id"]), "name": event.get("name"), "description": event.get("description"),
            "scheduled_start_time": event.get("scheduled_start_time"),
            "scheduled_end_time": event.get("scheduled_end_time"), "privacy_level": event.get("privacy_level", 2),
            "entity_type": event.get("entity_type"), "channel_id": event.get("channel_id"),
            "location": meta.get("location") if meta else None, "status": event.get("status", 1),
            "image": event.get("image")}


def capture(port: DiscordPort, guild: Guild, features: Sequence[str], pool: Workers, fetch: Fetch,
            note: Note) -> SafetyCaptured:
    """Read and store the safety parts (see the module docstring); ``features``: the guild's, as read."""
    out = SafetyCaptured()
    reads: dict[str, Future[Any]] = {
        "automod": pool.submit(port.list_automod_rules), "onboarding": pool.submit(port.get_onboarding),
        "welcome": pool.submit(port.get_welcome_screen), "events": pool.submit(port.list_scheduled_events),
        "soundboard": pool.submit(port.list_soundboard_sounds)}
    got: dict[str, Any] = {}
    for part, future in reads.items():
        try:
            got[part] = future.result()
        except DiscordPermissionError:
            out.unavailable.append(part)
        except DiscordNotFound:
            if part != "welcome":
                raise
            got[part] = None
    names = {r.id: r.name for r in guild.roles} | {c.id: c.name for c in guild.channels}
    if "automod" in got:
        rules = [_rule(r) for r in got["automod"]]
        used = {x for r in rules for x in (*r["exempt_roles"], *r["exempt_channels"],
                                             *(str((a.get("metadata") or {}).get("channel_id") or "")
                                               for a in r["actions"]))}
        out.parts["automod"] = document("automod", rules, names={i: names[i] for i in sorted(used) if i in names})
        out.counts["automod_rules"] = len(rules)
    if "onboarding" in got:
        ob = got["onboarding"]
        out.parts["onboarding"] = document("onboarding", ob, sendable=sendable_channels(guild), names=names)
        out.counts["onboarding_prompts"] = len(ob.get("prompts") or [])
    if "welcome" in got:
        welcome = got["welcome"]
        if welcome is not None:
            welcome = {**welcome, "enabled": "WELCOME_SCREEN_ENABLED" in features}
        out.parts["welcome"] = document("welcome", welcome, names=names)
    if "events" in got:
        events = [_event(e) for e in got["events"] if e.get("status", 1) in (1, 2)][:L.EVENTS_MAX]
        covers = [pool.submit(fetch, f"guild-events/{e['id']}/{e['image']}.png", L.GUILD_IMAGE_MAX_BYTES)
                  if e["image"] else None for e in events]
        for event, cover in zip(events, covers, strict=True):
            if cover is not None:
                data, digest = cover.result()
                stored = note(data, digest)
                event.update(image_sha256=stored["sha256"], image_size=stored["size"])
        out.parts["events"] = document("events", events, names=names)
        out.counts["events"] = len(events)
    if "soundboard" in got:
        sounds = [s for s in got["soundboard"] if s.get("available", True) is not False]
        audio = [pool.submit(fetch, f"soundboard-sounds/{s['sound_id']}", L.SOUND_MAX_BYTES) for s in sounds]
        docs = []
        for sound, future in zip(sounds, audio, strict=True):
            data, digest = future.result()
            docs.append({"id": str(sound["sound_id"]), "name": sound.get("name"), "volume": sound.get("volume", 1.0),
                         "emoji_id": sound.get("emoji_id"), "emoji_name": sound.get("emoji_name"),
                         **note(data, digest)})
        out.parts["soundboard"] = document("soundboard", docs)
        out.counts["sounds"] = len(docs)
    return out
