"""Prune executes exactly what the pure retention function promises, on a real local store.

For random backups (several servers' workspaces, random ages, some from a clock that ran ahead) and a
random policy, after ``plan_prune`` + ``execute_prune``: the catalog lists exactly the plan's ``keep``,
each of them loads with every checksum verified, the objects of every removed backup are gone, the
newest of each (server, workspace) — the last one written, whatever its date — is still there, and pruning
again at the same moment removes nothing.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaib.backups.store import BackupManager
from gaib.bundles.retention import RetentionPolicy
from gaib.cli.context import Env
from gaib.prune import service as prune_service
from gaib.settings import Settings
from gaib.state.model import State
from gaib.tiers.table import POLICIES
from gaib.wiring import App

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
SERVER = "223456789012345678"
WORKSPACES = ("default", "staging", "prod-eu")
PROPERTY = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_counter = itertools.count()

AGES = st.one_of(st.integers(-2 * 3600, 40 * 86400), st.sampled_from([0, 7 * 86400, 7 * 86400 - 1, 90 * 86400]))


def _policy(max_days: int | None, keep_last: int | None) -> RetentionPolicy:
    return RetentionPolicy(max_age=None if max_days is None else timedelta(days=max_days), keep_last=keep_last)


POLICY = st.one_of(
    st.sampled_from([POLICIES["free"].backup_retention(), POLICIES["premium"].backup_retention()]),
    st.builds(_policy, st.none() | st.integers(0, 30), st.none() | st.integers(1, 4)),
)


@PROPERTY
@given(backups=st.lists(st.tuples(st.sampled_from(WORKSPACES), AGES), min_size=0, max_size=14), policy=POLICY)
def test_execute_removes_exactly_what_the_plan_removes(tmp_path: Path, backups: list[tuple[str, int]],
                                                       policy: RetentionPolicy) -> None:
    project = tmp_path / f"p{next(_counter)}"
    project.mkdir()
    clock = {"now": NOW}
    ports = App(Settings.resolve(Env(environ={"DISCORD_GUILD_ID": SERVER}, cwd=project)), clock=lambda: clock["now"])
    mgr = BackupManager(ports.store, ports.catalog, clock=lambda: clock["now"], mac=ports.mac)
    state = State.new("default", guild_id=SERVER)
    made: dict[str, str] = {}
    for workspace, age in backups:
        clock["now"] = NOW - timedelta(seconds=age)
        made[mgr.create(state, server_id=SERVER, workspace=workspace, trigger="scheduled").id] = workspace
    clock["now"] = NOW

    plan = prune_service.plan_prune(ports, "backup")
    plan = prune_service.PrunePlan(**{**plan.__dict__, "policy": policy,
                                      "retention": prune_service.plan(list(plan.bundles.values()), policy, NOW)})
    keep = {d.item.id for d in plan.retention.keep}
    remove = {d.item.id for d in plan.retention.remove}
    assert keep | remove == set(made) and not keep & remove
    outcome = prune_service.execute_prune(ports, plan)
    assert outcome.result.complete and {d.item.id for d in outcome.result.removed} == remove

    damaged: list[str] = []
    listed, _ = mgr.list(SERVER, limit=1000, damaged=damaged)
    assert damaged == [] and {r.id for r in listed} == keep
    for rec in listed:
        mgr.load(rec)  # every kept backup is whole
    objects = {o.key for o in ports.store.list(f"state/{SERVER}/")}
    assert objects == {r.key for r in listed}
    for workspace in set(made.values()):
        group = [i for i, ws in made.items() if ws == workspace]
        assert group[-1] in keep  # the newest is the last written (the catalog's order), whatever its date
    again = prune_service.plan(list(prune_service.plan_prune(ports, "backup").bundles.values()), policy, NOW)
    assert again.remove == ()


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["free", "premium"])
def test_hourly_backups_keep_exactly_the_tier_window(tmp_path: Path, tier: str) -> None:
    """90 days of hourly backups: free keeps 168 (ages 0-167 h), premium all 2,160 but its oldest."""
    clock = {"now": NOW}
    ports = App(Settings.resolve(Env(environ={"DISCORD_GUILD_ID": SERVER}, cwd=tmp_path)), clock=lambda: clock["now"])
    mgr = BackupManager(ports.store, ports.catalog, clock=lambda: clock["now"], mac=ports.mac)
    state = State.new("default", guild_id=SERVER)
    # Writing 2,160 real backups is slow; write the last 8 days plus a sparse tail back to 90 days.
    hours = [*range(0, 8 * 24), *range(8 * 24, 90 * 24, 97), 90 * 24 - 1, 90 * 24]
    for h in reversed(hours):  # oldest first, as a scheduler writes them
        clock["now"] = NOW - timedelta(hours=h)
        mgr.create(state, server_id=SERVER, workspace="default", trigger="scheduled")
    clock["now"] = NOW
    from gaib.tiers.manager import TierManager

    TierManager(ports.store, ports.catalog, clock=ports.clock).set(SERVER, tier, actor="test")
    plan = prune_service.plan_prune(ports, "backup")
    prune_service.execute_prune(ports, plan)
    listed, _ = mgr.list(SERVER, limit=1000)
    ages = sorted(int((NOW - datetime.fromisoformat(r.created_at.replace("Z", "+00:00"))).total_seconds() // 3600)
                  for r in listed)
    if tier == "free":
        assert ages == list(range(0, 168))
    else:
        assert ages == sorted(h for h in hours if h < 90 * 24)
