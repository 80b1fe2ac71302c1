from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from tests.support.procs import moto_server
from tests.support.state import GUILD

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of moto's standalone server on 127.0.0.1 (one per test session)."""
    with moto_server() as url:
        yield url


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point boto3 (in this process) at the moto server; returns the variables for subprocesses/CLI."""
    env = {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": moto_endpoint}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GAIB_", "DISCORD_")):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    """Run gaib in-process inside a fresh project folder, with no GAIB_/DISCORD_ variables set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}
    return CliRunner(cwd=tmp_path, environ=base)


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
