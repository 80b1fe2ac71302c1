"""Damaged or hostile schedules fail their own server (SCHEDULE_INVALID, exit 3's class); the run goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gaib.errors import EXIT_STATE, ScheduleInvalid
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.schedules import parse_schedule
from gaib.scheduled.window import RunOptions
from gaib.storage.keys import run_claim_sk, server_pk
from tests.support.fleet import Fleet, local_events, scheduled_backups, server_ids

GOOD_DOC: dict[str, Any] = {
    "format_version": 1, "server_id": "", "enabled": True,
    "workspaces": {"default": {"backend": "s3", "bucket": "my-states", "key": "servers/default/terraform.tfstate"}},
    "export_config": False, "snapshots": False, "bot_token_secret": None,
}


TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"  # shaped like a real one


def doc(sid: str, **changes: Any) -> dict[str, Any]:
    return {**GOOD_DOC, "server_id": sid, **changes}


def hostile_items(sid: str, other: str) -> dict[str, dict[str, Any]]:
    """Schedule items a broken tool or an attacker with catalog access could leave behind."""
    return {
        "bad JSON": {"kind": "schedule", "server_id": sid, "schedule": '{"format_version": 1, "server_id": '},
        "not an object": {"kind": "schedule", "server_id": sid, "schedule": ["default"]},
        "wrong types": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, enabled="yes")},
        "workspaces as a list": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces=["default"])},
        "foreign server in the document": {"kind": "schedule", "server_id": sid, "schedule": doc(other)},
        "foreign server on the item": {"kind": "schedule", "server_id": other, "schedule": doc(other)},
        "path traversal workspace": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "../../etc": {"backend": "s3", "bucket": "my-states", "key": "k"}})},
        "local folder outside the project": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "default": {"backend": "local", "path": "/etc"}})},
        "relative local folder": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "default": {"backend": "local", "path": "../x"}})},
        "unknown backend": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "default": {"backend": "ftp", "path": "/"}})},
        "key with a template": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "default": {"backend": "s3", "bucket": "my-states", "key": "${guild_id}/x"}})},
        "bucket with a slash": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            "default": {"backend": "s3", "bucket": "a/b", "key": "k"}})},
        "secret name with a newline": {"kind": "schedule", "server_id": sid, "schedule": doc(
            sid, export_config=True, bot_token_secret="gaib/token\nX-Injected: 1")},
        "a bot token as the secret name": {"kind": "schedule", "server_id": sid, "schedule": doc(
            sid, snapshots=True, bot_token_secret=TOKEN)},
        "nested thousands deep": {"kind": "schedule", "server_id": sid, "schedule": "[" * 5000 + "]" * 5000},
        "export without a secret": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, export_config=True)},
        "unknown field": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, run_as="root")},
        "newer format": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, format_version=9)},
        "too many workspaces": {"kind": "schedule", "server_id": sid, "schedule": doc(sid, workspaces={
            f"ws{i}": {"backend": "s3", "bucket": "my-states", "key": f"k{i}"} for i in range(21)})},
        "huge": {"kind": "schedule", "server_id": sid, "schedule": json.dumps(doc(sid)) + " " * 70_000},
        "no schedule field": {"kind": "schedule", "server_id": sid},
    }


def test_each_hostile_schedule_fails_its_server_and_the_run_goes_on(fleet: Fleet) -> None:
    app = fleet.app()
    good = server_ids(1, start=1_200_000_000_000_000_000)[0]
    fleet.register(app, good, "free")
    cases = hostile_items("0", "1")
    sids = server_ids(len(cases))
    names = dict(zip(sids, cases, strict=True))
    for sid, name in names.items():
        fleet.register(app, sid, "free")
        fleet.set_item(app, sid, hostile_items(sid, "999999999999999999")[name])

    report = run_scheduled(app, RunOptions(tier="free", concurrency=4))

    assert (report.created, report.failed) == (1, len(cases)), report.failures
    assert len(scheduled_backups(app, good)) == 1
    failed = {e["server_id"]: e for e in local_events(fleet) if e["event"] == "backup.failed"}
    assert set(failed) == set(sids)
    for sid, event in failed.items():
        assert event["error"]["code"] == "SCHEDULE_INVALID", names[sid]
        assert sid in event["error"]["message"], names[sid]
        assert TOKEN not in json.dumps(event), names[sid]
        assert scheduled_backups(app, sid) == [], names[sid]
        claim = app.catalog.get(server_pk(sid), run_claim_sk("free", report.window))
        assert claim is not None and claim["status"] == "failed" and claim["error"]["code"] == "SCHEDULE_INVALID"
        assert TOKEN not in json.dumps(claim), names[sid]
    assert ScheduleInvalid.exit_code == EXIT_STATE == 3


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"", b"null", b'"text"', b"[]", b"{" * 5000,
                                 b"[" * 5000 + b"]" * 5000])
def test_unreadable_documents_are_schedule_invalid(raw: bytes) -> None:
    with pytest.raises(ScheduleInvalid) as info:
        parse_schedule(raw, "123", "metadata/123/backup-schedule.json")
    assert info.value.exit_code == 3 and "metadata/123/backup-schedule.json" in info.value.message
    assert "\n" not in info.value.message


def test_a_good_document_parses_and_round_trips() -> None:
    schedule = parse_schedule(json.dumps(doc("123", snapshots=True, bot_token_secret="gaib/bot")).encode(), "123",
                              "doc")
    assert [w.workspace for w in schedule.workspaces] == ["default"] and schedule.needs_token
    assert parse_schedule(schedule.to_bytes(), "123", "again") == schedule
