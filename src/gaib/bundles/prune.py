"""Prune: execute a retention plan over bundles of any kind (backups, snapshots, theme deployments).

:func:`gaib.bundles.retention.plan_retention` decides; this module removes. A caller describes each
stored bundle as a :class:`Bundle` (how retention sees it, and the :class:`Layout` the bundle's id
gives), plans with :func:`plan`, and runs :func:`execute` once. Removal order is the repository's:
**catalog items first, then the objects**, in batches (one ``Catalog.delete_many``, then one
``ObjectStore.delete_many`` per batch). So whatever fails, and wherever a process is killed, every
bundle is either still listed with all its parts, or no longer listed (at worst leaving unlisted
objects, which :func:`sweep_orphans` removes on a later prune). Execution stops at the first storage
failure; the :class:`PruneResult` says what was removed, what is still listed and which objects
were left behind.

:func:`sweep_orphans` removes objects no catalog item lists (left by a crash between an item and its
objects) once they are older than ``ORPHAN_GRACE``, so an object written a moment ago by a create
that has not written its item yet is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from gaib.bundles.repository import Layout
from gaib.bundles.retention import Decision, Retained, RetentionPlan, RetentionPolicy, plan_retention
from gaib.errors import GaibError
from gaib.storage.base import Catalog, ObjectStore
from gaib.storage.keys import ID_PATTERN, parse_id

BATCH: Final = 250
"""Bundles removed per batch: catalog items in ``ceil(250/25)`` DynamoDB requests, then their objects
in one S3 ``DeleteObjects``."""
ORPHAN_GRACE: Final = timedelta(days=1)
"""An unlisted object younger than this (by the time in its id) may belong to a create in progress."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Bundle:
    """One stored bundle as prune sees it: ``retained`` for the plan, ``layout`` for the removal."""

    retained: Retained
    layout: Layout
    detail: Mapping[str, Any] = field(default_factory=dict)
    """What to show about it besides the plan's fields (workspace, trigger, message...)."""

    @property
    def id(self) -> str:
        return self.retained.id


def plan(bundles: Sequence[Bundle], policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    """The retention plan of ``bundles`` (pure; see :func:`plan_retention`)."""
    return plan_retention([b.retained for b in bundles], policy, now)


@dataclass
class PruneResult:
    """What one execution did. ``complete`` when every planned removal happened."""

    removed: list[Decision] = field(default_factory=list)
    not_removed: list[Decision] = field(default_factory=list)
    """Planned removals that did not happen. Each is still listed with all its parts, or (its batch's
    catalog request failed half-way) no longer listed with its objects still stored."""
    objects_left: list[str] = field(default_factory=list)
    """Objects of removed bundles that could not be deleted (no longer listed; swept later)."""
    error: GaibError | None = None

    @property
    def complete(self) -> bool:
        return self.error is None and not self.not_removed and not self.objects_left

    @property
    def removed_bytes(self) -> int:
        return sum(d.item.size for d in self.removed)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": [d.to_dict() for d in self.removed],
                "not_removed": [d.to_dict() for d in self.not_removed],
                "objects_left": list(self.objects_left), "removed_bytes": self.removed_bytes,
                "complete": self.complete, "error": self.error.to_dict() if self.error else None}


def execute(store: ObjectStore, catalog: Catalog, retention: RetentionPlan, bundles: Mapping[str, Bundle], *,
            batch: int = BATCH, progress: Progress | None = None) -> PruneResult:
    """Remove every bundle ``retention`` removes: per batch, the catalog items, then their objects.

    ``bundles`` maps ids to the bundles the plan was made from. Stops at the first storage failure
    (recorded in the result, not raised); never removes an object before its item is gone.
    """
    result = PruneResult()
    todo = list(retention.remove)
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        layouts = [bundles[d.item.id].layout for d in chunk]
        try:
            catalog.delete_many([(lay.pk, lay.sk) for lay in layouts])
        except GaibError as exc:
            result.error = exc
            result.not_removed += todo[start:]
            break
        result.removed += chunk
        keys = [key for lay in layouts for key in lay.object_keys()]
        try:
            store.delete_many(keys)
        except GaibError as exc:
            result.error = exc
            result.objects_left += keys
            result.not_removed += todo[start + batch:]
            break
        if progress is not None:
            progress(len(result.removed), len(todo))
    return result


# --- orphans ------------------------------------------------------------------------------------------

_ID_IN_KEY = re.compile(ID_PATTERN)


@dataclass(frozen=True)
class Orphan:
    key: str
    id: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "id": self.id, "size": self.size}


def find_orphans(store: ObjectStore, prefix: str, key_id: Callable[[str], str | None], listed: Collection[str],
                 now: datetime, grace: timedelta = ORPHAN_GRACE) -> list[Orphan]:
    """Objects under ``prefix`` whose id (``key_id(key)``; None: not a bundle object, never touched)
    is not in ``listed`` and was created more than ``grace`` before ``now``."""
    found = []
    for info in store.list(prefix):
        ident = key_id(info.key)
        if ident is None or ident in listed:
            continue
        try:
            created = parse_id(ident)
        except GaibError:
            continue
        if now.astimezone(UTC) - created > grace:
            found.append(Orphan(info.key, ident, info.size))
    return found


def sweep_orphans(store: ObjectStore, orphans: Sequence[Orphan]) -> GaibError | None:
    """Delete the orphans found by :func:`find_orphans`; returns the storage error, if any."""
    try:
        store.delete_many([o.key for o in orphans])
    except GaibError as exc:
        return exc
    return None


def id_in(pattern: str) -> Callable[[str], str | None]:
    """A ``key_id`` for :func:`find_orphans`: ``pattern`` is a regex with one ``{id}`` placeholder that
    must match the whole key, e.g. ``r"state/1/[^/]+/backup\\.{id}\\.json\\.gz"``."""
    regex = re.compile(pattern.replace("{id}", f"(?P<id>{_ID_IN_KEY.pattern})"))

    def key_id(key: str) -> str | None:
        m = regex.fullmatch(key)
        return m.group("id") if m else None

    return key_id
