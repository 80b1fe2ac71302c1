"""The safety parts of a snapshot and reading them back, verified. Pure but for the reads of :func:`load`.

Parts (one JSON document each, compressed like every part; ``format_version`` 1):

``automod``     ``automod.json.gz``: ``rules``: each AutoMod rule (id, name, event type, trigger type and
                metadata, actions, exempt roles and channels by id with their names, enabled)
``onboarding``  ``onboarding.json.gz``: ``onboarding``: prompts (options with roles and channels by
                id), default channels, mode, enabled, and ``sendable``: the channels @everyone could send
                messages in when it was taken (for Discord's requirements); null when unreadable
``welcome``     ``welcome.json.gz``: ``welcome``: description, welcome channels (channel, description,
                emoji), enabled; null when the server has none
``events``      ``events.json.gz``: ``events``: each scheduled or active event (name, description, times,
                privacy level, entity type, channel or location, status, cover image's sha256)
``soundboard``  ``soundboard.json.gz``: ``sounds``: each sound (id, name, volume, emoji, sha256 and
                size of its audio)

Cover images and sounds live in the media store like every image (``extra.media`` lists them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gaib.bundles.manifest import Manifest
from gaib.bundles.repository import BundleRepository
from gaib.errors import IntegrityError

FORMAT_VERSION = 1
SAFETY_PARTS = {"automod": "automod.json.gz", "onboarding": "onboarding.json.gz", "welcome": "welcome.json.gz",
                "events": "events.json.gz", "soundboard": "soundboard.json.gz"}
_KEYS = {"automod": "rules", "onboarding": "onboarding", "welcome": "welcome", "events": "events",
         "soundboard": "sounds"}
_REQUIRED = {"automod": ("id", "name", "trigger_type"), "events": ("id", "name", "entity_type"),
             "soundboard": ("id", "name", "sha256")}


@dataclass(frozen=True)
class Safety:
    """The safety parts of a snapshot, decoded (``parts``: the ones it holds; older snapshots hold none)."""

    parts: frozenset[str] = frozenset()
    rules: tuple[dict[str, Any], ...] = ()
    onboarding: dict[str, Any] | None = None
    sendable: tuple[str, ...] = ()
    welcome: dict[str, Any] | None = None
    events: tuple[dict[str, Any], ...] = ()
    sounds: tuple[dict[str, Any], ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    """Role and channel id → name at snapshot time (for messages about objects that are gone)."""

    def media_refs(self) -> dict[str, str]:
        """sha256 → what uses it (event covers, sounds)."""
        refs = {str(e["image_sha256"]): f"the cover of event {e.get('name')}" for e in self.events
                if e.get("image_sha256")}
        refs.update({str(s["sha256"]): f"sound {s.get('name')}" for s in self.sounds})
        return refs



def dumps(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def document(part: str, value: Any, **more: Any) -> bytes:
    """The bytes of one safety part holding ``value`` (and ``more`` top-level keys)."""
    return dumps({"format_version": FORMAT_VERSION, _KEYS[part]: value, **more})


def _damaged(m: Manifest, part: str, why: str) -> IntegrityError:
    return IntegrityError(f"Snapshot {m.id}: part {part} is damaged ({why}).", details={"part": part})


def _read(repo: BundleRepository, m: Manifest, part: str) -> dict[str, Any]:
    try:
        doc = json.loads(repo.read_part(m, part))
    except ValueError:
        raise _damaged(m, part, "not JSON") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION or _KEYS[part] not in doc:
        raise _damaged(m, part, f"not a version-{FORMAT_VERSION} {part} document")
    value = doc[_KEYS[part]]
    if part in _REQUIRED:
        if not isinstance(value, list) or not all(
                isinstance(i, dict) and all(k in i for k in _REQUIRED[part]) for i in value):
            raise _damaged(m, part, f"'{_KEYS[part]}' is not a list of {part} entries")
    elif value is not None and not isinstance(value, dict):
        raise _damaged(m, part, f"'{_KEYS[part]}' is not an object")
    return doc


def load(repo: BundleRepository, manifest: Manifest) -> Safety:
    """Every safety part a snapshot holds, each verified before it is decoded (IntegrityError, exit 3)."""
    held = frozenset(p for p in SAFETY_PARTS if p in manifest.parts)
    docs = {p: _read(repo, manifest, p) for p in held}
    names: dict[str, str] = {}
    for doc in docs.values():
        if isinstance(doc.get("names"), dict):
            names.update({str(k): str(v) for k, v in doc["names"].items()})
    ob = docs.get("onboarding", {})
    raw = ob.get("sendable")
    sendable: list[Any] = raw if isinstance(raw, list) else []
    return Safety(parts=held, rules=tuple(docs["automod"]["rules"]) if "automod" in docs else (),
                  onboarding=ob.get("onboarding"), sendable=tuple(str(c) for c in sendable),
                  welcome=docs.get("welcome", {}).get("welcome"),
                  events=tuple(docs["events"]["events"]) if "events" in docs else (),
                  sounds=tuple(docs["soundboard"]["sounds"]) if "soundboard" in docs else (), names=names)
