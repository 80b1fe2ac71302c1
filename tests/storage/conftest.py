"""The storage contract's fixtures: a settable clock and a backend pair on local storage or on moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clocks import Clock
from tests.support.storage.backends import Backend, make_aws, make_local


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws)])
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Backend:
    if request.param == "local":
        return make_local(tmp_path / "store", clock)
    env = request.getfixturevalue("aws_env")
    return make_aws(env, clock)
