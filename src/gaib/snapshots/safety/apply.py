"""Carrying out a :class:`gaib.snapshots.safety.plan.SafetyPlan` against Discord.

Steps run one after another in the plan's order (updates, deletes, then creates within each part). A
create is deduplicated (a retry after a lost answer returns what the first try made). A step that fails
does not stop the others: it is listed in :attr:`SafetyResult.failed`, so running the restore again
finishes the work without repeating what was done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gaib.discord.community import data_uri
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.iac.progress import Reporter, Tick
from gaib.snapshots.safety.plan import SafetyPlan
from gaib.snapshots.safety.steps import Step


@dataclass
class SafetyResult:
    done: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed}


def _call(port: DiscordPort, step: Step, media: Mapping[str, bytes], reason: str) -> Callable[[], Any]:
    body = dict(step.body)
    live = str(step.live_id)
    if step.part == "onboarding":
        return lambda: port.put_onboarding(body, reason=reason)
    if step.part == "welcome":
        return lambda: port.update_welcome_screen(body, reason=reason)
    if step.part == "automod":
        if step.action == "create":
            return lambda: port.create_automod_rule(body, reason=reason, dedupe=True)
        if step.action == "update":
            return lambda: port.update_automod_rule(live, body, reason=reason)
        return lambda: port.delete_automod_rule(live, reason=reason)
    if step.part == "events":
        if step.media is not None:
            body["image"] = data_uri(media[step.media])
        if step.action == "create":
            return lambda: port.create_scheduled_event(body, reason=reason, dedupe=True)
        return lambda: port.update_scheduled_event(live, body, reason=reason)
    if step.action == "create":
        assert step.media is not None
        return lambda: port.create_soundboard_sound(
            str(body["name"]), media[str(step.media)], volume=body.get("volume"), emoji_id=body.get("emoji_id"),
            emoji_name=body.get("emoji_name"), reason=reason, dedupe=True)
    if step.action == "update":
        return lambda: port.update_soundboard_sound(live, body, reason=reason)
    return lambda: port.delete_soundboard_sound(live, reason=reason)


def execute(port: DiscordPort, plan: SafetyPlan, media: Mapping[str, bytes], *, progress: Reporter,
            reason: str) -> SafetyResult:
    """Make the live safety parts match the plan (see the module docstring); never raises for a step."""
    result = SafetyResult()
    for step in plan.steps:
        label = f"{step.action} {step.part} {step.name}"
        try:
            _call(port, step, media, reason)()
        except GaibError as exc:
            result.failed.append({"what": label, "code": exc.error_code, "message": exc.message})
            progress(Tick("failed", exc.message, address=label))
            continue
        result.done.append(label)
        progress(Tick("done", label))
    return result
