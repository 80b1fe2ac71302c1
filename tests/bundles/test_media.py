"""The content-addressed image store: stored once, verified on every read, damage healed on the next write,
and removed only when no listed snapshot needs it (release after a delete, sweep for leftovers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gaib.bundles.media import MediaStore, referenced, release, sha256_hex, sweep_orphans
from gaib.errors import IntegrityError
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.keys import media_key, snapshot_sk
from gaib.storage.open import open_storage
from tests.support.images import png

SERVER = "1100000000000000001"


@pytest.fixture
def storage(tmp_path: Path) -> tuple[ObjectStore, Catalog]:
    store, catalog = open_storage(root=tmp_path / "backups")
    return store, catalog


def _snapshot_item(catalog: Catalog, ident: str, *images: bytes) -> None:
    media = {sha256_hex(i): {"size": len(i), "type": "image/png"} for i in images}
    catalog.put_if_absent(f"SERVER#{SERVER}", snapshot_sk(ident), {"id": ident, "extra": {"media": media}})


def test_an_image_is_stored_once_and_read_back_verified(storage: tuple[ObjectStore, Catalog]) -> None:
    store, _ = storage
    media = MediaStore(store, SERVER)
    first, again = media.put(png(1)), media.put(png(1))
    assert (first.added, again.added, first.sha256) == (True, False, sha256_hex(png(1)))
    assert [o.key for o in store.list(f"media/{SERVER}/")] == [media_key(SERVER, first.sha256)]
    assert media.get(first.sha256) == png(1)


def test_damage_is_refused_on_read_and_healed_by_the_next_write(storage: tuple[ObjectStore, Catalog]) -> None:
    store, _ = storage
    media = MediaStore(store, SERVER)
    digest = media.put(png(2)).sha256
    store.delete(media_key(SERVER, digest))
    with pytest.raises(IntegrityError, match="missing"):
        media.get(digest)
    store.put(media_key(SERVER, digest), b"\x89PNG broken")
    with pytest.raises(IntegrityError, match="corrupted"):
        media.get(digest)
    assert media.put(png(2)).added is True  # the key can only hold these bytes: they are put back
    assert media.get(digest) == png(2)


def test_ensure_puts_back_what_went_missing(storage: tuple[ObjectStore, Catalog]) -> None:
    store, _ = storage
    media = MediaStore(store, SERVER)
    kept, lost = media.put(png(3)).sha256, media.put(png(4)).sha256
    store.delete(media_key(SERVER, lost))
    assert media.ensure({kept: png(3), lost: png(4)}) == [lost]
    assert media.get(lost) == png(4)


def test_release_and_sweep_remove_only_images_no_snapshot_lists(storage: tuple[ObjectStore, Catalog]) -> None:
    store, catalog = storage
    media = MediaStore(store, SERVER)
    shared, only_old, orphan = (media.put(png(i)).sha256 for i in (5, 6, 7))
    _snapshot_item(catalog, "20261101T000000000Z-00000001", png(5), png(6))
    _snapshot_item(catalog, "20261108T000000000Z-00000002", png(5))
    assert referenced(catalog, SERVER) == {shared, only_old}
    catalog.delete(f"SERVER#{SERVER}", snapshot_sk("20261101T000000000Z-00000001"))
    assert release(store, catalog, SERVER, [shared, only_old]) == [only_old]
    now = datetime.now(UTC)
    assert sweep_orphans(store, catalog, SERVER, now=now) == []  # the orphan is too young to be sure
    assert sweep_orphans(store, catalog, SERVER, now=now + timedelta(hours=2)) == [orphan]
    assert [o.key for o in store.list(f"media/{SERVER}/")] == [media_key(SERVER, shared)]
