"""The tier policy table (every row of the seed's table) and reading a server's tier from the catalog."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gaib.bundles.retention import RetentionPolicy
from gaib.storage.base import Catalog
from gaib.storage.keys import TIER_SK, server_pk
from gaib.storage.open import open_storage
from gaib.tiers.table import POLICIES, TIERS, TierPolicy, policy_for, tier_item, tier_of

SERVER = "1100000000000000001"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    _, cat = open_storage(backend="local", root=tmp_path / "store", environ={})
    return cat


def test_the_table_holds_the_seed_rows() -> None:
    free, premium = POLICIES["free"], POLICIES["premium"]
    assert set(POLICIES) == set(TIERS) == {"free", "premium"}
    assert (free.name, premium.name) == ("free", "premium")
    # scheduled backups: daily / hourly, with the EventBridge expressions the Terraform uses
    assert (free.scheduled_cadence, premium.scheduled_cadence) == ("daily", "hourly")
    assert (free.backup_interval, premium.backup_interval) == (timedelta(days=1), timedelta(hours=1))
    assert (free.backup_schedule, premium.backup_schedule) == ("cron(0 3 * * ? *)", "cron(0 * * * ? *)")
    # on-demand backups: 1 per day / unlimited (and the same for on-demand snapshots, a decision of ours)
    assert (free.on_demand_per_day, premium.on_demand_per_day) == (1, None)
    assert (free.on_demand_snapshots_per_day, premium.on_demand_snapshots_per_day) == (1, None)
    # retention: 7 / 90 days
    assert (free.retention_days, premium.retention_days) == (7, 90)
    assert (free.retention, premium.retention) == (timedelta(days=7), timedelta(days=90))
    # cross-region copy: no / yes (us-west-2)
    assert (free.cross_region, free.replica_region) == (False, None)
    assert (premium.cross_region, premium.replica_region) == (True, "us-west-2")
    # full snapshots: manual / weekly automatic
    assert (free.snapshots, free.snapshot_schedule, free.snapshot_interval) == ("manual", None, None)
    assert (premium.snapshots, premium.snapshot_interval) == ("weekly", timedelta(weeks=1))
    assert premium.snapshot_schedule == "cron(0 4 ? * SUN *)"
    # theme history: last 5 / unlimited
    assert (free.theme_history_keep_last, premium.theme_history_keep_last) == (5, None)
    # storage class: Standard / Standard, then Glacier Instant Retrieval after 30 days
    assert (free.storage_class, free.glacier_ir_after_days) == ("STANDARD", None)
    assert (premium.storage_class, premium.glacier_ir_after_days) == ("STANDARD", 30)


def test_retention_policies_per_kind() -> None:
    free, premium = POLICIES["free"], POLICIES["premium"]
    assert free.backup_retention() == RetentionPolicy(max_age=timedelta(days=7))
    assert free.snapshot_retention() == RetentionPolicy(max_age=timedelta(days=7))
    assert free.theme_history_retention() == RetentionPolicy(keep_last=5)
    assert premium.backup_retention() == RetentionPolicy(max_age=timedelta(days=90))
    assert premium.snapshot_retention() == RetentionPolicy(max_age=timedelta(days=90))
    assert premium.theme_history_retention().keeps_everything


def test_a_policy_row_that_contradicts_itself_is_refused() -> None:
    row: dict[str, Any] = {
        "name": "free", "scheduled_cadence": "daily", "backup_schedule": "cron(0 3 * * ? *)",
        "on_demand_per_day": 1, "retention_days": 7, "cross_region": False, "replica_region": None,
        "snapshots": "manual", "snapshot_schedule": None, "theme_history_keep_last": 5,
        "on_demand_snapshots_per_day": 1,
    }
    assert TierPolicy(**row) == POLICIES["free"]
    for change, message in [
        ({"cross_region": True}, "replica region"),
        ({"snapshots": "weekly"}, "snapshot schedule"),
        ({"retention_days": 0}, "retention_days"),
        ({"theme_history_keep_last": 0}, "theme_history_keep_last"),
        ({"on_demand_snapshots_per_day": 0}, "on_demand_snapshots_per_day"),
        ({"glacier_ir_after_days": -1}, "glacier_ir_after_days"),
    ]:
        with pytest.raises(ValueError, match=message):
            TierPolicy(**{**row, **change})


def test_a_server_without_a_tier_item_is_free_and_register_writes_one(catalog: Catalog) -> None:
    assert tier_of(catalog, SERVER).name == "free"
    assert catalog.get(server_pk(SERVER), TIER_SK) is None  # reading alone writes nothing
    assert tier_of(catalog, SERVER, register=True).name == "free"
    assert catalog.get(server_pk(SERVER), TIER_SK) == {"tier": "free", "server_tier": "free", "server_id": SERVER}


def test_a_premium_server_is_premium_and_register_keeps_it(catalog: Catalog) -> None:
    changed = {**tier_item(SERVER, "premium"), "set_by": "arn:aws:sts::123456789012:assumed-role/gaib-operator/x"}
    catalog.put_if_absent(server_pk(SERVER), TIER_SK, changed)
    assert tier_of(catalog, SERVER, register=True) is POLICIES["premium"]
    assert catalog.get(server_pk(SERVER), TIER_SK) == changed


def test_a_premium_item_no_tier_change_wrote_reads_as_free(catalog: Catalog) -> None:
    # A server's own session may register its TIER item (IAM cannot see the value it writes); only the
    # operator role writes set_by, so an item claiming premium without it is a self-registration.
    catalog.put_if_absent(server_pk(SERVER), TIER_SK, tier_item(SERVER, "premium"))
    assert tier_of(catalog, SERVER) is POLICIES["free"]


@pytest.mark.parametrize("value", [
    "PREMIUM", "premium ", " premium", "Premium", "enterprise", "", "__class__", "x" * 10_000, "premium\x00",
    42, 1.5, True, None, ["premium"], {"name": "premium"},
])
def test_a_hostile_tier_value_reads_as_free(catalog: Catalog, value: object) -> None:
    catalog.put_if_absent(server_pk(SERVER), TIER_SK, {"tier": value, "server_tier": "premium", "server_id": SERVER})
    assert tier_of(catalog, SERVER) is POLICIES["free"]
    assert tier_of(catalog, SERVER, register=True) is POLICIES["free"]
    assert policy_for(value) is POLICIES["free"]


def test_an_item_without_a_tier_field_reads_as_free(catalog: Catalog) -> None:
    catalog.put_if_absent(server_pk(SERVER), TIER_SK, {"server_id": SERVER})
    assert tier_of(catalog, SERVER) is POLICIES["free"]
