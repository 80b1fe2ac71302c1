"""Clients of the emulator's Discord API for the emulator's own tests.

``Api`` returns raw ``httpx.Response`` objects (paths relative to /api/v10, auth headers included) so a
test can check status codes and error bodies; ``Bot`` sends like a polite bot, waiting out each 429 on
the emulator's clock and asserting the status it expects. ``form_errors``/``inner_codes`` read Discord's
``50035 Invalid Form Body`` answers.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.discord.control import advance_clock
from tests.support.emulator import EmulatorHandle


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


class Bot:
    """Sends like a polite bot: waits out a 429 (on the emulator's clock) and retries (the 429 stays in
    the recording)."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu
        self.client = httpx.Client(base_url=emu.base_url, headers=emu.auth_headers(), timeout=10)
        self.gid = emu.guild_id

    def __call__(self, method: str, path: str, body: Any = None, expect: int = 200, **kw: Any) -> Any:
        while True:
            r = self.client.request(method, path, json=body, **kw)
            if r.status_code == 429:
                advance_clock(self.emu, r.json()["retry_after"])
                continue
            assert r.status_code == expect, (method, path, r.status_code, r.text)
            return r.json() if r.content else None


def form_errors(body: dict[str, Any]) -> dict[str, Any]:
    """The ``errors`` tree of a ``50035 Invalid Form Body`` answer (asserts that is what ``body`` is)."""
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    errors: dict[str, Any] = body["errors"]
    return errors


def inner_codes(node: dict[str, Any]) -> list[str]:
    """The error codes listed under one field of an ``errors`` tree."""
    return [e["code"] for e in node["_errors"]]
