from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gaib.state.backend import StateBackend
from gaib.state.local import LocalBackend

GUILD = "123456789012345678"


def make_s3_backend(endpoint: str, stale_after: timedelta = timedelta(hours=1)) -> StateBackend:
    from gaib.state.s3 import S3Backend, ensure_state_infra

    suffix = uuid.uuid4().hex[:10]
    bucket, table = f"state-{suffix}", f"locks-{suffix}"
    ensure_state_infra(bucket=bucket, table=table, region="us-east-1", endpoint_url=endpoint)
    return S3Backend(bucket=bucket, table=table, guild_id=GUILD, region="us-east-1", endpoint_url=endpoint,
                     stale_after=stale_after)


@pytest.fixture(params=["local", "s3"])
def backend_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A callable building a fresh backend of the parametrised kind: factory(stale_after=...)."""
    if request.param == "local":
        yield lambda stale_after=timedelta(hours=1): LocalBackend(tmp_path / ".gaib", stale_after=stale_after)
    else:
        endpoint = request.getfixturevalue("aws_env")["AWS_ENDPOINT_URL"]
        yield lambda stale_after=timedelta(hours=1): make_s3_backend(endpoint, stale_after)
