"""Backups under attack and accident, on local storage and on S3 + DynamoDB (moto).

Corrupted, truncated or re-labelled objects, a lock held by another process, hostile ids, two
backups in the same second, expiry per tier, and the bot token: each is refused (or handled) with
the documented exit code and leaves every file, object and catalog item exactly as it was.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gaib.storage.keys import TIER_SK, backup_sk, server_pk
from tests.support.cli import CliRunner, Result
from tests.support.state import GUILD, seed_state
from tests.support.storage.raw import Storage
from tests.support.tiers import on_tier

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def state_file(cli: CliRunner) -> Path:
    return cli.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate"


def run_json(cli: CliRunner, *args: str) -> Result:
    return cli(*args, "--json")


def created(cli: CliRunner, *args: str) -> dict[str, Any]:
    r = run_json(cli, "server", "backup", "create", *args)
    assert r.exit_code == 0, r.stdout + r.stderr
    return dict(r.data)


def assert_integrity_refusal(cli: CliRunner, storage: Storage, backup_id: str, key: str) -> None:
    """restore --dry-run and restore --yes both exit 3 INTEGRITY_ERROR naming ``key``, writing nothing."""
    before = storage.fingerprint()
    state_bytes = state_file(cli).read_bytes()
    for extra in (("--dry-run",), ("--yes",)):
        r = run_json(cli, "server", "backup", "restore", backup_id, *extra)
        assert r.exit_code == 3, (extra, r.stdout, r.stderr)
        err = r.error
        assert err["code"] == "INTEGRITY_ERROR", err
        assert key in err["message"], err
        assert state_file(cli).read_bytes() == state_bytes
        assert storage.fingerprint() == before  # no pre-restore backup, no object, no item
    # A person reading the text output is told the same.
    text = cli("server", "backup", "restore", backup_id, "--yes")
    assert text.exit_code == 3 and key in text.stderr and "Traceback" not in text.stderr


# --- corruption -------------------------------------------------------------------------------


def _flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x01
    return bytes(b)


POSITIONS: dict[str, Callable[[int], int]] = {
    "magic": lambda n: 0,
    "gzip-flags": lambda n: 3,
    "deflate-start": lambda n: 10,
    "middle": lambda n: n // 2,
    "crc-trailer": lambda n: n - 8,
    "last": lambda n: n - 1,
}


def test_flipped_byte_anywhere_is_refused_and_writes_nothing(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    good = storage.objects()[rec["key"]]
    assert len(good) == rec["stored_size"] > 20
    for where, pos in POSITIONS.items():
        storage.write(rec["key"], _flip(good, pos(len(good))))
        try:
            assert_integrity_refusal(bcli, storage, rec["id"], rec["key"])
        except AssertionError as exc:
            raise AssertionError(f"byte flipped at {where}: {exc}") from None
        # The catalog still lists it (it is damaged, not gone).
        assert [b["id"] for b in run_json(bcli, "server", "backup", "list").data["backups"]] == [rec["id"]]
    storage.write(rec["key"], good)  # put right, it restores again: the refusals were about the bytes
    assert run_json(bcli, "server", "backup", "restore", rec["id"], "--yes").exit_code == 0


def test_truncated_object_is_refused(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    good = storage.objects()[rec["key"]]
    for keep in (len(good) // 2, len(good) - 1, 10, 0):
        storage.write(rec["key"], good[:keep])
        try:
            assert_integrity_refusal(bcli, storage, rec["id"], rec["key"])
        except AssertionError as exc:
            raise AssertionError(f"object cut to {keep} bytes: {exc}") from None


def test_object_swapped_for_another_valid_backup_is_refused(bcli: CliRunner) -> None:
    """A well-formed gzip of another state under this key: every byte decodes, the checksums do not match."""
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    other = json.loads(gzip.decompress(storage.objects()[rec["key"]]))
    other["resources"] = []
    storage.write(rec["key"], gzip.compress(json.dumps(other).encode()))
    assert_integrity_refusal(bcli, storage, rec["id"], rec["key"])


def _edit_part(storage: Storage, backup_id: str, changes: dict[str, Any], *, reseal: bool) -> None:
    """Change fields of the backup's part in its catalog item; with ``reseal`` also recompute the manifest
    checksum, as someone who knows the format would, so only the part checks can tell."""
    from gaib.bundles.manifest import seal

    catalog = storage.catalog()
    item = catalog.get(server_pk(GUILD), backup_sk(backup_id))
    assert item is not None
    item["parts"]["state"].update(changes)
    if reseal:
        item = seal(parse_manifest_unchecked(item)).to_dict()
    catalog.delete(server_pk(GUILD), backup_sk(backup_id))
    catalog.put_if_absent(server_pk(GUILD), backup_sk(backup_id), item)


def parse_manifest_unchecked(item: dict[str, Any]) -> Any:
    """The manifest an item describes, without checking its checksum (a tamperer's view)."""
    from gaib.bundles.manifest import Manifest, Part

    parts = {n: Part(**p) for n, p in item["parts"].items()}
    return Manifest(kind=item["kind"], id=item["id"], server_id=item["server_id"], workspace=item["workspace"],
                    created_at=item["created_at"], trigger=item["trigger"], tier=item["tier"],
                    message=item["message"], serial=item["serial"], lineage=item["lineage"], parts=parts,
                    counts=item["counts"], extra=item["extra"])


@pytest.mark.parametrize("reseal", [False, True], ids=["manifest-checksum", "resealed"])
@pytest.mark.parametrize("field", ["stored_sha256", "plain_sha256"])
def test_tampered_checksum_in_catalog_is_refused(bcli: CliRunner, field: str, reseal: bool) -> None:
    """A changed part checksum fails the manifest's own checksum; resealed, it fails the part's check."""
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    wrong = ("0" if rec[field][0] != "0" else "1") + rec[field][1:]
    _edit_part(storage, rec["id"], {field: wrong}, reseal=reseal)
    assert_integrity_refusal(bcli, storage, rec["id"], rec["key"])


def test_missing_object_is_an_integrity_error(bcli: CliRunner) -> None:
    """A catalog item whose object vanished (deleted behind Gaib's back) is damage, not 'no such backup'."""
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    if storage.kind == "local":
        (storage.root / rec["key"]).unlink()
    else:
        storage._client("s3").delete_object(Bucket=storage.bucket, Key=rec["key"])
    assert_integrity_refusal(bcli, storage, rec["id"], rec["key"])


def test_damaged_catalog_item_is_an_integrity_error(bcli: CliRunner) -> None:
    """An item missing fields or pointing at another key never crashes and never reads another object."""
    seed_state(bcli.cwd)
    on_tier(bcli, "premium")  # two on-demand backups in one day
    first = created(bcli)
    second = created(bcli, "-m", "other")
    storage = Storage(bcli)
    catalog = storage.catalog()
    # Point the first item at the second backup's object (resealed): the bytes would verify against
    # the second's checksums, so only the key itself can tell.
    _edit_part(storage, first["id"], {k: second[k] for k in ("key", "stored_sha256", "plain_sha256",
                                                             "stored_size", "plain_size")}, reseal=True)
    assert_integrity_refusal(bcli, storage, first["id"], second["key"])
    # An item stripped of its checksums.
    item = catalog.get(server_pk(GUILD), backup_sk(second["id"]))
    assert item is not None
    catalog.delete(server_pk(GUILD), backup_sk(second["id"]))
    del item["parts"]["state"]["stored_sha256"], item["parts"]["state"]["plain_sha256"]
    catalog.put_if_absent(server_pk(GUILD), backup_sk(second["id"]), item)
    assert_integrity_refusal(bcli, storage, second["id"], second["key"])

    # Damaged backups can still be deleted (or they would block pruning forever), and deleting
    # one removes the object its id names, never the one its damaged item points at.
    objects = storage.objects()
    gone = run_json(bcli, "server", "backup", "delete", first["id"], "--yes")
    assert gone.exit_code == 0 and gone.data["deleted"] == {"id": first["id"], "damaged": True}, gone.stdout
    assert set(storage.objects()) == set(objects) - {first["key"]}
    assert second["key"] in storage.objects()
    gone = run_json(bcli, "server", "backup", "delete", second["id"], "--yes")
    assert gone.exit_code == 0, gone.stdout
    assert storage.objects() == {} and run_json(bcli, "server", "backup", "list").data["backups"] == []


# --- concurrency -------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from gaib.state.local import LocalBackend
    b = LocalBackend(Path(sys.argv[1]))
    info = b.lock("default", "apply", datetime.now(timezone.utc))
    print("locked", flush=True)
    sys.stdin.readline()
    b.unlock("default", info.id)
    print("released", flush=True)
""")


@pytest.fixture
def lock_holder(bcli: CliRunner) -> Iterator[subprocess.Popen[str]]:
    """Another real process holding the workspace's state lock until it is told to let go."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(bcli.cwd / ".gaib")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_restore_while_another_process_holds_the_lock(bcli: CliRunner,
                                                      lock_holder: subprocess.Popen[str]) -> None:
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    before = storage.fingerprint()
    r = run_json(bcli, "server", "backup", "restore", rec["id"], "--yes")
    assert r.exit_code == 5, r.stdout + r.stderr
    assert r.error["code"] == "STATE_LOCKED"
    assert f"pid {lock_holder.pid}" in r.error["message"] and "'apply'" in r.error["message"]
    assert storage.fingerprint() == before  # no pre-restore backup, state untouched
    # A dry run only reads, so it still works while the lock is held.
    dry = run_json(bcli, "server", "backup", "restore", rec["id"], "--dry-run")
    assert dry.exit_code == 0 and dry.data["dry_run"] is True
    assert storage.fingerprint() == before
    # Once the holder lets go, the same restore goes through.
    assert lock_holder.stdin is not None and lock_holder.stdout is not None
    lock_holder.stdin.write("\n")
    lock_holder.stdin.flush()
    assert lock_holder.stdout.readline().strip() == "released"
    done = run_json(bcli, "server", "backup", "restore", rec["id"], "--yes")
    assert done.exit_code == 0 and done.data["result"]["new_serial"] == 5


# --- hostile ids ---------------------------------------------------------------------------------

HOSTILE_IDS = {
    "traversal": "../../etc/passwd",
    "empty": "",
    "huge": "2" * 10_000,
    "unicode": "20260301T120000000Z-a1b2c3d\u0131",
    "rtl-unicode": "\u202e20260301T120000000Z-a1b2c3d4",
    "percent-dots": "%2e%2e",
    "percent-slash": "20260301T120000000Z-a1b2c3d4%2f..",
    "slash": "a/b",
    "id-with-slash": "20260301T120000000Z/a1b2c3d4",
    "impossible-date": "20261345T120000000Z-a1b2c3d4",
    "feb-30": "20260230T120000000Z-a1b2c3d4",
    "hour-25": "20260301T250000000Z-a1b2c3d4",
    "newline": "20260301T120000000Z-a1b2c3d4\n",
    "nul": "20260301T120000000Z-a1b2\x00c3d4",
    "upper-hex": "20260301T120000000Z-A1B2C3D4",
}


def test_hostile_ids_are_refused_without_touching_anything(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    rec = created(bcli)
    storage = Storage(bcli)
    before = storage.fingerprint()
    for name, hostile in HOSTILE_IDS.items():
        for args in (("restore", hostile, "--yes"), ("restore", hostile, "--dry-run"), ("delete", hostile, "--yes")):
            r = run_json(bcli, "server", "backup", *args)
            assert r.exit_code == 6, (name, args[0], r.stdout, r.stderr)
            assert r.error["code"] == "INVALID_NAME", (name, r.error)
            assert len(r.stdout) < 2_000, name  # a 10 kB id is not echoed back whole
        assert storage.fingerprint() == before, name
    assert [b["id"] for b in run_json(bcli, "server", "backup", "list").data["backups"]] == [rec["id"]]


def test_well_formed_but_unknown_id_is_not_found(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    created(bcli)
    storage = Storage(bcli)
    before = storage.fingerprint()
    for args in (("restore", "20260301T120000000Z-a1b2c3d4", "--yes"),
                 ("restore", "20260301T120000000Z-a1b2c3d4", "--dry-run"),
                 ("delete", "20260301T120000000Z-a1b2c3d4", "--yes")):
        r = run_json(bcli, "server", "backup", *args)
        assert r.exit_code == 6 and r.error["code"] == "NOT_FOUND", r.stdout
        assert "gaib server backup list" in r.error["suggestion"]
    assert storage.fingerprint() == before


def test_hostile_cursor_and_guild_are_refused(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    created(bcli)
    storage = Storage(bcli)
    before = storage.fingerprint()
    for cursor in ("../../x", "!!!", "eyJ2IjoxLCJwayI6IlNFUlZFUiMxIiwic2siOiJCQUNLVVAjIn0="):
        r = run_json(bcli, "server", "backup", "list", "--cursor", cursor)
        assert r.exit_code == 6 and r.error["code"] == "INVALID_INPUT", r.stdout
    for guild in ("../1", "1/2", "%2e%2e", "１２３"):
        r = run_json(bcli, "server", "backup", "list", "-g", guild)
        assert r.exit_code == 6, r.stdout
    assert storage.fingerprint() == before


# --- ids and clocks -----------------------------------------------------------------------------


def test_two_backups_in_the_same_millisecond_get_distinct_ids_and_keys(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.clock = lambda: T0
    on_tier(bcli, "premium")  # two on-demand backups in one day
    first, second = created(bcli, "-m", "one"), created(bcli, "-m", "two")
    assert first["id"] != second["id"] and first["key"] != second["key"]
    assert first["id"][:19] == second["id"][:19] == "20260301T120000000Z"
    assert first["created_at"] == second["created_at"] == "2026-03-01T12:00:00Z"
    listed = run_json(bcli, "server", "backup", "list").data["backups"]
    assert sorted(b["id"] for b in listed) == sorted([first["id"], second["id"]])
    assert set(Storage(bcli).objects()) == {first["key"], second["key"]}
    # Each restores its own content (the keys really are separate objects).
    for rec in (first, second):
        assert run_json(bcli, "server", "backup", "restore", rec["id"], "--dry-run").exit_code == 0


def _at(cli: CliRunner, when: datetime) -> None:
    cli.clock = lambda: when


def test_a_servers_newest_backup_never_expires(bcli: CliRunner) -> None:
    """No storage-level expiry: a server that stops changing keeps its newest backup, restorable, forever."""
    seed_state(bcli.cwd)
    now = datetime.now(UTC).replace(microsecond=0)
    _at(bcli, now)
    rec = created(bcli)
    assert rec["tier"] == "free" and "expires_at" not in rec
    assert all("expires_at" not in item for item in Storage(bcli).items() if item["SK"].startswith("BACKUP#"))
    for days in (8, 91, 400):
        _at(bcli, now + timedelta(days=days))
        assert [b["id"] for b in run_json(bcli, "server", "backup", "list").data["backups"]] == [rec["id"]], days
    r = run_json(bcli, "server", "backup", "restore", rec["id"], "--yes")
    assert r.exit_code == 0, r.stdout  # still restorable 400 days later


def test_premium_backups_are_tagged_for_the_premium_lifecycle(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    Storage(bcli).catalog().put_if_absent(server_pk(GUILD), TIER_SK, {"tier": "premium", "set_by": "operator"})
    rec = created(bcli)
    assert rec["tier"] == "premium"
    if Storage(bcli).kind == "aws":
        tags = Storage(bcli)._client("s3").get_object_tagging(Bucket=bcli.environ["GAIB_BACKUP_BUCKET"],
                                                              Key=rec["key"])["TagSet"]
        assert {"Key": "Tier", "Value": "premium"} in tags
    else:
        from gaib.storage.local import LocalObjectStore

        assert LocalObjectStore(Storage(bcli).root).tags(rec["key"])["Tier"] == "premium"


# --- secrets -------------------------------------------------------------------------------------

TOKEN = "MTE5OTg4NzY1NDMyMTA5ODc2NQ.GhXyZa.s3cr3t-b0t-t0k3n_value_for_tests"


def test_bot_token_is_never_stored_or_printed(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    bcli.environ["DISCORD_BOT_TOKEN"] = TOKEN
    on_tier(bcli, "premium")  # two on-demand backups in one day
    outputs: list[Result] = []
    for json_mode in (True, False):
        flag = ("--json",) if json_mode else ()
        outputs.append(bcli("server", "backup", "create", "-m", "nightly", *flag))
        ids = [b["id"] for b in run_json(bcli, "server", "backup", "list").data["backups"]]
        outputs.append(bcli("server", "backup", "list", *flag))
        outputs.append(bcli("server", "backup", "restore", ids[-1], "--dry-run", *flag))
        outputs.append(bcli("server", "backup", "restore", ids[-1], "--yes", *flag))
        outputs.append(bcli("server", "backup", "restore", "../x", "--yes", *flag))
        outputs.append(bcli("server", "backup", "delete", ids[0], "--yes", *flag))
    assert all(o.exit_code in (0, 6) for o in outputs), [o.stdout for o in outputs]
    for o in outputs:
        assert TOKEN not in o.stdout and TOKEN not in o.stderr
    storage = Storage(bcli)
    objects = storage.objects()
    assert objects
    for key, data in objects.items():
        assert TOKEN.encode() not in data
        assert TOKEN.encode() not in gzip.decompress(data), key
    items = storage.items()
    assert items
    assert TOKEN not in json.dumps(items, default=str)
    for path in bcli.cwd.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
