"""Message attachments as files: stored with a snapshot, uploaded again on replay.

Discord signs attachment URLs and lets them expire, so a link saved with a message dies within a day.
With ``--messages`` a snapshot downloads each attachment of the saved messages from Discord's CDN (the
signed URL the message list gave, no bot token) and stores the bytes content-addressed in the server's
media store, like emoji images (:mod:`gaib.bundles.media`: a file already stored adds nothing). The
attachment entry of the message line gains ``"sha256"``; the manifest's ``extra.media`` lists the file
(``{size, type}``) so deletion and retention keep it while a snapshot needs it, and ``extra.attachments``
counts what was stored and what was kept as a link.

Caps (settings, :mod:`gaib.settings`): ``GAIB_MAX_ATTACHMENT_BYTES`` per file (default 10 MiB, what a
server without boosts may upload, so the file can be sent again) and ``GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES``
per snapshot (default 256 MiB). A file over either cap, not on Discord's CDN, or gone from it stays a link,
with ``"kept_as_link"`` saying why; the snapshot still succeeds.

On replay (:mod:`gaib.snapshots.replay`) a stored attachment is uploaded with its message (webhook
execution with ``multipart/form-data``) instead of posting the dead link; the bytes are read and verified
with the snapshot's images before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gaib.bundles.media import MediaStore, media_entry
from gaib.discord.port import DiscordPort
from gaib.errors import GaibError
from gaib.interrupt import Workers
from gaib.snapshots.parts import channel_of_part, dumps_lines

if TYPE_CHECKING:  # capture imports threads, which imports replay, which imports this module
    from gaib.snapshots.capture import Captured

CDN_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")
FILES_KEY = "_files"
"""A replay payload's files to upload: ``[(filename, sha256)]`` (taken out before it is sent)."""


def attachment_path(url: object) -> str | None:
    """The CDN path (with its signed query) of a Discord attachment URL; None for any other URL."""
    if not isinstance(url, str) or len(url) > 2048:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or (parts.hostname or "").lower() not in CDN_HOSTS:
        return None
    path = parts.path.lstrip("/")
    if not path.startswith("attachments/"):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


@dataclass
class AttachmentsKept:
    """What :func:`store_attachments` did: files stored (and bytes), links kept and why."""

    stored: int = 0
    stored_bytes: int = 0
    added_bytes: int = 0
    links: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def note(self, why: str) -> None:
        self.links += 1
        self.reasons[why] = self.reasons.get(why, 0) + 1

    def to_extra(self) -> dict[str, Any]:
        return {"stored": self.stored, "bytes": self.stored_bytes, "links": self.links,
                "kept_as_link": dict(sorted(self.reasons.items()))}


def store_attachments(port: DiscordPort, media: MediaStore, parts: dict[str, bytes], *, per_file: int,
                      per_snapshot: int, tags: Mapping[str, str] | None = None, workers: int = 8) -> AttachmentsKept:
    """Download the attachments of every ``messages/{channel}`` part in ``parts`` and store them (module
    docstring); rewrites those parts with each stored attachment's ``sha256`` (a file over a cap or
    unreadable gets ``kept_as_link``). Files are read side by side, oldest messages first within the cap."""
    kept = AttachmentsKept()
    lines: dict[str, list[dict[str, Any]]] = {}
    wanted: list[tuple[dict[str, Any], str]] = []
    budget = per_snapshot
    for name in sorted(parts):
        if channel_of_part(name) is None:
            continue
        items = [json.loads(line) for line in parts[name].splitlines() if line.strip()]
        lines[name] = items
        for message in items:
            for a in message.get("attachments") or ():
                path = attachment_path(a.get("url"))
                size = a.get("size") if isinstance(a.get("size"), int) else 0
                if path is None:
                    a["kept_as_link"] = "not on Discord's CDN"
                    kept.note(a["kept_as_link"])
                elif size > per_file:
                    a["kept_as_link"] = f"larger than GAIB_MAX_ATTACHMENT_BYTES ({per_file} bytes)"
                    kept.note("larger than the per-file cap")
                elif size > budget:
                    a["kept_as_link"] = f"past GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES ({per_snapshot} bytes)"
                    kept.note("past the per-snapshot cap")
                else:
                    budget -= size
                    wanted.append((a, path))

    def fetch(path: str) -> Callable[[], bytes]:
        return lambda: port.cdn_get(path, max_bytes=per_file)

    with Workers(max_workers=max(1, workers), thread_name_prefix="gaib-attachments") as pool:
        futures = [(a, pool.submit(fetch(path))) for a, path in wanted]
        for a, future in futures:
            try:
                data = future.result()
            except GaibError as exc:
                a["kept_as_link"] = f"could not be read ({exc.error_code})"
                kept.note(f"could not be read ({exc.error_code})")
                continue
            stored = media.put(data, tags=tags)
            a["sha256"], a["size"] = stored.sha256, len(data)
            kind = a.get("content_type") if isinstance(a.get("content_type"), str) else None
            kept.entries.setdefault(stored.sha256, media_entry(len(data), kind))
            kept.stored += 1
            kept.stored_bytes += len(data)
            kept.added_bytes += len(data) if stored.added else 0
    for name, items in lines.items():
        parts[name] = dumps_lines(items)
    return kept


def add_to(captured: Captured, port: DiscordPort, media: MediaStore, *, per_file: int, per_snapshot: int,
           tags: Mapping[str, str] | None = None, workers: int = 8) -> None:
    """Store the attachments of ``captured``'s message parts and record them in its manifest ``extra``
    (``media``, ``media_added``, ``attachments``) and ``counts`` (``attachments``)."""
    kept = store_attachments(port, media, captured.parts, per_file=per_file, per_snapshot=per_snapshot, tags=tags,
                             workers=workers)
    listed = captured.extra.setdefault("media", {})
    for digest, entry in kept.entries.items():
        listed.setdefault(digest, entry)
    captured.extra["media_added"] = int(captured.extra.get("media_added", 0)) + kept.added_bytes
    captured.extra["attachments"] = kept.to_extra()
    captured.counts["attachments"] = kept.stored


def files_of(message: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(file name, sha256) of a saved message's stored attachments."""
    return [(str(a.get("filename") or "file"), str(a["sha256"])) for a in message.get("attachments") or ()
            if isinstance(a, dict) and isinstance(a.get("sha256"), str)]


def upload(payload: Mapping[str, Any], stored: Mapping[str, bytes]) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """A replay payload without its file list, and the files to upload with it (bytes from ``stored``)."""
    body = {k: v for k, v in payload.items() if k != FILES_KEY}
    files = [(name, stored[digest]) for name, digest in payload.get(FILES_KEY) or () if digest in stored]
    return body, files
