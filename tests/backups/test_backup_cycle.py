"""The seed's four backup commands on both storages: create, list, restore, delete."""

from __future__ import annotations

from gaib.state.local import LocalBackend
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state
from tests.support.tiers import on_tier


def _state(cli: CliRunner):  # type: ignore[no-untyped-def]
    return LocalBackend(cli.cwd / ".gaib").get("default")


def test_full_cycle(bcli: CliRunner) -> None:
    seeded = seed_state(bcli.cwd)
    made = bcli("server", "backup", "create", "-m", "before cleanup", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    rec = made.data
    assert (rec["serial"], rec["lineage"], rec["message"], rec["trigger"], rec["tier"]) == \
        (4, seeded.lineage, "before cleanup", "on-demand", "free")
    assert rec["key"] == f"state/{GUILD}/default/backup.{rec['id']}.json.gz"
    assert "expires_at" not in rec and rec["format_version"] == 2 and len(rec["manifest_sha256"]) == 64
    listed = bcli("server", "backup", "list", "--json").data
    assert [b["id"] for b in listed["backups"]] == [rec["id"]]

    assert bcli("server", "state", "rm", "discord_role.general", "--yes").exit_code == 0
    assert _state(bcli).serial == 5

    dry = bcli("server", "backup", "restore", rec["id"], "--dry-run", "--json")
    assert dry.exit_code == 0
    assert dry.data["plan"]["diff"]["added"] == ["discord_role.general"]
    assert _state(bcli).serial == 5  # dry run wrote nothing

    refused = bcli("server", "backup", "restore", rec["id"], "--json")
    assert refused.exit_code == 6 and refused.error["code"] == "CONFIRMATION_REQUIRED"

    done = bcli("server", "backup", "restore", rec["id"], "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    result = done.data["result"]
    assert (result["previous_serial"], result["new_serial"]) == (5, 6)
    restored = _state(bcli)
    assert restored.serial == 6 and restored.lineage == seeded.lineage
    assert restored.content_equal(seeded)

    # the restore backed up what it replaced, so it can be undone
    pre = result["pre_restore_backup_id"]
    listed = bcli("server", "backup", "list", "--json").data["backups"]
    assert [(b["id"], b["trigger"]) for b in listed] == [(pre, "pre-restore"), (rec["id"], "on-demand")]
    undo = bcli("server", "backup", "restore", pre, "--yes", "--json")
    assert undo.exit_code == 0
    assert _state(bcli).serial == 7  # a restore is one more serial; backups do not bump it
    assert _state(bcli).addresses() == ["discord_role.mods", "discord_role.members"]

    gone = bcli("server", "backup", "delete", rec["id"], "--yes", "--json")
    assert gone.exit_code == 0
    ids = [b["id"] for b in bcli("server", "backup", "list", "--json").data["backups"]]
    assert rec["id"] not in ids and len(ids) == 2
    missing = bcli("server", "backup", "restore", rec["id"], "--yes", "--json")
    assert missing.exit_code == 6 and missing.error["code"] == "NOT_FOUND"


def test_other_lineage_needs_force(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    rec = bcli("server", "backup", "create", "--json").data
    # Replace the workspace with an unrelated history.
    (bcli.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate").unlink()
    other = seed_state(bcli.cwd, serial=9, names=("x",))
    r = bcli("server", "backup", "restore", rec["id"], "--yes", "--json")
    assert r.exit_code == 3 and r.error["code"] == "STATE_LINEAGE_MISMATCH"
    assert rec["lineage"] in r.error["message"] and other.lineage in r.error["message"]
    assert _state(bcli).serial == 9
    forced = bcli("server", "backup", "restore", rec["id"], "--yes", "--force", "--json")
    assert forced.exit_code == 0
    after = _state(bcli)
    assert after.serial == 10 and after.lineage == other.lineage
    assert after.addresses() == ["discord_role.mods", "discord_role.members", "discord_role.general"]


def test_list_pages_newest_first_and_filters_workspaces(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    on_tier(bcli, "premium")  # seven on-demand backups in one day
    ids = [bcli("server", "backup", "create", "-m", str(i), "--json").data["id"] for i in range(7)]
    assert len(set(ids)) == 7
    page1 = bcli("server", "backup", "list", "--limit", "3", "--json").data
    page2 = bcli("server", "backup", "list", "--limit", "3", "--cursor", page1["next_cursor"], "--json").data
    page3 = bcli("server", "backup", "list", "--limit", "3", "--cursor", page2["next_cursor"], "--json").data
    got = [b["id"] for p in (page1, page2, page3) for b in p["backups"]]
    assert got == list(reversed(ids))
    assert page3["next_cursor"] is None
    assert bcli("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    other = bcli("server", "backup", "list", "-w", "staging", "--json")
    assert other.exit_code == 0 and other.data["backups"] == []
    assert len(bcli("server", "backup", "list", "--all-workspaces", "--json").data["backups"]) == 7


def test_no_state_no_backup(bcli: CliRunner) -> None:
    r = bcli("server", "backup", "create", "--json")
    assert r.exit_code == 3 and r.error["code"] == "STATE_NOT_FOUND"


def test_first_backup_registers_the_server_as_free_for_the_scheduler_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from gaib.backups.store import BackupManager
    from gaib.storage.keys import TIER_SK, server_pk
    from gaib.storage.open import open_storage

    store, catalog = open_storage(backend="local", root=tmp_path / "b")
    state = seed_state(tmp_path)
    manager = BackupManager(store, catalog, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC))
    assert catalog.get(server_pk(GUILD), TIER_SK) is None
    manager.create(state, server_id=GUILD, workspace="default")
    assert catalog.get(server_pk(GUILD), TIER_SK) == {"tier": "free", "server_tier": "free", "server_id": GUILD}
    # A premium server keeps its tier; later backups never rewrite it.
    catalog.update(server_pk(GUILD), TIER_SK, {"tier": "premium", "server_tier": "premium", "set_by": "operator"})
    rec = manager.create(state, server_id=GUILD, workspace="default")
    assert rec.tier == "premium"
    # No storage-level expiry on a backup's item: only prune removes backups, and never the newest.
    item = catalog.get(server_pk(GUILD), f"BACKUP#{rec.id[:19]}#{rec.id}")
    assert item is not None and "expires_at" not in item


def test_a_damaged_catalog_item_does_not_hide_the_other_backups(bcli: CliRunner) -> None:
    from datetime import UTC, datetime

    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.storage.keys import backup_sk, server_pk
    from gaib.wiring import App

    seed_state(bcli.cwd)
    on_tier(bcli, "premium")  # two on-demand backups in one day
    good = bcli("server", "backup", "create", "--json").data
    bad = bcli("server", "backup", "create", "--json").data
    ctx = App(Settings.resolve(Env(environ=bcli.environ, cwd=bcli.cwd)), clock=lambda: datetime.now(UTC))
    item = ctx.catalog.get(server_pk(GUILD), backup_sk(bad["id"]))
    assert item is not None
    ctx.catalog.delete(server_pk(GUILD), backup_sk(bad["id"]))
    ctx.catalog.put_if_absent(server_pk(GUILD), backup_sk(bad["id"]),
                              {k: v for k, v in item.items() if k != "lineage"})
    r = bcli("server", "backup", "list", "--json")
    assert r.exit_code == 0, r.stdout
    assert [b["id"] for b in r.data["backups"]] == [good["id"]]
    assert r.data["damaged"] == [bad["id"]]
    assert f"gaib server backup delete {bad['id']}" in r.stderr
    assert bcli("server", "backup", "delete", bad["id"], "--yes").exit_code == 0
    assert bcli("server", "backup", "list", "--json").data["damaged"] == []


def test_restore_into_a_workspace_without_state_says_so(cli: CliRunner) -> None:
    """Issue 25: 'backup restore ID -w staging --dry-run' printed "(serial None)" for a workspace that has no
    state yet; it says "no state yet", and the restore itself says the workspace had none."""
    from tests.support.store import make_project

    make_project(cli)
    backup_id = cli("server", "backup", "list", "--json").data["backups"][0]["id"]
    assert cli("server", "workspace", "new", "staging", "--no-switch").exit_code == 0
    dry = cli("server", "backup", "restore", backup_id, "-w", "staging", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert f"Restore backup {backup_id} (serial 4) over workspace 'staging' (no state yet):" in dry.stdout
    assert "None" not in dry.stdout
    done = cli("server", "backup", "restore", backup_id, "-w", "staging", "--yes")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert "None" not in done.stdout and "(the workspace had no state)" in done.stdout
