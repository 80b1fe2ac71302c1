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
def snap(request: pytest.FixtureRequest, cli: CliRunner, guild: EmulatorHandle) -> CliRunner:
    """A CLI runner on the emulated guild, with backups on local storage or on S3 + DynamoDB (moto)."""
    cli.environ.update({"DISCORD_BOT_TOKEN": guild.token, "DISCORD_GUILD_ID": guild.guild_id,
                        "GAIB_DISCORD_API_URL": guild.base_url})
    if request.param == "aws":
        aws_env = request.getfixturevalue("aws_env")
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        bucket, table = f"snaps-{suffix}", f"meta-{suffix}"
        ensure_bucket(bucket, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        ensure_table(table, region="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
        cli.environ.update(aws_env)
        cli.environ.update({"GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table})
    return cli


class Discord:
    """Changes behind Gaib's back, through the emulator's HTTP API (as a raider or an admin would)."""

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

    def role(self, name: str) -> dict[str, Any]:
        return next(r for r in self.roles() if r["name"] == name)

    def channel(self, name: str) -> dict[str, Any]:
        return next(c for c in self.channels() if c["name"] == name)

    def create_role(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/guilds/{self.emu.guild_id}/roles", body)
        return result

    def create_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/guilds/{self.emu.guild_id}/channels", body)
        return result

    def delete_role(self, role_id: str) -> None:
        self._call("DELETE", f"/guilds/{self.emu.guild_id}/roles/{role_id}")

    def delete_channel(self, channel_id: str) -> None:
        self._call("DELETE", f"/channels/{channel_id}")

    def patch_channel(self, channel_id: str, body: dict[str, Any]) -> None:
        self._call("PATCH", f"/channels/{channel_id}", body)

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        """Mutating requests the emulator logged after request number ``mark``."""
        return [r for r in self.emu.requests() if r["seq"] > mark and r["method"] != "GET"]

    def mark(self) -> int:
        log = self.emu.requests()
        return int(log[-1]["seq"]) if log else 0


@pytest.fixture
def discord(guild: EmulatorHandle) -> Discord:
    return Discord(guild)
