"""``gaib server backup migrate --to s3``: copy a server's history from the local store to S3, verified.

A project that kept its history in the local store (``.gaib/backups``) and then configured S3
(``GAIB_BACKUP_BUCKET``) reads S3 only. This copies, for one server, from the local store
(``Ports.local_storage``) to the configured one (``Ports.store`` / ``Ports.catalog``):

1. every bundle — backups, snapshots (with the images they use, ``media/``) and theme deployments —,
   oldest first: the local bundle is read and verified through its kind's layout (every checksum), its
   objects are stored on S3 and read back (each stored sha256 must match the manifest's, a snapshot's
   ``manifest.json`` the local bytes), and only then is its catalog item created, so a bundle is listed on
   S3 only once it is whole there; the item read back must verify too;
2. the objects that are not bundles: the theme audit log, the config exports, and the three documents
   (theme registry, latest export, backup schedule), each created only where S3 has none;
3. the catalog's audit records (tier changes), the tier item and the schedule item.

Never overwrites: an object or catalog item already on S3 with the same bytes counts as already copied
(so a second run copies nothing and says so, and an interrupted run resumes where it stopped); one with
other contents is a conflict: that bundle is not copied, it is reported, and the command ends with
``CONFLICT`` (exit 3) after copying everything else. A local bundle that fails its checks is reported and
not copied (``INTEGRITY_ERROR``, exit 3). A document S3 already holds with other contents, and a tier
someone set on S3, are kept, with a note. Quota counters and scheduled-run claims are not copied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from gaib.backups.store import layout as backup_layout
from gaib.bundles.authentic import sealed
from gaib.bundles.manifest import Manifest
from gaib.bundles.media import MediaStore
from gaib.bundles.repository import CONTENT_TYPES, MANIFEST_CONTENT_TYPE, BundleRepository, Layout
from gaib.deployments.store import layout as deployment_layout
from gaib.deployments.store import verify as verify_deployment
from gaib.errors import Conflict, GaibError, IntegrityError, InvalidInput, MissingSetting, NotFound
from gaib.ports import Ports
from gaib.scheduled.schedules import schedule_of_item
from gaib.snapshots.store import layout as snapshot_layout
from gaib.snapshots.store import part_names
from gaib.storage.base import Catalog, Item, ObjectStore, damaged_reason
from gaib.storage.keys import (
    AUDIT_SK_PREFIX,
    BACKUP_SK_PREFIX,
    DEPLOY_SK_PREFIX,
    SCHEDULE_SK,
    SNAPSHOT_SK_PREFIX,
    TIER_SK,
    export_latest_key,
    exports_prefix,
    id_from_sk,
    schedule_key,
    server_pk,
    theme_audit_prefix,
    theme_registry_key,
)

if TYPE_CHECKING:
    from gaib.secrets.mac import ManifestMac

TARGETS: Final = ("s3",)
KINDS: Final[dict[str, str]] = {BACKUP_SK_PREFIX: "backup", SNAPSHOT_SK_PREFIX: "snapshot",
                                DEPLOY_SK_PREFIX: "deployment"}
_PAGE: Final = 500
MAX_LISTED: Final = 100
"""Conflicts and damaged bundles listed in the report (the counts are always whole)."""


@dataclass
class Tally:
    """How many of one kind were copied and how many S3 already held (the same bytes)."""

    copied: int = 0
    already: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"copied": self.copied, "already": self.already}


@dataclass
class MigrationReport:
    """What ``backup migrate`` copied (with ``dry_run``: would copy), per kind, and what it did not."""

    server_id: str
    source: str
    target: str
    dry_run: bool = False
    bundles: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS.values()})
    images: Tally = field(default_factory=Tally)
    objects: Tally = field(default_factory=Tally)
    records: Tally = field(default_factory=Tally)
    tier: str = "none"
    """``copied``, ``already`` (S3 has the same tier), ``kept`` (S3's was set by someone) or ``none``."""
    tier_name: str | None = None
    schedule: str = "none"
    """``copied``, ``already``, ``kept`` (S3 has another schedule) or ``none``."""
    bytes_copied: int = 0
    conflicts: list[dict[str, str]] = field(default_factory=list)
    damaged: list[dict[str, str]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conflict_count: int = 0
    damaged_count: int = 0

    @property
    def copied(self) -> int:
        """Everything copied (or, in a dry run, to copy): bundles, images, objects, records, tier, schedule."""
        return (sum(t.copied for t in self.bundles.values()) + self.images.copied + self.objects.copied
                + self.records.copied + (self.tier == "copied") + (self.schedule == "copied"))

    def conflict(self, kind: str, ident: str, why: str) -> None:
        self.conflict_count += 1
        if len(self.conflicts) < MAX_LISTED:
            self.conflicts.append({"kind": kind, "id": ident[:200], "reason": why[:300]})

    def damage(self, kind: str, ident: str, why: str) -> None:
        self.damaged_count += 1
        if len(self.damaged) < MAX_LISTED:
            self.damaged.append({"kind": kind, "id": ident[:200], "reason": why[:300]})

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "source": self.source, "target": self.target, "dry_run": self.dry_run,
                "copied": self.copied, "bundles": {k: t.to_dict() for k, t in self.bundles.items()},
                "images": self.images.to_dict(), "objects": self.objects.to_dict(),
                "records": self.records.to_dict(), "tier": {"outcome": self.tier, "tier": self.tier_name},
                "schedule": self.schedule, "bytes_copied": self.bytes_copied,
                "conflicts": list(self.conflicts), "conflict_count": self.conflict_count,
                "damaged": list(self.damaged), "damaged_count": self.damaged_count, "kept": list(self.kept),
                "notes": list(self.notes)}


class _Differs(Exception):
    """S3 holds other bytes at a key this copy needs."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's own fields (the adapters' key fields left out, and the MAC: S3's is made with its own key)."""
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "mac")}


def _same_item(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _fields(a) == _fields(b)


def migrate(ports: Ports, server_id: str, *, to: str, dry_run: bool = False,
            progress: Callable[[str], None] | None = None) -> MigrationReport:
    """Copy ``server_id``'s history from the local store to the configured S3 store (module docstring).

    Raises InvalidInput (exit 6) for a target other than ``s3``, MissingSetting (exit 2) when no S3 store
    is configured, Conflict (exit 3) when S3 holds something else under an id or key being copied, and
    IntegrityError (exit 3) when a local bundle fails its checks — each after copying everything else,
    with the report in ``details.migrate``. Storage failures (exit 1) stop the run; running it again
    resumes.
    """
    if to not in TARGETS:
        raise InvalidInput(f"Cannot migrate to {to[:20]!r}: the only target is s3.", hint="Pass --to s3.")
    settings = ports.settings
    if not settings.backup_bucket:
        raise MissingSetting("'backup migrate --to s3' copies the local store to the configured S3 store, and none "
                             "is configured.", hint="Set GAIB_BACKUP_BUCKET (and GAIB_BACKUP_TABLE) to the S3 "
                                                    "store, then run it again.")
    report = MigrationReport(server_id, source=str(settings.backup_dir),
                             target=f"s3://{settings.backup_bucket}", dry_run=dry_run)
    local = ports.local_storage()
    if local is None:
        report.notes.append(f"There is no local store at {settings.backup_dir}: nothing to copy.")
        return report
    _Copy(local[0], local[1], ports.store, ports.catalog, report, progress or (lambda _m: None),
          macs=(ports.local_mac(), ports.mac)).run()
    details = {"migrate": report.to_dict()}
    if report.conflict_count:
        first = report.conflicts[0]
        raise Conflict(f"S3 already holds {report.conflict_count} item(s) under the same id or key as the local "
                       f"store but with other contents (first: {first['kind']} {first['id']}); they were neither "
                       f"overwritten nor copied. Everything else was copied ({report.copied}).",
                       hint="Compare the two (details.migrate.conflicts); remove the wrong one, then run the "
                            "command again: it copies only what is missing.", details=details)
    if report.damaged_count:
        first = report.damaged[0]
        raise IntegrityError(f"{report.damaged_count} local bundle(s) failed their checks and were not copied "
                             f"(first: {first['kind']} {first['id']}: {first['reason']}). Everything else was "
                             f"copied ({report.copied}).",
                             hint="'gaib server backup verify --all' on the local store names them; delete the "
                                  "damaged ones there, or leave them behind.", details=details)
    return report


class _Copy:
    """One server's copy from ``src`` to ``dst`` (see the module docstring for the order)."""

    def __init__(self, src_store: ObjectStore, src_catalog: Catalog, dst_store: ObjectStore, dst_catalog: Catalog,
                 report: MigrationReport, progress: Callable[[str], None],
                 macs: tuple[ManifestMac | None, ManifestMac | None] = (None, None)) -> None:
        self.src, self.src_catalog = src_store, src_catalog
        self.dst, self.dst_catalog = dst_store, dst_catalog
        # A sealed local bundle is checked with the local key and sealed again with S3's (its checksum is
        # unchanged); one without a MAC stays without one until 'backup reseal' on S3.
        self.src_repo = BundleRepository(src_store, src_catalog, mac=macs[0])
        self.dst_repo = BundleRepository(dst_store, dst_catalog, mac=macs[1])
        self.report = report
        self.progress = progress
        self.sid = report.server_id
        self.pk = server_pk(self.sid)
        self.dry_run = report.dry_run
        self._planned: set[str] = set()
        """Images a dry run already counted (a later snapshot sharing one counts it as already there)."""

    def run(self) -> None:
        items = self._items()
        bundles = [(sk, item) for sk, item in items if sk.startswith(tuple(KINDS))]
        for done, (sk, item) in enumerate(bundles, start=1):
            self._bundle(sk, item)
            if done % 50 == 0 or done == len(bundles):
                self.progress(f"{done} of {len(bundles)} bundles {'checked' if self.dry_run else 'copied or checked'}")
        self._objects()
        for sk, item in items:
            if sk.startswith(AUDIT_SK_PREFIX):
                self._record(sk, item)
        found = dict(items)
        self._tier(found.get(TIER_SK))
        self._schedule(found.get(SCHEDULE_SK))

    def _items(self) -> list[tuple[str, Item]]:
        """Every catalog item of the server in the local store, oldest first within each kind."""
        out: list[tuple[str, Item]] = []
        cursor = None
        while True:
            page = self.src_catalog.query(self.pk, "", limit=_PAGE, cursor=cursor, newest_first=False)
            out += zip(page.sort_keys, page.items, strict=True)
            cursor = page.next_cursor
            if cursor is None:
                return out

    # --- bundles --------------------------------------------------------------------------------------------

    def _layout(self, kind: str, ident: str, item: Item) -> Layout:
        if kind == "backup":
            workspace = item.get("workspace")
            return backup_layout(self.sid, workspace if isinstance(workspace, str) else "", ident)
        if kind == "snapshot":
            return snapshot_layout(self.sid, ident, part_names(item))
        return deployment_layout(self.sid, ident)

    def _read(self, kind: str, ident: str, item: Item) -> tuple[Layout, Manifest, dict[str, bytes], dict[str, bytes]]:
        """The local bundle, verified: its layout, manifest, the stored bytes of each object, its images."""
        where = self._layout(kind, ident, item)
        manifest = self.src_repo.manifest(item, where, f"{kind} {ident}")
        if manifest.kind != kind or manifest.id != ident or manifest.server_id != self.sid:
            raise IntegrityError(f"its catalog item describes {manifest.kind} {manifest.id[:40]} of server "
                                 f"{manifest.server_id[:25]}")
        if kind == "deployment":
            verify_deployment(manifest, self.sid, ident)
        objects = {manifest.parts[name].key: self.src_repo.read_stored(manifest, name) for name in manifest.parts}
        if where.manifest_key is not None:
            objects[where.manifest_key] = self.src.get(where.manifest_key)  # checked by manifest() above
        images: dict[str, bytes] = {}
        media = manifest.extra.get("media")
        if isinstance(media, Mapping):
            source = MediaStore(self.src, self.sid)
            images = {str(sha): source.get(str(sha)) for sha in media}
        return where, manifest, objects, images

    def _bundle(self, sk: str, item: Item) -> None:
        kind = KINDS[next(p for p in KINDS if sk.startswith(p))]
        tally = self.report.bundles[kind]
        try:
            ident = id_from_sk(sk)
        except GaibError as exc:
            self.report.damage(kind, sk, exc.message)
            return
        there = self.dst_catalog.get(self.pk, sk)
        if there is not None:
            if _same_item(there, item):
                tally.already += 1
            else:
                self.report.conflict(kind, ident, f"S3 holds another {kind} with this id")
            return
        reason = damaged_reason(item)
        try:
            if reason is not None:
                raise IntegrityError(f"its catalog item is damaged: {reason}")
            where, manifest, objects, images = self._read(kind, ident, item)
            item, objects = self._resealed(item, manifest, where, objects)
        except GaibError as exc:
            self.report.damage(kind, ident, exc.message)
            return
        if self.dry_run:
            tally.copied += 1
            for sha in images:
                seen = self._exists(self.dst, MediaStore(self.dst, self.sid).key(sha)) or sha in self._planned
                self._planned.add(sha)
                if seen:
                    self.report.images.already += 1
                else:
                    self.report.images.copied += 1
            return
        try:
            self._images(images)
            for key, data in objects.items():
                self._put(key, data)
        except _Differs as differs:
            self.report.conflict(kind, ident, f"S3 holds other bytes at {differs.key}")
            return
        try:
            self.dst_catalog.put_if_absent(self.pk, sk, item)
        except Conflict:  # another run copied it meanwhile
            there = self.dst_catalog.get(self.pk, sk)
            if there is None or not _same_item(there, item):
                self.report.conflict(kind, ident, f"S3 holds another {kind} with this id")
                return
        # The bundle as S3 now lists it must verify: item checksum, part keys, manifest.json.
        copied = self.dst_catalog.get(self.pk, sk)
        if copied is None:
            raise IntegrityError(f"The catalog item of {kind} {ident} was written to S3 but cannot be read back.")
        if self.dst_repo.manifest(copied, where, f"{kind} {ident} on S3").manifest_sha256 != manifest.manifest_sha256:
            raise IntegrityError(f"The catalog item of {kind} {ident} read back from S3 differs from the local one.")
        tally.copied += 1
        self.report.bytes_copied += sum(len(d) for d in objects.values())

    def _resealed(self, item: Item, manifest: Manifest, where: Layout,
                  objects: dict[str, bytes]) -> tuple[Item, dict[str, bytes]]:
        """The item and objects to write on S3: a verified MAC made again with S3's key (none without one)."""
        if manifest.mac is None:
            return item, objects
        out = {k: v for k, v in item.items() if k != "mac"}
        copy = replace(manifest, mac=None)
        if self.dst_repo.mac is not None:
            copy = sealed(copy, self.dst_repo.mac)
            assert copy.mac is not None
            out["mac"] = copy.mac.to_dict()
        if where.manifest_key is not None:
            objects = {**objects, where.manifest_key: copy.to_json()}
        return out, objects

    def _images(self, images: Mapping[str, bytes]) -> None:
        target = MediaStore(self.dst, self.sid)
        for sha, data in images.items():
            tags = self._tags(target.key(sha))
            stored = target.put(data, tags=tags)
            target.get(sha)  # read back: its sha256 must be its key
            if stored.added:
                self.report.images.copied += 1
                self.report.bytes_copied += len(data)
            else:
                self.report.images.already += 1

    def _tags(self, key: str) -> dict[str, str]:
        try:
            return self.src.tags(key)
        except NotFound:
            return {"ServerId": self.sid}

    def _put(self, key: str, data: bytes) -> bool:
        """Store ``data`` at ``key`` on S3 with the local object's tags and content type, then read it back;
        True when it was copied, False when S3 already held the same bytes. Raises _Differs otherwise."""
        try:
            content_type = self.src.head(key).content_type or _content_type(key)
            self.dst.put(key, data, tags=self._tags(key), content_type=content_type)
            copied = True
        except Conflict:
            copied = False
        if _sha(self.dst.get(key)) != _sha(data):
            raise _Differs(key)
        return copied

    # --- objects that are not bundles -----------------------------------------------------------------------

    def _objects(self) -> None:
        documents = {theme_registry_key(self.sid), export_latest_key(self.sid), schedule_key(self.sid)}
        keys = [info.key for prefix in (theme_audit_prefix(self.sid), exports_prefix(self.sid))
                for info in self.src.list(prefix)]
        keys += sorted(k for k in documents if k not in keys and self._exists(self.src, k))
        for key in keys:
            data = self.src.get(key)
            if key in documents:
                self._document(key, data)
                continue
            if self.dry_run:
                self.report.objects.copied += 0 if self._exists(self.dst, key) else 1
                continue
            try:
                copied = self._put(key, data)
            except _Differs:
                self.report.conflict("object", key, "S3 holds other bytes at this key")
                continue
            if copied:
                self.report.objects.copied += 1
                self.report.bytes_copied += len(data)
            else:
                self.report.objects.already += 1

    @staticmethod
    def _exists(store: ObjectStore, key: str) -> bool:
        try:
            store.head(key)
            return True
        except NotFound:
            return False

    def _document(self, key: str, data: bytes) -> None:
        """A document is created on S3 only where S3 has none; S3's own is kept (and named)."""
        try:
            held = self.dst.get_document(key).data
        except NotFound:
            held = None
        if held is None and not self.dry_run:
            try:
                self.dst.replace(key, data, expected_generation=None, tags=self._tags(key),
                                 content_type=self.src.head(key).content_type or _content_type(key))
            except Conflict:
                held = self.dst.get_document(key).data
        if held is None:
            self.report.objects.copied += 1
            self.report.bytes_copied += len(data)
        elif held == data:
            self.report.objects.already += 1
        else:
            self.report.kept.append(key)

    # --- catalog records, tier, schedule --------------------------------------------------------------------

    def _record(self, sk: str, item: Item) -> None:
        there = self.dst_catalog.get(self.pk, sk)
        if there is not None:
            if _same_item(there, item):
                self.report.records.already += 1
            else:
                self.report.conflict("audit record", sk, "S3 holds another audit record under this key")
            return
        if not self.dry_run:
            self.dst_catalog.put_if_absent(self.pk, sk, item)
        self.report.records.copied += 1

    def _tier(self, item: Item | None) -> None:
        if item is None:
            return
        local = item.get("tier")
        self.report.tier_name = local if isinstance(local, str) else None
        there = self.dst_catalog.get(self.pk, TIER_SK)
        fields = _fields(item)
        if there is not None and there.get("tier") == local:
            self.report.tier = "already"
        elif there is not None and there.get("set_by") and there.get("tier") != local:
            self.report.tier = "kept"
            self.report.notes.append(
                f"S3 has the server on the {there.get('tier')} tier (set by {str(there.get('set_by'))[:60]}); the "
                f"local store's {str(local)[:20]} tier was not copied. 'gaib server tier set {str(local)[:20]}' "
                "changes it.")
        else:
            # None on S3, or one registered by default (no one set it): the local tier is the server's.
            if not self.dry_run:
                if there is None:
                    self.dst_catalog.put_if_absent(self.pk, TIER_SK, fields)
                else:
                    self.dst_catalog.update(self.pk, TIER_SK, fields)
            self.report.tier = "copied"

    def _schedule(self, item: Item | None) -> None:
        if item is None:
            return
        there = self.dst_catalog.get(self.pk, SCHEDULE_SK)
        if there is not None:
            self.report.schedule = "already" if _same_item(there, item) else "kept"
            if self.report.schedule == "kept":
                self.report.notes.append("S3 already holds a schedule for this server; the local one was not "
                                         "copied ('gaib server schedule show').")
            return
        if not self.dry_run:
            self.dst_catalog.put_if_absent(self.pk, SCHEDULE_SK, _fields(item))
        self.report.schedule = "copied"
        try:
            schedule = schedule_of_item(item, self.sid)
        except GaibError:
            return
        if schedule is not None and any(loc.backend == "local" for loc in schedule.workspaces):
            self.report.notes.append("The schedule records workspace states in a local folder, which scheduled "
                                     "runs on AWS cannot read: run 'gaib server schedule enable' where the state "
                                     "is on S3.")


def _content_type(key: str) -> str:
    if key.endswith(".json"):
        return MANIFEST_CONTENT_TYPE
    if key.endswith(".gz"):
        return CONTENT_TYPES["gzip"]
    return "application/octet-stream"
