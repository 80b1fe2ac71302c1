"""Planning the safety side of a restore: what the live server has (:func:`read_live`), what to change
(:func:`plan`, pure, one planner per part family) and what it sends (:func:`requests`).

Only the parts the snapshot holds and the restore selects (``Selection.includes``: automod, onboarding,
welcome, events, soundboard) are read and planned. Refusals (Discord's limits and requirements, checked
before anything is sent) and the events that are over are listed in the plan; nothing is sent for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gaib.discord.port import DiscordPort
from gaib.errors import DiscordNotFound
from gaib.interrupt import Workers
from gaib.snapshots.safety import automod, events, onboarding, soundboard
from gaib.snapshots.safety.parts import SAFETY_PARTS, Safety
from gaib.snapshots.safety.steps import Remap, Step

if TYPE_CHECKING:  # selection imports community_plan, which imports this package
    from gaib.snapshots.selection import Selection

ROUTES = {"automod": ("/guilds/{guild_id}/auto-moderation/rules", "/guilds/{guild_id}/auto-moderation/rules/{rule_id}"),
          "events": ("/guilds/{guild_id}/scheduled-events",
                     "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}"),
          "soundboard": ("/guilds/{guild_id}/soundboard-sounds", "/guilds/{guild_id}/soundboard-sounds/{sound_id}")}
READS = {"automod": "GET /guilds/{guild_id}/auto-moderation/rules", "onboarding": "GET /guilds/{guild_id}/onboarding",
         "welcome": "GET /guilds/{guild_id}/welcome-screen", "events": "GET /guilds/{guild_id}/scheduled-events",
         "soundboard": "GET /guilds/{guild_id}/soundboard-sounds"}


@dataclass(frozen=True)
class LiveSafety:
    """The live objects of the parts read (``parts``)."""

    parts: frozenset[str] = frozenset()
    rules: tuple[dict[str, Any], ...] = ()
    onboarding: dict[str, Any] | None = None
    welcome: dict[str, Any] | None = None
    welcome_enabled: bool = False
    events: tuple[dict[str, Any], ...] = ()
    sounds: tuple[dict[str, Any], ...] = ()
    premium_tier: int = 0


def wanted(safety: Safety, selection: Selection | None) -> frozenset[str]:
    """The safety parts a restore works on: held by the snapshot and selected."""
    return frozenset(p for p in safety.parts if selection is None or selection.includes(p))


def read_live(port: DiscordPort, safety: Safety, selection: Selection | None, *, features: tuple[str, ...],
              premium_tier: int, workers: int = 4) -> LiveSafety:
    """The live objects of the parts :func:`wanted` names (read together)."""
    parts = wanted(safety, selection)
    if not parts:
        return LiveSafety()

    def welcome() -> dict[str, Any] | None:
        try:
            return port.get_welcome_screen()
        except DiscordNotFound:
            return None

    calls: dict[str, Callable[[], Any]] = {
        "automod": port.list_automod_rules, "onboarding": port.get_onboarding, "welcome": welcome,
        "events": port.list_scheduled_events, "soundboard": port.list_soundboard_sounds}
    with Workers(max_workers=max(1, workers), thread_name_prefix="gaib-read") as pool:
        futures = {p: pool.submit(calls[p]) for p in SAFETY_PARTS if p in parts}
        got: dict[str, Any] = {p: f.result() for p, f in futures.items()}
    return LiveSafety(parts=parts, rules=tuple(got.get("automod") or ()), onboarding=got.get("onboarding"),
                      welcome=got.get("welcome"), welcome_enabled="WELCOME_SCREEN_ENABLED" in features,
                      events=tuple(got.get("events") or ()), sounds=tuple(got.get("soundboard") or ()),
                      premium_tier=premium_tier)


@dataclass(frozen=True)
class SafetyPlan:
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    past_events: tuple[str, ...] = ()
    parts: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.steps

    def summary(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for step in self.steps:
            key = f"{step.part}_{step.action}"
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"parts": sorted(self.parts), "empty": self.empty, "summary": self.summary(),
                "steps": [s.to_dict() for s in self.steps], "refused": list(self.refused),
                "past_events": list(self.past_events), "warnings": list(self.warnings)}

    def messages(self) -> list[str]:
        """Refusals, past events and warnings, for the plan's notes."""
        past = ([f"{len(self.past_events)} saved event(s) are over and are not re-created: "
                 + ", ".join(self.past_events[:5])] if self.past_events else [])
        return [*self.refused, *past, *self.warnings]


def plan(safety: Safety, live: LiveSafety, *, ids: Mapping[str, str], channels: set[str], roles: set[str],
         now: datetime, prune: bool) -> SafetyPlan:
    """What makes the live safety parts (those read into ``live``) match the snapshot's (pure)."""
    remap = Remap(ids=ids, channels=channels, roles=roles, names=safety.names, now=now, prune=prune)
    steps: list[Step] = []
    past: list[str] = []
    if "automod" in live.parts:
        steps += automod.plan(safety.rules, live.rules, remap)
    if "onboarding" in live.parts:
        steps += onboarding.plan_onboarding(safety.onboarding, safety.sendable, live.onboarding, remap)
    if "welcome" in live.parts:
        steps += onboarding.plan_welcome(safety.welcome, live.welcome, live.welcome_enabled, remap)
    if "events" in live.parts:
        more, past = events.plan(safety.events, live.events, remap)
        steps += more
    if "soundboard" in live.parts:
        steps += soundboard.plan(safety.sounds, live.sounds, live.premium_tier, remap)
    return SafetyPlan(steps=tuple(steps), warnings=tuple(remap.warnings), refused=tuple(remap.refused),
                      past_events=tuple(past), parts=live.parts)


def requests(plan: SafetyPlan) -> dict[str, int]:
    """Requests the plan sends, by route (reads apart)."""
    out: dict[str, int] = {}
    for step in plan.steps:
        if step.part == "onboarding":
            route = "PUT /guilds/{guild_id}/onboarding"
        elif step.part == "welcome":
            route = "PATCH /guilds/{guild_id}/welcome-screen"
        else:
            base, item = ROUTES[step.part]
            route = {"create": f"POST {base}", "update": f"PATCH {item}", "delete": f"DELETE {item}"}[step.action]
        out[route] = out.get(route, 0) + 1
    return out


def reads(parts: frozenset[str]) -> dict[str, int]:
    """The reads of :func:`read_live` for ``parts``."""
    return {READS[p]: 1 for p in parts}
