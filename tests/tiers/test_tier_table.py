"""The tier table, row by row, on local storage and on S3 + DynamoDB (moto over HTTP).

| | Free | Premium |
|---|---|---|
| scheduled backups | daily | hourly |
| on-demand backups | 1 per day | unlimited |
| retention | 7 days | 90 days |
| cross-region copy | no | yes (us-west-2) |
| full snapshots | manual | weekly automatic |
| theme history | last 5 | unlimited |
| storage class | Standard | Standard, then Glacier Instant Retrieval |

Each row is checked where it becomes true: what Gaib stores and lists, the tags S3's rules select on
(read past Gaib, and matched against the rules of infrastructure/terraform), and what the commands
print. The scheduled runs themselves come with the scheduled-runs issue; here the scheduler's inputs are
checked: the tier index lists each server under its tier and ``tier show`` names the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaib.storage.base import TIER_INDEX
from gaib.storage.keys import TIER_SK, server_pk
from gaib.tiers.table import POLICIES
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage, tags_of
from tests.support.storage.writer import Writer, listed
from tests.support.terraform import Stack
from tests.support.tiers import on_tier

T0 = datetime(2026, 11, 25, 17, 20, tzinfo=UTC)  # a Wednesday
TIERS = ["free", "premium"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(guild_id=GUILD, args=("--rate-limits", "off")) as emu:
        yield emu


def _tier(cli: CliRunner, tier: str) -> None:
    seed_state(cli.cwd)
    cli.clock = lambda: T0
    on_tier(cli, tier)


@pytest.mark.parametrize("tier", TIERS)
def test_row_scheduled_backups_daily_or_hourly(bcli: CliRunner, tier: str) -> None:
    _tier(bcli, tier)
    # The scheduler lists the servers of a tier from the tier index: this server is under its tier only.
    catalog = Storage(bcli).catalog()
    for name in TIERS:
        keys = catalog.index_query(TIER_INDEX, name).keys
        assert ((server_pk(GUILD), TIER_SK) in keys) == (name == tier)
    runs = []
    for hours in (0, 1, 11, 24):
        bcli.clock = lambda h=hours: T0 + timedelta(hours=h)
        runs.append(bcli("server", "tier", "show", "--json").data["next_scheduled_run"]["backup"])
    if tier == "free":  # daily, 03:00 UTC
        assert runs == ["2026-11-26T03:00:00Z", "2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z",
                        "2026-11-27T03:00:00Z"]
    else:  # hourly, on the hour
        assert runs == ["2026-11-25T18:00:00Z", "2026-11-25T19:00:00Z", "2026-11-26T05:00:00Z",
                        "2026-11-26T18:00:00Z"]


@pytest.mark.parametrize("tier", TIERS)
def test_row_on_demand_backups_one_per_day_or_unlimited(bcli: CliRunner, tier: str) -> None:
    _tier(bcli, tier)
    codes = [bcli("server", "backup", "create", "--json").exit_code for _ in range(3)]
    assert codes == ([0, 7, 7] if tier == "free" else [0, 0, 0])


@pytest.mark.parametrize("tier", TIERS)
def test_row_retention_seven_or_ninety_days(bcli: CliRunner, tier: str) -> None:
    _tier(bcli, tier)
    w = Writer(bcli)
    ages = {d: w.backup(T0 - timedelta(days=d)) for d in (120, 91, 89, 8, 6, 0)}
    bcli.clock = lambda: T0
    assert bcli("server", "backup", "prune", "--yes").exit_code == 0
    kept = {d for d, i in ages.items() if i in listed(bcli)}
    assert kept == ({6, 0} if tier == "free" else {89, 8, 6, 0})


def _rule_selects(rule_filter: dict[str, Any], tags: dict[str, str], size: int) -> bool:
    """Does an S3 lifecycle/replication rule filter (as parsed from the Terraform) select this object?"""
    if "tag" in rule_filter:
        (tag,) = rule_filter["tag"]
        return tags.get(tag["key"]) == tag["value"]
    (conj,) = rule_filter["and"]
    wanted = conj.get("tags", {})
    if any(tags.get(k) != v for k, v in wanted.items()):
        return False
    threshold = conj.get("object_size_greater_than")
    return threshold is None or size > threshold


@pytest.mark.parametrize("tier", TIERS)
def test_row_cross_region_copy_only_premium_objects_match_the_replication_rule(
        bcli: CliRunner, tier: str, stack: Stack) -> None:
    _tier(bcli, tier)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    (rule,) = stack.resource("aws_s3_bucket_replication_configuration", "backups")["rule"]
    tags = tags_of(bcli)
    assert tags and all(_rule_selects(rule["filter"][0], t, 0) == (tier == "premium") for t in tags.values())
    shown = bcli("server", "tier", "show", "--json").data["limits"]
    assert (shown["cross_region"], shown["replica_region"]) == (
        (True, "us-west-2") if tier == "premium" else (False, None))
    assert stack.variables["replica_region"]["default"] == POLICIES["premium"].replica_region


@pytest.mark.parametrize("tier", TIERS)
def test_row_full_snapshots_manual_or_weekly(bcli: CliRunner, tier: str, emulator: EmulatorHandle) -> None:
    emulator.reset()
    bcli.environ.update({"DISCORD_BOT_TOKEN": emulator.token, "GAIB_DISCORD_API_URL": emulator.base_url})
    _tier(bcli, tier)
    # Manual snapshots work on both tiers; the free tier takes one on-demand snapshot a day.
    codes = [bcli("server", "snapshot", "create", "--json").exit_code for _ in range(2)]
    assert codes == ([0, 7] if tier == "free" else [0, 0])
    shown = bcli("server", "tier", "show", "--json").data
    if tier == "free":
        assert shown["limits"]["snapshots"] == "manual" and shown["next_scheduled_run"]["snapshot"] is None
        refused = bcli("server", "snapshot", "create", "--json").error
        assert refused["code"] == "TIER_LIMIT" and "on-demand snapshot" in refused["message"]
    else:  # weekly automatic: Sundays 04:00 UTC
        assert shown["limits"]["snapshots"] == "weekly"
        assert shown["next_scheduled_run"]["snapshot"] == "2026-11-29T04:00:00Z"


@pytest.mark.parametrize("tier", TIERS)
def test_row_theme_history_last_five_or_unlimited(bcli: CliRunner, tier: str) -> None:
    from gaib.bundles import prune
    from gaib.storage.keys import DEPLOY_SK_PREFIX
    from tests.support.storage.writer import write_deployments

    _tier(bcli, tier)
    ports = Writer(bcli).ports
    bundles = write_deployments(ports, 8)
    policy = POLICIES[bcli("server", "tier", "show", "--json").data["tier"]].theme_history_retention()
    plan = prune.plan(bundles, policy, T0)
    assert prune.execute(ports.store, ports.catalog, plan, {b.id: b for b in bundles}).complete
    left = sorted(i["id"] for i in ports.catalog.query(server_pk(GUILD), DEPLOY_SK_PREFIX, limit=100).items)
    assert left == sorted(b.id for b in (bundles[-5:] if tier == "free" else bundles))


@pytest.mark.parametrize("tier", TIERS)
def test_row_storage_class_standard_then_glacier_ir_for_premium(bcli: CliRunner, tier: str, stack: Stack) -> None:
    _tier(bcli, tier)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    storage = Storage(bcli)
    if storage.kind == "aws":  # every object is written in S3 Standard
        s3 = storage._client("s3")
        classes = {o["StorageClass"] for o in s3.list_objects_v2(Bucket=storage.bucket)["Contents"]}
        assert classes == {"STANDARD"}
    lifecycle = stack.resource("aws_s3_bucket_lifecycle_configuration", "backups")["rule"]
    (glacier,) = [r for r in lifecycle if r.get("transition")]
    threshold = stack.variables["glacier_min_object_size_bytes"]["default"]
    size_filter = glacier["filter"][0]["and"][0]
    assert size_filter["object_size_greater_than"] == "${var.glacier_min_object_size_bytes}"
    concrete = {"and": [{**size_filter, "object_size_greater_than": threshold}]}
    for tags in tags_of(bcli).values():
        # Large objects of a premium server are the ones the Glacier IR transition selects.
        assert _rule_selects(concrete, tags, threshold + 1) == (tier == "premium")
        assert not _rule_selects(concrete, tags, threshold)  # small ones stay in Standard
    assert glacier["transition"][0]["storage_class"] == "GLACIER_IR"
    assert stack.variables["premium_glacier_transition_days"]["default"] == POLICIES["premium"].glacier_ir_after_days
    text = bcli("server", "tier", "show").stdout
    assert ("Glacier Instant Retrieval after 30 days" in text) == (tier == "premium")
