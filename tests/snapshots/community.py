"""A raider's (or an admin's) hands on the emulated guild's community: settings, emojis, stickers, bans,
messages; and direct access to the backup store of a CLI runner, to damage what it holds."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.discord.guild import Guild


def data_uri(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


class Community(Guild):
    """Changes to the community behind Gaib's back (the API as a bot would use it, plus the emulator's
    control routes to seed history)."""

    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/guilds/{self.emu.guild_id}")
        return result

    def patch_guild(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"/guilds/{self.emu.guild_id}", body)
        return result

    def emojis(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/guilds/{self.emu.guild_id}/emojis")
        return result

    def create_emoji(self, name: str, image: bytes, roles: list[str] | None = None, kind: str = "image/png") -> str:
        body = {"name": name, "image": data_uri(image, kind), "roles": roles or []}
        return str(self._call("POST", f"/guilds/{self.emu.guild_id}/emojis", body)["id"])

    def seed_emojis(self, emojis: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
        """Emojis made without spending the hour's 50 emoji creates (the emulator's control route)."""
        body = [{"name": name, "image": base64.b64encode(image).decode()} for name, image in emojis]
        result: list[dict[str, Any]] = control(self.emu, "POST", "/emojis", body)
        return result

    def delete_emoji(self, emoji_id: str) -> None:
        self._call("DELETE", f"/guilds/{self.emu.guild_id}/emojis/{emoji_id}")

    def stickers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/guilds/{self.emu.guild_id}/stickers")
        return result

    def create_sticker(self, name: str, tags: str, image: bytes) -> str:
        r = httpx.post(f"{self.emu.base_url}/guilds/{self.emu.guild_id}/stickers", headers=self.emu.auth_headers(),
                       data={"name": name, "tags": tags, "description": f"the {name} sticker"},
                       files={"file": ("s.png", image, "image/png")})
        r.raise_for_status()
        return str(r.json()["id"])

    def delete_sticker(self, sticker_id: str) -> None:
        self._call("DELETE", f"/guilds/{self.emu.guild_id}/stickers/{sticker_id}")

    def ban(self, user_id: str, reason: str | None = None) -> None:
        headers = {**self.emu.auth_headers(), **({"X-Audit-Log-Reason": reason} if reason else {})}
        r = httpx.put(f"{self.emu.base_url}/guilds/{self.emu.guild_id}/bans/{user_id}", headers=headers, json={})
        r.raise_for_status()

    def unban(self, user_id: str) -> None:
        self._call("DELETE", f"/guilds/{self.emu.guild_id}/bans/{user_id}")

    def bans(self) -> dict[str, str | None]:
        found: list[dict[str, Any]] = self._call("GET", f"/guilds/{self.emu.guild_id}/bans")
        return {b["user"]["id"]: b["reason"] for b in found}

    def cdn(self, path: str) -> bytes:
        r = httpx.get(f"{self.emu.origin}/cdn/{path}")
        r.raise_for_status()
        return r.content

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The channel's history, oldest first."""
        found: list[dict[str, Any]] = self._call("GET", f"/channels/{channel_id}/messages?limit=100")
        return list(reversed(found))

    def seed(self, channel_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = control(self.emu, "POST", f"/channels/{channel_id}/messages", messages)
        return result

    def posted(self, channel_id: str) -> list[dict[str, Any]]:
        """What webhooks posted into a channel: the bodies they sent (with ``allowed_mentions``)."""
        result: list[dict[str, Any]] = control(self.emu, "GET", f"/channels/{channel_id}/messages")
        return result

    def set_boost(self, tier: int) -> None:
        control(self.emu, "POST", "/guild", {"premium_tier": tier})


def author(n: int) -> dict[str, Any]:
    return {"id": str(800_000_000_000_000_000 + n), "username": f"member{n}", "global_name": f"Member {n}",
            "avatar": f"{n:032x}"}


def app_of(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)


def replace_object(cli: CliRunner, key: str, data: bytes) -> None:
    """Put ``data`` where ``key`` was (the store never overwrites: delete, then put)."""
    app = app_of(cli)
    app.store.delete(key)
    app.store.put(key, data)


def flip_a_byte(cli: CliRunner, key: str) -> None:
    data = bytearray(app_of(cli).store.get(key))
    data[len(data) // 2] ^= 0x01
    replace_object(cli, key, bytes(data))


def media_keys(cli: CliRunner) -> list[str]:
    return [o.key for o in app_of(cli).store.list(f"media/{cli.environ['DISCORD_GUILD_ID']}/")]


def unique_name() -> str:
    return f"x{uuid.uuid4().hex[:8]}"


def jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]
