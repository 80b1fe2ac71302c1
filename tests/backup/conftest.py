from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gaib.state.local import LocalBackend
from gaib.state.model import Instance, Resource, State
from tests.support.cli import CliRunner

GUILD = "223456789012345678"


def seed_state(root: Path, serial: int = 4, names: tuple[str, ...] = ("mods", "members", "general")) -> State:
    s = State.new("default", guild_id=GUILD)
    s.serial = serial
    s.resources = [Resource(type="discord_role", name=n, instances=[Instance(attributes={"id": str(10**17 + i),
                                                                                        "name": n.title()})])
                   for i, n in enumerate(names)]
    LocalBackend(root / ".gaib").put(s, expected_serial=None)
    return s


@pytest.fixture(params=["local", "aws"])
def bcli(request: pytest.FixtureRequest, cli: CliRunner) -> CliRunner:
    """A CLI runner with a guild id, on local backup storage or on S3 + DynamoDB (moto)."""
    cli.environ["DISCORD_GUILD_ID"] = GUILD
    if request.param == "aws":
        aws_env = request.getfixturevalue("aws_env")
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        bucket, table = f"backups-{suffix}", f"meta-{suffix}"
        ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        cli.environ.update(aws_env)
        cli.environ.update({"GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table})
    return cli
