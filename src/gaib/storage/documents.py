"""Read-modify-write of a stored document (registry, schedule, latest export) that survives races.

``update_document`` reads the document with its generation, lets the caller compute the new bytes,
and writes them with ``ObjectStore.replace`` against the generation it read. When another writer
got there first, the swap raises ``Conflict`` and the whole round (read, change, write) runs again
on the newer document, so no update is ever lost. Works with every ``ObjectStore``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from gaib import safejson
from gaib.errors import Conflict, IntegrityError, InvalidInput, StorageError
from gaib.storage.base import DEFAULT_CONTENT_TYPE, NotFound, ObjectStore, StoredDocument

DEFAULT_ATTEMPTS = 8
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
_FIRST_PAUSE = 0.005
_MAX_PAUSE = 1.0


def update_document(
    store: ObjectStore,
    key: str,
    change: Callable[[bytes | None], bytes],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    tags: Mapping[str, str] | None = None,
    content_type: str = DEFAULT_CONTENT_TYPE,
) -> StoredDocument:
    """Apply ``change`` to the document at ``key`` and return what was stored, with its generation.

    ``change(old)`` gets the current bytes (None if there is no document yet) and returns the new
    bytes; it is called again after every lost race, so it must not have side effects beyond its
    result. If it returns the bytes unchanged, nothing is written (the stored tags stay as they
    are). Lost races are retried after a short random pause; after ``attempts`` rounds it gives up
    with ``Conflict`` (exit 3) and nothing of this call is stored. Other errors (``InvalidName``,
    ``StorageError``...) and exceptions raised by ``change`` pass through at once.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        raise InvalidInput(f"The number of attempts must be between 1 and 1000, got {attempts!r}.")
    for attempt in range(attempts):
        started = time.monotonic()
        try:
            current: StoredDocument | None = store.get_document(key)
        except NotFound:
            current = None
        old = current.data if current is not None else None
        new = change(old)
        if not isinstance(new, (bytes, bytearray)):
            raise TypeError(f"update_document: change() returned {type(new).__name__}, not bytes")
        if current is not None and bytes(new) == current.data:
            return current
        try:
            info = store.replace(
                key,
                bytes(new),
                expected_generation=current.generation if current is not None else None,
                tags=tags,
                content_type=content_type,
            )
        except Conflict:
            if attempt + 1 < attempts:
                # Random pauses that grow from one round's duration: racing writers spread out
                # instead of colliding again, on a fast disk as on a slow network.
                round_trip = max(_FIRST_PAUSE, time.monotonic() - started)
                time.sleep(random.uniform(0, min(_MAX_PAUSE, round_trip * 2**attempt)))
            continue
        if info.generation is None:
            raise StorageError(f"The store wrote {key} but returned no generation for it.")
        return StoredDocument(data=bytes(new), generation=info.generation)
    raise Conflict(
        f"Document {key} kept changing under this update; gave up after {attempts} attempts.",
        hint="Other Gaib runs are updating it right now. Run the command again.",
        details={"key": key, "attempts": attempts},
    )


def decode_json_document(data: bytes, key: str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """The JSON object of a stored document (registry, schedule ...): the one reader of their bytes.

    Anything else — not UTF-8, not JSON, larger than ``max_bytes``, nested deeper than 64 levels,
    huge numbers, or a JSON value that is not an object — raises ``IntegrityError`` (exit 3) naming
    ``key``; callers check the fields they use.
    """
    try:
        doc = safejson.loads(data, max_bytes=max_bytes)
    except safejson.JsonProblem as exc:
        raise IntegrityError(f"Stored document {key} cannot be read: {exc}.", details={"key": key}) from None
    if not isinstance(doc, dict):
        raise IntegrityError(f"Stored document {key} is {safejson.kind_of(doc)}, not a JSON object.",
                             details={"key": key})
    return doc
