from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gaib.wiring import App
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


def local_events(fleet: Fleet) -> list[dict[str, Any]]:
    path = fleet.project / ".gaib" / "backups" / ".events" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scheduled_backups(app: App, server_id: str) -> list[dict[str, Any]]:
    from gaib.storage.keys import server_pk

    page = app.catalog.query(server_pk(server_id), "BACKUP#", limit=1000)
    return [i for i in page.items if i.get("trigger") == "scheduled"]
