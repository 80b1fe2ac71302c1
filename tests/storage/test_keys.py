"""Key layout: the one place keys are built, and what it refuses."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from gaib.errors import EXIT_INVALID_INPUT, InvalidName
from gaib.storage import keys as K

SERVER = "123456789012345678"
NOW = datetime(2026, 11, 25, 17, 3, 12, 42_999, tzinfo=UTC)
BID = "20261125T170312042Z-a1b2c3d4"

HOSTILE = ["", "../x", "..", "%2e%2e", "a/b", "a\\b", "x" * 10_000, "\u00e9t\u00e9", "a b", "-lead", ".hidden",
           "a\x00b", "\uff10\uff11"]


def test_new_id_carries_the_utc_time_to_the_millisecond() -> None:
    ident = K.new_id(NOW)
    assert re.fullmatch(r"20261125T170312042Z-[0-9a-f]{8}", ident)
    assert K.parse_id(ident) == datetime(2026, 11, 25, 17, 3, 12, 42_000, tzinfo=UTC)
    local = NOW.astimezone(timezone(timedelta(hours=-5)))
    assert K.new_id(local).startswith("20261125T170312042Z-")
    with pytest.raises(ValueError):
        K.new_id(datetime(2026, 1, 1))


def test_ids_made_in_the_same_millisecond_are_distinct() -> None:
    # 32 random bits per millisecond: 1,000 ids in one millisecond collide with probability ~1e-4
    # (20,000 did ~5% of the time); a collision would be refused by the never-overwriting writes anyway.
    ids = {K.new_id(NOW) for _ in range(1_000)}
    assert len(ids) == 1_000
    assert len({K.backup_key(SERVER, "default", i) for i in ids}) == 1_000


def test_ids_and_sort_keys_sort_by_time() -> None:
    times = [NOW + timedelta(milliseconds=n * 7919) for n in range(50)]
    ids = [K.new_id(t) for t in times]
    assert sorted(ids) == ids
    assert sorted(K.backup_sk(i) for i in ids) == [K.backup_sk(i) for i in ids]


def test_layout_matches_the_design() -> None:
    assert K.backup_key(SERVER, "default", BID) == f"state/{SERVER}/default/backup.{BID}.json.gz"
    assert K.backups_prefix(SERVER) == f"state/{SERVER}/"
    assert K.backups_prefix(SERVER, "prod-eu") == f"state/{SERVER}/prod-eu/"
    assert K.export_key(SERVER, BID) == f"exports/{SERVER}/config.{BID}.yaml"
    assert K.export_latest_key(SERVER) == f"exports/{SERVER}/config.latest.yaml"
    assert [K.snapshot_key(SERVER, BID, p) for p in K.SNAPSHOT_PARTS] == [
        f"snapshots/{SERVER}/{BID}/manifest.json",
        f"snapshots/{SERVER}/{BID}/state.json.gz",
        f"snapshots/{SERVER}/{BID}/config.yaml.gz",
        f"snapshots/{SERVER}/{BID}/theme-registry.json.gz",
        f"snapshots/{SERVER}/{BID}/objects.json.gz",
    ]
    assert K.theme_registry_key(SERVER) == f"themes/{SERVER}/registry.json"
    assert K.theme_audit_key(SERVER, BID) == f"themes/{SERVER}/audit/{BID}.json"
    assert K.schedule_key(SERVER) == f"metadata/{SERVER}/backup-schedule.json"
    assert K.server_pk(SERVER) == f"SERVER#{SERVER}"
    assert K.backup_sk(BID) == f"BACKUP#20261125T170312042Z#{BID}"
    assert K.snapshot_sk(BID) == f"SNAPSHOT#20261125T170312042Z#{BID}"
    assert K.deployment_sk(BID) == f"DEPLOY#20261125T170312042Z#{BID}"
    assert K.deployment_config_key(SERVER, BID) == f"themes/{SERVER}/deployments/config.{BID}.yaml.gz"
    assert K.id_from_sk(K.deployment_sk(BID)) == BID
    assert K.quota_sk("backup", date(2026, 11, 25)) == "QUOTA#backup#20261125"
    assert K.quota_sk("backup", datetime(2026, 11, 25, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == (
        "QUOTA#backup#20261126"
    )
    assert K.id_from_sk(K.snapshot_sk(BID)) == BID


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_server_ids_workspaces_and_ids_are_refused(bad: str) -> None:
    builders = [
        lambda: K.backup_key(bad, "default", BID),
        lambda: K.backup_key(SERVER, bad, BID),
        lambda: K.backup_key(SERVER, "default", bad),
        lambda: K.backups_prefix(bad),
        lambda: K.backups_prefix(SERVER, bad),
        lambda: K.export_key(SERVER, bad),
        lambda: K.export_latest_key(bad),
        lambda: K.snapshot_key(SERVER, bad, "manifest.json"),
        lambda: K.snapshot_prefix(bad),
        lambda: K.theme_registry_key(bad),
        lambda: K.theme_audit_key(SERVER, bad),
        lambda: K.deployment_config_key(SERVER, bad),
        lambda: K.deployment_config_key(bad, BID),
        lambda: K.deployments_prefix(bad),
        lambda: K.deployment_sk(bad),
        lambda: K.schedule_key(bad),
        lambda: K.server_pk(bad),
        lambda: K.backup_sk(bad),
        lambda: K.snapshot_sk(bad),
        lambda: K.quota_sk(bad, date(2026, 1, 1)),
        lambda: K.parse_id(bad),
    ]
    for build in builders:
        with pytest.raises(InvalidName) as info:
            build()
        assert info.value.exit_code == EXIT_INVALID_INPUT


@pytest.mark.parametrize(
    "bad",
    [
        "20261325T170312042Z-a1b2c3d4",  # month 13
        "20260230T170312042Z-a1b2c3d4",  # 30 February
        "20261125T250312042Z-a1b2c3d4",  # hour 25
        "20261125T170312042Z-A1B2C3D4",  # upper-case suffix
        "20261125T170312042Z-a1b2c3",  # short suffix
        "20261125T170312Z-a1b2c3d4",  # no milliseconds
        "default",
        "snowflake",
    ],
)
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidName):
        K.check_id(bad)


def test_unknown_snapshot_parts_and_sort_keys_are_refused() -> None:
    with pytest.raises(InvalidName):
        K.snapshot_key(SERVER, BID, "../../x")  # type: ignore[arg-type]
    for sk in ("BACKUP#x#y", "TIER", f"OTHER#20261125T170312042Z#{BID}", f"BACKUP#20250101T000000000Z#{BID}"):
        with pytest.raises(InvalidName):
            K.id_from_sk(sk)


def test_audit_keys_and_server_prefixes() -> None:
    assert K.audit_sk(BID) == f"AUDIT#{BID[:19]}#{BID}"
    assert K.server_prefixes(SERVER) == {
        "backups": f"state/{SERVER}/", "snapshots": f"snapshots/{SERVER}/", "media": f"media/{SERVER}/",
        "exports": f"exports/{SERVER}/", "themes": f"themes/{SERVER}/", "metadata": f"metadata/{SERVER}/"}
    for bad in ("../1", "1/2", "x"):
        with pytest.raises(InvalidName):
            K.server_prefixes(bad)
