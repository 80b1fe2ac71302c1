"""The hardening tests' projects: a state and a backup, on the local store, on moto, or on each."""

from __future__ import annotations

import pytest

from tests.support.cli import CliRunner
from tests.support.store import backup_storage_env, make_project


@pytest.fixture
def project(cli: CliRunner) -> CliRunner:
    """``make_project`` on the local store."""
    return make_project(cli)


@pytest.fixture
def aws_project(cli: CliRunner, aws_env: dict[str, str]) -> CliRunner:
    """``make_project`` on S3 + DynamoDB (moto)."""
    return make_project(cli, backup_storage_env(aws_env, "harden"))


@pytest.fixture
def bproject(cli: CliRunner, store: dict[str, str]) -> CliRunner:
    """``make_project`` on each backup storage."""
    return make_project(cli, store)
