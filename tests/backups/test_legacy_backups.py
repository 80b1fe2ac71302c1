"""A state backup written before bundles existed (format version 1) still lists and restores.

tests/fixtures/legacy-backup/ holds the object and catalog item that Gaib 0.1.0 (commit 160aa06, before
the bundle repository) wrote for a backup of tests/fixtures/ts-gaib.tfstate; they are stored here byte
for byte, on both storages, and driven through the CLI.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.state.local import LocalBackend
from gaib.state.model import parse_state
from gaib.storage.keys import backup_sk, server_pk
from gaib.wiring import App
from tests.support.cli import CliRunner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LEGACY = FIXTURES / "legacy-backup"
SERVER = "1100000000000000001"
WHEN = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # before the legacy item's own expires_at


def _install(cli: CliRunner) -> dict[str, object]:
    """Put the legacy object and item into the runner's storage exactly as the old code stored them."""
    item = json.loads((LEGACY / "item.json").read_text())
    app = App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)
    app.store.put(item["key"], (LEGACY / "object.json.gz").read_bytes(),
                  tags={"Tier": "free", "ServerId": SERVER}, content_type="application/gzip")
    app.catalog.put_if_absent(server_pk(SERVER), backup_sk(item["id"]), item)
    return item


def _prepare(bcli: CliRunner) -> dict[str, object]:
    bcli.environ["DISCORD_GUILD_ID"] = SERVER
    bcli.clock = lambda: WHEN
    item = _install(bcli)
    # The workspace has moved on since: same lineage, later serial, one resource fewer.
    state = parse_state((FIXTURES / "ts-gaib.tfstate").read_bytes(), "fixture")
    state.guild_id, state.serial = SERVER, 9
    state.resources = state.resources[:1]
    LocalBackend(bcli.cwd / ".gaib").put(state, expected_serial=None)
    return item


def test_a_backup_written_before_bundles_lists_and_restores(bcli: CliRunner) -> None:
    item = _prepare(bcli)
    listed = bcli("server", "backup", "list", "--json")
    assert listed.exit_code == 0, listed.stdout
    [rec] = listed.data["backups"]
    assert (rec["id"], rec["format_version"], rec["serial"], rec["resources"], rec["message"]) == \
        (item["id"], 1, 7, 3, "written by gaib 0.1.0 before bundles")
    assert rec["stored_sha256"] == item["stored_sha256"] and rec["manifest_sha256"] is None

    dry = bcli("server", "backup", "restore", str(item["id"]), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout
    assert len(dry.data["plan"]["diff"]["added"]) == 2

    done = bcli("server", "backup", "restore", str(item["id"]), "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    restored = LocalBackend(bcli.cwd / ".gaib").get("default")
    assert restored is not None and restored.serial == 10
    original = parse_state(gzip.decompress((LEGACY / "object.json.gz").read_bytes()), "legacy")
    assert restored.addresses() == original.addresses()
    # The pre-restore backup is written in today's format beside the legacy one.
    backups = bcli("server", "backup", "list", "--json").data["backups"]
    assert [(b["trigger"], b["format_version"]) for b in backups] == [("pre-restore", 2), ("on-demand", 1)]


def test_a_legacy_backup_with_a_corrupted_object_is_refused(bcli: CliRunner) -> None:
    item = _prepare(bcli)
    app = App(Settings.resolve(Env(environ=bcli.environ, cwd=bcli.cwd)), clock=bcli.clock)
    key = str(item["key"])
    app.store.delete(key)
    data = bytearray((LEGACY / "object.json.gz").read_bytes())
    data[40] ^= 0x01
    app.store.put(key, bytes(data))
    before = (bcli.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate").read_bytes()
    r = bcli("server", "backup", "restore", str(item["id"]), "--yes", "--json")
    assert r.exit_code == 3 and r.error["code"] == "INTEGRITY_ERROR" and key in r.error["message"]
    assert (bcli.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate").read_bytes() == before
