"""The snapshot tests' CLI: on the emulated guild, with backups on local storage or on S3 + DynamoDB (moto)."""

from __future__ import annotations

import pytest

from tests.support.cli import CliRunner


@pytest.fixture
def snap(gaib: CliRunner, store: dict[str, str]) -> CliRunner:
    """A CLI runner on the emulated guild, with backups on local storage or on S3 + DynamoDB (moto)."""
    gaib.environ.update(store)
    return gaib
