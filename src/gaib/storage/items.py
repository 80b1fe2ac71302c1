"""Catalog item rules shared by both catalog adapters: validation, number normalisation, cursors.

Items are JSON-like. DynamoDB has no floats and stores numbers as decimals, so the rule both
adapters follow is: integral numbers (``3``, ``3.0``) are stored and returned as ``int``, others as
``float``. NaN and infinities are refused. An item is at most ``MAX_ITEM_BYTES`` of JSON (DynamoDB's
400 KB item limit with room for its own overhead) and 32 levels deep. An indexed field
(``server_tier``) holds a name or is absent: DynamoDB refuses anything but a non-empty string as a
secondary-index key, so both adapters refuse it up front.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from gaib import safejson
from gaib.errors import IntegrityError, InvalidInput, InvalidName, StorageError
from gaib.storage.base import (
    COUNTER_FIELD,
    DAMAGED_FIELD,
    EXPIRES_FIELD,
    INDEXES,
    SEQUENCE_FIELD,
    WRITTEN_AT_FIELD,
    Item,
    check_catalog_key,
    check_index,
    check_index_value,
    damaged_item,
    damaged_reason,
)

MAX_ITEM_BYTES = 350_000
MAX_DEPTH = 32
MAX_INT_DIGITS = 38  # DynamoDB's number precision
RESERVED_FIELDS = frozenset({"PK", "SK", DAMAGED_FIELD})
REMOVABLE_FIELDS = frozenset({EXPIRES_FIELD, *INDEXES.values()})
"""Fields an ``update`` removes when given None (absent means "never expires" / "in no index")."""


def _normalise(value: Any, depth: int, path: str) -> Any:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"Catalog item is nested deeper than {MAX_DEPTH} levels at {path}.")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INT_DIGITS:
            raise InvalidInput(f"Catalog item number at {path} has more than {MAX_INT_DIGITS} digits.")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"Catalog item number at {path} is not finite.")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInput(f"Catalog item field names must be strings (at {path}).")
            out[k] = _normalise(v, depth + 1, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_normalise(v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value)]
    raise InvalidInput(f"Catalog item value at {path} is a {type(value).__name__}, which cannot be stored.")


def normalise_item(item: Mapping[str, Any], *, partial: bool = False) -> Item:
    """A validated deep copy of ``item`` with numbers normalised; raises ``InvalidInput``.

    ``partial`` is for update changes: no size check (the adapter checks the merged item) and an
    ``expires_at`` or indexed field of None is kept, meaning "remove the field".
    """
    if not isinstance(item, Mapping):
        raise InvalidInput("A catalog item must be a mapping of field names to values.")
    out = _normalise(item, 1, "item")
    assert isinstance(out, dict)
    reserved = RESERVED_FIELDS & out.keys()
    if reserved:
        raise InvalidInput(f"Catalog item fields {sorted(reserved)} are reserved for the keys.")
    if EXPIRES_FIELD in out and out[EXPIRES_FIELD] is not None and (
        isinstance(out[EXPIRES_FIELD], bool) or not isinstance(out[EXPIRES_FIELD], int)
    ):
        raise InvalidInput(f"Catalog item field {EXPIRES_FIELD!r} must be epoch seconds (an integer).")
    for field in INDEXES.values():
        if out.get(field) is not None:
            check_index_value(out[field], field)
    if not partial:
        drop_removed(out)
        check_size(out)
    return out


def decode_item(body: str | bytes, pk: str, sk: str) -> Item:
    """The one reader of a stored catalog item body (JSON text): the item, or the damaged stand-in
    (see ``gaib.storage.base``) when the body is not a JSON object within the item limits."""
    try:
        data = safejson.loads(body, max_bytes=2 * MAX_ITEM_BYTES, max_depth=MAX_DEPTH,
                              max_int_digits=MAX_INT_DIGITS)
    except safejson.JsonProblem as exc:
        return damaged_item(pk, sk, str(exc))
    if not isinstance(data, dict):
        return damaged_item(pk, sk, f"{safejson.kind_of(data)}, not an object")
    return check_decoded(data, pk, sk)


def check_decoded(item: Item, pk: str, sk: str) -> Item:
    """``item`` if it holds only JSON-like values within the item limits, else the damaged stand-in."""
    try:
        _normalise(item, 1, "item")
    except InvalidInput as exc:
        return damaged_item(pk, sk, exc.message)
    if DAMAGED_FIELD in item:
        return damaged_item(pk, sk, f"it carries the reserved field {DAMAGED_FIELD!r}")
    return item


def refuse_damaged(item: Item, pk: str, sk: str) -> Item:
    """``item``, or IntegrityError (exit 3) if it is the damaged stand-in: a write never builds on it."""
    reason = damaged_reason(item)
    if reason is not None:
        raise IntegrityError(f"Catalog item {pk}/{sk} is damaged ({reason}); it was left unchanged.",
                             hint="Delete the damaged backup or snapshot it belongs to, then retry.",
                             details={"pk": pk, "sk": sk})
    return item


def drop_removed(item: Item) -> Item:
    """Remove the removable fields set to None from ``item`` (in place) and return it."""
    for field in REMOVABLE_FIELDS:
        if field in item and item[field] is None:
            del item[field]
    return item


def check_size(item: Item) -> None:
    size = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_ITEM_BYTES:
        raise InvalidInput(f"Catalog item is {size} bytes; at most {MAX_ITEM_BYTES} fit.")


def sequenced(item: Item, counter: Item | None, pk: str, counter_sk: str, written_at: float | None) -> Item:
    """What ``Catalog.put_sequenced`` stores: ``item`` (normalised) stamped with the sequence after the
    ``count`` of ``counter`` (the counter item as read, None when absent) and with ``written_at`` (the
    catalog's time; the field is left out when unknown). Refuses a damaged counter (IntegrityError), a
    counter that is not a whole number (StorageError) and an item over the size limit (InvalidInput)."""
    current = refuse_damaged(counter, pk, counter_sk).get(COUNTER_FIELD, 0) if counter is not None else 0
    if isinstance(current, bool) or not isinstance(current, int):
        raise StorageError(f"Catalog item {pk}/{counter_sk} has a non-integer {COUNTER_FIELD!r} field.")
    out = {k: v for k, v in item.items() if k != WRITTEN_AT_FIELD}
    out[SEQUENCE_FIELD] = current + 1
    if written_at is not None:
        out[WRITTEN_AT_FIELD] = int(written_at)
    check_size(out)
    return out


def is_expired(item: Mapping[str, Any], now: int) -> bool:
    expires = item.get(EXPIRES_FIELD)
    return isinstance(expires, int) and not isinstance(expires, bool) and expires <= now


def _encode(payload: dict[str, str | int]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _bad_cursor() -> InvalidInput:
    return InvalidInput("The page cursor is malformed or belongs to another listing.",
                        hint="Start the listing again without a cursor.")


def _decode(cursor: object) -> dict[str, Any]:
    if not isinstance(cursor, str) or len(cursor) > 4096:
        raise _bad_cursor()
    try:
        data = safejson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")), max_depth=2)
    except (ValueError, binascii.Error, UnicodeError):
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise _bad_cursor()
    return data


def encode_cursor(pk: str, sk: str) -> str:
    """An opaque cursor pointing after (pk, sk)."""
    return _encode({"v": 1, "pk": pk, "sk": sk})


def decode_cursor(cursor: str, pk: str, sk_prefix: str) -> str:
    """The sk a cursor points after; raises ``InvalidInput`` for a cursor not made for this query."""
    data = _decode(cursor)
    sk = data.get("sk")
    if data.get("pk") != pk or "ix" in data or not isinstance(sk, str) or not sk.startswith(sk_prefix):
        raise _bad_cursor()
    return sk


def encode_index_cursor(index: str, value: str, pk: str, sk: str) -> str:
    """An opaque cursor pointing after the item (pk, sk) in the listing of ``index`` = ``value``."""
    return _encode({"v": 1, "ix": index, "val": value, "pk": pk, "sk": sk})


def decode_index_cursor(cursor: str, index: str, value: str) -> tuple[str, str]:
    """The (pk, sk) an index cursor points after; raises ``InvalidInput`` for a cursor of another listing."""
    data = _decode(cursor)
    pk, sk = data.get("pk"), data.get("sk")
    if data.get("ix") != index or data.get("val") != value or not isinstance(pk, str) or not isinstance(sk, str):
        raise _bad_cursor()
    try:
        return check_catalog_key(pk, "partition key"), check_catalog_key(sk, "sort key")
    except InvalidName:
        raise _bad_cursor() from None


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput(f"The page size must be between 1 and 1000, got {limit!r}.")
    return limit


def check_counter_args(by: int, ceiling: int | None, expires_at: int | None) -> None:
    for name, value in (("by", by), ("ceiling", ceiling), ("expires_at", expires_at)):
        if value is None and name != "by":
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"Counter argument {name} must be an integer, got {value!r}.")


def check_query(pk: str, sk_prefix: str, limit: int, cursor: str | None) -> str | None:
    """Validate a ``Catalog.query`` call the same way for every adapter; returns the sk to start after."""
    check_catalog_key(pk, "partition key")
    check_catalog_key(sk_prefix, "sort key prefix", allow_empty=True)
    check_limit(limit)
    return decode_cursor(cursor, pk, sk_prefix) if cursor is not None else None


def check_index_query(index: str, value: str, limit: int, cursor: str | None) -> tuple[str, tuple[str, str] | None]:
    """Validate a ``Catalog.index_query`` call the same way for every adapter.

    Returns the indexed field and the (pk, sk) to start after (None: from the start).
    """
    field = check_index(index)
    check_index_value(value)
    check_limit(limit)
    return field, decode_index_cursor(cursor, index, value) if cursor is not None else None
