"""The one bundle writer and reader: parts, then manifest, then catalog item; verified reads.

Every backup, snapshot and theme deployment is a bundle. Writing one:

1. each part is compressed (:mod:`gaib.bundles.codec`) and stored with ``ObjectStore.put``, which
   never overwrites;
2. the manifest (:mod:`gaib.bundles.manifest`), sealed with its own checksum, is stored as an object
   when the bundle has a manifest key (snapshots: ``manifest.json``);
3. the catalog item — the manifest itself, so listing needs no object reads — is created with
   ``put_if_absent``. A bundle exists only once its item does: a crash before leaves at most
   unlisted objects, never a listed bundle without its parts.

The catalog item is written with ``Catalog.put_sequenced``: the catalog stamps it with the server's next
write sequence (``SEQUENCE`` counter item) and its own time, which is what "newest" means for a server's
bundles (:mod:`gaib.bundles.order`), whatever the writer's clock said.

Every manifest is sealed with a MAC when the repository has a key (``mac``; :mod:`gaib.bundles.authentic`).
Reading trusts nothing: a manifest naming another server than the partition it is listed under is
``BUNDLE_NOT_AUTHENTIC`` (exit 3), and so is one whose MAC fails, checked once per bundle before the first
byte of any part is returned (a manifest without a MAC, written before sealing, is read and reported
through ``notice`` as unauthenticated); the item's manifest checksum is verified, the part keys must be the keys the
bundle's id gives (an item pointing elsewhere is damage, and nothing is read from where it points), a
stored ``manifest.json`` must carry the same checksum as the item, and :meth:`BundleRepository.read_part`
verifies both checksums of a part before returning a byte. Deleting removes the item first, then the
objects at the keys the id gives.

Memory is bounded per bundle: before any part is read, the plain bytes the manifest claims for the whole
bundle are checked against ``max_bundle_bytes`` (the ``GAIB_MAX_BUNDLE_BYTES`` setting); parts are read
from storage as streams (:meth:`stream_part`, :meth:`stream_stored`) that refuse any byte past the size
recorded. So a bundle whose claim is over the ceiling is refused before anything is read or allocated,
one whose real bytes run past its claim is refused as they arrive (``IntegrityError``, exit 3), and no
command ever holds more than the ceiling of one bundle's plain bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gaib.bundles.authentic import authenticate, check_place, sealed, unauthenticated_notice
from gaib.bundles.manifest import Manifest, Part, decode_manifest, parse_manifest, seal
from gaib.bundles.order import Written, written_of
from gaib.errors import GaibError, IntegrityError, NotFound
from gaib.setting_values import DEFAULT_MAX_BUNDLE_BYTES
from gaib.storage.base import Catalog, Item, ObjectStore, Page, damaged_key, damaged_reason
from gaib.storage.keys import SEQUENCE_SK, SERVER_PK_PREFIX, id_from_sk

if TYPE_CHECKING:  # the codec is loaded by what writes or reads a part, never by a listing
    from gaib.bundles import codec
    from gaib.secrets.mac import ManifestMac

MANIFEST_CONTENT_TYPE = "application/json"
CONTENT_TYPES = {"gzip": "application/gzip", "zstd": "application/zstd"}


@dataclass(frozen=True)
class PartData:
    """A part to write: its name in the manifest, its key, and its plain bytes."""

    name: str
    key: str
    plain: bytes


@dataclass(frozen=True)
class Layout:
    """Where a bundle lives: its catalog key, the key of each part, and of its manifest object (if any)."""

    pk: str
    sk: str
    part_keys: Mapping[str, str]
    manifest_key: str | None = None

    def object_keys(self) -> list[str]:
        return [*self.part_keys.values(), *([self.manifest_key] if self.manifest_key else [])]


def item_id(item: Item, sort_key: str | None = None) -> str:
    """The bundle id a catalog item belongs to: the id its sort key carries (``sort_key``, or the damaged
    stand-in's), else its own ``id`` field, for reporting it ("?" when neither can be read)."""
    key = damaged_key(item)
    for sk in (sort_key, key[1] if key is not None else None):
        if sk is not None:
            try:
                return id_from_sk(sk)
            except GaibError:
                pass
    return str(item.get("id", "?"))[:80] if key is None else "?"


def page_ids(page: Page) -> list[str]:
    """The bundle id of each item of a catalog page (see :func:`item_id`)."""
    keys: list[str | None] = [*page.sort_keys] if len(page.sort_keys) == len(page.items) else [None] * len(page.items)
    return [item_id(item, sk) for item, sk in zip(page.items, keys, strict=True)]


def claim(part: Part) -> codec.Claim:
    """What a read of ``part`` must find."""
    from gaib.bundles import codec

    return codec.Claim(part.key, part.plain_size, part.stored_size, part.plain_sha256, part.stored_sha256)


class BundleRepository:
    """Writes and reads bundles over one ``ObjectStore`` and one ``Catalog``; reads hold at most
    ``max_bundle_bytes`` plain bytes of one bundle (see the module docstring).

    ``mac`` seals what is written and verifies what is read; without one, bundles are written unsealed and
    a sealed one cannot be read (``MissingSetting``). ``notice`` hears of each unauthenticated bundle read.
    """

    def __init__(self, store: ObjectStore, catalog: Catalog, *,
                 max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES, mac: ManifestMac | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.max_bundle_bytes = max_bundle_bytes
        self.mac = mac
        self.notice = notice
        self._authentic: dict[tuple[str, str], bool] = {}

    def write(self, header: Manifest, layout: Layout, parts: Sequence[PartData], *,
              codec_name: codec.Codec | None = None,
              tags: Mapping[str, str] | None = None) -> tuple[Manifest, Written]:
        """Store the parts, then the manifest, then the catalog item (stamped with the server's next write
        sequence); returns the sealed manifest and the stamp.

        ``header`` carries every manifest field but the parts (its ``parts`` are ignored). Never
        overwrites: a part or item that already exists raises ``Conflict`` and is left untouched.
        """
        from gaib.bundles import codec

        if sorted(p.name for p in parts) != sorted(layout.part_keys):
            raise ValueError("the parts given do not match the layout")
        written = {}
        stored: list[str] = []
        try:
            for part in parts:
                if part.key != layout.part_keys[part.name]:
                    raise ValueError(f"part {part.name} is not at its layout key")
                enc = codec.encode(part.plain, codec_name or codec.DEFAULT_CODEC)
                self.store.put(part.key, enc.data, tags=tags, content_type=CONTENT_TYPES[enc.codec])
                stored.append(part.key)
                written[part.name] = Part(key=part.key, codec=enc.codec, plain_size=enc.plain_size,
                                          stored_size=enc.stored_size, plain_sha256=enc.plain_sha256,
                                          stored_sha256=enc.stored_sha256)
            manifest = seal(replace(header, parts=written, mac=None))
            if self.mac is not None:
                manifest = sealed(manifest, self.mac)
            elif self.notice is not None:
                self.notice(f"{manifest.kind.capitalize()} {manifest.id} is written without a MAC: no key is "
                            "configured to seal it (set GAIB_MAC_KEY_ID; docs/format.md, \"Manifest MAC\").")
            if layout.manifest_key is not None:
                self.store.put(layout.manifest_key, manifest.to_json(), tags=tags,
                               content_type=MANIFEST_CONTENT_TYPE)
                stored.append(layout.manifest_key)
            item = self.catalog.put_sequenced(layout.pk, layout.sk, manifest.to_dict(), counter_sk=SEQUENCE_SK)
        except Exception:
            # A refused write (a secret in a part, a full quota, a conflict) leaves no orphan behind:
            # only the objects this call created are removed, never one that was already there.
            for key in stored:
                with contextlib.suppress(GaibError):
                    self.store.delete(key)
            raise
        return manifest, written_of(item, f"{manifest.kind} {manifest.id}")

    def item(self, layout: Layout, what: str) -> Item:
        """The bundle's catalog item; raises NotFound (exit 6) if it is absent."""
        item = self.catalog.get(layout.pk, layout.sk)
        if item is None:
            raise NotFound(f"No {what}.")
        return item

    def manifest(self, item: Item, layout: Layout, where: str) -> Manifest:
        """The verified manifest of a catalog item whose bundle lives at ``layout``.

        Raises IntegrityError for a damaged item, part keys that are not the layout's, or a stored
        manifest object that is missing or differs from the item.
        """
        reason = damaged_reason(item)
        if reason is not None:
            raise IntegrityError(f"The catalog item of {where} is damaged: {reason}.",
                                 details={"manifest": where[:200]})
        manifest = parse_manifest(item, where)
        check_place(manifest, layout.pk.removeprefix(SERVER_PK_PREFIX), where)
        for name, part in manifest.parts.items():
            if layout.part_keys.get(name) != part.key:
                raise IntegrityError(f"The manifest of {where} is damaged: part {name!r} points at "
                                     f"{part.key[:200]}, not at a key of this bundle.", details={"key": part.key[:200]})
        if set(manifest.parts) != set(layout.part_keys):
            missing = sorted(set(layout.part_keys) - set(manifest.parts))
            raise IntegrityError(f"The manifest of {where} is damaged: it lacks the parts {', '.join(missing)}.")
        if layout.manifest_key is not None:
            stored = self._get(layout.manifest_key, where)
            on_disk = parse_manifest(decode_manifest(stored, layout.manifest_key), layout.manifest_key)
            if on_disk.manifest_sha256 != manifest.manifest_sha256:
                raise IntegrityError(f"Stored object {layout.manifest_key} does not match the catalog's manifest "
                                     f"of {where}.", details={"key": layout.manifest_key})
        return manifest

    def authenticate(self, manifest: Manifest) -> bool:
        """True when ``manifest``'s MAC verifies, False when it has none (then ``notice`` hears it once);
        BundleNotAuthentic (exit 3) when it fails. Checked once per bundle and repository."""
        key = (manifest.manifest_sha256, manifest.mac.value if manifest.mac else "")
        known = self._authentic.get(key)
        if known is None:
            known = authenticate(manifest, self.mac, f"{manifest.kind} {manifest.id}")
            self._authentic[key] = known
            if not known and self.notice is not None:
                self.notice(unauthenticated_notice(manifest))
        return known

    def check_ceiling(self, manifest: Manifest, extra: int = 0) -> None:
        """IntegrityError (exit 3) when the plain bytes ``manifest`` claims for its parts, plus ``extra``
        (images a download writes beside them), are more than ``max_bundle_bytes``: nothing is read."""
        claimed = manifest.plain_size + extra
        if claimed > self.max_bundle_bytes:
            raise IntegrityError(
                f"{manifest.kind.capitalize()} {manifest.id} claims {claimed} plain bytes, more than the "
                f"{self.max_bundle_bytes} one bundle may hold; nothing was read.",
                hint="If the bundle is genuine, raise GAIB_MAX_BUNDLE_BYTES (backup.max_bundle_bytes in "
                     "gaib.yaml) above its size and run the command again.",
                details={"id": manifest.id, "claimed_bytes": claimed, "max_bundle_bytes": self.max_bundle_bytes})

    def stream_part(self, manifest: Manifest, name: str) -> Iterator[bytes]:
        """The plain bytes of a part as they are decompressed from the stored stream; the last step
        raises IntegrityError unless both sizes and checksums are the ones recorded (see
        :func:`gaib.bundles.codec.decode_stream`). Checks the bundle's ceiling first."""
        self.check_ceiling(manifest)
        self.authenticate(manifest)
        from gaib.bundles import codec

        part = manifest.part(name)
        return codec.decode_stream(self._stream(part.key, f"{manifest.kind} {manifest.id}"), claim(part))

    def stream_stored(self, manifest: Manifest, name: str) -> Iterator[bytes]:
        """The stored (compressed) bytes of a part as they arrive; the last step checks size and checksum.
        The manifest is authenticated first."""
        self.authenticate(manifest)
        from gaib.bundles import codec

        part = manifest.part(name)
        return codec.stream_stored(self._stream(part.key, f"{manifest.kind} {manifest.id}"), claim(part))

    def read_part(self, manifest: Manifest, name: str) -> bytes:
        """The plain bytes of a part, after verifying its stored and plain checksums (IntegrityError);
        never more than the part's recorded size is held, and nothing of a bundle over the ceiling."""
        return b"".join(self.stream_part(manifest, name))

    def read_stored(self, manifest: Manifest, name: str) -> bytes:
        """The stored (compressed) bytes of a part, after verifying their size and checksum."""
        return b"".join(self.stream_stored(manifest, name))

    def delete(self, layout: Layout) -> None:
        """Remove the catalog item, then every object of the layout (idempotent)."""
        self.catalog.delete(layout.pk, layout.sk)
        for key in layout.object_keys():
            self.store.delete(key)

    def _stream(self, key: str, where: str) -> Iterator[bytes]:
        try:
            return self.store.stream(key)
        except NotFound:
            raise IntegrityError(f"Stored object {key} of {where} is missing.", details={"key": key}) from None

    def _get(self, key: str, where: str) -> bytes:
        try:
            return self.store.get(key)
        except NotFound:
            # A bundle is listed only once its objects exist (write order), so a listed bundle
            # without one is damage, not "no such bundle".
            raise IntegrityError(f"Stored object {key} of {where} is missing.", details={"key": key}) from None

