from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.discord.stub import Stub, stub_server


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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub() -> Iterator[Stub]:
    with stub_server() as s:
        yield s
