"""The safety stores of one guild, composed: :class:`SafetyStores` (``state.safety`` of a guild)."""

from __future__ import annotations

import base64
from typing import Any

from gaib.emulator.safety.automod import AutomodStore
from gaib.emulator.safety.events import EventStore
from gaib.emulator.safety.onboarding import OnboardingStore
from gaib.emulator.safety.soundboard import SoundStore
from gaib.emulator.stores.channels import ChannelStore
from gaib.emulator.stores.context import GuildContext
from gaib.emulator.stores.roles import RoleStore
from gaib.emulator.stores.settings import SettingsStore


class SafetyStores:
    """``automod``, ``onboarding`` (with the welcome screen), ``events`` and ``sounds``."""

    def __init__(self, ctx: GuildContext, roles: RoleStore, channels: ChannelStore, settings: SettingsStore) -> None:
        self.automod = AutomodStore(ctx, roles, channels)
        self.onboarding = OnboardingStore(ctx, roles, channels)
        self.events = EventStore(ctx, channels)
        self.sounds = SoundStore(ctx, settings)

    def reset(self) -> None:
        self.automod.reset()
        self.onboarding.reset()
        self.events.reset()
        self.sounds.reset()

    def features(self) -> list[str]:
        """Guild features these stores switch on (``WELCOME_SCREEN_ENABLED``)."""
        return ["WELCOME_SCREEN_ENABLED"] if self.onboarding.welcome_enabled else []

    def cdn_file(self, path: str) -> bytes | None:
        """Event covers (``guild-events/{event}/{hash}.png``) and sounds (``soundboard-sounds/{id}``)."""
        if path.startswith("soundboard-sounds/"):
            return self.sounds.audio.get(path.removeprefix("soundboard-sounds/"))
        return self.events.images.get(path)

    def forget_channel(self, channel_id: str) -> None:
        self.automod.forget(channel_id)
        self.onboarding.forget_channel(channel_id)
        self.events.forget_channel(channel_id)

    def forget_role(self, role_id: str) -> None:
        self.automod.forget(role_id)
        self.onboarding.forget_role(role_id)

    def to_json(self) -> dict[str, Any]:
        """The stores as a data-file section (bytes base64-encoded)."""
        return {"automod": list(self.automod.by_id.values()), "onboarding": self.onboarding.onboarding,
                "welcome": self.onboarding.welcome, "welcome_enabled": self.onboarding.welcome_enabled,
                "events": list(self.events.by_id.values()),
                "event_images": {k: base64.b64encode(v).decode() for k, v in self.events.images.items()},
                "sounds": list(self.sounds.by_id.values()),
                "audio": {k: base64.b64encode(v).decode() for k, v in self.sounds.audio.items()}}

    def load_json(self, data: Any) -> None:
        """Replace the stores with a saved section (absent: empty); ValueError when it is malformed."""
        self.reset()
        if data is None:
            return
        if not isinstance(data, dict):
            raise ValueError("'safety' must be an object")
        try:
            self.automod.by_id = {str(r["id"]): dict(r) for r in data.get("automod", [])}
            if isinstance(data.get("onboarding"), dict):
                self.onboarding.onboarding = dict(data["onboarding"])
            if isinstance(data.get("welcome"), dict):
                self.onboarding.welcome = dict(data["welcome"])
            self.onboarding.welcome_enabled = bool(data.get("welcome_enabled"))
            self.events.by_id = {str(e["id"]): dict(e) for e in data.get("events", [])}
            self.events.images = {str(k): base64.b64decode(v) for k, v in data.get("event_images", {}).items()}
            self.sounds.by_id = {str(s["sound_id"]): dict(s) for s in data.get("sounds", [])}
            self.sounds.audio = {str(k): base64.b64decode(v) for k, v in data.get("audio", {}).items()}
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            self.reset()
            raise ValueError(f"malformed 'safety' section ({type(exc).__name__})") from None
