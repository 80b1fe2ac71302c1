"""Fixtures for the emulator's own tests: one rate-limit-free emulator per module, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.emulator import EmulatorHandle, running_emulator


class Api:
    """A thin httpx client for the emulator: paths are relative to /api/v10, auth headers included."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.gid = emu.guild_id
        self.client = httpx.Client(base_url=emu.base_url, headers=emu.auth_headers(), timeout=10)

    def __call__(self, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, json=json, **kw)

    def role(self, name: str = "role", **fields: Any) -> dict[str, Any]:
        r = self("POST", f"/guilds/{self.gid}/roles", {"name": name, **fields})
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    def channel(self, name: str = "chan", **fields: Any) -> dict[str, Any]:
        r = self("POST", f"/guilds/{self.gid}/channels", {"name": name, **fields})
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def emu_off() -> Iterator[EmulatorHandle]:
    """An emulator with rate limits off (headers still sent), shared by a module."""
    with running_emulator(args=("--rate-limits", "off")) as emu:
        yield emu


@pytest.fixture
def api(emu_off: EmulatorHandle) -> Iterator[Api]:
    """A client for ``emu_off``, which is reset to an empty guild before each test."""
    emu_off.reset()
    client = Api(emu_off)
    yield client
    client.close()


def form_errors(body: dict[str, Any]) -> dict[str, Any]:
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    errors: dict[str, Any] = body["errors"]
    return errors


def inner_codes(node: dict[str, Any]) -> list[str]:
    return [e["code"] for e in node["_errors"]]
