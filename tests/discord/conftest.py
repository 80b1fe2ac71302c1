from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.discord.stub import Stub, stub_server
from tests.support.clocks import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stub() -> Iterator[Stub]:
    with stub_server() as s:
        yield s
