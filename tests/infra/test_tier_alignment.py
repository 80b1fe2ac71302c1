"""The Terraform carries the tier table's numbers (gaib.tiers.table.POLICIES) as its defaults.

Change a number in one place without the other and these tests fail, naming the variable.
"""

from __future__ import annotations

from typing import Any

import pytest

from gaib.tiers.table import POLICIES, TIERS, TierPolicy
from tests.support.terraform import Stack

FREE, PREMIUM = POLICIES["free"], POLICIES["premium"]

# variable in variables.tf → the value of the Python table it must default to
TIER_VARIABLES: dict[str, Any] = {
    "free_backup_schedule": FREE.backup_schedule,
    "premium_backup_schedule": PREMIUM.backup_schedule,
    "premium_snapshot_schedule": PREMIUM.snapshot_schedule,
    "free_retention_days": FREE.retention_days,
    "premium_retention_days": PREMIUM.retention_days,
    "premium_glacier_transition_days": PREMIUM.glacier_ir_after_days,
    "replica_region": PREMIUM.replica_region,
    "enable_replication": any(p.cross_region for p in POLICIES.values()),
}


@pytest.mark.parametrize(("variable", "expected"), sorted(TIER_VARIABLES.items()))
def test_variable_default_equals_the_tier_table(stack: Stack, variable: str, expected: Any) -> None:
    assert stack.variables[variable]["default"] == expected, (
        f"variables.tf {variable} defaults to {stack.variables[variable].get('default')!r}, "
        f"gaib.tiers.table says {expected!r}")


def test_every_tier_variable_is_checked(stack: Stack) -> None:
    tiered = {name for name in stack.variables if name.split("_", 1)[0] in TIERS}
    assert tiered <= set(TIER_VARIABLES), f"tier variables not held equal to the table: {tiered - set(TIER_VARIABLES)}"


def runs_of(stack: Stack, tier: TierPolicy, operation: str) -> list[dict[str, Any]]:
    runs = stack.locals["scheduled_runs"].values()
    return [r for r in runs if r["tier"] == tier.name and r["operation"] == operation]


@pytest.mark.parametrize("tier", list(POLICIES.values()), ids=lambda t: t.name)
def test_scheduled_backup_run_per_tier_with_its_cadence(stack: Stack, tier: TierPolicy) -> None:
    (run,) = runs_of(stack, tier, "backup")
    assert run["schedule"] == f"${{var.{tier.name}_backup_schedule}}"
    assert run["command"] == ["gaib", "server", "backup", "run-scheduled", "--tier", tier.name]
    # the missed-run alarm counts heartbeats per scheduled interval
    assert run["heartbeat_period"] == tier.backup_interval.total_seconds()


@pytest.mark.parametrize("tier", list(POLICIES.values()), ids=lambda t: t.name)
def test_automatic_snapshots_exactly_for_weekly_tiers(stack: Stack, tier: TierPolicy) -> None:
    runs = runs_of(stack, tier, "snapshot")
    if tier.snapshot_interval is None:
        assert runs == [] and f"{tier.name}_snapshot_schedule" not in stack.variables
        return
    (run,) = runs
    assert run["schedule"] == f"${{var.{tier.name}_snapshot_schedule}}"
    assert run["command"][-1] == "--snapshots" and run["command"][-2] == tier.name
    assert run["heartbeat_period"] * run["heartbeat_evaluation"] == tier.snapshot_interval.total_seconds()


def test_replication_selects_exactly_the_cross_region_tiers(stack: Stack) -> None:
    rule = stack.resource("aws_s3_bucket_replication_configuration", "backups")["rule"]
    tags = {r["filter"][0]["tag"][0]["value"] for r in rule}
    assert tags == {p.name for p in POLICIES.values() if p.cross_region}
    replica = [body for name, body in stack.providers if name == "aws" and body.get("alias") == "replica"]
    assert replica[0]["region"] == "${var.replica_region}"
    assert {p.replica_region for p in POLICIES.values() if p.cross_region} == {TIER_VARIABLES["replica_region"]}


@pytest.mark.parametrize("bucket", ["backups", "replica"])
def test_glacier_transition_exactly_for_the_tiers_that_have_one(stack: Stack, bucket: str) -> None:
    lc = stack.resource("aws_s3_bucket_lifecycle_configuration", bucket)
    transitions = {}
    for rule in lc["rule"]:
        for transition in rule.get("transition", []):
            (tier,) = rule["filter"][0]["and"][0]["tags"].values()
            transitions[tier] = transition
    assert set(transitions) == {p.name for p in POLICIES.values() if p.glacier_ir_after_days is not None}
    for tier, transition in transitions.items():
        assert transition["days"] == f"${{var.{tier}_glacier_transition_days}}"
        assert transition["storage_class"] == "GLACIER_IR"
    # every tier writes its objects in the storage class S3 uses by default, and replicas land there too
    assert {p.storage_class for p in POLICIES.values()} == {"STANDARD"}
    dest = stack.resource("aws_s3_bucket_replication_configuration", "backups")["rule"][0]["destination"][0]
    assert dest["storage_class"] == "STANDARD"


def test_batch_replication_role_may_only_start_replication_of_the_backup_bucket(stack: Stack) -> None:
    """Objects written before a server moved to premium are copied by an S3 Batch Replication job run with
    this role: it may start replication of the backup bucket's objects and read its replication
    configuration, nothing else (the copy itself is the replication role's)."""
    role = stack.resource("aws_iam_role", "batch_replication")
    assert role["count"] == "${var.enable_replication ? 1 : 0}"
    trust = stack.statements("trust_s3_batch_operations")[0]
    assert trust["principals"][0]["identifiers"] == ["batchoperations.s3.amazonaws.com"]
    grants = {(a, r) for st in stack.statements("batch_replication") for a in st["actions"] for r in st["resources"]}
    bucket = "${aws_s3_bucket.backups.arn}"
    assert grants == {("s3:InitiateReplication", f"{bucket}/*"), ("s3:GetReplicationConfiguration", bucket),
                      ("s3:PutInventoryConfiguration", bucket)}
    assert "batch_replication_role_arn" in stack.outputs
