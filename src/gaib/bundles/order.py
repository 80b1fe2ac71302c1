"""Which bundle is newest: the catalog's order of writes, never a time a writer's clock produced.

Every bundle's catalog item is written with ``Catalog.put_sequenced`` (:mod:`gaib.bundles.repository`):
the catalog stamps it with the next value of the server's counter (``sequence``) and with its own time
(``written_at``). :class:`Written` is what an item carries of that; :func:`order_key` sorts bundles
oldest to newest by it:

1. items with a sequence come after every item without one (items written before sequences existed),
   among themselves by sequence;
2. items without a sequence keep their old order, by the time in their id then the id, except that one
   :func:`misdated` (dated more than ``CLOCK_SLACK`` ahead of the catalog's time) sorts before the others:
   its date says nothing about when it was written.

:func:`ahead_by` says how far a bundle's date runs ahead of the catalog's time when it was written (its
``written_at``), or, for an item without one, of the storage's time now: ``list``, ``verify`` and prune
flag an item more than ``CLOCK_SLACK`` ahead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gaib.errors import IntegrityError
from gaib.storage.base import SEQUENCE_FIELD, WRITTEN_AT_FIELD

CLOCK_SLACK: Final = timedelta(minutes=5)
"""How far a clock may differ from the storage's before an item is flagged and commands warn."""
MAX_SEQUENCE: Final = 2**53
_MAX_EPOCH: Final = 253402300799  # 9999-12-31T23:59:59Z


@dataclass(frozen=True)
class Written:
    """What the catalog stamped on a bundle's item: its write ``sequence`` and its own time then
    (``written_at``, epoch seconds). Both None for an item written before sequences existed."""

    sequence: int | None = None
    written_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence,
                "written_at": _iso(datetime.fromtimestamp(self.written_at, UTC)) if self.written_at else None}


def written_of(item: Mapping[str, Any], where: str) -> Written:
    """The stamp of a catalog item; IntegrityError (exit 3) for a value no catalog writes."""
    sequence, written_at = item.get(SEQUENCE_FIELD), item.get(WRITTEN_AT_FIELD)
    for name, value, top in ((SEQUENCE_FIELD, sequence, MAX_SEQUENCE), (WRITTEN_AT_FIELD, written_at, _MAX_EPOCH)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= top):
            raise IntegrityError(f"The catalog item of {where} is damaged: its {name} is not a catalog's "
                                 f"{'write sequence' if name == SEQUENCE_FIELD else 'time'}.")
    return Written(sequence, written_at)


def order_key(written: Written, created_at: datetime, ident: str, *, misdated: bool = False) -> tuple[Any, ...]:
    """Sorts bundles of one group oldest first (see the module docstring); ``created_at`` is the time in
    the id, ``misdated`` whether :func:`misdated` flags it."""
    if written.sequence is not None:
        return (1, written.sequence, 0, created_at, ident)
    return (0, 0, 0 if misdated else 1, created_at, ident)


def ahead_by(created_at: datetime, written: Written, storage_now: float | None) -> timedelta | None:
    """How far ``created_at`` runs ahead of the catalog's time when the item was written, or (without a
    ``written_at``) of the storage's time now; None when neither is known."""
    reference = written.written_at if written.written_at is not None else storage_now
    if reference is None:
        return None
    return created_at - datetime.fromtimestamp(reference, UTC)


def misdated(created_at: datetime, written: Written, storage_now: float | None) -> bool:
    """Whether the item is dated more than ``CLOCK_SLACK`` ahead of the storage's clock (see :func:`ahead_by`)."""
    ahead = ahead_by(created_at, written, storage_now)
    return ahead is not None and ahead > CLOCK_SLACK


def clock_warning(local: datetime, storage_now: float | None) -> str | None:
    """The warning a command gives when the local clock and the storage's differ by more than
    ``CLOCK_SLACK`` (None when they agree, or the storage's time is unknown)."""
    if storage_now is None:
        return None
    skew = local - datetime.fromtimestamp(storage_now, UTC)
    if abs(skew) <= CLOCK_SLACK:
        return None
    way = "ahead of" if skew > timedelta(0) else "behind"
    minutes = timedelta(minutes=round(abs(skew).total_seconds() / 60))  # the storage tells whole seconds
    return (f"this host's clock is {describe(minutes)} {way} the backup storage's: backups and snapshots made "
            "here are dated by it (their order is the catalog's, but their age is not); set the clock right "
            "(NTP) before relying on retention")


def flagged(records: Iterable[Any], storage_now: float | None) -> dict[str, timedelta]:
    """The records (each with ``id`` and ``ahead_by(storage_now)``) dated more than ``CLOCK_SLACK`` ahead
    of the storage's clock, by id, with how far ahead."""
    out = {}
    for record in records:
        ahead = record.ahead_by(storage_now)
        if ahead is not None and ahead > CLOCK_SLACK:
            out[record.id] = ahead
    return out


def describe(delta: timedelta) -> str:
    """"400 days", "3 hours 12 minutes", "7 minutes": the largest unit and the next, rounded to the next."""
    seconds = delta.total_seconds()
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    for i, (name, size) in enumerate(units):
        if seconds >= size or size == 1:
            sub = units[i + 1][1] if i + 1 < len(units) else 1
            count, rest = divmod(round(seconds / sub) * sub, size)
            text = _plural(count, name)
            if rest:
                text += " " + _plural(rest // sub, units[i + 1][0])
            return text
    return "0 seconds"


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
