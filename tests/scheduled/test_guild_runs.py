"""Runs that read the guild (config exports, weekly snapshots) with the bot token from a named secret."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from gaib.storage.keys import export_latest_key, exports_prefix, run_claim_sk, server_pk
from tests.support.emulator import EmulatorHandle
from tests.support.fleet import Fleet, local_events

SECRET = "gaib/bot-token"
SUNDAY = "2026-11-29T04:00:00Z"


@pytest.fixture
def guild_fleet(fleet: Fleet, emulator: EmulatorHandle) -> Fleet:
    emulator.reset()
    fleet.environ.update({"GAIB_DISCORD_API_URL": emulator.base_url, "GAIB_SECRET_GAIB_BOT_TOKEN": emulator.token})
    return fleet


def add_channel(emu: EmulatorHandle, name: str) -> None:
    httpx.post(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=emu.auth_headers(),
               json={"name": name, "type": 0}).raise_for_status()


def test_exports_are_written_when_the_live_server_changed(guild_fleet: Fleet, emulator: EmulatorHandle) -> None:
    fleet, sid = guild_fleet, emulator.guild_id
    app = fleet.app()
    fleet.register(app, sid, "premium", export_config=True, secret=SECRET)
    add_channel(emulator, "announcements")

    first = run_scheduled(app, RunOptions(tier="premium"))
    fleet.now += timedelta(hours=1)
    second = run_scheduled(app, RunOptions(tier="premium"))  # nothing changed anywhere
    add_channel(emulator, "raid-logs")
    fleet.now += timedelta(hours=1)
    third = run_scheduled(app, RunOptions(tier="premium"))

    assert (first.created, second.failed, third.failed) == (1, 0, 0)
    exports = [o.key for o in app.store.list(exports_prefix(sid)) if not o.key.endswith("latest.yaml")]
    assert len(exports) == 2
    assert b"raid-logs" in app.store.get(export_latest_key(sid))
    claim = app.catalog.get(server_pk(sid), run_claim_sk("premium", second.window))
    assert claim is not None and claim["export"] == {"outcome": "unchanged"} and claim["status"] == "unchanged"


def test_a_weekly_snapshot_is_taken_once_per_window(guild_fleet: Fleet, emulator: EmulatorHandle) -> None:
    fleet, sid = guild_fleet, emulator.guild_id
    app = fleet.app()
    fleet.register(app, sid, "premium", snapshots=True, secret=SECRET)
    fleet.now = fleet.now.replace(day=29, hour=4, minute=1)

    first = run_scheduled(app, RunOptions(tier="premium", snapshots=True, window=SUNDAY))
    again = run_scheduled(app, RunOptions(tier="premium", snapshots=True, window=SUNDAY))

    assert (first.created, again.claimed_elsewhere) == (1, 1)
    [snapshot] = app.catalog.query(server_pk(sid), "SNAPSHOT#").items
    assert snapshot["trigger"] == "scheduled" and snapshot["tier"] == "premium"
    assert snapshot["serial"] == 1  # the state the schedule names went in with it


def test_a_missing_token_secret_fails_that_server_only(guild_fleet: Fleet, emulator: EmulatorHandle) -> None:
    fleet, sid = guild_fleet, emulator.guild_id
    del fleet.environ["GAIB_SECRET_GAIB_BOT_TOKEN"]
    app = fleet.app()
    fleet.register(app, sid, "premium", export_config=True, secret=SECRET)

    report = run_scheduled(app, RunOptions(tier="premium"))

    assert (report.failed, report.written) == (1, 1)  # the state backup was still written
    [event] = [e for e in local_events(fleet) if e["event"] == "backup.failed"]
    assert event["error"]["code"] == "SECRET_UNAVAILABLE" and "GAIB_SECRET_GAIB_BOT_TOKEN" in event["error"]["message"]
    assert emulator.token not in str(local_events(fleet))


def test_a_live_server_holding_its_token_fails_its_export_and_stores_nothing_of_it(
        guild_fleet: Fleet, emulator: EmulatorHandle) -> None:
    # The run's environment holds no bot token: the token comes from the server's secret, and that
    # server's writes are checked against it (SECRET_REFUSED), so a pasted token is never exported.
    fleet, sid = guild_fleet, emulator.guild_id
    app = fleet.app()
    fleet.register(app, sid, "premium", export_config=True, secret=SECRET)
    httpx.post(f"{emulator.base_url}/guilds/{sid}/channels", headers=emulator.auth_headers(),
               json={"name": "bots", "type": 0, "topic": f"our token is {emulator.token} here"}).raise_for_status()

    report = run_scheduled(app, RunOptions(tier="premium"))

    assert (report.failed, report.written) == (1, 1)  # the state backup (no token in it) was still written
    [event] = [e for e in local_events(fleet) if e["event"] == "backup.failed"]
    assert event["error"]["code"] == "SECRET_REFUSED"
    assert "The topic of channel #bots (" in event["error"]["message"]  # issue 25: names the live channel
    assert [o.key for o in app.store.list(exports_prefix(sid))] == []
    stored = b"".join(app.store.get(o.key) for o in app.store.list(""))
    assert emulator.token.encode() not in stored and emulator.token not in str(local_events(fleet))


def test_a_weekly_snapshot_of_a_workspace_without_state_yet_is_taken_without_one(
        guild_fleet: Fleet, emulator: EmulatorHandle) -> None:
    """The workspace exists where the schedule says (made by 'workspace new') but holds no state: the
    server's snapshot is still taken, as an on-demand one would be, and the workspace counts as written."""
    fleet, sid = guild_fleet, emulator.guild_id
    app = fleet.app()
    fleet.register(app, sid, "premium", snapshots=True, secret=SECRET, state=False)
    location = fleet.location(sid)
    if location.backend == "s3":
        assert location.key is not None
        app._state_clients(location.region)[0].put_object(  # the marker 'workspace new' writes
            Bucket=location.bucket, Key=location.key.rsplit("/", 1)[0] + "/workspace.json", Body=b"{}")
    else:
        assert location.path is not None
        (Path(location.path) / "workspaces" / "default").mkdir(parents=True)
    fleet.now = fleet.now.replace(day=29, hour=4, minute=1)

    report = run_scheduled(app, RunOptions(tier="premium", snapshots=True, window=SUNDAY))

    assert (report.created, report.failed, report.workspaces["created"]) == (1, 0, 1)
    [snapshot] = app.catalog.query(server_pk(sid), "SNAPSHOT#").items
    assert snapshot["trigger"] == "scheduled" and snapshot["serial"] is None
