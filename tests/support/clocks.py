"""Clocks for tests: ``FakeClock`` (a client's monotonic clock that moves only when something sleeps),
``Clock`` (settable epoch seconds for the catalog adapters), and ``AT``, the moment notification tests'
events happen."""

from __future__ import annotations

from datetime import UTC, datetime

START = 1_800_000_000.0
AT = datetime(2025, 1, 1, 3, 0, 5, tzinfo=UTC)


class FakeClock:
    """Monotonic time that only moves when something sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Clock:
    """The only mock of the storage tests: a settable clock (epoch seconds) handed to the catalog adapters."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
