"""The storage ports: ``ObjectStore`` (bytes under keys) and ``Catalog`` (small items under pk/sk).

Both have two adapters (local folder + SQLite, S3 + DynamoDB) that pass one contract suite
(tests/storage/test_contract.py). The contract, shared by every adapter:

* Objects are never overwritten: ``put`` on an existing key raises ``Conflict`` and leaves the old
  bytes untouched. ``get``/``head``/``tags`` on a missing key raise ``NotFound``; ``delete`` is
  idempotent; ``list`` yields objects sorted by key.
* Documents (a registry, a schedule, the latest export) are the one exception: they change, but only
  through ``replace``, a compare-and-swap on the ``generation`` read with ``get_document`` (or
  ``head``). A replace that lost a race raises ``Conflict`` and changes nothing; the caller re-reads
  and retries (``gaib.storage.documents.update_document`` does exactly that). A reader sees the
  old or the new document, never a mix. A generation is opaque (the sha256 of the bytes locally,
  the ETag on S3): it changes whenever the bytes do, and the same bytes may bring an earlier
  generation back, which is harmless for a swap of the whole document. ``get``, ``head``,
  ``tags``, ``list`` and ``delete`` treat documents like any other object; ``put`` still refuses
  an existing document.
* Tags: ``put`` and ``replace`` store a tag set with the object; ``set_tags`` replaces the whole set of
  an existing object (its bytes, generation and content type stay as they are), so lifecycle and
  replication rules keyed on a tag (``Tier=premium``) apply to objects written before a change.
* Batches: ``delete_many`` and ``Catalog.delete_many`` remove many keys in few requests (S3
  ``DeleteObjects``, DynamoDB ``BatchWriteItem``); ``Catalog.get_many`` reads many items in few (DynamoDB
  ``BatchGetItem``). Both are idempotent; when they fail they raise
  ``StorageError`` and any of the keys may or may not be gone (the caller must assume either).
* Keys are ``/``-separated segments of ASCII letters, digits, ``.``, ``_`` and ``-``, each segment
  starting with a letter or digit (so no ``..``, no hidden files, no escapes); anything else raises
  ``InvalidName`` (exit 6) before a path or request is built. ``gaib.storage.keys`` is the only
  place that builds keys; this check is defence in depth.
* Catalog items are plain JSON-like dicts (str, int, float, bool, None, list, dict). Integral
  numbers come back as ``int``, other numbers as ``float``. ``PK`` and ``SK`` are reserved.
* Index: an item carrying ``server_tier`` (a name: 1-64 letters, digits, ``-`` or ``_``) is listed
  by ``index_query(TIER_INDEX, value)``; setting the field to None removes the item from the index.
* Expiry: an item whose ``expires_at`` (epoch seconds, int) is at or before the adapter's clock is
  treated as absent by ``get``, ``query``, ``index_query``, ``update`` and ``put_if_absent``
  (DynamoDB's TTL deletes lazily, so the adapters hide expired items themselves). ``increment``
  restarts an expired counter.
* Failures of the backend itself raise ``StorageError`` (exit 1); boto3/sqlite exceptions never leak.
* Damage: an item whose stored form cannot be decoded into a JSON-like dict (bit rot, a hand edit)
  is never an exception that hides every other item: ``get`` and ``query`` return it as
  ``{DAMAGED_FIELD: {"pk", "sk", "reason"}}`` (see :func:`damaged_reason`), so a caller can report
  and skip it, or delete it; ``update`` refuses it with ``IntegrityError`` (DynamoDB, which
  cannot tell before it writes, may have set the given fields by then) and ``increment`` with
  ``IntegrityError`` locally, ``StorageError`` or ``CeilingReached`` on DynamoDB.
  ``DAMAGED_FIELD`` is reserved: no written item may carry it.
* Write order: ``put_sequenced`` creates an item stamped with the next value of a counter item and
  with the catalog's own time, in one conditional write, so the order of a server's bundles is the
  order the catalog accepted them, never a time a client produced. ``storage_time`` is that clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from gaib.errors import EXIT_TIER_LIMIT, Conflict, GaibError, InvalidInput, InvalidName, NotFound, StorageError
from gaib.names import NAME_PATTERN

__all__ = [
    "COUNTER_FIELD",
    "DAMAGED_FIELD",
    "DEFAULT_CONTENT_TYPE",
    "EXPIRES_FIELD",
    "INDEXES",
    "SEQUENCE_FIELD",
    "STREAM_CHUNK",
    "TIER_INDEX",
    "TIER_INDEX_FIELD",
    "WRITTEN_AT_FIELD",
    "Catalog",
    "CeilingReached",
    "Conflict",
    "Item",
    "KeyPage",
    "NotFound",
    "ObjectInfo",
    "ObjectStore",
    "Page",
    "StorageError",
    "StoredDocument",
    "check_catalog_key",
    "check_index",
    "check_index_value",
    "check_key",
    "check_prefix",
    "check_tags",
    "damaged_item",
    "damaged_key",
    "damaged_reason",
    "document_conflict",
]

Item = dict[str, Any]

DEFAULT_CONTENT_TYPE = "application/octet-stream"
COUNTER_FIELD = "count"
"""The item field ``Catalog.increment`` counts in."""
EXPIRES_FIELD = "expires_at"
"""Epoch seconds after which an item is treated as gone (DynamoDB's TTL attribute)."""
TIER_INDEX = "tier-index"
"""The catalog's one secondary index (the Terraform's GSI): servers by tier."""
TIER_INDEX_FIELD = "server_tier"
"""The item field ``TIER_INDEX`` is keyed on; only the ``SERVER#{id}/TIER`` item carries it."""
INDEXES: dict[str, str] = {TIER_INDEX: TIER_INDEX_FIELD}
"""Every index ``Catalog.index_query`` knows, with the item field it is keyed on."""
SEQUENCE_FIELD = "sequence"
"""The write sequence ``Catalog.put_sequenced`` stamps on an item (1, 2, ... per counter item)."""
WRITTEN_AT_FIELD = "written_at"
"""The catalog's own time (epoch seconds) when ``Catalog.put_sequenced`` wrote the item."""
DAMAGED_FIELD = "_gaib_damaged"
"""The one field of the stand-in a catalog returns for an item it cannot decode (see the module doc)."""

MAX_KEY_BYTES = 1024
STREAM_CHUNK = 1024 * 1024
"""The default chunk of ``ObjectStore.stream``."""

_SEGMENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_PREFIX_TAIL_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,254})?")
_CATALOG_KEY_RE = re.compile(r"[\x21-\x7e]{1,1024}")
_INDEX_VALUE_RE = re.compile(NAME_PATTERN)
_TAG_KEY_RE = re.compile(r"[A-Za-z0-9 +\-=._:/@]{1,128}")
_TAG_VALUE_RE = re.compile(r"[A-Za-z0-9 +\-=._:/@]{0,256}")
MAX_TAGS = 10


class CeilingReached(GaibError):
    """``Catalog.increment`` refused: the counter would pass its ceiling. Nothing was changed.

    Storage-level; the tier service maps it to ``TierLimit`` with a message a user understands.
    """

    code = "COUNTER_CEILING_REACHED"
    exit_code = EXIT_TIER_LIMIT
    default_hint = "Wait for the quota to reset, or upgrade the server to the premium tier."

    def __init__(self, pk: str, sk: str, ceiling: int) -> None:
        super().__init__(
            f"Counter {pk}/{sk} is at its ceiling of {ceiling}.",
            details={"pk": pk, "sk": sk, "ceiling": ceiling},
        )
        self.pk = pk
        self.sk = sk
        self.ceiling = ceiling


# The four value types below are named tuples, not dataclasses: every command loads this module, and a
# frozen dataclass costs as much to create as a twelfth of bare Python's start-up.


class ObjectInfo(NamedTuple):
    """What a store knows about one object.

    ``content_type`` is filled by ``head``; ``generation`` (the opaque token ``replace`` compares)
    by ``head``, ``put`` and ``replace``. ``list`` leaves both None.
    """

    key: str
    size: int
    modified: datetime | None = None
    content_type: str | None = None
    generation: str | None = None


class StoredDocument(NamedTuple):
    """A document's bytes and the generation they were read at (pass it to ``replace``)."""

    data: bytes
    generation: str


class Page(NamedTuple):
    """One page of a catalog query; pass ``next_cursor`` back to get the next (None: no more).

    ``sort_keys`` holds each item's sort key, in the same order (the adapters always fill it), so an
    item whose own fields are damaged can still be named by its key.
    """

    items: list[Item]
    next_cursor: str | None
    sort_keys: Sequence[str] = ()


class KeyPage(NamedTuple):
    """One page of an index query: the (pk, sk) of the matching items; ``next_cursor`` as in ``Page``."""

    keys: list[tuple[str, str]]
    next_cursor: str | None


@runtime_checkable
class ObjectStore(Protocol):
    """Objects under keys (S3 semantics): written once by ``put``, except documents, which change
    only by compare-and-swap (``replace``)."""

    def put(
        self,
        key: str,
        data: bytes,
        *,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Store ``data`` at ``key``. Never overwrites: raises ``Conflict`` if the key exists."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes at ``key``; raises ``NotFound``."""
        ...

    def stream(self, key: str, *, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        """The bytes at ``key`` in order, as chunks of at most ``chunk_size`` bytes read as they are
        consumed, so an object never sits whole in memory. Raises ``NotFound`` at the call, before any
        chunk, when the key does not exist; a failure while reading raises ``StorageError`` from the
        iteration. Exhaust or close the iterator to release the file or connection."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Size, modification time and content type of ``key``; raises ``NotFound``."""
        ...

    def tags(self, key: str) -> dict[str, str]:
        """The tags stored with ``key``; raises ``NotFound``."""
        ...

    def set_tags(self, key: str, tags: Mapping[str, str]) -> None:
        """Replace the whole tag set of ``key`` with ``tags`` (checked like ``put``'s); the bytes,
        generation and content type are unchanged. Raises ``NotFound`` (and writes nothing) when the
        key does not exist, ``InvalidInput`` for bad tags."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``. Idempotent: deleting a missing key is not an error."""
        ...

    def delete_many(self, keys: Sequence[str]) -> None:
        """Remove every key in ``keys`` (idempotent, like ``delete``), in as few requests as the backend
        allows. Every key is checked before anything is removed. Raises ``StorageError`` when some key
        could not be removed; any of the keys may then be gone or still there."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""
        ...

    def get_document(self, key: str) -> StoredDocument:
        """The bytes at ``key`` with their generation, read together; raises ``NotFound``."""
        ...

    def replace(
        self,
        key: str,
        data: bytes,
        *,
        expected_generation: str | None,
        tags: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        """Compare-and-swap: store ``data`` (with these tags and content type) at ``key`` only if the
        stored generation is still ``expected_generation``; ``None`` means "create only". Returns the
        new object's info with its new generation.

        Raises ``Conflict`` and changes nothing when the document changed, was deleted or (for
        ``None``) already exists. Readers see the old or the new document, never a mix.
        """
        ...


@runtime_checkable
class Catalog(Protocol):
    """Small items under (partition key, sort key), DynamoDB semantics."""

    def put_if_absent(self, pk: str, sk: str, item: Mapping[str, Any]) -> None:
        """Create the item; raises ``Conflict`` if a live (unexpired) item has that key."""
        ...

    def put_sequenced(self, pk: str, sk: str, item: Mapping[str, Any], *, counter_sk: str) -> Item:
        """Create the item as ``put_if_absent`` does, with ``SEQUENCE_FIELD`` set to the next value of
        the counter item ``(pk, counter_sk)`` (its ``count``: 1, 2, ...), taken with an atomic conditional
        write, and ``WRITTEN_AT_FIELD`` to the catalog's own time (:meth:`storage_time`, whole seconds).
        So the sequences of one counter are unique and follow the order in which writers took them
        (for writes that do not overlap, the order they were written), whatever their clocks say.
        Values the caller gives for either field are replaced. Returns the item as stored. Raises
        ``Conflict`` if a live item has the key: the item is left unchanged, and the number taken may
        stay unused (SQLite takes it in the item's transaction; DynamoDB in a request before it)."""
        ...

    def storage_time(self) -> float | None:
        """The catalog's own current time in epoch seconds, never the clock it was handed (which is the
        caller's): SQLite's is the clock of the machine holding the file; DynamoDB's is the ``Date``
        header of the newest response its storage sent (DynamoDB's or S3's), moved on by the
        monotonic time since. None while no response has been seen. Costs no request."""
        ...

    def get(self, pk: str, sk: str) -> Item | None:
        """The item, or None if it is absent or expired."""
        ...

    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        limit: int = 100,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> Page:
        """Live items of ``pk`` whose sk starts with ``sk_prefix``, by sk (descending when
        ``newest_first``), at most ``limit`` per page. A bad cursor raises ``InvalidInput``."""
        ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The live items among ``keys``, by ``(pk, sk)``; absent and expired ones are left out.

        Reads in as few requests as the backend allows (DynamoDB: one strongly consistent
        ``BatchGetItem`` per 100 keys; SQLite: one query). Every key is checked first
        (``InvalidName``); duplicates are read once.
        """
        ...

    def delete(self, pk: str, sk: str) -> None:
        """Remove the item. Idempotent."""
        ...

    def delete_many(self, keys: Sequence[tuple[str, str]]) -> None:
        """Remove every ``(pk, sk)`` item (idempotent), in as few requests as the backend allows. Every
        key is checked before anything is removed. Raises ``StorageError`` when some item could not be
        removed; any of them may then be gone or still there."""
        ...

    def update(self, pk: str, sk: str, changes: Mapping[str, Any]) -> Item:
        """Set the given fields of a live item and return the whole new item; raises ``NotFound``."""
        ...

    def increment(
        self,
        pk: str,
        sk: str,
        *,
        by: int = 1,
        ceiling: int | None = None,
        expires_at: int | None = None,
    ) -> int:
        """Atomically add ``by`` to the item's ``count`` field (creating the item at 0) and return
        the new value. If the new value would exceed ``ceiling``, raise ``CeilingReached`` and
        change nothing. ``expires_at``, when given, is stored on the item."""
        ...

    def index_query(self, index: str, value: str, *, limit: int = 100, cursor: str | None = None) -> KeyPage:
        """The (pk, sk) of live items whose indexed field equals ``value``, sorted by pk, at most
        ``limit`` per page (the index is sparse: one ``TIER`` item per server). Only ``TIER_INDEX``
        exists; another index name, a value that is not a name, or a bad cursor raises
        ``InvalidInput``/``InvalidName`` (exit 6).

        On DynamoDB this reads a global secondary index, which is eventually consistent: an item
        written a moment ago may be missing for a moment. Every key returned was checked to be live
        and still carry ``value`` when the page was read.
        """
        ...


def damaged_item(pk: str, sk: str, reason: str) -> Item:
    """The stand-in for a stored item that cannot be decoded (adapters only)."""
    return {DAMAGED_FIELD: {"pk": pk, "sk": sk, "reason": reason[:200]}}


def damaged_reason(item: Mapping[str, Any]) -> str | None:
    """Why ``item`` could not be decoded, or None for a readable item."""
    marker = item.get(DAMAGED_FIELD)
    if not isinstance(marker, Mapping):
        return None
    return str(marker.get("reason") or "it cannot be decoded")


def damaged_key(item: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (pk, sk) of a damaged item's stand-in, or None for a readable item."""
    marker = item.get(DAMAGED_FIELD)
    if not isinstance(marker, Mapping):
        return None
    return str(marker.get("pk", "")), str(marker.get("sk", ""))


def _invalid_key(what: str, value: object) -> InvalidName:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "...'"
    return InvalidName(
        f"Invalid {what} {shown}: it must be '/'-separated segments of letters, digits, '.', '_' or '-', "
        "each starting with a letter or digit.",
        details={"field": what},
    )


def check_key(key: object) -> str:
    """Return ``key`` if it is a safe object key; raise ``InvalidName`` otherwise."""
    if not isinstance(key, str) or not key or len(key.encode("utf-8", "replace")) > MAX_KEY_BYTES:
        raise _invalid_key("object key", key)
    if not all(_SEGMENT_RE.fullmatch(part) for part in key.split("/")):
        raise _invalid_key("object key", key)
    return key


def check_prefix(prefix: object) -> str:
    """Return ``prefix`` if it is empty or a safe start of a key (may end in '/' or mid-segment)."""
    if not isinstance(prefix, str) or len(prefix.encode("utf-8", "replace")) > MAX_KEY_BYTES:
        raise _invalid_key("key prefix", prefix)
    if prefix == "":
        return prefix
    *dirs, tail = prefix.split("/")
    if not all(_SEGMENT_RE.fullmatch(part) for part in dirs) or not _PREFIX_TAIL_RE.fullmatch(tail):
        raise _invalid_key("key prefix", prefix)
    return prefix


def check_catalog_key(value: object, what: str = "catalog key", *, allow_empty: bool = False) -> str:
    """Return ``value`` if it is printable ASCII without spaces, 1-1024 characters (or empty when allowed)."""
    if allow_empty and value == "":
        return ""
    if not isinstance(value, str) or not _CATALOG_KEY_RE.fullmatch(value):
        raise _invalid_key(what, value)
    return value


def check_index(index: object) -> str:
    """The field ``index`` is keyed on; raises ``InvalidInput`` for an index the catalog does not have."""
    if not isinstance(index, str) or index not in INDEXES:
        shown = repr(index)[:60]
        raise InvalidInput(f"Unknown catalog index {shown}; the catalog has only {sorted(INDEXES)}.",
                           details={"field": "index"})
    return INDEXES[index]


def check_index_value(value: object, what: str = "indexed value") -> str:
    """Return ``value`` if it can be an indexed value (a name: 1-64 letters, digits, '-' or '_');
    raise ``InvalidName`` (exit 6) otherwise."""
    if not isinstance(value, str) or not _INDEX_VALUE_RE.fullmatch(value):
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "...'"
        raise InvalidName(
            f"Invalid {what} {shown}: it must be 1-64 letters, digits, '-' or '_', starting with a letter or digit.",
            hint="Index values are names such as 'free' or 'premium'.",
            details={"field": what},
        )
    return value


def document_conflict(key: str, expected_generation: str | None, *, deleted: bool = False) -> Conflict:
    """The ``Conflict`` a lost compare-and-swap raises (the same words for every adapter)."""
    if expected_generation is None:
        return Conflict(f"Document {key} already exists; read it and replace its generation instead.",
                        hint="Read the document again and retry.", details={"key": key})
    what = "was deleted" if deleted else "changed"
    return Conflict(f"Document {key} {what} since it was read; nothing was written.",
                    hint="Read the document again and retry.", details={"key": key})


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Validate object tags against S3's rules (at most 10; key 1-128, value 0-256 safe characters)."""
    if not tags:
        return {}
    out: dict[str, str] = {}
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags may be set on an object, got {len(tags)}.")
    for k, v in tags.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidInput("Object tags must map strings to strings.")
        if not _TAG_KEY_RE.fullmatch(k) or not _TAG_VALUE_RE.fullmatch(v):
            raise InvalidInput(
                f"Invalid object tag {k[:40]!r}: use letters, digits, spaces and + - = . _ : / @ only.",
                details={"field": "tags"},
            )
        out[k] = v
    return out

