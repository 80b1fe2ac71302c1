"""Service tiers: the one policy table, and which tier a server is on.

| | free | premium |
| --- | --- | --- |
| scheduled backups | daily (``cron(0 3 * * ? *)``) | hourly (``cron(0 * * * ? *)``) |
| on-demand backups | 1 per UTC day | unlimited |
| on-demand snapshots | 1 per UTC day | unlimited |
| retention (backups, snapshots) | 7 days | 90 days |
| cross-region copy | no | yes (us-west-2) |
| full snapshots | manual | weekly automatic (``cron(0 4 ? * SUN *)``) |
| theme history | last 5 | unlimited |
| storage class | Standard | Standard, then Glacier Instant Retrieval after 30 days |

Retention always keeps the newest backup of each (server, workspace) and the newest snapshot and
theme deployment of each server (``gaib.bundles.retention``). infrastructure/terraform/variables.tf
carries the numbers the stack uses as defaults; tests/infra/test_tier_alignment.py holds them equal.

A server's tier is the ``tier`` field of its catalog item ``SERVER#{id} / TIER``; a server without
one, or with a value that is not a tier name, is on the free tier. On-demand quotas are counted by
:mod:`gaib.tiers.quota`; ``gaib server tier set`` (:mod:`gaib.tiers.manager`) changes a tier.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from gaib.bundles.retention import RetentionPolicy
from gaib.errors import Conflict, InvalidInput
from gaib.storage.base import Catalog
from gaib.storage.keys import TIER_SK, server_pk

Tier = Literal["free", "premium"]
Cadence = Literal["hourly", "daily"]
SnapshotMode = Literal["manual", "weekly"]
StorageClass = Literal["STANDARD"]

TIERS: Final[tuple[Tier, ...]] = ("free", "premium")
DEFAULT_TIER: Final[Tier] = "free"

CADENCE_INTERVAL: Final[dict[Cadence, timedelta]] = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
SNAPSHOT_INTERVAL: Final = timedelta(weeks=1)
GLACIER_IR: Final = "GLACIER_IR"
"""The S3 storage class premium objects move to (Glacier Instant Retrieval: a plain GET reads it)."""


@dataclass(frozen=True, kw_only=True)
class TierPolicy:
    """One tier's row of the table. ``None`` in a limit means unlimited."""

    name: Tier
    scheduled_cadence: Cadence
    backup_schedule: str
    """EventBridge schedule expression (UTC) of the scheduled backup run."""
    on_demand_per_day: int | None
    """On-demand (``gaib server backup create``) state backups per UTC day; scheduled and
    pre-restore backups never count."""
    retention_days: int
    """Backups and snapshots younger than this are kept (and always the newest one)."""
    cross_region: bool
    replica_region: str | None
    snapshots: SnapshotMode
    snapshot_schedule: str | None
    """EventBridge schedule expression of the automatic snapshot run; None when snapshots are manual."""
    theme_history_keep_last: int | None
    on_demand_snapshots_per_day: int | None = None
    """On-demand (``gaib server snapshot create``) snapshots per UTC day; pre-restore and scheduled
    snapshots never count."""
    storage_class: StorageClass = "STANDARD"
    glacier_ir_after_days: int | None = None
    """Age in days at which (large) objects move to Glacier Instant Retrieval; None: never."""

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        if self.cross_region != (self.replica_region is not None):
            raise ValueError("a replica region is needed exactly when cross_region is set")
        if (self.snapshots == "weekly") != (self.snapshot_schedule is not None):
            raise ValueError("a snapshot schedule is needed exactly when snapshots are weekly")
        for name in ("on_demand_per_day", "on_demand_snapshots_per_day", "theme_history_keep_last"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1 or None (unlimited)")
        if self.glacier_ir_after_days is not None and self.glacier_ir_after_days < 0:
            raise ValueError("glacier_ir_after_days must not be negative")

    @property
    def retention(self) -> timedelta:
        """The maximum age of the backups and snapshots retention keeps (besides the newest)."""
        return timedelta(days=self.retention_days)

    @property
    def backup_interval(self) -> timedelta:
        """Time between two scheduled backup runs."""
        return CADENCE_INTERVAL[self.scheduled_cadence]

    @property
    def snapshot_interval(self) -> timedelta | None:
        """Time between two automatic snapshots; None when snapshots are manual."""
        return SNAPSHOT_INTERVAL if self.snapshots == "weekly" else None

    def backup_retention(self) -> RetentionPolicy:
        """For state backups, grouped by (server_id, workspace): keep ``retention_days`` and the newest."""
        return RetentionPolicy(max_age=self.retention)

    def snapshot_retention(self) -> RetentionPolicy:
        """For full snapshots, grouped by (server_id,): keep ``retention_days`` and the newest."""
        return RetentionPolicy(max_age=self.retention)

    def on_demand_limit(self, kind: str) -> int | None:
        """The per-UTC-day limit of on-demand ``kind`` (``backup`` or ``snapshot``); None: unlimited."""
        if kind == "backup":
            return self.on_demand_per_day
        if kind == "snapshot":
            return self.on_demand_snapshots_per_day
        raise ValueError(f"unknown quota kind {kind!r}")

    def theme_history_retention(self) -> RetentionPolicy:
        """For theme deployments, grouped by (server_id,): the last ``theme_history_keep_last``
        (whatever their age), or all of them when unlimited."""
        return RetentionPolicy(keep_last=self.theme_history_keep_last)


POLICIES: Final[dict[str, TierPolicy]] = {
    "free": TierPolicy(
        name="free",
        scheduled_cadence="daily",
        backup_schedule="cron(0 3 * * ? *)",
        on_demand_per_day=1,
        retention_days=7,
        cross_region=False,
        replica_region=None,
        snapshots="manual",
        snapshot_schedule=None,
        theme_history_keep_last=5,
        on_demand_snapshots_per_day=1,
    ),
    "premium": TierPolicy(
        name="premium",
        scheduled_cadence="hourly",
        backup_schedule="cron(0 * * * ? *)",
        on_demand_per_day=None,
        retention_days=90,
        cross_region=True,
        replica_region="us-west-2",
        snapshots="weekly",
        snapshot_schedule="cron(0 4 ? * SUN *)",
        theme_history_keep_last=None,
        glacier_ir_after_days=30,
    ),
}


def policy_for(name: object) -> TierPolicy:
    """The policy of a stored tier name; anything that is not exactly a tier name (another type,
    other case, padding, junk) gets the free tier's. Never raises."""
    if isinstance(name, str) and name in TIERS:
        return POLICIES[name]
    return POLICIES[DEFAULT_TIER]


def check_tier(name: object) -> Tier:
    """``name`` if it is exactly a tier name; raises ``InvalidInput`` (exit 6) for anything else
    (other case, padding, another type, junk), never echoing more than a few characters of it."""
    if isinstance(name, str) and name in TIERS:
        return POLICIES[name].name
    shown = repr(name) if not isinstance(name, str) else repr(name[:30] + ("..." if len(name) > 30 else ""))
    raise InvalidInput(f"Unknown tier {shown}: the tiers are {' and '.join(TIERS)}.",
                       hint="Run 'gaib server tier set free' or 'gaib server tier set premium'.",
                       code="INVALID_TIER", details={"field": "tier"})


def tier_of(catalog: Catalog, server_id: str, *, register: bool = False) -> TierPolicy:
    """The server's tier policy. With ``register``, a server without a tier item gets one (free), so
    the scheduler's ``tier-index`` (keyed on ``server_tier``) lists every server that has backups.
    A damaged or unknown ``tier`` value reads as free, and so does an item no tier change wrote (no
    ``set_by``): on AWS a server's own session may register its item but only the operator role may
    write ``set_by`` (docs/infrastructure.md, "Roles"), so a server cannot raise its own tier."""
    item = catalog.get(server_pk(server_id), TIER_SK)
    if item is None and register:
        with contextlib.suppress(Conflict):
            catalog.put_if_absent(server_pk(server_id), TIER_SK, tier_item(server_id, DEFAULT_TIER))
    return policy_for(item.get("tier") if item is not None and item.get("set_by") else None)


def tier_item(server_id: str, tier: Tier) -> dict[str, str]:
    """The ``SERVER#{id}/TIER`` item; ``server_tier`` is the hash key of the table's tier-index GSI."""
    return {"tier": tier, "server_tier": tier, "server_id": server_id}
