"""Checking one stored bundle as a whole, part by part, as ``restic check --read-data`` does, in bounded memory.

:func:`check_bundle` takes a catalog item and the :class:`Layout` its id gives and reports every failure
it finds rather than stopping at the first: the item (damaged, a manifest that does not verify, part keys
that are not the layout's), the stored ``manifest.json`` (missing, or not the item's), the manifest's MAC
(:meth:`BundleRepository.authenticate`: one that fails stops the check, no part is read), the bundle's claim
against the ceiling (over it: no part is read), then **every part the manifest lists**, each streamed from
storage and checked for its recorded stored size and checksum, then decompressed and checked for its
recorded plain size and checksum, and finally handed to the kind's ``validate`` (a state parses, a JSON
document is one) when it is small enough to hold. Images a snapshot lists in ``extra.media`` are checked by
:func:`check_image` (once per server; the caller keeps the results). Nothing is ever held whole but a part
up to ``VALIDATE_LIMIT`` plain bytes; ``bytes_read`` counts the stored bytes really read, never a claim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from gaib.bundles import codec
from gaib.bundles.manifest import Manifest
from gaib.bundles.media import MAX_IMAGE_BYTES
from gaib.bundles.order import Written, written_of
from gaib.bundles.repository import BundleRepository, Layout, claim
from gaib.errors import GaibError, IntegrityError, NotFound
from gaib.storage.keys import media_key

VALIDATE_LIMIT: Final = 64 * 1024 * 1024
"""Parts up to this many plain bytes are also decoded by the kind's validator (a state, a JSON document)."""

Validate = Callable[[str, str, bytes], None]
"""``validate(part name, key, plain bytes)``: raises IntegrityError when the content is not what the part holds."""


@dataclass(frozen=True)
class Failure:
    """One thing that failed its check: ``part`` is a part name, ``manifest.json``, ``catalog item``,
    ``ceiling`` or ``media/{sha256}``; ``key`` the object it is stored at, when there is one."""

    part: str
    key: str | None
    error: GaibError


@dataclass
class Checked:
    """What :func:`check_bundle` found: the manifest (None when the item could not be read), the
    catalog's stamp, every failure, and the stored bytes it read."""

    manifest: Manifest | None = None
    written: Written = field(default_factory=Written)
    failures: list[Failure] = field(default_factory=list)
    bytes_read: int = 0
    authenticated: bool | None = None
    """Whether the manifest's MAC verified (False: it has none, written before sealing); None when unread."""


class _Counting:
    """Stored chunks, counted as they are read (what ``bytes_read`` reports)."""

    def __init__(self, chunks: Iterable[bytes], checked: Checked) -> None:
        self._chunks = chunks
        self._checked = checked

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._checked.bytes_read += len(chunk)
            yield chunk


def check_bundle(repo: BundleRepository, item: Mapping[str, Any], layout: Layout, where: str, *,
                 identify: Callable[[Manifest], None] | None = None,
                 validate: Validate | None = None) -> Checked:
    """Check the bundle of ``item`` (see the module docstring). ``identify`` raises when the verified
    manifest is not the bundle the item's key names (another id, server or kind); storage failures are
    reported like the rest (their error codes tell them apart)."""
    out = Checked()
    try:
        out.manifest = repo.manifest(dict(item), replace(layout, manifest_key=None), where)
        if identify is not None:
            identify(out.manifest)
        out.written = written_of(item, where)
    except GaibError as exc:
        out.failures.append(Failure("catalog item", None, exc))
        return out
    manifest = out.manifest
    try:
        out.authenticated = repo.authenticate(manifest)
    except GaibError as exc:  # another server's copy, an edited manifest: nothing of it is read
        out.failures.append(Failure("manifest MAC", None, exc))
        return out
    if layout.manifest_key is not None:
        try:
            repo.manifest(dict(item), layout, where)
        except GaibError as exc:
            out.failures.append(Failure("manifest.json", layout.manifest_key, exc))
    try:
        repo.check_ceiling(manifest)
    except GaibError as exc:
        out.failures.append(Failure("ceiling", None, exc))
        return out
    for name, part in manifest.parts.items():
        try:
            _check_part(repo, manifest, name, out, validate)
        except GaibError as exc:
            out.failures.append(Failure(name, part.key, exc))
    return out


def _check_part(repo: BundleRepository, manifest: Manifest, name: str, out: Checked,
                validate: Validate | None) -> None:
    part = manifest.part(name)
    try:
        stored = repo.store.stream(part.key)
    except NotFound:
        raise IntegrityError(f"Stored object {part.key} of {manifest.kind} {manifest.id} is missing.",
                             details={"key": part.key}) from None
    keep = validate is not None and part.plain_size <= VALIDATE_LIMIT
    plain = bytearray()
    for chunk in codec.decode_stream(_Counting(stored, out), claim(part)):
        if keep:
            plain += chunk
    if keep and validate is not None:
        validate(name, part.key, bytes(plain))


def check_image(repo: BundleRepository, server_id: str, digest: str, listed: object, out: Checked) -> GaibError | None:
    """Check one image a snapshot lists (``listed``: its ``{size, type}`` entry): stored at its key, of
    its listed size, with its sha256. Returns the failure (None: it passed); bytes read go to ``out``."""
    size = listed.get("size") if isinstance(listed, Mapping) else None
    try:
        key = media_key(server_id, digest)
    except GaibError as exc:
        return exc
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_IMAGE_BYTES:
        return IntegrityError(f"The manifest lists image {digest[:64]} without a size it could have.",
                              details={"key": key})
    try:
        stored = repo.store.stream(key)
    except NotFound:
        return IntegrityError(f"The image stored as {key} is missing.", details={"key": key})
    except GaibError as exc:
        return exc
    sha, seen = hashlib.sha256(), 0
    try:
        for chunk in _Counting(stored, out):
            seen += len(chunk)
            if seen > size:
                break
            sha.update(chunk)
    except GaibError as exc:
        return exc
    if seen != size or sha.hexdigest() != digest:
        return IntegrityError(f"The image stored as {key} is corrupted: its size or checksum does not match.",
                              details={"key": key})
    return None
