"""Bundles bound to their server (issue 24, item 2 and item 7's forged copy): a manifest carries a MAC whose
key is not in the store; restore, download, compare and verify refuse a copy of server A's snapshot under
server B's prefix (rewritten to name B, checksums recomputed), a manifest naming another server and a
tampered MAC (exit 3, BUNDLE_NOT_AUTHENTIC); a bundle written before sealing still restores, flagged, until
``backup reseal`` seals it. On the local store and on S3 + DynamoDB (moto) with a KMS HMAC key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gaib.bundles.manifest import decode_manifest, parse_manifest, seal
from gaib.storage.keys import SEQUENCE_SK, server_pk, snapshot_sk
from tests.snapshots.community import Community, app_of, author, flip_a_byte
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

GUILD_B = "1100000000000000002"
BANNED = "700000000000000001"


@pytest.fixture(scope="module")
def emulator_b() -> Iterator[EmulatorHandle]:
    """A second emulated Discord server (B), with its own bot token."""
    with running_emulator(guild_id=GUILD_B, guild_name="Server B", token="token-b") as emu:
        yield emu


@pytest.fixture
def server_b(emulator_b: EmulatorHandle, snap: CliRunner, tmp_path: Path) -> CliRunner:
    """A CLI runner for server B, in its own project folder, on the same backup store as ``snap`` (A)."""
    emulator_b.reset()
    project = tmp_path / "server-b"
    project.mkdir()
    env = {**snap.environ, **emulator_b.bot_environ()}
    if "GAIB_BACKUP_BUCKET" not in env:
        env["GAIB_BACKUP_PATH"] = str(snap.cwd / ".gaib" / "backups")
    (project / "discord-server.yaml").write_text(CONFIG)
    runner = CliRunner(cwd=project, environ=env, clock=snap.clock)
    assert runner("server", "apply", "--auto-approve").exit_code == 0
    return runner


def _server_a(snap: CliRunner, guild: EmulatorHandle) -> str:
    """Server A with a ban and 12 messages in #chat; returns the id of its snapshot holding them."""
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    c = Community(guild)
    c.ban(BANNED, "spam")
    c.seed(c.channel("chat")["id"], [{"author": author(i % 3), "content": f"message {i}"} for i in range(12)])
    made = snap("server", "snapshot", "create", "--messages", "20", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    assert made.data["authenticated"] is True and made.data["counts"]["messages"] == 12
    return str(made.data["id"])


def _stored(cli: CliRunner, server: str, sid: str) -> dict[str, Any]:
    item = app_of(cli).catalog.get(server_pk(server), snapshot_sk(sid))
    assert item is not None
    return {k: v for k, v in item.items() if k not in ("PK", "SK")}


def _forge(cli: CliRunner, sid: str, source: str, target: str, *, name: str | None = None) -> None:
    """What someone with write access to the store (and no key) does: copy server ``source``'s snapshot under
    ``target``'s prefix, rewrite its manifest to name ``name`` (default ``target``) and point at the copies,
    recompute every checksum, and list it in ``target``'s catalog partition."""
    app = app_of(cli)
    store, catalog = app.store, app.catalog
    original = parse_manifest(_stored(cli, source, sid), "original")
    parts = {}
    for part_name, part in original.parts.items():
        key = part.key.replace(f"/{source}/", f"/{target}/")
        store.put(key, store.get(part.key))
        parts[part_name] = replace(part, key=key)
    for digest in original.extra.get("media", {}):
        if not list(store.list(f"media/{target}/{digest}")):
            store.put(f"media/{target}/{digest}", store.get(f"media/{source}/{digest}"))
    forged = seal(replace(original, server_id=name or target, parts=parts))  # the MAC is carried along
    store.put(f"snapshots/{target}/{sid}/manifest.json", forged.to_json())
    catalog.put_sequenced(server_pk(target), snapshot_sk(sid), forged.to_dict(), counter_sk=SEQUENCE_SK)


def _refused(result: Any) -> None:
    assert result.exit_code == 3, result.stdout + result.stderr
    assert result.error["code"] == "BUNDLE_NOT_AUTHENTIC", result.error


def test_a_forged_copy_of_another_servers_snapshot_is_refused_everywhere(
        snap: CliRunner, guild: EmulatorHandle, server_b: CliRunner, emulator_b: EmulatorHandle) -> None:
    sid = _server_a(snap, guild)
    own = server_b("server", "snapshot", "create", "--json")
    assert own.exit_code == 0, own.stdout + own.stderr
    _forge(snap, sid, guild.guild_id, GUILD_B)
    b = Community(emulator_b)
    chat_b = b.channel("chat")["id"]

    _refused(server_b("server", "snapshot", "restore", sid, "--apply", "--messages", "--yes", "--json"))
    assert b.bans() == {} and b.posted(chat_b) == []  # A's bans and messages did not reach B
    _refused(server_b("server", "snapshot", "restore", sid, "--dry-run", "--messages", "--json"))
    _refused(server_b("server", "snapshot", "download", sid, "-o", "copy", "--json"))
    assert not (server_b.cwd / "copy" / "bans.json").exists()
    _refused(server_b("server", "snapshot", "compare", own.data["id"], sid, "--json"))
    verified = server_b("server", "backup", "verify", "--all", "--json")
    _refused(verified)
    [failure] = verified.error["details"]["verify"]["failures"]
    assert failure["id"] == sid and failure["part"] == "manifest MAC"
    # A's own snapshot is untouched and still A's.
    assert snap("server", "snapshot", "download", sid, "-o", "a-copy", "--json").exit_code == 0


def test_a_manifest_naming_another_server_than_where_it_is_stored_is_refused(
        snap: CliRunner, guild: EmulatorHandle, server_b: CliRunner) -> None:
    sid = _server_a(snap, guild)
    _forge(snap, sid, guild.guild_id, GUILD_B, name=guild.guild_id)  # copied under B, still naming A
    result = server_b("server", "snapshot", "download", sid, "-o", "copy", "--json")
    _refused(result)
    assert result.error["details"]["names_server"] == guild.guild_id
    _refused(server_b("server", "snapshot", "restore", sid, "--apply", "--yes", "--json"))


def test_a_tampered_mac_or_field_is_refused(snap: CliRunner, guild: EmulatorHandle) -> None:
    sid = _server_a(snap, guild)
    app = app_of(snap)
    pk, sk = server_pk(guild.guild_id), snapshot_sk(sid)
    item = _stored(snap, guild.guild_id, sid)
    value = item["mac"]["value"]
    app.catalog.update(pk, sk, {"mac": {**item["mac"], "value": ("B" if value[0] != "B" else "C") + value[1:]}})
    _refused(snap("server", "snapshot", "download", sid, "-o", "copy", "--json"))
    # The MAC back, and a field changed with its checksum recomputed: the MAC does not cover that body.
    m = replace(parse_manifest(item, "item"), message="nothing to see here")
    app.catalog.update(pk, sk, {"mac": item["mac"], "message": m.message, "manifest_sha256": seal(m).manifest_sha256})
    key = f"snapshots/{guild.guild_id}/{sid}/manifest.json"
    app.store.delete(key)
    app.store.put(key, seal(m).to_json())
    _refused(snap("server", "snapshot", "restore", sid, "--dry-run", "--json"))
    _refused(snap("server", "backup", "verify", "--all", "--json"))


def _unseal(cli: CliRunner, server: str, sid: str) -> None:
    """Make a snapshot look as one written before sealing: no MAC in its item or manifest.json."""
    app = app_of(cli)
    item = {k: v for k, v in _stored(cli, server, sid).items() if k != "mac"}
    app.catalog.delete(server_pk(server), snapshot_sk(sid))
    app.catalog.put_if_absent(server_pk(server), snapshot_sk(sid), item)
    key = f"snapshots/{server}/{sid}/manifest.json"
    doc = decode_manifest(app.store.get(key), key)
    doc.pop("mac")
    app.store.delete(key)
    app.store.put(key, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


def test_a_bundle_written_before_sealing_restores_flagged_until_resealed(
        snap: CliRunner, guild: EmulatorHandle) -> None:
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    sid = _server_a(snap, guild)
    damaged = snap("server", "snapshot", "create", "--json").data
    _unseal(snap, guild.guild_id, sid)
    _unseal(snap, guild.guild_id, damaged["id"])
    flip_a_byte(snap, damaged["parts"]["config"]["key"])

    Community(guild).unban(BANNED)
    restored = snap("server", "snapshot", "restore", sid, "--apply", "--yes", "--json")
    assert restored.exit_code == 0, restored.stdout + restored.stderr
    assert restored.data["plan"]["snapshot"]["authenticated"] is False and "has no MAC" in restored.stderr
    assert Community(guild).bans() == {BANNED: "spam"}  # a bundle written before sealing still restores
    old = snap("server", "snapshot", "download", sid, "-o", "copy", "--json")
    assert old.exit_code == 0, old.stdout + old.stderr
    assert old.data["snapshot"]["authenticated"] is False
    assert f"Snapshot {sid} has no MAC" in old.stderr and "backup reseal" in old.stderr
    listed = {s["id"]: s["authenticated"] for s in snap("server", "snapshot", "list", "--json").data["snapshots"]}
    assert listed[sid] is False and listed[damaged["id"]] is False and set(listed.values()) == {True, False}

    before = _stored(snap, guild.guild_id, sid)
    dry = snap("server", "backup", "reseal", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert dry.data["sealed"] == [{"kind": "snapshot", "id": sid}] and _stored(snap, guild.guild_id, sid) == before
    assert [r["id"] for r in dry.data["refused"]] == [damaged["id"]]

    done = snap("server", "backup", "reseal", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert done.data["sealed"] == [{"kind": "snapshot", "id": sid}] and done.data["already_sealed"] >= 1
    assert [r["id"] for r in done.data["refused"]] == [damaged["id"]]  # a bundle failing its checks stays unsealed
    assert "mac" not in _stored(snap, guild.guild_id, damaged["id"])
    assert _stored(snap, guild.guild_id, sid)["manifest_sha256"] == before["manifest_sha256"]

    now = snap("server", "snapshot", "download", sid, "-o", "again", "--json")
    assert now.exit_code == 0 and now.data["snapshot"]["authenticated"] is True and "no MAC" not in now.stderr
    again = snap("server", "backup", "reseal", "--json")
    assert again.data["sealed"] == [] and [r["id"] for r in again.data["refused"]] == [damaged["id"]]
    # Resealed, a copy under another server's prefix is still refused.
    _forge(snap, sid, guild.guild_id, GUILD_B)
    _refused(snap("server", "snapshot", "download", sid, "-o", "forged", "-g", GUILD_B, "--json"))


def test_from_server_copies_structure_and_never_bans_or_messages(
        snap: CliRunner, guild: EmulatorHandle, emulator_b: EmulatorHandle, tmp_path: Path) -> None:
    sid = _server_a(snap, guild)
    emulator_b.reset()
    b = Community(emulator_b)
    project = tmp_path / "empty-b"
    project.mkdir()
    env = {**snap.environ, **emulator_b.bot_environ()}
    if "GAIB_BACKUP_BUCKET" not in env:
        env["GAIB_BACKUP_PATH"] = str(snap.cwd / ".gaib" / "backups")
    server_b = CliRunner(cwd=project, environ=env, clock=snap.clock)
    a = guild.guild_id

    for refused in (("--apply", "--messages"), ("--apply", "--prune-unmanaged"), ()):
        r = server_b("server", "snapshot", "restore", sid, "--from-server", a, *refused, "--yes", "--json")
        assert r.exit_code == 6 and r.error["code"] == "USAGE_ERROR", r.stdout
    assert [r["name"] for r in b.roles()] == ["@everyone"] and b.channels() == []  # nothing was written

    planned = server_b("server", "snapshot", "restore", sid, "--from-server", a, "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert planned.data["plan"]["from_server"] == a
    assert planned.data["plan"]["extras"]["community"]["bans"] == {"add": [], "lift": []}
    done = server_b("server", "snapshot", "restore", sid, "--from-server", a, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert {"Admin", "Member"} <= {r["name"] for r in b.roles()}
    assert {"rules", "chat", "lounge", "Info", "Voice"} <= {c["name"] for c in b.channels()}
    chat = b.channel("chat")
    assert chat["topic"] is None and chat["rate_limit_per_user"] == 5
    assert b.bans() == {} and b.posted(chat["id"]) == [] and b.messages(chat["id"]) == []
    assert Community(guild).bans() == {BANNED: "spam"}  # A is untouched
    plan = server_b("server", "plan", "--json")
    assert plan.exit_code == 0 and plan.data["empty"] is True  # B's config and state now hold the copy


def test_from_server_refuses_a_snapshot_that_is_not_authentic(
        snap: CliRunner, guild: EmulatorHandle, server_b: CliRunner) -> None:
    sid = _server_a(snap, guild)
    _unseal(snap, guild.guild_id, sid)
    r = server_b("server", "snapshot", "restore", sid, "--from-server", guild.guild_id, "--apply", "--yes", "--json")
    _refused(r)
    assert "reseal" in r.error["suggestion"]
