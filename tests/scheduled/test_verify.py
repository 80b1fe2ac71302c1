"""gaib server backup verify: every checksum re-read; failures are events, metrics and exit 3."""

from __future__ import annotations

import random

from gaib.backups.store import BackupManager
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.verify import verify
from gaib.scheduled.window import RunOptions
from gaib.storage.keys import backup_key
from tests.support.cli import CliRunner
from tests.support.fleet import Fleet, emf, local_events, realistic_state, scheduled_backups, server_ids


def three_backups(fleet: Fleet, sid: str) -> list[str]:
    app = fleet.app()
    fleet.register(app, sid, "premium")
    manager = BackupManager(app.store, app.catalog, clock=fleet.clock, mac=app.mac)
    ids = []
    for serial in (1, 2, 3):
        rec = manager.create(realistic_state(sid, serial), server_id=sid, workspace="default", trigger="scheduled")
        ids.append(rec.id)
        fleet.now = fleet.now.replace(minute=serial)
    return ids


def corrupt(fleet: Fleet, key: str) -> None:
    """Flip bytes of a stored object behind the store's back (disk rot, or a bad copy)."""
    if fleet.state_bucket is None:
        path = fleet.project / ".gaib" / "backups" / key
        data = bytearray(path.read_bytes())
        data[20] ^= 0xFF
        path.write_bytes(bytes(data))
        return
    app = fleet.app()
    client = app._state_clients("us-east-1")[0]
    data = bytearray(client.get_object(Bucket=fleet.environ["GAIB_BACKUP_BUCKET"], Key=key)["Body"].read())
    data[20] ^= 0xFF
    client.put_object(Bucket=fleet.environ["GAIB_BACKUP_BUCKET"], Key=key, Body=bytes(data))


def test_default_checks_the_newest_all_checks_everything_sample_adds_some(fleet: Fleet) -> None:
    [sid] = server_ids(1)
    three_backups(fleet, sid)
    app = fleet.app(DISCORD_GUILD_ID=sid)

    assert (verify(app).checked, verify(app, everything=True).checked) == (1, 3)
    sampled = verify(app, sample=1, rng=random.Random(3))
    assert (sampled.checked, sampled.ok, sampled.failed) == (2, 2, 0)
    assert verify(app, sample=50).checked == 3


def test_a_corrupted_backup_fails_verification_with_an_event_and_exit_3(fleet: Fleet) -> None:
    [sid] = server_ids(1)
    oldest, _, newest = three_backups(fleet, sid)
    corrupt(fleet, backup_key(sid, "default", oldest))
    cli = CliRunner(cwd=fleet.project, environ={**fleet.environ, "DISCORD_GUILD_ID": sid}, clock=fleet.clock)

    assert cli("server", "backup", "verify").exit_code == 0  # the newest is fine
    result = cli("server", "backup", "verify", "--all", "--json")

    assert result.exit_code == 3 and result.error["code"] == "INTEGRITY_ERROR"
    report = result.error["details"]["verify"]
    assert (report["checked"], report["ok"], report["failed"]) == (3, 2, 1)
    assert report["failures"][0]["id"] == oldest and report["failures"][0]["error"]["code"] == "INTEGRITY_ERROR"
    [event] = [e for e in local_events(fleet) if e["event"] == "verify.failed"]
    assert (event["server_id"], event["id"], event["tier"]) == (sid, oldest, "premium")
    assert "corrupted" in event["error"]["message"]
    assert newest != oldest


def test_the_weekly_tier_verification_covers_every_server_and_prints_metrics(fleet: Fleet) -> None:
    app = fleet.app()
    sids = server_ids(3)
    fleet.register_many(app, dict.fromkeys(sids, "free"))
    run_scheduled(app, RunOptions(tier="free"))
    broken = scheduled_backups(app, sids[1])[0]
    corrupt(fleet, backup_key(sids[1], "default", broken["id"]))
    cli = CliRunner(cwd=fleet.project, environ=fleet.environ, clock=fleet.clock)

    result = cli("server", "backup", "verify", "--tier", "free")

    assert result.exit_code == 3
    [(namespace, dims, values)] = emf(result.stdout)
    assert (namespace, dims) == ("Gaib/Backups", {"Tier": "free", "Operation": "verify"})
    assert (values["BackupSuccess"], values["BackupErrors"], values["ScheduledRunHeartbeat"]) == (2, 1, 1)
    assert [e["server_id"] for e in local_events(fleet) if e["event"] == "verify.failed"] == [sids[1]]


def test_all_and_sample_together_are_a_usage_error(fleet: Fleet) -> None:
    cli = CliRunner(cwd=fleet.project, environ={**fleet.environ, "DISCORD_GUILD_ID": "1"}, clock=fleet.clock)
    assert cli("server", "backup", "verify", "--all", "--sample", "2").exit_code == 6
