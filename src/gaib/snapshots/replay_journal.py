"""The progress of a message replay, one document per channel, so a replay happens exactly once.

``snapshot restore --apply --messages`` replays a channel's saved messages one webhook message at a
time (:mod:`gaib.snapshots.replay`). Its progress is a document in the object store beside the
snapshots (:func:`gaib.storage.keys.replay_journal_key`: per server, snapshot and snapshot-time channel
id): the channel it replays into, how many webhook messages the replay sends, and, for every one
Discord acknowledged, the snapshot message (``{message id}.{piece}``) → the id of the message it
became. The document is written before the channel's webhook is created and again after every
acknowledged send (a compare-and-swap ``replace``: the temp file, fsync and rename of the local store,
a conditional PUT on S3), so whatever kills a run, the next run — from any process on any host — knows
what is in place. It holds no webhook token or URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gaib.errors import Conflict, GaibError
from gaib.storage.base import NotFound, ObjectStore
from gaib.storage.keys import replay_journal_key

FORMAT = 1


@dataclass
class ChannelLog:
    """One channel's replay: the snapshot-time channel id, the channel now, its name, the number of
    webhook messages the replay sends, and the acknowledged ones (send key → message id)."""

    old_id: str
    channel_id: str
    name: str
    total: int
    sent: dict[str, str] = field(default_factory=dict)
    generation: str | None = field(default=None, repr=False)

    def last(self) -> str | None:
        """The newest message the replay posted (what a re-run reads after), or None."""
        return max(self.sent.values(), key=int) if self.sent else None

    def to_json(self, snapshot_id: str, now: datetime) -> bytes:
        doc = {"format": FORMAT, "snapshot_id": snapshot_id, "channel": self.old_id, "channel_id": self.channel_id,
               "name": self.name, "total": self.total, "sent": dict(sorted(self.sent.items())),
               "updated_at": now.isoformat().replace("+00:00", "Z")}
        return json.dumps(doc, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, generation: str) -> ChannelLog:
        doc: Any = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("sent"), dict):
            raise ValueError("not a replay journal")
        return cls(old_id=str(doc["channel"]), channel_id=str(doc["channel_id"]), name=str(doc.get("name") or ""),
                   total=int(doc["total"]), sent={str(k): str(int(v)) for k, v in doc["sent"].items()},
                   generation=generation)


class ReplayJournal:
    """The replay progress of one snapshot's channels on ``server_id``. Callers write one channel from one
    thread (a restore holds the state lock, so one run replays at a time)."""

    def __init__(self, store: ObjectStore, server_id: str, snapshot_id: str, clock: Any) -> None:
        self.store = store
        self.server_id = server_id
        self.snapshot_id = snapshot_id
        self.clock = clock

    def read(self, old_id: str) -> ChannelLog | None:
        """The channel's progress, or None when there is none (or it cannot be read: then the replay
        treats the channel as it did before journals, never writing into one that holds messages)."""
        try:
            doc = self.store.get_document(replay_journal_key(self.server_id, self.snapshot_id, old_id))
            return ChannelLog.from_json(doc.data, doc.generation)
        except NotFound:
            return None
        except (GaibError, ValueError, KeyError, TypeError):
            return None

    def write(self, log: ChannelLog) -> None:
        """Store ``log`` (compare-and-swap on what this run read or wrote; a lost race — another run wrote
        meanwhile — is taken over, as this run holds the lock). StorageError passes through."""
        key = replay_journal_key(self.server_id, self.snapshot_id, log.old_id)
        data = log.to_json(self.snapshot_id, self.clock())
        try:
            info = self.store.replace(key, data, expected_generation=log.generation,
                                      content_type="application/json")
        except Conflict:
            try:
                current: str | None = self.store.get_document(key).generation
            except NotFound:
                current = None
            info = self.store.replace(key, data, expected_generation=current, content_type="application/json")
        log.generation = info.generation
