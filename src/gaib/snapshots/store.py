"""SnapshotManager: full snapshots of a server, each a bundle of verified parts.

``snapshots/{server_id}/{snapshot_id}/`` holds ``manifest.json`` and the parts:

``state``           ``state.json.gz``: the workspace's state (JSON ``null`` when it has none yet)
``config``          ``config.yaml.gz``: the live server exported at snapshot time (objects Gaib does not
                    manage included), a config that re-applies with zero changes
``theme-registry``  ``theme-registry.json.gz``: the theme deployment registry document (an empty
                    registry when the server has none)
``objects``         ``objects.json.gz``: the exported objects as state resources with their Discord ids
                    (at the export's addresses), so a restore matches surviving objects by id first
``guild``, ``emojis``, ``stickers``, ``bans``, ``members`` and ``messages/{channel_id}``: what a community would lose
                    besides roles and channels (:mod:`gaib.snapshots.parts`); their images are
                    stored once per server in ``media/`` (:mod:`gaib.bundles.media`). Snapshots taken
                    before these parts existed lack them and still load.

Written through :class:`gaib.bundles.repository.BundleRepository` (parts, then ``manifest.json``, then
the catalog item ``SNAPSHOT#{ts}#{id}``); read back only after every checksum is verified.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaib.bundles import codec
from gaib.bundles.download import MEDIA_EXTENSIONS, Source, write_streams
from gaib.bundles.manifest import TRIGGERS, Manifest
from gaib.bundles.media import MAX_IMAGE_BYTES, MediaStore, release
from gaib.bundles.order import written_of
from gaib.bundles.record import Record
from gaib.bundles.repository import BundleRepository, Layout, PartData, page_ids
from gaib.clock import Clock
from gaib.deployments.document import empty_registry
from gaib.discord.models import ChannelType, Guild, OverwriteType
from gaib.errors import GaibError, IntegrityError, InvalidInput, NotFound
from gaib.iac.diff import manageable_roles
from gaib.iac.export import export_config, exported_objects
from gaib.names import check_name, check_snowflake
from gaib.setting_values import DEFAULT_MAX_BUNDLE_BYTES
from gaib.snapshots.capture import Captured
from gaib.snapshots.parts import COMMUNITY_PARTS, channel_of_part
from gaib.state.model import State, parse_state
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.documents import decode_json_document
from gaib.storage.keys import (
    SNAPSHOT_SK_PREFIX,
    check_id,
    new_id,
    server_pk,
    snapshot_key,
    snapshot_messages_key,
    snapshot_sk,
)
from gaib.tiers.table import tier_of

if TYPE_CHECKING:
    from gaib.secrets.mac import ManifestMac

MAX_MESSAGE = 500
PART_FILES: Mapping[str, Any] = {
    "state": "state.json.gz",
    "config": "config.yaml.gz",
    "theme-registry": "theme-registry.json.gz",
    "objects": "objects.json.gz",
}


def layout(server_id: str, snapshot_id: str, names: Iterable[object] = ()) -> Layout:
    """Where snapshot ``snapshot_id`` lives: catalog key, part keys and ``manifest.json``.

    The five base parts are always there; ``names`` adds the community parts (``guild``, ``emojis``,
    ``stickers``, ``bans``, ``messages/{channel_id}``) a snapshot holds. A name that is none of these is
    left out, so a manifest naming it does not match the layout (IntegrityError on read)."""
    keys = {name: snapshot_key(server_id, snapshot_id, file) for name, file in PART_FILES.items()}
    for name in names:
        if not isinstance(name, str):
            continue
        if name in COMMUNITY_PARTS:
            keys[name] = snapshot_key(server_id, snapshot_id, COMMUNITY_PARTS[name])  # type: ignore[arg-type]
        elif (channel := channel_of_part(name)) is not None:
            keys[name] = snapshot_messages_key(server_id, snapshot_id, channel)
    return Layout(pk=server_pk(server_id), sk=snapshot_sk(snapshot_id), part_keys=keys,
                  manifest_key=snapshot_key(server_id, snapshot_id, "manifest.json"))


def part_names(item: Mapping[str, Any]) -> list[object]:
    """The part names a snapshot's catalog item lists (for :func:`layout`; anything unexpected is left to it)."""
    parts = item.get("parts")
    return list(parts) if isinstance(parts, Mapping) else []


def guild_counts(guild: Guild) -> dict[str, int]:
    """Roles, categories, channels and role overwrites of a live guild (what a snapshot holds)."""
    cats = [c for c in guild.channels if c.type == ChannelType.CATEGORY]
    return {"roles": len(manageable_roles(guild)), "categories": len(cats),
            "channels": len(guild.channels) - len(cats),
            "overwrites": sum(1 for c in guild.channels for o in c.permission_overwrites
                              if o.type == OverwriteType.ROLE)}


@dataclass(frozen=True)
class SnapshotRecord(Record):
    """One snapshot as listed: its verified manifest, with the images it needs."""

    @property
    def media(self) -> dict[str, Any]:
        """The images this snapshot needs: ``{sha256: {size, type}}`` (stored once per server)."""
        media = self.manifest.extra.get("media")
        return dict(media) if isinstance(media, Mapping) else {}

    @property
    def media_size(self) -> int:
        """Bytes of the images this snapshot needs (shared with other snapshots)."""
        return sum(int(v.get("size", 0)) for v in self.media.values() if isinstance(v, Mapping))

    @property
    def media_added(self) -> int:
        """Bytes of images this snapshot stored that were not stored before (0: nothing new)."""
        value = self.manifest.extra.get("media_added", 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "server_id": self.server_id, "workspace": self.workspace,
                "created_at": self.created_at, "trigger": self.trigger, "tier": self.tier, "message": self.message,
                "serial": self.serial, "lineage": self.lineage, "counts": dict(self.counts),
                "stored_size": self.stored_size, "plain_size": self.plain_size, "media_size": self.media_size,
                "media_added": self.media_added, "format_version": self.format_version,
                "manifest_sha256": self.manifest_sha256, "authenticated": self.authenticated,
                **self.written.to_dict(), "parts": {n: p.to_dict() for n, p in self.manifest.parts.items()}}


@dataclass(frozen=True)
class SnapshotContent:
    """Every part of a snapshot, verified and decoded."""

    record: SnapshotRecord
    state: State | None
    config_text: str
    registry: dict[str, Any]
    objects: State


class SnapshotManager:
    """Create, list, read and delete snapshots over one store and catalog."""

    def __init__(self, store: ObjectStore, catalog: Catalog, *, clock: Clock,
                 max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES, mac: ManifestMac | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.repo = BundleRepository(store, catalog, max_bundle_bytes=max_bundle_bytes, mac=mac, notice=notice)
        self.catalog = catalog
        self.clock = clock

    def create(self, *, server_id: str, workspace: str, guild: Guild, state: State | None,
               registry: bytes | None, message: str = "", trigger: str = "on-demand",
               codec_name: codec.Codec = codec.DEFAULT_CODEC,
               community: Callable[[MediaStore, Mapping[str, str]], Captured] | None = None) -> SnapshotRecord:
        """Store a new snapshot of ``guild`` (live, as read now) and ``state``; never overwrites anything.

        ``community`` reads the rest of the server (settings, emojis, stickers, bans, messages), storing
        its images in the server's media store with the given tags, and returns the parts to add."""
        check_snowflake(server_id, "server id")
        check_name(workspace, "workspace name")
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        if guild.id != server_id:
            raise InvalidInput(f"The Discord server read is {guild.id}, not {server_id}.")
        message = message.strip()
        if len(message) > MAX_MESSAGE:
            raise InvalidInput(f"The message is {len(message)} characters long; at most {MAX_MESSAGE} are kept.")
        now = self.clock().astimezone(UTC)
        snapshot_id = new_id(now)
        policy = tier_of(self.catalog, server_id, register=True)
        tags = {"Tier": policy.name, "ServerId": server_id}
        media = MediaStore(self.repo.store, server_id)
        extras = community(media, tags) if community is not None else None
        where = layout(server_id, snapshot_id, extras.parts if extras is not None else ())
        objects = State.new(workspace, server_id)
        objects.lineage = "snapshot-objects"
        objects.resources = exported_objects(guild)
        plain = {
            "state": state.to_json() if state is not None else b"null\n",
            "config": export_config(guild).encode("utf-8"),
            "theme-registry": registry if registry is not None else empty_registry(server_id),
            "objects": objects.to_json(),
        }
        counts = {**guild_counts(guild), "resources": len(state.resources) if state is not None else 0}
        if extras is not None:
            plain.update(extras.parts)
            counts.update(extras.counts)
        header = Manifest(kind="snapshot", id=snapshot_id, server_id=server_id, workspace=workspace,
                          created_at=_iso(now), trigger=trigger, tier=policy.name, message=message,
                          serial=state.serial if state is not None else None,
                          lineage=state.lineage if state is not None else None, parts={}, counts=counts,
                          extra=extras.extra if extras is not None else {})
        manifest, written = self.repo.write(header, where,
                                            [PartData(n, where.part_keys[n], b) for n, b in plain.items()],
                                            codec_name=codec_name, tags=tags)
        if extras is not None:
            # A delete running meanwhile may have released an image this snapshot re-used.
            media.ensure(extras.images, tags=tags)
        return SnapshotRecord(manifest, written)

    def get(self, server_id: str, snapshot_id: str) -> SnapshotRecord:
        """The verified record; NotFound (exit 6) if absent, IntegrityError (exit 3) if damaged."""
        check_snowflake(server_id, "server id")
        check_id(snapshot_id, "snapshot id")
        item = self.catalog.get(server_pk(server_id), snapshot_sk(snapshot_id))
        if item is None:
            raise NotFound(f"No snapshot {snapshot_id} for server {server_id}.",
                           hint="List the snapshots with 'gaib server snapshot list'.")
        return self._record(server_id, snapshot_id, item)

    def _record(self, server_id: str, snapshot_id: str, item: dict[str, Any]) -> SnapshotRecord:
        where = layout(server_id, snapshot_id, part_names(item))
        manifest = self.repo.manifest(item, where, f"snapshot {snapshot_id} ({where.manifest_key})")
        if manifest.id != snapshot_id or manifest.server_id != server_id or manifest.kind != "snapshot":
            raise IntegrityError(f"The catalog item of snapshot {snapshot_id} is damaged: it describes "
                                 f"{manifest.kind} {manifest.id[:40]} of server {manifest.server_id[:25]}.")
        return SnapshotRecord(manifest, written_of(item, f"snapshot {snapshot_id}"))

    def list(self, server_id: str, *, limit: int = 20, cursor: str | None = None,
             damaged: list[str] | None = None) -> tuple[list[SnapshotRecord], str | None]:
        """Newest first. Each listed snapshot's manifest is verified, including ``manifest.json``; a
        damaged one is appended to ``damaged`` and skipped (or raises IntegrityError without it)."""
        check_snowflake(server_id, "server id")
        page = self.catalog.query(server_pk(server_id), SNAPSHOT_SK_PREFIX, limit=limit, cursor=cursor)
        out = []
        for item, ident in zip(page.items, page_ids(page), strict=True):
            try:
                out.append(self._record(server_id, check_id(ident, "snapshot id"), item))
            except GaibError:
                if damaged is None:
                    raise
                damaged.append(ident[:80])
        return out, page.next_cursor

    def load(self, record: SnapshotRecord) -> SnapshotContent:
        """Every part, each verified against both its checksums before it is decoded."""
        m = record.manifest
        state_bytes = self.repo.read_part(m, "state")
        state = None if state_bytes.strip() == b"null" else parse_state(state_bytes, m.part("state").key)
        config = self.repo.read_part(m, "config")
        registry_bytes = self.repo.read_part(m, "theme-registry")
        objects = parse_state(self.repo.read_part(m, "objects"), m.part("objects").key)
        try:
            config_text = config.decode("utf-8")
        except ValueError:
            raise IntegrityError(f"Snapshot {m.id} holds a config part that is not UTF-8 text.") from None
        registry = decode_json_document(registry_bytes, m.part("theme-registry").key)
        return SnapshotContent(record=record, state=state, config_text=config_text, registry=registry,
                               objects=objects)

    def delete(self, server_id: str, snapshot_id: str) -> builtins.list[str]:
        """Remove a snapshot: catalog item first, then its objects, then the images no other snapshot of
        the server references (:func:`gaib.bundles.media.release`); returns the checksums of the images
        removed. NotFound if there is no such snapshot."""
        check_snowflake(server_id, "server id")
        check_id(snapshot_id, "snapshot id")
        item = self.catalog.get(server_pk(server_id), snapshot_sk(snapshot_id))
        if item is None:
            raise NotFound(f"No snapshot {snapshot_id} for server {server_id}.")
        where = layout(server_id, snapshot_id, part_names(item))
        extra = item.get("extra")
        media = extra.get("media") if isinstance(extra, Mapping) else None
        self.repo.delete(where)
        shas = [k for k in media if isinstance(k, str)] if isinstance(media, Mapping) else []
        valid = [k for k in shas if len(k) == 64 and all(c in "0123456789abcdef" for c in k)]
        return release(self.repo.store, self.catalog, server_id, valid)


def _iso(now: datetime) -> str:
    return now.isoformat().replace("+00:00", "Z")


# --- download -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    snapshot: SnapshotRecord
    folder: Path
    files: list[Path]
    raw: bool
    skipped: tuple[str, ...] = ()  # personal parts not written (--structure-only, or refused)

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot.to_dict(), "folder": str(self.folder),
                "files": [p.name for p in self.files], "raw": self.raw, "skipped": list(self.skipped)}


def write_download(mgr: SnapshotManager, record: SnapshotRecord, target: Path, *, raw: bool,
                   force: bool, parts: Iterable[str] | None = None, skipped: Iterable[str] = ()) -> Downloaded:
    """Write the snapshot's files into ``target`` (from :func:`gaib.bundles.download.resolve_target`),
    each streamed from storage to its file chunk by chunk and verified (sizes and checksums) before any is
    renamed into place; a snapshot whose parts and images claim more than the per-bundle ceiling is refused
    before anything is read or written. ``parts``: the parts to write (default every one); ``skipped``
    names those left out."""
    m = record.manifest
    images = _listed_images(record)
    mgr.repo.check_ceiling(m, extra=sum(size for _, size, _ in images))
    manifest_json = m.to_json()
    files: list[tuple[str, Source]] = [("manifest.json", lambda: [manifest_json])]
    for name in (m.parts if parts is None else parts):
        file = _file_name(m.part(name).key)
        if raw:
            files.append((file, partial(mgr.repo.stream_stored, m, name)))
        else:
            files.append((file.removesuffix(".gz"), partial(mgr.repo.stream_part, m, name)))
    media = MediaStore(mgr.repo.store, record.server_id)
    for digest, size, kind in images:
        files.append((f"media-{digest}.{MEDIA_EXTENSIONS.get(kind, 'bin')}", partial(media.stream, digest, size)))
    return Downloaded(record, target, write_streams(target, files, force=force), raw, tuple(skipped))


def _listed_images(record: SnapshotRecord) -> list[tuple[str, int, str]]:
    """(sha256, size, media type) of every image the snapshot lists; IntegrityError for an entry without a
    size an image could have (its claim is summed against the ceiling before anything is read)."""
    out = []
    for digest, entry in record.media.items():
        size = entry.get("size") if isinstance(entry, Mapping) else None
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_IMAGE_BYTES:
            raise IntegrityError(f"Snapshot {record.id} lists image {str(digest)[:64]} without a valid size.",
                                 details={"id": record.id})
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        out.append((str(digest), size, str(kind)))
    return out


def _file_name(key: str) -> str:
    """``…/messages/123.jsonl.gz`` → ``messages-123.jsonl.gz``; other parts keep their file name."""
    folder, _, name = key.rpartition("/")
    return f"messages-{name}" if folder.endswith("/messages") else name
