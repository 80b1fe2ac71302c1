from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fleet import Fleet, aws_fleet, local_fleet


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws)])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Fleet:
    """Servers registered for scheduled runs, on the local store or on moto (S3 states, S3 + DynamoDB)."""
    if request.param == "local":
        return local_fleet(tmp_path)
    request.getfixturevalue("aws_env")
    return aws_fleet(tmp_path, request.getfixturevalue("moto_endpoint"))


@pytest.fixture
def aws_only(tmp_path: Path, aws_env: dict[str, str], moto_endpoint: str) -> Fleet:
    return aws_fleet(tmp_path, moto_endpoint)
