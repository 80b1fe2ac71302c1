"""The free tier's on-demand quota (one backup per UTC day), on local storage and on S3 + DynamoDB (moto).

What a user meets: the second on-demand backup of a day exits 7 saying when the quota resets and that
premium lifts it, stores nothing and publishes ``quota.reached``; scheduled and pre-restore backups never
count; a create that fails gives its unit back; the next UTC day starts afresh; a premium server has no
limit and a server moved back to free mid-day is held to what it already used.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaib.backups.store import BackupManager
from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.state.local import LocalBackend
from gaib.state.model import State
from gaib.storage.keys import quota_sk, server_pk
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage
from tests.support.tiers import on_tier

T0 = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def app(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)


def events(cli: CliRunner) -> list[dict[str, Any]]:
    path = cli.cwd / ".gaib" / "backups" / ".events" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def backups(cli: CliRunner) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = cli("server", "backup", "list", "--all-workspaces", "--json").data["backups"]
    return listed


def test_second_on_demand_backup_of_the_day_exits_7_and_says_when_it_resets(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    first = bcli("server", "backup", "create", "-m", "first", "--json")
    assert first.exit_code == 0, first.stdout
    second = bcli("server", "backup", "create", "-m", "second", "--json")
    assert second.exit_code == 7
    err = second.error
    assert err["code"] == "TIER_LIMIT"
    assert "2026-11-26 00:00 UTC" in err["message"] and "in 7 h 00 min" in err["message"]
    assert "free tier" in err["message"] and "premium" in err["suggestion"]
    assert err["details"]["resets_at"] == "2026-11-26T00:00:00Z" and err["details"]["limit"] == 1
    # Nothing of the refused backup was stored, and people were told.
    assert [b["message"] for b in backups(bcli)] == ["first"]
    assert len([k for k in Storage(bcli).objects() if k.startswith("state/")]) == 1
    reached = [e for e in events(bcli) if e["event"] == "quota.reached"]
    assert len(reached) == 1 and reached[0]["server_id"] == GUILD and reached[0]["error"]["code"] == "TIER_LIMIT"
    # Text mode says the same on stderr.
    text = bcli("server", "backup", "create")
    assert text.exit_code == 7 and "resets at 2026-11-26 00:00 UTC" in text.stderr


def test_the_quota_resets_at_midnight_utc(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    assert bcli("server", "backup", "create", "--json").exit_code == 7
    bcli.clock = lambda: datetime(2026, 11, 26, 0, 0, 0, tzinfo=UTC)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    assert bcli("server", "backup", "create", "--json").exit_code == 7
    assert len(backups(bcli)) == 2


def test_scheduled_and_pre_restore_backups_never_count(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    ports = app(bcli)
    state = LocalBackend(bcli.cwd / ".gaib").get("default")
    assert state is not None
    mgr = BackupManager(ports.store, ports.catalog, clock=ports.clock, mac=ports.mac)
    for _ in range(3):
        mgr.create(state, server_id=GUILD, workspace="default", trigger="scheduled")
    made = bcli("server", "backup", "create", "-m", "mine", "--json")
    assert made.exit_code == 0, made.stdout  # the scheduled ones used nothing
    restored = bcli("server", "backup", "restore", made.data["id"], "--yes", "--json")
    assert restored.exit_code == 0, restored.stdout  # its pre-restore backup is not refused...
    assert bcli("server", "backup", "create", "--json").exit_code == 7  # ...nor counted: still one used
    triggers = sorted(b["trigger"] for b in backups(bcli))
    assert triggers == ["on-demand", "pre-restore", "scheduled", "scheduled", "scheduled"]
    assert ports.catalog.get(server_pk(GUILD), quota_sk("backup", T0)) == {"count": 1, "expires_at": int(
        datetime(2026, 11, 27, tzinfo=UTC).timestamp())}


def test_a_failed_create_gives_its_unit_back(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    on_tier(bcli, "free")  # registers the server (and creates the store)
    storage = Storage(bcli)
    if storage.kind == "local":
        blocker = storage.root / "state" / GUILD
        blocker.parent.mkdir(parents=True, exist_ok=True)
        blocker.write_bytes(b"not a folder")  # the backup's object cannot be written
        failed = bcli("server", "backup", "create", "--json")
        blocker.unlink()
    else:
        s3 = storage._client("s3")
        s3.delete_bucket(Bucket=storage.bucket)  # the bucket is gone: PutObject fails
        failed = bcli("server", "backup", "create", "--json")
        s3.create_bucket(Bucket=storage.bucket)
    assert failed.exit_code in (1, 3), failed.stdout
    assert backups(bcli) == []
    again = bcli("server", "backup", "create", "--json")
    assert again.exit_code == 0, again.stdout  # the failed create did not use up the day
    assert bcli("server", "backup", "create", "--json").exit_code == 7


def test_premium_has_no_on_demand_limit_and_a_downgrade_keeps_what_was_used(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    assert bcli("server", "backup", "create", "--json").exit_code == 0  # free: the day's one
    on_tier(bcli, "premium")
    for _ in range(4):
        assert bcli("server", "backup", "create", "--json").exit_code == 0
    on_tier(bcli, "free")
    refused = bcli("server", "backup", "create", "--json")
    assert refused.exit_code == 7 and refused.error["details"]["tier"] == "free"
    shown = bcli("server", "tier", "show", "--json").data["usage"]["on_demand"]["backup"]
    assert shown == {"limit": 1, "used": 1, "created_today": 5, "remaining": 0}
    assert len(backups(bcli)) == 5


def test_usage_counts_today_only(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0 - timedelta(days=1)
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    bcli.clock = lambda: T0
    usage = bcli("server", "tier", "show", "--json").data["usage"]
    assert usage["day"] == "2026-11-25" and usage["resets_at"] == "2026-11-26T00:00:00Z"
    assert usage["on_demand"]["backup"] == {"limit": 1, "used": 0, "created_today": 0, "remaining": 1}
    assert bcli("server", "backup", "create", "--json").exit_code == 0
    usage = bcli("server", "tier", "show", "--json").data["usage"]
    assert usage["on_demand"]["backup"] == {"limit": 1, "used": 1, "created_today": 1, "remaining": 0}
    assert usage["storage"]["backups"]["objects"] == 2 and usage["storage"]["backups"]["bytes"] > 0


# --- the only recovery point is never refused (issue 25, finding 5) --------------------------------------------


def test_the_day_s_backup_deleted_the_workspace_may_take_one_again(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    first = bcli("server", "backup", "create", "-m", "first", "--json").data
    assert bcli("server", "backup", "delete", first["id"], "--yes").exit_code == 0
    assert backups(bcli) == []

    again = bcli("server", "backup", "create", "-m", "again", "--json")

    assert again.exit_code == 0, again.stdout  # the workspace had no backup left: never refused
    assert [b["message"] for b in backups(bcli)] == ["again"]
    refused = bcli("server", "backup", "create", "--json")
    assert refused.exit_code == 7
    err = refused.error
    # The refusal names what is stored and when the next one is allowed.
    assert f"Workspace 'default' of server {GUILD} has 1 backup, the newest {again.data['id']} (2026-11-25 17:00 UTC)" \
        in err["message"]
    assert "The next on-demand backup is allowed when the quota resets at 2026-11-26 00:00 UTC (in 7 h 00 min)" \
        in err["message"]
    assert err["details"]["stored"] == {"count": 1, "newest": {"id": again.data["id"],
                                                               "created_at": "2026-11-25T17:00:00Z"}}


def test_a_workspace_without_a_backup_is_not_refused_by_another_workspace_s(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    assert bcli("server", "backup", "create", "--json").exit_code == 0  # default's: the day's one
    assert bcli("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    LocalBackend(bcli.cwd / ".gaib").put(State.new("staging", guild_id=GUILD), expected_serial=None)

    staging = bcli("server", "backup", "create", "-w", "staging", "--json")

    assert staging.exit_code == 0, staging.stdout
    assert sorted(b["workspace"] for b in backups(bcli)) == ["default", "staging"]
    refused = bcli("server", "backup", "create", "-w", "staging", "--json")
    assert refused.exit_code == 7 and refused.error["details"]["stored"]["count"] == 1


def test_a_unit_still_being_written_keeps_the_quota_closed(bcli: CliRunner) -> None:
    """The exception is race-free: while the day's unit is taken but its backup not yet stored (another
    process is writing it), a second create is refused even though nothing is listed yet."""
    from gaib.errors import TierLimit
    from gaib.tiers.quota import Quota
    from gaib.tiers.table import POLICIES

    bcli.clock = lambda: T0
    on_tier(bcli, "free")
    ports = app(bcli)
    quota = Quota(ports.catalog, clock=ports.clock)
    held = quota.take(GUILD, "backup", POLICIES["free"], workspace="default")  # being written elsewhere
    assert held.counted
    with pytest.raises(TierLimit) as refused:
        quota.take(GUILD, "backup", POLICIES["free"], workspace="default")
    assert refused.value.details["stored"] == {"count": 0, "newest": None}
    quota.settle(held)  # its backup was stored, then deleted: nothing is stored and every unit is settled
    rescue = quota.take(GUILD, "backup", POLICIES["free"], workspace="default")
    assert rescue.counted  # one more unit, past the ceiling...
    with pytest.raises(TierLimit):  # ...to one create at a time
        quota.take(GUILD, "backup", POLICIES["free"], workspace="default")
