"""Helpers for the emulator's limit and clock controls, and a client clock linked to the emulator's.

    advance_clock(emu, 172_800)            # two days pass for the emulator (windows reset)
    spend_caps(emu, role_creates=240)      # only 10 role creates left in this 48-hour window
    clock = LinkedClock(emu)               # DiscordClient(..., clock=clock): waits move the emulator's
                                           # clock instead of sleeping, so a 10-minute wait is instant
"""

from __future__ import annotations

import time
from typing import Any

from tests.support.emulator import EmulatorHandle


def control(emu: EmulatorHandle, method: str, path: str, payload: Any = None) -> Any:
    """Call the emulator's control API: :meth:`EmulatorHandle.control`."""
    return emu.control(method, path, payload)


def advance_clock(emu: EmulatorHandle, seconds: float) -> dict[str, Any]:
    """Move the emulator's clock forward; returns ``{"now", "offset"}``."""
    result: dict[str, Any] = control(emu, "POST", "/clock", {"advance": seconds})
    return result


def spend_caps(emu: EmulatorHandle, **used: int) -> dict[str, Any]:
    """Start the guild's long windows with requests already used (``role_creates=240`` …)."""
    result: dict[str, Any] = control(emu, "POST", "/caps", used)
    return result


def set_latency(emu: EmulatorHandle, latency_ms: int) -> None:
    control(emu, "POST", "/latency", {"latency_ms": latency_ms})


def limits(emu: EmulatorHandle) -> dict[str, Any]:
    """``{caps: {role_creates: {limit, used, remaining, reset_after}, …}, invalid_requests, banned_for,
    clock, latency_ms}``."""
    result: dict[str, Any] = control(emu, "GET", "/limits")
    return result


class LinkedClock:
    """A client clock (``monotonic``/``sleep``) that never really sleeps: a wait moves the emulator's
    clock (and this one) forward by its length. Records every sleep."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.offset = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.sleeps.append(seconds)
        advance_clock(self.emu, seconds)
        self.offset += seconds
