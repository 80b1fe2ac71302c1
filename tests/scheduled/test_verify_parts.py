"""backup verify reads every part of every bundle kind, names each failure (kind, id, server, part, reason) in
human output too, and reports the bytes it really read — on local storage and on S3 + DynamoDB (moto).

The snapshots are real ones, taken of the emulated guild: state, config, theme registry, objects, guild,
emojis, stickers and bans parts, and the images their emojis use.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

import pytest

from gaib.bundles.manifest import parse_manifest, seal
from gaib.storage.keys import backup_sk, server_pk
from tests.support.cli import CliRunner
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle
from tests.support.images import png
from tests.support.state import seed_state
from tests.support.storage.raw import Storage


@pytest.fixture
def snap(gaib: CliRunner, store: dict[str, str]) -> CliRunner:
    """The CLI on the emulated guild, backups on local storage or on S3 + DynamoDB (moto)."""
    gaib.environ.update(store)
    return gaib


def _snapshot(snap: CliRunner) -> tuple[str, str]:
    made = snap("server", "snapshot", "create", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    return made.data["id"], snap.environ["DISCORD_GUILD_ID"]


def test_a_part_deleted_from_storage_fails_every_verify_that_reads_its_snapshot(snap: CliRunner) -> None:
    sid, gid = _snapshot(snap)
    key = f"snapshots/{gid}/{sid}/bans.json.gz"
    Storage(snap).delete(key)

    for args in ((), ("--all",), ("--sample", "100"), ("--tier", "free", "--sample", "100")):
        r = snap("server", "backup", "verify", *args)
        assert r.exit_code == 3, (args, r.stdout, r.stderr)
        assert f"snapshot {sid} of server {gid}, bans ({key}): " in r.stderr, (args, r.stderr)
        assert "is missing" in r.stderr
    as_json = snap("server", "backup", "verify", "--all", "--json")
    assert as_json.exit_code == 3 and as_json.error["code"] == "INTEGRITY_ERROR"
    [failure] = as_json.error["details"]["verify"]["failures"]
    assert (failure["kind"], failure["id"], failure["server_id"], failure["part"], failure["key"]) == \
        ("snapshot", sid, gid, "bans", key)
    # what a restore would say about the same snapshot
    assert snap("server", "snapshot", "restore", sid, "--dry-run", "--json").error["code"] == "INTEGRITY_ERROR"


def test_a_truncated_part_and_two_swapped_parts_are_each_named(snap: CliRunner) -> None:
    sid, gid = _snapshot(snap)
    storage = Storage(snap)
    objects = storage.objects()
    prefix = f"snapshots/{gid}/{sid}/"
    bans, guild = objects[prefix + "bans.json.gz"], objects[prefix + "guild.json.gz"]
    storage.write(prefix + "bans.json.gz", bans[: len(bans) // 2])

    r = snap("server", "backup", "verify", "--all", "--json")
    assert r.exit_code == 3
    assert [(f["part"], f["key"]) for f in r.error["details"]["verify"]["failures"]] == \
        [("bans", prefix + "bans.json.gz")]
    assert "checksum does not match" in r.error["details"]["verify"]["failures"][0]["reason"]

    storage.write(prefix + "bans.json.gz", guild)
    storage.write(prefix + "guild.json.gz", bans)
    r = snap("server", "backup", "verify", "--all")
    assert r.exit_code == 3
    assert "1 of 1 stored backups, snapshots and deployments failed verification" in r.stderr
    assert f"snapshot {sid} of server {gid}, guild ({prefix}guild.json.gz): " in r.stderr
    assert f"snapshot {sid} of server {gid}, bans ({prefix}bans.json.gz): " in r.stderr


def test_every_part_and_every_image_is_read_and_the_bytes_read_are_real(snap: CliRunner,
                                                                       guild: EmulatorHandle) -> None:
    image = png(7)
    control(guild, "POST", "/emojis", [{"name": "sandworm", "image": base64.b64encode(image).decode()}])
    sid, gid = _snapshot(snap)
    stored = Storage(snap).objects()
    parts = {k: v for k, v in stored.items() if k.startswith(f"snapshots/{gid}/{sid}/") and k.endswith(".gz")}
    # state, config, theme registry, objects, guild, emojis, stickers, bans, structure, threads, members,
    # automod, onboarding, welcome, events, soundboard
    assert len(parts) == 16

    ok = snap("server", "backup", "verify", "--all", "--json")
    assert ok.exit_code == 0, ok.stdout
    assert (ok.data["snapshots"], ok.data["failed"], ok.data["failures"]) == (1, 0, [])
    assert ok.data["bytes_read"] == sum(len(v) for v in parts.values()) + len(image)

    digest = hashlib.sha256(image).hexdigest()
    Storage(snap).delete(f"media/{gid}/{digest}")
    r = snap("server", "backup", "verify")
    assert r.exit_code == 3
    assert f"snapshot {sid} of server {gid}, media/{digest} (media/{gid}/{digest}): " in r.stderr


def test_a_claim_no_writer_makes_is_damage_and_never_reaches_a_report(bcli: CliRunner) -> None:
    seed_state(bcli.cwd)
    made = bcli("server", "backup", "create", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    bid, gid = made.data["id"], bcli.environ["DISCORD_GUILD_ID"]
    catalog = Storage(bcli).catalog()
    item = catalog.get(server_pk(gid), backup_sk(bid))
    manifest = parse_manifest(item, "test")
    huge = replace(manifest.parts["state"], plain_size=26_000_000_000_000_000, stored_size=26_000_000_000_000_000)
    forged = seal(replace(manifest, parts={"state": huge}))  # a checksum anyone can compute
    catalog.delete(server_pk(gid), backup_sk(bid))
    catalog.put_if_absent(server_pk(gid), backup_sk(bid), {**item, **forged.to_dict()})

    r = bcli("server", "backup", "verify", "--all", "--json")
    assert r.exit_code == 3
    report = r.error["details"]["verify"]
    assert report["bytes_read"] < 10**6
    assert report["failures"][0]["part"] == "catalog item" and "claims" in report["failures"][0]["reason"]
    pruned = bcli("server", "backup", "prune", "--dry-run")
    assert pruned.exit_code == 0 and "GiB" not in pruned.stdout and f"backup {bid} has a damaged" in pruned.stdout


def test_a_damaged_deployment_config_is_named(snap: CliRunner) -> None:
    assert snap("server", "init", "--theme", "sietch").exit_code == 0
    applied = snap("server", "apply", "--auto-approve", "--json")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    gid = snap.environ["DISCORD_GUILD_ID"]
    storage = Storage(snap)
    [key] = [k for k in storage.objects() if k.startswith(f"themes/{gid}/deployments/")]
    data = bytearray(storage.objects()[key])
    data[len(data) // 2] ^= 0x01
    storage.write(key, bytes(data))

    r = snap("server", "backup", "verify")
    assert r.exit_code == 3
    deployment = key.rsplit("config.", 1)[1].removesuffix(".yaml.gz")
    assert f"deployment {deployment} of server {gid}, config ({key}): " in r.stderr
