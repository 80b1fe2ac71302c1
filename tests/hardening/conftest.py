"""Shared pieces of the hardening tests: a project with state and a backup, and a tree fingerprint
that proves a command wrote nothing."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from gaib.errors import (
    EXIT_CONFIG,
    EXIT_DISCORD,
    EXIT_GENERAL,
    EXIT_INVALID_INPUT,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_STATE,
)
from tests.support.cli import CliRunner, Result
from tests.support.state import GUILD, seed_state

__all__ = ["GUILD", "fingerprint", "seed_state"]

DOCUMENTED_EXITS = {EXIT_OK, EXIT_CONFIG, EXIT_STATE, EXIT_DISCORD, EXIT_LOCKED, EXIT_INVALID_INPUT}
"""Exit codes a damaged file or an odd setting may give; 1 is allowed only with a non-internal code."""


def fingerprint(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with its content hash: equal fingerprints, nothing written."""
    out: dict[str, str] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        out[rel + "/"] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.join(rel, name)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def assert_documented(result: Result) -> None:
    """The command failed (or not) the documented way: a known exit code, never INTERNAL_ERROR."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "INTERNAL_ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    if result.exit_code == EXIT_GENERAL:
        return  # STORAGE_* errors (exit 1) are documented; INTERNAL_ERROR was excluded above
    assert result.exit_code in DOCUMENTED_EXITS, (result.exit_code, result.stdout, result.stderr)


def make_project(cli: CliRunner, aws_env: dict[str, str] | None = None) -> CliRunner:
    """A project folder with a state (serial 4, three roles) and one backup ("seed"), Discord pointing
    nowhere; backups on the local store, or with ``aws_env`` on S3 + DynamoDB (moto)."""
    cli.environ.update({"DISCORD_GUILD_ID": GUILD, "GAIB_DISCORD_API_URL": "http://127.0.0.1:9"})
    if aws_env is not None:
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        bucket, table = f"harden-{suffix}", f"harden-{suffix}"
        ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        cli.environ.update(aws_env)
        cli.environ.update({"GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table})
    seed_state(cli.cwd)
    made = cli("server", "backup", "create", "-m", "seed", "--json")
    assert made.exit_code == 0, made.stdout
    return cli


@pytest.fixture
def project(cli: CliRunner) -> CliRunner:
    """``make_project`` on the local store."""
    return make_project(cli)


@pytest.fixture
def aws_project(cli: CliRunner, aws_env: dict[str, str]) -> CliRunner:
    """``make_project`` on S3 + DynamoDB (moto)."""
    return make_project(cli, aws_env)


@pytest.fixture(params=["local", "aws"])
def bproject(request: pytest.FixtureRequest, cli: CliRunner) -> CliRunner:
    """``make_project`` on each backup storage."""
    return make_project(cli, request.getfixturevalue("aws_env") if request.param == "aws" else None)
