"""Fixtures for the theme registry: the CLI on the emulated guild, with backups on local storage or on
S3 + DynamoDB (moto), and a view of the guild through the emulator's HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(args=("--rate-limits", "off")) as emu:
        yield emu


@pytest.fixture
def guild(emulator: EmulatorHandle) -> EmulatorHandle:
    emulator.reset()
    return emulator


@pytest.fixture(params=["local", "aws"])
def reg(request: pytest.FixtureRequest, cli: CliRunner, guild: EmulatorHandle) -> CliRunner:
    """A CLI runner on the emulated guild with backups on local storage or on S3 + DynamoDB (moto);
    the actor is fixed and CI is off, so recorded actors are predictable."""
    cli.environ.update({"DISCORD_BOT_TOKEN": guild.token, "DISCORD_GUILD_ID": guild.guild_id,
                        "GAIB_DISCORD_API_URL": guild.base_url, "GAIB_ACTOR": "tester", "HOME": str(cli.cwd)})
    cli.environ.pop("CI", None)
    if request.param == "aws":
        aws_env = request.getfixturevalue("aws_env")
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        bucket, table = f"reg-{suffix}", f"reg-{suffix}"
        ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        cli.environ.update(aws_env)
        cli.environ.update({"GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table})
    return cli


class Guild:
    """The guild as a person sees it, read (and changed behind Gaib's back) through the emulator's API."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, f"{self.emu.base_url}{path}", json=body, headers=self.emu.auth_headers())
        r.raise_for_status()
        return r.json() if r.content else None

    def roles(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/guilds/{self.emu.guild_id}/roles")
        return result

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/guilds/{self.emu.guild_id}/channels")
        return result

    def names(self) -> set[str]:
        """Every role (but @everyone) and channel name."""
        return {r["name"] for r in self.roles() if r["id"] != self.emu.guild_id} | {c["name"] for c in self.channels()}

    def ids(self) -> dict[str, str]:
        return {**{r["name"]: r["id"] for r in self.roles()}, **{c["name"]: c["id"] for c in self.channels()}}

    def channel(self, name: str) -> dict[str, Any]:
        return next(c for c in self.channels() if c["name"] == name)

    def mark(self) -> int:
        log = self.emu.requests()
        return int(log[-1]["seq"]) if log else 0

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        """Mutating requests the emulator logged after request number ``mark``."""
        return [r for r in self.emu.requests() if r["seq"] > mark and r["method"] != "GET"]


@pytest.fixture
def discord(guild: EmulatorHandle) -> Guild:
    return Guild(guild)


@pytest.fixture(params=["local", "aws"])
def project(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[Any, dict[str, str]]:
    """A project folder and the environment of a run on local storage or S3 + DynamoDB (moto); no Discord."""
    environ = {"DISCORD_GUILD_ID": "1100000000000000001", "GAIB_ACTOR": "tester", "HOME": str(tmp_path)}
    if request.param == "aws":
        aws_env = request.getfixturevalue("aws_env")
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        bucket, table = f"reg-{suffix}", f"reg-{suffix}"
        ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        environ.update(aws_env)
        environ.update({"GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table})
    return tmp_path, environ
