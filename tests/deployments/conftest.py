"""The theme registry's fixtures: the CLI on the emulated guild with a fixed actor, and a project without
Discord; backups on local storage or on S3 + DynamoDB (moto) for both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import CliRunner


@pytest.fixture
def reg(gaib: CliRunner, store: dict[str, str]) -> CliRunner:
    """A CLI runner on the emulated guild with backups on local storage or on S3 + DynamoDB (moto);
    the actor is fixed and CI is off, so recorded actors are predictable."""
    gaib.environ.update({"GAIB_ACTOR": "tester", "HOME": str(gaib.cwd)})
    gaib.environ.pop("CI", None)
    gaib.environ.update(store)
    return gaib


@pytest.fixture
def project(tmp_path: Path, store: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A project folder and the environment of a run on local storage or S3 + DynamoDB (moto); no Discord."""
    environ = {"DISCORD_GUILD_ID": "1100000000000000001", "GAIB_ACTOR": "tester", "HOME": str(tmp_path)}
    environ.update(store)
    return tmp_path, environ
