"""What Discord's headers said about its limits, kept between runs in ``<state dir>/discord-limits.json``.

Plans count creates against the long windows from the last figures Discord sent (remaining requests
and reset time of ``role_creates``, ``channel_creates``, ``role_edits``) and know which channels had
their name or topic changed in the last 10 minutes. Apply writes the file after it ran; plan only
reads it. It is a cache: a missing, unreadable or foreign file reads as empty (the documented budgets
apply) and is replaced on the next write. Format (docs/format.md, "Discord limits cache")::

    {"format": "gaib-discord-limits/1",
     "guilds": {"<guild id>": {
        "windows": {"role_creates": {"limit": 250, "remaining": 10, "resets_at": "…Z", "seen_at": "…Z"}},
        "name_topic_edits": {"<channel id>": ["…Z", "…Z"]},
        "recent_requests": ["…Z", …]}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gaib.discord import limits as L
from gaib.fsutil import write_atomic
from gaib.iac.caps import Budget

FORMAT = "gaib-discord-limits/1"
FILE_NAME = "discord-limits.json"
RECENT_SECONDS = 2.0  # requests older than this no longer count against the global limit


@dataclass
class GuildLimits:
    """One guild's cached figures: long windows by name, and name/topic edit times by channel id."""

    budgets: dict[str, Budget] = field(default_factory=dict)
    seen_at: dict[str, datetime] = field(default_factory=dict)
    name_topic: dict[str, list[datetime]] = field(default_factory=dict)
    recent: list[datetime] = field(default_factory=list)  # requests sent within the global window

    def usage(self, now: datetime) -> L.Usage:
        """The cached windows and the name/topic edits of the last 10 minutes, relative to ``now``, for
        ``DiscordPort.prime_limits``."""
        horizon = L.NAME_TOPIC_EDITS.seconds
        edits = {cid: tuple((now - t).total_seconds() for t in times if 0 <= (now - t).total_seconds() < horizon)
                 for cid, times in self.name_topic.items()}
        windows = {name: L.WindowState(b.limit, b.remaining, (b.resets_at - now).total_seconds())
                   for name, b in self.budgets.items() if b.resets_at is not None and b.resets_at > now}
        recent = tuple(age for age in ((now - t).total_seconds() for t in self.recent) if 0 <= age < RECENT_SECONDS)
        return L.Usage(windows=windows, name_topic={cid: ages for cid, ages in edits.items() if ages}, recent=recent)


def path_for(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return {}
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("guilds"), dict):
        return {}
    return doc


def load(state_dir: Path, guild_id: str) -> GuildLimits:
    """The cached figures of ``guild_id`` (empty when there are none or the file is unusable)."""
    entry = _read(path_for(state_dir)).get("guilds", {}).get(guild_id)
    out = GuildLimits()
    if not isinstance(entry, dict):
        return out
    windows = entry.get("windows")
    for name, raw in (windows.items() if isinstance(windows, dict) else ()):
        if name not in L.LONG_WINDOWS or not isinstance(raw, dict):
            continue
        limit, remaining = raw.get("limit"), raw.get("remaining")
        resets_at, seen_at = _time(raw.get("resets_at")), _time(raw.get("seen_at"))
        if (not isinstance(limit, int) or not isinstance(remaining, int) or isinstance(limit, bool)
                or isinstance(remaining, bool) or not 0 <= remaining <= limit or resets_at is None):
            continue
        out.budgets[name] = Budget(name, limit, L.LONG_WINDOWS[name].seconds, remaining, resets_at, seen=True)
        if seen_at is not None:
            out.seen_at[name] = seen_at
    recent = entry.get("recent_requests")
    out.recent = sorted(t for t in (_time(x) for x in (recent if isinstance(recent, list) else [])) if t is not None)
    edits = entry.get("name_topic_edits")
    for channel, times in (edits.items() if isinstance(edits, dict) else ()):
        if isinstance(channel, str) and channel.isdigit() and isinstance(times, list):
            parsed = [t for t in (_time(x) for x in times) if t is not None]
            if parsed:
                out.name_topic[channel] = sorted(parsed)
    return out


def merge(old: GuildLimits, usage: L.Usage, now: datetime) -> GuildLimits:
    """``old`` updated with what a client reported ``now``: windows it saw replace the cached ones,
    the name/topic edits it sent join the cached ones; windows that reset and edits older than 10
    minutes go."""
    out = GuildLimits()
    for name, budget in old.budgets.items():
        if budget.resets_at is not None and budget.resets_at > now:
            out.budgets[name] = budget
            if name in old.seen_at:
                out.seen_at[name] = old.seen_at[name]
    for name, state in usage.windows.items():
        if name in L.LONG_WINDOWS:
            out.budgets[name] = Budget(name, state.limit, L.LONG_WINDOWS[name].seconds, state.remaining,
                                       now + timedelta(seconds=state.reset_after), seen=True)
            out.seen_at[name] = now
    horizon = now - timedelta(seconds=L.NAME_TOPIC_EDITS.seconds)
    edits = {cid: [t for t in times if t > horizon] for cid, times in old.name_topic.items()}
    for cid, ages in usage.name_topic.items():
        edits.setdefault(cid, []).extend(now - timedelta(seconds=age) for age in ages)
    out.name_topic = {cid: sorted(times) for cid, times in edits.items() if times}
    out.recent = sorted(now - timedelta(seconds=age) for age in usage.recent if age < RECENT_SECONDS)
    return out


def save(state_dir: Path, guild_id: str, limits: GuildLimits) -> None:
    """Replace ``guild_id``'s entry (atomically; other guilds' entries are kept)."""
    path = path_for(state_dir)
    doc = _read(path) or {"format": FORMAT, "guilds": {}}
    doc["guilds"][guild_id] = {
        "windows": {name: {"limit": b.limit, "remaining": b.remaining,
                           "resets_at": _iso(b.resets_at) if b.resets_at else None,
                           "seen_at": _iso(limits.seen_at[name]) if name in limits.seen_at else None}
                    for name, b in sorted(limits.budgets.items())},
        "name_topic_edits": {cid: [_iso(t) for t in times] for cid, times in sorted(limits.name_topic.items())},
        "recent_requests": [_iso(t) for t in limits.recent],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8"), mode=0o644)
