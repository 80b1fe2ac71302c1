"""A raider's (or an admin's) hands on the emulated guild's AutoMod rules, onboarding, welcome screen,
scheduled events and soundboard, through the API as a bot would use it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.snapshots.community import Community

#: An Ogg file's first bytes (the emulator and Gaib tell Ogg from MP3 by them) and some payload.
AIRHORN = b"OggS" + bytes(range(256)) * 8
KAZOO = b"ID3" + b"\x03\x00" + bytes(400)


def soon(days: float = 2) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


def audio_uri(data: bytes) -> str:
    kind = "audio/ogg" if data.startswith(b"OggS") else "audio/mpeg"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


class Safety(Community):
    def _g(self, path: str = "") -> str:
        return f"/guilds/{self.emu.guild_id}{path}"

    def rules(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._call("GET", self._g("/auto-moderation/rules"))
        return out

    def create_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._call("POST", self._g("/auto-moderation/rules"), body)
        return out

    def delete_rule(self, rule_id: str) -> None:
        self._call("DELETE", self._g(f"/auto-moderation/rules/{rule_id}"))

    def onboarding(self) -> dict[str, Any]:
        out: dict[str, Any] = self._call("GET", self._g("/onboarding"))
        return out

    def put_onboarding(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._call("PUT", self._g("/onboarding"), body)
        return out

    def welcome(self) -> dict[str, Any]:
        out: dict[str, Any] = self._call("GET", self._g("/welcome-screen"))
        return out

    def patch_welcome(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._call("PATCH", self._g("/welcome-screen"), body)
        return out

    def events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._call("GET", self._g("/scheduled-events"))
        return out

    def create_event(self, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self._call("POST", self._g("/scheduled-events"), body)
        return out

    def delete_event(self, event_id: str) -> None:
        self._call("DELETE", self._g(f"/scheduled-events/{event_id}"))

    def sounds(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self._call("GET", self._g("/soundboard-sounds"))["items"]
        return out

    def create_sound(self, name: str, data: bytes, **more: Any) -> dict[str, Any]:
        out: dict[str, Any] = self._call("POST", self._g("/soundboard-sounds"),
                                         {"name": name, "sound": audio_uri(data), **more})
        return out

    def delete_sound(self, sound_id: str) -> None:
        self._call("DELETE", self._g(f"/soundboard-sounds/{sound_id}"))

    def keyword_rule(self, name: str, **more: Any) -> dict[str, Any]:
        return {"name": name, "event_type": 1, "trigger_type": 1,
                "trigger_metadata": {"keyword_filter": [f"{name} spam"]}, "actions": [{"type": 1}], "enabled": True,
                **more}
