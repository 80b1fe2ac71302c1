"""What the safety planners share: a planned :class:`Step`, and :class:`Mapping` of snapshot-time ids to
the ids of the roles and channels now (:class:`Remap`), which also collects the plan's warnings and
refusals. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    """One planned request: ``part`` (automod, onboarding, welcome, events, soundboard), ``action`` (create,
    update, delete, put), the object's name, its live id (update, delete), the Discord fields to send and
    the sha256 of the media it uploads (an event cover, a sound)."""

    part: str
    action: str
    name: str
    live_id: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    media: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "action": self.action, "name": self.name, "id": self.live_id,
                "fields": sorted(self.body)}


@dataclass
class Remap:
    """Snapshot-time ids → ids now. ``ids``: objects re-created under a new id; ``channels``/``roles``: the
    ids live now (plus, in a dry run, the snapshot-time ids of objects about to be re-created)."""

    ids: Mapping[str, str]
    channels: set[str]
    roles: set[str]
    names: Mapping[str, str]
    now: datetime
    prune: bool = False
    warnings: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def one(self, old: object, live: set[str]) -> str | None:
        if old is None or old == "":
            return None
        ident = str(old)
        if ident in self.ids:
            return self.ids[ident]
        return ident if ident in live else None

    def channel(self, old: object) -> str | None:
        return self.one(old, self.channels)

    def many(self, olds: Iterable[object], kind: str, what: str) -> list[str]:
        """The ids now of ``olds`` (roles or channels); each one gone is left out with a warning."""
        live = self.roles if kind == "role" else self.channels
        out: list[str] = []
        for old in olds:
            new = self.one(old, live)
            if new is None:
                self.warnings.append(f"{what}: the {kind} {self.names.get(str(old), str(old))} no longer exists "
                                     "and is left out.")
            elif new not in out:
                out.append(new)
        return out


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (key order and int/float spelling of whole numbers aside)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
