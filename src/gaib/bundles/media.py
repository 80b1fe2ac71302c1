"""Content-addressed images of a server: ``media/{server_id}/{sha256}``, shared by its snapshots.

Emoji, sticker, icon and banner images are stored once under the sha256 of their bytes (as they are:
images are compressed already), so a weekly snapshot of an unchanged emoji set stores nothing new. A
snapshot's manifest lists every image it needs with its checksum and size (``extra.media``); the
images are not parts of the snapshot's bundle, because they are shared.

* :meth:`MediaStore.put` never overwrites: a ``Conflict`` means the image is already stored, which is
  trusted only after the stored bytes are read back and their sha256 checked. Stored bytes that do not
  match their key (damage) are replaced by the right ones: the key names the only content it may hold.
* :meth:`MediaStore.get` verifies the sha256 of what it reads (IntegrityError, exit 3, otherwise).
* Deleting: a snapshot's delete removes its catalog item and its own parts, then :func:`release` removes
  the images it referenced that no other snapshot of the server references (a reference-checking
  delete; references are read from the catalog items, which are the manifests, so no object is read).
  :func:`sweep_orphans` removes every unreferenced image older than a grace period (images a crashed
  snapshot wrote before its item existed); retention's prune calls it after removing snapshots.
* Races: a snapshot being written re-uses an image another run is about to release. The writer checks
  after its catalog item exists that every image it references is still stored and puts back any that
  went (:meth:`MediaStore.ensure`); release and sweep re-read the references right before deleting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gaib.errors import Conflict, IntegrityError, NotFound
from gaib.storage.base import Catalog, Item, ObjectStore
from gaib.storage.keys import SNAPSHOT_SK_PREFIX, media_key, media_prefix, server_pk

MEDIA_CONTENT_TYPE = "application/octet-stream"
MAX_IMAGE_BYTES = 64 * 1024 * 1024
"""The largest image a snapshot may list (Discord's own limits are far lower): a larger claim is damage."""
SWEEP_GRACE = timedelta(hours=1)
"""An unreferenced image younger than this may belong to a snapshot being written right now."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Stored:
    """An image as a manifest lists it, and whether this write added it to the store."""

    sha256: str
    size: int
    added: bool


class MediaStore:
    """The images of one server."""

    def __init__(self, store: ObjectStore, server_id: str) -> None:
        self.store = store
        self.server_id = server_id

    def key(self, sha256: str) -> str:
        return media_key(self.server_id, sha256)

    def put(self, data: bytes, *, tags: Mapping[str, str] | None = None) -> Stored:
        """Store ``data`` under its sha256 unless the same bytes are already there (checked)."""
        digest = sha256_hex(data)
        key = self.key(digest)
        try:
            self.store.put(key, data, tags=tags, content_type=MEDIA_CONTENT_TYPE)
            return Stored(digest, len(data), added=True)
        except Conflict:
            pass
        try:
            existing = self.store.get(key)
        except NotFound:  # deleted between our put and get: put it again
            return self.put(data, tags=tags)
        if sha256_hex(existing) == digest:
            return Stored(digest, len(data), added=False)
        # The stored bytes are damaged; the key can only ever hold these bytes, so put them back.
        self.store.delete(key)
        self.store.put(key, data, tags=tags, content_type=MEDIA_CONTENT_TYPE)
        return Stored(digest, len(data), added=True)

    def get(self, sha256: str, *, what: str = "image") -> bytes:
        """The image with this checksum, verified; IntegrityError when it is missing or damaged."""
        key = self.key(sha256)
        try:
            data = self.store.get(key)
        except NotFound:
            raise IntegrityError(f"The {what} stored as {key} is missing.", details={"key": key}) from None
        if sha256_hex(data) != sha256:
            raise IntegrityError(f"The {what} stored as {key} is corrupted: its checksum does not match.",
                                 details={"key": key})
        return data

    def stream(self, sha256: str, size: int, *, what: str = "image") -> Iterator[bytes]:
        """The image with this checksum, read chunk by chunk: nothing past ``size`` bytes (the size its
        snapshot lists) is read; the last step raises IntegrityError unless the bytes are ``size`` long with
        this checksum. IntegrityError at the call when it is missing."""
        key = self.key(sha256)
        try:
            chunks = self.store.stream(key)
        except NotFound:
            raise IntegrityError(f"The {what} stored as {key} is missing.", details={"key": key}) from None
        return _verified(chunks, key, sha256, size, what)

    def ensure(self, images: Mapping[str, bytes], *, tags: Mapping[str, str] | None = None) -> list[str]:
        """Put back any of ``images`` (sha256 → bytes) that is no longer stored; returns their checksums."""
        missing = []
        for digest, data in images.items():
            try:
                self.store.head(self.key(digest))
            except NotFound:
                self.put(data, tags=tags)
                missing.append(digest)
        return missing


def _verified(chunks: Iterator[bytes], key: str, sha256: str, size: int, what: str) -> Iterator[bytes]:
    digest, seen = hashlib.sha256(), 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            raise IntegrityError(f"The {what} stored as {key} is larger than the {size} bytes its snapshot lists.",
                                 details={"key": key})
        digest.update(chunk)
        yield chunk
    if seen != size or digest.hexdigest() != sha256:
        raise IntegrityError(f"The {what} stored as {key} is corrupted: its checksum does not match.",
                             details={"key": key})


def _item_media(item: Item) -> set[str]:
    extra = item.get("extra")
    media = extra.get("media") if isinstance(extra, dict) else None
    return {str(k) for k in media} if isinstance(media, dict) else set()


def _snapshot_items(catalog: Catalog, server_id: str) -> Iterator[Item]:
    cursor = None
    while True:
        page = catalog.query(server_pk(server_id), SNAPSHOT_SK_PREFIX, limit=100, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def referenced(catalog: Catalog, server_id: str) -> set[str]:
    """Every image checksum any listed snapshot of the server references (damaged items included: what
    they name is kept)."""
    out: set[str] = set()
    for item in _snapshot_items(catalog, server_id):
        out |= _item_media(item)
    return out


def release(store: ObjectStore, catalog: Catalog, server_id: str, shas: Iterable[str]) -> list[str]:
    """Delete the images among ``shas`` that no listed snapshot references any more; returns them.

    Call it after the catalog item of the snapshot that referenced them is gone."""
    candidates = set(shas)
    if not candidates:
        return []
    gone = sorted(candidates - referenced(catalog, server_id))
    for digest in gone:
        store.delete(media_key(server_id, digest))
    return gone


def sweep_orphans(store: ObjectStore, catalog: Catalog, server_id: str, *, now: datetime,
                  grace: timedelta = SWEEP_GRACE) -> list[str]:
    """Delete every image of the server no listed snapshot references, if older than ``grace`` (an
    image whose age the store cannot tell is kept); returns the checksums deleted. For prune."""
    refs = referenced(catalog, server_id)
    orphans = []
    for info in store.list(media_prefix(server_id)):
        digest = info.key.rsplit("/", 1)[-1]
        if digest in refs or info.modified is None or now - info.modified < grace:
            continue
        orphans.append(digest)
    if not orphans:
        return []
    refs = referenced(catalog, server_id)  # a snapshot may have been written meanwhile
    gone = [d for d in orphans if d not in refs]
    for digest in gone:
        store.delete(media_key(server_id, digest))
    return gone


def media_entry(size: int, kind: str | None) -> dict[str, Any]:
    """How ``extra.media`` lists one image: its size and media type (the key is its sha256)."""
    return {"size": size, "type": kind or MEDIA_CONTENT_TYPE}
