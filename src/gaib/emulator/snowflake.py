"""Snowflake ids: milliseconds since the Discord epoch in the top 42 bits, always unique and increasing.

The clock is injectable (a callable returning Unix seconds) so tests can pin ids to a known time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DISCORD_EPOCH_MS = 1420070400000
WORKER_ID = 1
PROCESS_ID = 0


def snowflake_time_ms(snowflake: str | int) -> int:
    """The Unix time in milliseconds encoded in a snowflake."""
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


class SnowflakeGenerator:
    """Makes decimal-string ids from ``clock``; never returns the same id twice, never goes backwards.

    If the clock stalls or steps back, the next id is the previous one plus one, so ordering by id
    stays ordering by creation.
    """

    def __init__(self, clock: Callable[[], float] = time.time, *, worker: int = WORKER_ID) -> None:
        self._clock = clock
        self._worker = worker & 0x1F
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        ms = max(int(self._clock() * 1000) - DISCORD_EPOCH_MS, 0)
        candidate = (ms << 22) | (self._worker << 17) | (PROCESS_ID << 12)
        with self._lock:
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
        return str(candidate)

    def observe(self, existing: str | int) -> None:
        """Make every later id larger than ``existing`` (used after loading saved data)."""
        with self._lock:
            self._last = max(self._last, int(existing))
