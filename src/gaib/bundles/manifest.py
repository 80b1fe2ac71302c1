"""Bundle manifests: what a backup, snapshot or deployment holds, and the checksums that prove it.

A manifest names every part of a bundle (its key, codec, sizes, and the sha256 of its plain and of
its stored bytes) plus who/what/when, and carries ``manifest_sha256``: the sha256 of the canonical
JSON (sorted keys, no whitespace, UTF-8) of every other field. :func:`parse_manifest` is the only
way to read one and trusts nothing: it refuses an unknown ``format_version`` or ``kind``, a
checksum that does not match and sizes no Gaib could have written (a part or bundle claiming more
than ``MAX_CLAIMED_BYTES`` plain bytes, or more stored bytes than a codec makes of its plain ones),
as ``IntegrityError`` (exit 3); so a size a manifest claims is bounded before anything sums or shows it.

A manifest written since bundles are sealed also carries ``mac`` (:class:`Seal`): a MAC over the
canonical body, the server it is stored under and its storage prefix, made with a key that is not in
the store (:mod:`gaib.bundles.authentic` builds the message and checks it; ``manifest_sha256`` alone
proves nothing against someone who can write the store, since anyone can recompute it). ``mac`` is
outside the body, so sealing an older manifest later (``backup reseal``) leaves its checksum unchanged.

Format versions: ``2`` is the bundle manifest described in docs/format.md. ``1`` is the flat catalog
item of a state backup written before bundles existed (one object, its checksums as top-level
fields, no manifest checksum); it is read, never written, so those backups still restore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gaib import safejson
from gaib.digest import sha256_hex
from gaib.errors import IntegrityError
from gaib.setting_values import MAX_MAX_BUNDLE_BYTES

FORMAT_VERSION = 2
LEGACY_BACKUP_FORMAT = 1
KINDS = ("backup", "snapshot", "deployment")
Kind = Literal["backup", "snapshot", "deployment"]
TRIGGERS = ("on-demand", "scheduled", "pre-restore")

_PART_FIELDS = ("key", "codec", "plain_size", "stored_size", "plain_sha256", "stored_sha256")
MAX_CLAIMED_BYTES = MAX_MAX_BUNDLE_BYTES
"""The most plain bytes a manifest may claim for a whole bundle: the highest ceiling that can be set, so a
claim beyond it is damage whatever the setting, and never reaches a report or a sum."""


def stored_bound(plain_size: int) -> int:
    """The most bytes gzip or zstd can store for ``plain_size`` plain bytes (their headers and block
    overhead, with room to spare): a part claiming more stored than this claims something impossible."""
    return plain_size + plain_size // 256 + 1024
_HEX64 = frozenset("0123456789abcdef")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the bytes every manifest checksum is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


@dataclass(frozen=True)
class Part:
    """One stored part of a bundle."""

    key: str
    codec: str
    plain_size: int
    stored_size: int
    plain_sha256: str
    stored_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _PART_FIELDS}


@dataclass(frozen=True)
class Seal:
    """A manifest's MAC: the algorithm, the key's name (never the key) and the MAC, base64."""

    algorithm: str
    key_id: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"algorithm": self.algorithm, "key_id": self.key_id, "value": self.value}


@dataclass(frozen=True)
class Manifest:
    """A verified manifest. Build new ones with :func:`seal`; read stored ones with :func:`parse_manifest`."""

    kind: Kind
    id: str
    server_id: str
    workspace: str
    created_at: str
    trigger: str
    tier: str
    message: str
    serial: int | None
    lineage: str | None
    parts: Mapping[str, Part]
    counts: Mapping[str, int] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    manifest_sha256: str = ""
    mac: Seal | None = None
    """The MAC sealing this manifest to its server and place; None for a bundle written before sealing
    (unauthenticated). A manifest read through ``BundleRepository`` with a MAC had it verified before
    any part was returned."""

    def body(self) -> dict[str, Any]:
        """Every field but the checksum, as stored."""
        return {
            "format_version": self.format_version, "kind": self.kind, "id": self.id,
            "server_id": self.server_id, "workspace": self.workspace, "created_at": self.created_at,
            "trigger": self.trigger, "tier": self.tier, "message": self.message, "serial": self.serial,
            "lineage": self.lineage, "counts": dict(self.counts),
            "parts": {name: part.to_dict() for name, part in self.parts.items()},
            "extra": dict(self.extra),
        }

    def to_dict(self) -> dict[str, Any]:
        out = {**self.body(), "manifest_sha256": self.manifest_sha256}
        if self.mac is not None:
            out["mac"] = self.mac.to_dict()
        return out

    def to_json(self) -> bytes:
        """The stored ``manifest.json``: indented for people; the checksum is over canonical JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"

    @property
    def stored_size(self) -> int:
        return sum(p.stored_size for p in self.parts.values())

    @property
    def plain_size(self) -> int:
        return sum(p.plain_size for p in self.parts.values())

    def part(self, name: str) -> Part:
        """The named part; IntegrityError if the manifest lacks it (a bundle of another shape)."""
        try:
            return self.parts[name]
        except KeyError:
            raise IntegrityError(f"The manifest of {self.kind} {self.id} has no part {name!r}.",
                                 details={"id": self.id}) from None


def seal(manifest: Manifest) -> Manifest:
    """The same manifest with ``manifest_sha256`` computed over its canonical JSON."""
    digest = sha256_hex(canonical_json(manifest.body()))
    return replace(manifest, manifest_sha256=digest)


def _damaged(where: str, why: str) -> IntegrityError:
    return IntegrityError(f"The manifest of {where} is damaged: {why}.", details={"manifest": where[:200]})


def _text(doc: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _damaged(where, f"'{name}' is missing or not text")
    return value


def _int(doc: Mapping[str, Any], name: str, where: str, *, optional: bool = False) -> Any:
    value = doc.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _damaged(where, f"'{name}' is missing or not a whole number")
    return value


def _sha(doc: Mapping[str, Any], name: str, where: str) -> str:
    value = _text(doc, name, where)
    if len(value) != 64 or not set(value) <= _HEX64:
        raise _damaged(where, f"'{name}' is not a sha256")
    return str(value)


def _part(doc: Any, where: str) -> Part:
    if not isinstance(doc, Mapping):
        raise _damaged(where, "a part is not an object")
    plain, stored = _int(doc, "plain_size", where), _int(doc, "stored_size", where)
    if plain > MAX_CLAIMED_BYTES:
        raise _damaged(where, f"a part claims {plain} plain bytes, more than the {MAX_CLAIMED_BYTES} any Gaib reads")
    if stored > stored_bound(plain):
        raise _damaged(where, f"a part claims {stored} stored bytes for {plain} plain bytes, which no codec makes")
    return Part(key=_text(doc, "key", where), codec=_text(doc, "codec", where), plain_size=plain,
                stored_size=stored, plain_sha256=_sha(doc, "plain_sha256", where),
                stored_sha256=_sha(doc, "stored_sha256", where))


MAX_MANIFEST_BYTES = 1024 * 1024


def decode_manifest(stored: bytes, key: str) -> Any:
    """The JSON of a stored ``manifest.json``: the one reader of manifest bytes; IntegrityError
    (exit 3) for anything that is not a JSON document within the limits (then see parse_manifest)."""
    try:
        return safejson.loads(stored, max_bytes=MAX_MANIFEST_BYTES, max_depth=32)
    except safejson.JsonProblem as exc:
        raise IntegrityError(f"Stored object {key} is not a readable manifest: {exc}.", details={"key": key}) from None


def parse_manifest(doc: Any, where: str) -> Manifest:
    """A verified manifest from its stored form (a catalog item or ``manifest.json``).

    Raises IntegrityError for anything but a well-formed manifest of a known version whose checksum
    matches; a legacy (version 1) backup item is converted, its part checksums still verified on read.
    """
    if not isinstance(doc, Mapping):
        raise _damaged(where, "it is not an object")
    version = doc.get("format_version", LEGACY_BACKUP_FORMAT)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _damaged(where, "'format_version' is not a number")
    if version == LEGACY_BACKUP_FORMAT and doc.get("kind", "backup") == "backup" and "parts" not in doc:
        return _legacy_backup(doc, where)
    if version != FORMAT_VERSION:
        raise IntegrityError(
            f"The manifest of {where} has format version {version}; this Gaib reads version {FORMAT_VERSION}.",
            hint="Upgrade Gaib to read it. Nothing was changed.", details={"manifest": where[:200]})
    kind = doc.get("kind")
    if kind not in KINDS:
        raise _damaged(where, f"unknown kind {str(kind)[:20]!r}")
    parts_doc = doc.get("parts")
    if not isinstance(parts_doc, Mapping) or not parts_doc:
        raise _damaged(where, "it lists no parts")
    counts = doc.get("counts") or {}
    extra = doc.get("extra") or {}
    if not isinstance(counts, Mapping) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in counts.values()):
        raise _damaged(where, "'counts' is not a map of numbers")
    if not isinstance(extra, Mapping):
        raise _damaged(where, "'extra' is not an object")
    manifest = Manifest(
        kind=kind, id=_text(doc, "id", where), server_id=_text(doc, "server_id", where),
        workspace=_text(doc, "workspace", where), created_at=_text(doc, "created_at", where),
        trigger=_text(doc, "trigger", where), tier=_text(doc, "tier", where),
        message=_text(doc, "message", where), serial=_int(doc, "serial", where, optional=True),
        lineage=_text(doc, "lineage", where, optional=True),
        parts={str(name): _part(p, where) for name, p in parts_doc.items()},
        counts=dict(counts), extra=dict(extra), format_version=version,
        manifest_sha256=_sha(doc, "manifest_sha256", where), mac=_seal(doc.get("mac"), where),
    )
    if seal(manifest).manifest_sha256 != manifest.manifest_sha256:
        raise _damaged(where, "its checksum does not match its content (it was changed after it was written)")
    if manifest.plain_size > MAX_CLAIMED_BYTES:
        raise _damaged(where, f"its parts claim {manifest.plain_size} plain bytes, more than the "
                              f"{MAX_CLAIMED_BYTES} any Gaib reads")
    return manifest


def _seal(doc: Any, where: str) -> Seal | None:
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise _damaged(where, "'mac' is not an object")
    algorithm, key_id, value = (_text(doc, name, where) for name in ("algorithm", "key_id", "value"))
    if len(value) > 200 or len(key_id) > 300 or len(algorithm) > 40:
        raise _damaged(where, "its 'mac' is longer than any MAC Gaib writes")
    return Seal(algorithm=algorithm, key_id=key_id, value=value)


def _legacy_backup(doc: Mapping[str, Any], where: str) -> Manifest:
    part = _part(doc, where)
    return Manifest(
        kind="backup", id=_text(doc, "id", where), server_id=_text(doc, "server_id", where),
        workspace=_text(doc, "workspace", where), created_at=_text(doc, "created_at", where),
        trigger=_text(doc, "trigger", where), tier=_text(doc, "tier", where), message=_text(doc, "message", where),
        serial=_int(doc, "serial", where), lineage=_text(doc, "lineage", where),
        parts={"state": part}, counts={"resources": _int(doc, "resources", where)},
        format_version=LEGACY_BACKUP_FORMAT,
    )
