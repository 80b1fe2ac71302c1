"""run-scheduled over one window: what it writes, what it skips, how it fails one server at a time."""

from __future__ import annotations

from datetime import timedelta

from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from gaib.storage.keys import SCHEDULE_SK, run_claim_sk, server_pk
from tests.support.fleet import Fleet, local_events, realistic_state, scheduled_backups, server_ids


def test_a_window_backs_up_every_scheduled_server_of_the_tier_once(fleet: Fleet) -> None:
    app = fleet.app()
    premium, free = server_ids(4), server_ids(3, start=1_400_000_000_000_000_000)
    fleet.register_many(app, {**dict.fromkeys(premium, "premium"), **dict.fromkeys(free, "free")})

    report = run_scheduled(app, RunOptions(tier="premium", concurrency=3))

    assert (report.listed, report.created, report.failed, report.window) == (4, 4, 0, "20261125T0300Z")
    for sid in premium:
        [backup] = scheduled_backups(app, sid)
        assert backup["tier"] == "premium" and backup["workspace"] == "default"
        claim = app.catalog.get(server_pk(sid), run_claim_sk("premium", "20261125T0300Z"))
        assert claim is not None and claim["status"] == "created"
        assert claim["workspaces"]["default"]["id"] == backup["id"]
    assert all(scheduled_backups(app, sid) == [] for sid in free)  # the other tier is not touched


def test_an_unchanged_state_writes_nothing_but_the_claim(fleet: Fleet) -> None:
    app = fleet.app()
    [sid] = server_ids(1)
    fleet.register(app, sid, "premium")
    run_scheduled(app, RunOptions(tier="premium"))
    objects_before = sorted(o.key for o in app.store.list(""))

    fleet.now += timedelta(hours=1)
    report = run_scheduled(app, RunOptions(tier="premium"))

    assert (report.created, report.unchanged, report.written) == (0, 1, 0)
    assert len(scheduled_backups(app, sid)) == 1
    assert sorted(o.key for o in app.store.list("")) == objects_before
    claim = app.catalog.get(server_pk(sid), run_claim_sk("premium", "20261125T0400Z"))
    assert claim is not None and claim["status"] == "unchanged"
    assert claim["workspaces"] == {"default": {"outcome": "unchanged", "id": scheduled_backups(app, sid)[0]["id"]}}

    fleet.put_state(app, sid, realistic_state(sid, serial=2))
    fleet.now += timedelta(hours=1)
    assert run_scheduled(app, RunOptions(tier="premium")).created == 1
    assert len(scheduled_backups(app, sid)) == 2


def test_a_second_run_of_the_same_window_skips_every_server(fleet: Fleet) -> None:
    app = fleet.app()
    sids = server_ids(3)
    fleet.register_many(app, dict.fromkeys(sids, "free"))
    run_scheduled(app, RunOptions(tier="free"))
    for sid in sids:
        fleet.put_state(app, sid, realistic_state(sid, serial=5))  # changed, but the window is done

    again = run_scheduled(app, RunOptions(tier="free"))

    assert (again.claimed_elsewhere, again.created, again.written) == (3, 0, 0)
    assert all(len(scheduled_backups(app, sid)) == 1 for sid in sids)


def test_missing_and_corrupt_states_fail_alone_with_clear_events(fleet: Fleet) -> None:
    app = fleet.app()
    good, missing, corrupt, foreign = server_ids(4)
    fleet.register(app, good, "free")
    fleet.register(app, missing, "free", state=False)
    fleet.register(app, corrupt, "free", state=False)
    fleet.put_state(app, corrupt, b'{"version": 1, "serial": "seven"')
    fleet.register(app, foreign, "free", state=False)
    fleet.put_state(app, foreign, realistic_state(good, serial=3))  # another server's state

    report = run_scheduled(app, RunOptions(tier="free"))

    assert (report.created, report.failed) == (1, 3)
    assert len(scheduled_backups(app, good)) == 1
    failed = {e["server_id"]: e for e in local_events(fleet) if e["event"] == "backup.failed"}
    assert set(failed) == {missing, corrupt, foreign}
    assert failed[missing]["error"]["code"] == "STATE_NOT_FOUND"
    assert "has no state at" in failed[missing]["error"]["message"]
    assert failed[corrupt]["error"]["code"] == "STATE_INVALID"
    assert failed[foreign]["error"]["code"] == "STATE_SERVER_MISMATCH"
    assert all(e["workspace"] == "default" and e["tier"] == "free" for e in failed.values())
    [summary] = [e for e in local_events(fleet) if e["event"] == "scheduled-run.summary"]
    assert summary["counts"] == {"ok": 1, "failed": 3, "skipped": 0}
    for sid in (missing, corrupt, foreign):
        claim = app.catalog.get(server_pk(sid), run_claim_sk("free", report.window))
        assert claim is not None and claim["status"] == "failed"


def test_one_workspace_failing_does_not_stop_the_servers_other_workspaces(fleet: Fleet) -> None:
    app = fleet.app()
    [sid] = server_ids(1)
    fleet.register(app, sid, "premium", workspaces=("default", "staging"), state=False)
    fleet.put_state(app, sid, realistic_state(sid, 1, "default"), "default")

    report = run_scheduled(app, RunOptions(tier="premium"))

    assert report.failed == 1
    [backup] = scheduled_backups(app, sid)
    assert backup["workspace"] == "default"
    claim = app.catalog.get(server_pk(sid), run_claim_sk("premium", report.window))
    assert claim is not None
    assert claim["workspaces"]["default"]["outcome"] == "created"
    assert claim["workspaces"]["staging"]["error"]["code"] == "STATE_NOT_FOUND"


def test_servers_without_or_with_a_disabled_schedule_are_left_alone(fleet: Fleet) -> None:
    from gaib.storage.keys import TIER_SK
    from gaib.tiers.table import tier_item

    app = fleet.app()
    scheduled, unscheduled, disabled = server_ids(3)
    fleet.register(app, scheduled, "free")
    app.catalog.put_if_absent(server_pk(unscheduled), TIER_SK, tier_item(unscheduled, "free"))
    schedule = fleet.register(app, disabled, "free")
    item = app.catalog.get(server_pk(disabled), SCHEDULE_SK)
    assert item is not None
    app.catalog.update(server_pk(disabled), SCHEDULE_SK,
                       {"schedule": {**schedule.to_document(), "enabled": False}})

    report = run_scheduled(app, RunOptions(tier="free"))

    assert (report.listed, report.created, report.unscheduled, report.failed) == (3, 1, 2, 0)
    assert scheduled_backups(app, unscheduled) == [] and scheduled_backups(app, disabled) == []


def test_shards_split_the_servers_without_overlap(fleet: Fleet) -> None:
    from gaib.scheduled.window import Shard

    app = fleet.app()
    sids = server_ids(12)
    fleet.register_many(app, dict.fromkeys(sids, "free"))

    reports = [run_scheduled(app, RunOptions(tier="free", shard=Shard(i, 3))) for i in (1, 2, 3)]

    assert sum(r.listed for r in reports) == 12 and sum(r.created for r in reports) == 12
    assert all(r.listed > 0 for r in reports)  # 12 ids spread over 3 shards
    assert all(len(scheduled_backups(app, sid)) == 1 for sid in sids)


def test_backups_older_than_the_retention_are_pruned_by_the_run_at_most_daily(fleet: Fleet) -> None:
    app = fleet.app()
    [sid] = server_ids(1)
    fleet.register(app, sid, "free")
    for day in range(10):  # ten daily runs, each with a changed state
        fleet.put_state(app, sid, realistic_state(sid, serial=day + 2))
        run_scheduled(app, RunOptions(tier="free"))
        fleet.now += timedelta(days=1)

    kept = scheduled_backups(app, sid)
    # free keeps 7 days (and the newest); removals may wait up to a day past the retention
    assert 7 <= len(kept) <= 8
    item = app.catalog.get(server_pk(sid), SCHEDULE_SK)
    assert item is not None and item["status"]["retention_days"] == 7 and item["status"]["pruned_at"]
