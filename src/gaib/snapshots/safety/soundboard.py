"""Planning soundboard sounds (pure).

A saved sound still live (same id, else same name) is updated when its name, volume or emoji differ; a
missing one is re-created from its stored audio. Live sounds the snapshot does not hold are deleted only
with ``--prune-unmanaged``. Creates past the boost level's slots (:data:`gaib.discord.limits.SOUND_SLOTS`)
are refused with a message; so is a sound over Discord's 512 KiB (:data:`gaib.discord.limits.SOUND_MAX_BYTES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gaib.discord import limits as L
from gaib.snapshots.safety.steps import Remap, Step, same


def plan(saved: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]], premium_tier: int,
         remap: Remap) -> list[Step]:
    by_id = {str(s["sound_id"]): s for s in live}
    matched: set[str] = set()
    steps: list[Step] = []
    creates: list[Step] = []
    for sound in saved:
        if int(sound.get("size") or 0) > L.SOUND_MAX_BYTES:
            remap.refused.append(f"Sound {sound['name']} is not restored: it is {sound.get('size')} bytes and "
                                 f"Discord takes at most {L.SOUND_MAX_BYTES // 1024} KiB.")
            continue
        current = by_id.get(str(sound["id"])) or next(
            (s for s in live if str(s["sound_id"]) not in matched and s.get("name") == sound["name"]), None)
        body = {"name": sound["name"], "volume": sound.get("volume", 1.0), "emoji_id": sound.get("emoji_id"),
                "emoji_name": sound.get("emoji_name")}
        if current is not None:
            matched.add(str(current["sound_id"]))
            fields = {k: v for k, v in body.items() if not same(v, current.get(k))}
            if fields:
                steps.append(Step("soundboard", "update", str(sound["name"]), str(current["sound_id"]), fields))
        else:
            creates.append(Step("soundboard", "create", str(sound["name"]), None, body, media=str(sound["sha256"])))
    deletes = [Step("soundboard", "delete", str(s.get("name")), str(s["sound_id"])) for s in live
               if str(s["sound_id"]) not in matched] if remap.prune else []
    slots = L.SOUND_SLOTS[min(max(premium_tier, 0), 3)]
    room = max(slots - (len(live) - len(deletes)), 0)
    for step in creates[room:]:
        remap.refused.append(f"Sound {step.name} is not re-created: boost level {premium_tier} has {slots} "
                             "soundboard slots and they are used.")
    return steps + deletes + creates[:room]
