"""``Catalog`` over a DynamoDB table (``gaib-backup-metadata``: hash key ``PK``, range key ``SK``,
TTL attribute ``expires_at``).

* ``put_if_absent``: ``PutItem`` with ``attribute_not_exists(PK) OR expires_at <= :now``.
* ``query``: ``Query`` with ``ScanIndexForward=False`` for newest first; expired items are filtered
  (TTL deletes lazily, up to days late). Pages are filled to ``limit`` by following
  ``LastEvaluatedKey``; the cursor is the opaque encoding of the last returned key.
* ``put_sequenced``: ``increment`` of the counter (one atomic ``UpdateItem``; its response's ``Date``
  is the time stamped), then ``put_if_absent``. A refused put leaves its number unused (a gap).
* ``increment``: ``UpdateItem`` ``ADD count :by`` with a ``ConditionExpression`` keeping the new
  value at or under the ceiling — one atomic request on the common path.
* ``index_query``: ``Query`` on the global secondary index ``tier-index`` (hash ``server_tier``,
  range ``PK``, keys only), eventually consistent like every GSI read. A keys-only index cannot
  filter on ``expires_at``, so each page's keys are checked with one consistent ``BatchGetItem``
  (projecting only the keys, the indexed field and ``expires_at``): expired items, and items that
  moved to another value while the index lagged, are dropped. An item added a moment ago can still
  be missing until the index catches up.
* ``get_many``: consistent ``BatchGetItem``, 100 keys per request (the scheduler reads a page of
  servers' schedules and claims this way).
* ``delete_many``: ``BatchWriteItem`` with 25 deletes per request; unprocessed keys (throttling)
  are sent again with back-off, up to 8 rounds per batch.
* Numbers: floats go in as ``Decimal`` and come back as ``int`` when integral, else ``float``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from gaib import aws
from gaib.errors import Conflict, NotFound, StorageError
from gaib.storage.awsclient import RequestCounter, ResponseClock, make_client
from gaib.storage.base import (
    COUNTER_FIELD,
    EXPIRES_FIELD,
    CeilingReached,
    Item,
    KeyPage,
    Page,
    check_catalog_key,
    damaged_item,
)
from gaib.storage.items import (
    REMOVABLE_FIELDS,
    check_counter_args,
    check_decoded,
    check_index_query,
    check_query,
    encode_cursor,
    encode_index_cursor,
    is_expired,
    normalise_item,
    refuse_damaged,
    sequenced,
)

_CONDITION_FAILED = "ConditionalCheckFailedException"
_MAX_COUNTER_ATTEMPTS = 8
_BATCH_GET_KEYS = 100  # BatchGetItem's limit per request
_BATCH_WRITE_KEYS = 25  # BatchWriteItem's limit per request
_MAX_BATCH_ROUNDS = 8


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


class DynamoCatalog:
    """``Catalog`` over ``table``. ``clock`` returns epoch seconds; ``requests`` counts HTTP requests."""

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        counter: RequestCounter | None = None,
        clock: Callable[[], float] = time.time,
        response_clock: ResponseClock | None = None,
        role: aws.RoleSession | None = None,
    ) -> None:
        self._role = role  # a role session (one server's): its clients use that session's credentials
        self.table = table
        self.requests = counter if counter is not None else RequestCounter()
        self.response_clock = response_clock if response_clock is not None else ResponseClock()
        self._region, self._endpoint_url = region, endpoint_url
        self._clock = clock

    @functools.cached_property
    def client(self) -> Any:
        """The boto3 client, made on first use (a command refused before any I/O never pays for it)."""
        return make_client("dynamodb", region=self._region, endpoint_url=self._endpoint_url, counter=self.requests,
                           clock=self.response_clock, role=self._role)

    @functools.cached_property
    def _ser(self) -> Any:
        from boto3.dynamodb.types import TypeSerializer

        return TypeSerializer()

    @functools.cached_property
    def _de(self) -> Any:
        from boto3.dynamodb.types import TypeDeserializer

        return TypeDeserializer()

    def _now(self) -> int:
        return int(self._clock())

    def _encode(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(_to_dynamo(v)) for k, v in item.items()}

    def _decode(self, raw: Mapping[str, Any]) -> Item:
        """The item of a raw DynamoDB item, or the damaged stand-in (``gaib.storage.base.damaged_item``)
        when it holds something no Gaib writes (binary values, numbers past the item limits...)."""
        pk, sk = _key_text(raw, "PK"), _key_text(raw, "SK")
        try:
            item = {k: _from_dynamo(self._de.deserialize(v)) for k, v in raw.items() if k not in ("PK", "SK")}
        except Exception as exc:  # a malformed attribute value: TypeError, KeyError, decimal errors ...
            return damaged_item(pk, sk, f"an attribute cannot be decoded ({type(exc).__name__})")
        return check_decoded(item, pk, sk)

    def _value(self, value: Any) -> Any:
        return self._ser.serialize(_to_dynamo(value))

    def _call(self, op: str, what: str, **params: Any) -> Any:
        try:
            return getattr(self.client, op)(TableName=self.table, **params)
        except Exception as exc:
            if aws.error_code(exc) == _CONDITION_FAILED:
                raise _ConditionFailed() from None
            raise aws.translate(exc, f"{what} (DynamoDB table {self.table})") from None

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"PK": {"S": pk}, "SK": {"S": sk}}

    # --- Catalog -----------------------------------------------------------------------------

    def put_if_absent(self, pk: str, sk: str, item: Mapping[str, Any]) -> None:
        """Create the item; raises ``Conflict`` if a live item has the key (an expired one is replaced)."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        clean = normalise_item(item)
        try:
            self._call(
                "put_item",
                f"Saving catalog item {sk}",
                Item={**self._encode(clean), **self._key(pk, sk)},
                ConditionExpression="attribute_not_exists(PK) OR #e <= :now",
                ExpressionAttributeNames={"#e": EXPIRES_FIELD},
                ExpressionAttributeValues={":now": {"N": str(self._now())}},
            )
        except _ConditionFailed:
            raise Conflict(f"Catalog item {pk}/{sk} already exists; it was left unchanged.",
                           details={"pk": pk, "sk": sk}) from None

    def put_sequenced(self, pk: str, sk: str, item: Mapping[str, Any], *, counter_sk: str) -> Item:
        """Take the counter's next value (one atomic ``UpdateItem``), then ``put_if_absent`` the item stamped
        with it and with DynamoDB's time (the ``Date`` of that update); see ``Catalog``."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        clean = normalise_item(item)
        taken = self.increment(pk, counter_sk)
        written = sequenced(clean, {COUNTER_FIELD: taken - 1}, pk, counter_sk, self.storage_time())
        self.put_if_absent(pk, sk, written)
        return written

    def storage_time(self) -> float | None:
        """The ``Date`` of the newest response from this catalog's storage, moved on since; see ``Catalog``."""
        return self.response_clock.now()

    def _get_raw(self, pk: str, sk: str) -> Item | None:
        response = self._call("get_item", f"Reading catalog item {sk}", Key=self._key(pk, sk),
                              ConsistentRead=True)
        raw = response.get("Item")
        return None if raw is None else self._decode({**raw, **self._key(pk, sk)})

    def get(self, pk: str, sk: str) -> Item | None:
        """The live item or None (strongly consistent read)."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        item = self._get_raw(pk, sk)
        return None if item is None or is_expired(item, self._now()) else item

    def query(
        self,
        pk: str,
        sk_prefix: str = "",
        *,
        limit: int = 100,
        cursor: str | None = None,
        newest_first: bool = True,
    ) -> Page:
        """Live items of ``pk`` with sk starting with ``sk_prefix``, ordered by sk; see ``Catalog``."""
        after = check_query(pk, sk_prefix, limit, cursor)
        now = self._now()
        params: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk",
            "FilterExpression": "attribute_not_exists(#e) OR #e > :now",
            "ExpressionAttributeNames": {"#e": EXPIRES_FIELD},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":now": {"N": str(now)}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if sk_prefix:
            params["KeyConditionExpression"] += " AND begins_with(SK, :prefix)"
            params["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
        start = self._key(pk, after) if after is not None else None
        # One item past the page tells whether another page exists, so next_cursor is exact.
        collected: list[tuple[str, Item]] = []
        while len(collected) <= limit:
            if start is not None:
                params["ExclusiveStartKey"] = start
            response = self._call("query", "Listing the catalog", Limit=limit + 1 - len(collected), **params)
            for raw in response.get("Items", []):
                item = self._decode(raw)
                if not is_expired(item, now):
                    collected.append((raw["SK"]["S"], item))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        page = collected[:limit]
        more = len(collected) > limit
        return Page(items=[item for _, item in page], sort_keys=[sk for sk, _ in page],
                    next_cursor=encode_cursor(pk, page[-1][0]) if more and page else None)

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """The live items among ``keys``: one consistent ``BatchGetItem`` per 100 keys; see ``Catalog``."""
        unique = list(dict.fromkeys((check_catalog_key(pk, "partition key"), check_catalog_key(sk, "sort key"))
                                    for pk, sk in keys))
        now = self._now()
        return {key: item for key, item in self._batch_get(unique, None).items() if not is_expired(item, now)}

    def _batch_get(self, keys: Sequence[tuple[str, str]],
                   projection: dict[str, Any] | None) -> dict[tuple[str, str], Item]:
        """Every existing item among ``keys`` (expired ones included), ``BatchGetItem`` per 100 keys;
        unprocessed keys (throttling) are asked again with back-off."""
        found: dict[tuple[str, str], Item] = {}
        for i in range(0, len(keys), _BATCH_GET_KEYS):
            request: dict[str, Any] = {"Keys": [self._key(pk, sk) for pk, sk in keys[i:i + _BATCH_GET_KEYS]],
                                       "ConsistentRead": True, **(projection or {})}
            pending: dict[str, Any] = {self.table: request}
            for attempt in range(_MAX_BATCH_ROUNDS):
                try:
                    response = self.client.batch_get_item(RequestItems=pending)
                except Exception as exc:
                    raise aws.translate(exc, f"Reading catalog items (DynamoDB table {self.table})") from None
                for raw in response.get("Responses", {}).get(self.table, []):
                    found[(raw["PK"]["S"], raw["SK"]["S"])] = self._decode(raw)
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))  # throttled: back off as AWS asks
            else:
                raise StorageError(f"DynamoDB table {self.table} kept throttling a read of "
                                   f"{len(keys)} catalog items.", hint="Run the command again.")
        return found

    def delete(self, pk: str, sk: str) -> None:
        """Remove the item; idempotent."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        self._call("delete_item", f"Deleting catalog item {sk}", Key=self._key(pk, sk))

    def delete_many(self, keys: Sequence[tuple[str, str]]) -> None:
        """Remove every item with ``BatchWriteItem`` (25 per request); idempotent."""
        for pk, sk in keys:
            check_catalog_key(pk, "partition key")
            check_catalog_key(sk, "sort key")
        for i in range(0, len(keys), _BATCH_WRITE_KEYS):
            pending: dict[str, Any] = {
                self.table: [{"DeleteRequest": {"Key": self._key(pk, sk)}} for pk, sk in keys[i:i + _BATCH_WRITE_KEYS]]
            }
            for attempt in range(_MAX_BATCH_ROUNDS):
                try:
                    response = self.client.batch_write_item(RequestItems=pending)
                except Exception as exc:
                    raise aws.translate(exc, f"Deleting catalog items (DynamoDB table {self.table})") from None
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))  # throttled: back off as AWS asks
            else:
                raise StorageError(f"DynamoDB table {self.table} kept throttling the deletion of catalog items.",
                                   hint="Run the command again; deleting is idempotent.")

    def update(self, pk: str, sk: str, changes: Mapping[str, Any]) -> Item:
        """Set fields of a live item; returns the new item; raises ``NotFound``."""
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        clean = normalise_item(changes, partial=True)
        names: dict[str, str] = {"#e": EXPIRES_FIELD}
        values: dict[str, Any] = {":now": {"N": str(self._now())}}
        sets: list[str] = []
        removes: list[str] = []
        for i, (field, value) in enumerate(clean.items()):
            names[f"#f{i}"] = field
            if field in REMOVABLE_FIELDS and value is None:
                removes.append(f"#f{i}")
            else:
                values[f":v{i}"] = self._value(value)
                sets.append(f"#f{i} = :v{i}")
        expression = " ".join(
            part for part in (
                ("SET " + ", ".join(sets)) if sets else "",
                ("REMOVE " + ", ".join(removes)) if removes else "",
            ) if part
        )
        if not expression:
            item = self.get(pk, sk)
            if item is None:
                raise NotFound(f"Catalog item {pk}/{sk} does not exist.", details={"pk": pk, "sk": sk})
            return item
        try:
            response = self._call(
                "update_item",
                f"Updating catalog item {sk}",
                Key=self._key(pk, sk),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK) AND (attribute_not_exists(#e) OR #e > :now)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            raise NotFound(f"Catalog item {pk}/{sk} does not exist.", details={"pk": pk, "sk": sk}) from None
        return refuse_damaged(self._decode({**response.get("Attributes", {}), **self._key(pk, sk)}), pk, sk)

    def increment(
        self,
        pk: str,
        sk: str,
        *,
        by: int = 1,
        ceiling: int | None = None,
        expires_at: int | None = None,
    ) -> int:
        """Atomically add ``by`` to the item's ``count``; raises ``CeilingReached`` past ``ceiling``.

        Common path: one conditional ``UpdateItem``. When the condition fails, a consistent read
        tells a full counter (``CeilingReached``) from an expired one, which is restarted with a
        conditional ``PutItem`` guarded on the old ``expires_at``.
        """
        check_catalog_key(pk, "partition key")
        check_catalog_key(sk, "sort key")
        check_counter_args(by, ceiling, expires_at)
        for _ in range(_MAX_COUNTER_ATTEMPTS):
            now = self._now()
            names = {"#c": COUNTER_FIELD, "#e": EXPIRES_FIELD}
            values: dict[str, Any] = {":by": {"N": str(by)}, ":now": {"N": str(now)}}
            condition = "(attribute_not_exists(#e) OR #e > :now)"
            if ceiling is not None:
                values[":limit"] = {"N": str(ceiling - by)}
                if by <= ceiling:
                    condition += " AND (attribute_not_exists(#c) OR #c <= :limit)"
                else:
                    condition += " AND #c <= :limit"
            expression = "ADD #c :by"
            if expires_at is not None:
                expression += " SET #e = :exp"
                values[":exp"] = {"N": str(expires_at)}
            try:
                response = self._call(
                    "update_item",
                    f"Counting {sk}",
                    Key=self._key(pk, sk),
                    UpdateExpression=expression,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
            except _ConditionFailed:
                pass
            else:
                return int(response["Attributes"][COUNTER_FIELD]["N"])
            current = self._get_raw(pk, sk)
            if current is None:
                if ceiling is not None and by > ceiling:
                    raise CeilingReached(pk, sk, ceiling)
                continue  # deleted meanwhile; try again
            if not is_expired(current, now):
                if ceiling is not None:
                    raise CeilingReached(pk, sk, ceiling)
                continue
            if ceiling is not None and by > ceiling:
                raise CeilingReached(pk, sk, ceiling)
            fresh: Item = {COUNTER_FIELD: by}
            if expires_at is not None:
                fresh[EXPIRES_FIELD] = expires_at
            try:
                self._call(
                    "put_item",
                    f"Restarting counter {sk}",
                    Item={**self._encode(fresh), **self._key(pk, sk)},
                    ConditionExpression="#e = :old",
                    ExpressionAttributeNames={"#e": EXPIRES_FIELD},
                    ExpressionAttributeValues={":old": {"N": str(current[EXPIRES_FIELD])}},
                )
            except _ConditionFailed:
                continue  # someone else restarted or counted it first
            return by
        raise StorageError(f"Counter {pk}/{sk} is contended too heavily; gave up after "
                           f"{_MAX_COUNTER_ATTEMPTS} attempts.", hint="Run the command again.")

    def index_query(self, index: str, value: str, *, limit: int = 100, cursor: str | None = None) -> KeyPage:
        """(pk, sk) of live items whose indexed field equals ``value``, by pk; see ``Catalog``.

        Eventually consistent (a GSI): an item written a moment ago may be missing for a moment.
        Every returned key was confirmed live and still carrying ``value`` by a consistent read.
        """
        field, after = check_index_query(index, value, limit, cursor)
        params: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#f = :v",
            "ExpressionAttributeNames": {"#f": field},
            "ExpressionAttributeValues": {":v": {"S": value}},
            "ScanIndexForward": True,
        }
        start: dict[str, Any] | None = None
        if after is not None:
            start = {**self._key(*after), field: {"S": value}}
        collected: list[tuple[str, str]] = []
        while len(collected) <= limit:
            if start is not None:
                params["ExclusiveStartKey"] = start
            response = self._call("query", f"Listing the catalog's {index}",
                                  Limit=limit + 1 - len(collected), **params)
            found = [(raw["PK"]["S"], raw["SK"]["S"]) for raw in response.get("Items", [])]
            collected += self._confirm(found, field, value)
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        page = collected[:limit]
        more = len(collected) > limit
        return KeyPage(keys=page, next_cursor=encode_index_cursor(index, value, *page[-1]) if more and page else None)

    def _confirm(self, keys: list[tuple[str, str]], field: str, value: str) -> list[tuple[str, str]]:
        """The keys (in their order) whose item is live and has ``field`` = ``value`` right now."""
        now = self._now()
        current = self._batch_get(keys, {"ProjectionExpression": "PK, SK, #f, #e",
                                         "ExpressionAttributeNames": {"#f": field, "#e": EXPIRES_FIELD}})
        return [key for key in keys
                if key in current and current[key].get(field) == value and not is_expired(current[key], now)]


def _key_text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    text = value.get("S") if isinstance(value, Mapping) else None
    return text if isinstance(text, str) else ""


class _ConditionFailed(Exception):
    """A DynamoDB condition did not hold (internal; mapped to Conflict/NotFound/CeilingReached)."""
