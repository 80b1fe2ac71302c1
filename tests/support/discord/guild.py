"""The emulated guild as a person sees it, read (and changed behind Gaib's back, as a raider or an admin
would) through the emulator's Discord API; ``fingerprint`` is what a person would compare.

Every call raises ``httpx.HTTPStatusError`` on an error answer.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.emulator import EmulatorHandle


class Guild:
    """Roles and channels of the emulated guild, its request log, and changes made past Gaib."""

    def __init__(self, emu: EmulatorHandle) -> None:
        self.emu = emu

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, f"{self.emu.base_url}{path}", json=body, headers=self.emu.auth_headers())
        r.raise_for_status()
        return r.json() if r.content else None

    # --- reading ------------------------------------------------------------------------------------

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

    def names(self) -> set[str]:
        """Every role (but @everyone) and channel name."""
        return {r["name"] for r in self.roles() if r["id"] != self.emu.guild_id} | {c["name"] for c in self.channels()}

    def ids(self) -> dict[str, str]:
        return {**{r["name"]: r["id"] for r in self.roles()}, **{c["name"]: c["id"] for c in self.channels()}}

    # --- changing it behind Gaib's back -------------------------------------------------------------

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

    # --- the request log ----------------------------------------------------------------------------

    def mark(self) -> int:
        """The number of the last request the emulator logged (0 for none)."""
        log = self.emu.requests()
        return int(log[-1]["seq"]) if log else 0

    def writes_since(self, mark: int) -> list[dict[str, Any]]:
        """Mutating requests the emulator logged after request number ``mark``."""
        return [r for r in self.emu.requests() if r["seq"] > mark and r["method"] != "GET"]


def fingerprint(discord: Guild) -> set[tuple[Any, ...]]:
    """What a person would compare: every role and channel with its settings, overwrites by role name."""
    roles = discord.roles()
    channels = discord.channels()
    role_names = {r["id"]: r["name"] for r in roles}
    cat_names = {c["id"]: c["name"] for c in channels if c["type"] == 4}
    out: set[tuple[Any, ...]] = {("role", r["name"], r["color"], r["permissions"], r["hoist"], r["mentionable"])
                                 for r in roles if r["id"] != discord.emu.guild_id}
    for c in channels:
        overwrites = tuple(sorted((role_names.get(o["id"], o["id"]), o["allow"], o["deny"])
                                  for o in c["permission_overwrites"]))
        out.add(("channel", c["name"], c["type"], c.get("topic"), cat_names.get(c.get("parent_id") or ""),
                 c.get("nsfw"), c.get("rate_limit_per_user"), overwrites))
    return out
