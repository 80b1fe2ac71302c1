"""``gaib server backup migrate --to s3`` (issue 25, finding 9): a project with history in the local store
configures S3; the listings say the local store holds it and how to copy it; migrate copies every bundle,
the tier and the schedule to moto, verified; afterwards S3 lists the same history; a second run copies
nothing; an interrupted run resumes; a different bundle already on S3 under the same id is never
overwritten."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import httpx
import pytest

from gaib.storage.keys import BACKUP_SK_PREFIX, SNAPSHOT_SK_PREFIX, server_pk
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.images import png
from tests.support.raid_config import CONFIG
from tests.support.store import backup_storage_env
from tests.support.tiers import on_tier

pytestmark = pytest.mark.aws

SECOND = CONFIG.replace("topic: Read me", "topic: Read me twice")
LISTINGS = (("backup", "list", "--all-workspaces"), ("snapshot", "list"), ("theme", "registry"), ("tier", "show"),
            ("theme", "history"), ("schedule", "show"))


def _ok(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, Any] = result.data
    return data


def _emoji(emulator: EmulatorHandle, name: str, image: bytes) -> None:
    uri = f"data:image/png;base64,{base64.b64encode(image).decode()}"
    httpx.post(f"{emulator.base_url}/guilds/{emulator.guild_id}/emojis", headers=emulator.auth_headers(),
               json={"name": name, "image": uri, "roles": []}).raise_for_status()


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


@pytest.fixture
def history(gaib: CliRunner, guild: EmulatorHandle) -> dict[tuple[str, ...], dict[str, Any]]:
    """A project whose local store holds two deployments, two backups, two snapshots (with images), an export,
    the premium tier (set by someone) and a schedule; returns each listing as the local store gives it."""
    gaib.environ["GAIB_ACTOR"] = "ops@example"
    on_tier(gaib, "premium")
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG)
    _ok(gaib("server", "apply", "--auto-approve", "--json"))
    _emoji(guild, "sand", png(1))
    _ok(gaib("server", "backup", "create", "-m", "first", "--json"))
    _ok(gaib("server", "snapshot", "create", "-m", "first", "--json"))
    (gaib.cwd / "discord-server.yaml").write_text(SECOND)
    _ok(gaib("server", "apply", "--auto-approve", "--json"))
    _emoji(guild, "spice", png(2))
    _ok(gaib("server", "backup", "create", "-m", "second", "--json"))
    _ok(gaib("server", "snapshot", "create", "-m", "second", "--json"))
    _ok(gaib("server", "export", "--backup", "--json"))
    _ok(gaib("server", "schedule", "enable", "--json"))
    return {args: _ok(gaib("server", *args, "--json")) for args in LISTINGS}


def _to_s3(gaib: CliRunner, aws_env: dict[str, str]) -> dict[str, str]:
    storage = backup_storage_env(aws_env, prefix="migrate")
    gaib.environ.update(storage)
    return storage


def test_listings_on_a_new_s3_store_name_the_local_history(gaib: CliRunner, aws_env: dict[str, str],
                                                          history: dict[tuple[str, ...], dict[str, Any]]) -> None:
    _to_s3(gaib, aws_env)
    expected = {"path": str(gaib.cwd / ".gaib" / "backups"), "backups": 2, "snapshots": 2, "deployments": 2,
                "tier": "premium", "migrate": "gaib server backup migrate --to s3"}
    assert _ok(gaib("server", "backup", "list", "--json"))["local_store"] == expected
    assert _ok(gaib("server", "snapshot", "list", "--json"))["local_store"] == expected
    assert _ok(gaib("server", "theme", "registry", "--json"))["local_store"] == expected
    shown = _ok(gaib("server", "tier", "show", "--json"))
    assert shown["tier"] == "free" and shown["local_store"] == expected
    for args in (("backup", "list"), ("snapshot", "list"), ("theme", "registry"), ("tier", "show")):
        text = gaib("server", *args).stdout
        assert "holds 2 backups, 2 snapshots and 2 deployments of this server (on the premium tier)" in text, args
        assert "gaib server backup migrate --to s3" in text, args
    # Reading changed nothing on S3 (nor locally).
    assert _ok(gaib("server", "backup", "list", "--json"))["backups"] == []


def test_migrate_copies_the_history_verified_and_a_second_run_copies_nothing(
        gaib: CliRunner, aws_env: dict[str, str], history: dict[tuple[str, ...], dict[str, Any]]) -> None:
    storage = _to_s3(gaib, aws_env)
    dry = _ok(gaib("server", "backup", "migrate", "--to", "s3", "--dry-run", "--json"))
    assert dry["dry_run"] is True and dry["bundles"]["backup"] == {"copied": 2, "already": 0}
    assert dry["images"] == {"copied": 2, "already": 1}  # the second snapshot re-uses the first's image
    assert _ok(gaib("server", "backup", "list", "--json"))["backups"] == []  # a dry run copies nothing

    done = _ok(gaib("server", "backup", "migrate", "--to", "s3", "--json"))
    assert {k: v["copied"] for k, v in done["bundles"].items()} == {"backup": 2, "snapshot": 2, "deployment": 2}
    assert done["images"] == {"copied": 2, "already": 1} and done["tier"] == {"outcome": "copied", "tier": "premium"}
    assert done["schedule"] == "copied" and done["records"]["copied"] == 1  # the tier change's audit record
    assert done["objects"]["copied"] >= 4  # audit log objects, the export, its latest copy, the documents
    assert done["conflicts"] == [] and done["damaged"] == [] and done["bytes_copied"] > 0
    assert any("local folder" in note for note in done["notes"])  # the schedule's state is local

    # S3 now lists the same history the local store did.
    for args in LISTINGS:
        on_s3 = _ok(gaib("server", *args, "--json"))
        if args == ("schedule", "show"):
            assert on_s3["schedule"] == history[args]["schedule"]
            continue
        assert _without(on_s3, "local_store", "next_scheduled_run", "usage") == \
            _without(history[args], "local_store", "next_scheduled_run", "usage"), args
        assert on_s3.get("local_store") is None, args  # nothing left to mention
    shown = _ok(gaib("server", "tier", "show", "--json"))
    assert shown["tier"] == "premium" and shown["set_by"] == "ops@example"
    verified = _ok(gaib("server", "backup", "verify", "--all", "--json"))  # every checksum, read from S3
    assert (verified["backups"], verified["snapshots"], verified["failed"]) == (2, 2, 0)
    snapshot_id = history[("snapshot", "list")]["snapshots"][0]["id"]
    assert _ok(gaib("server", "snapshot", "download", snapshot_id, "-o", "copy", "--json"))
    # The objects really are in the bucket (read past Gaib).
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=storage["GAIB_BACKUP_BUCKET"])["Contents"]]
    assert sum(k.startswith("media/") for k in keys) == 2 and any(k.endswith("/manifest.json") for k in keys)

    again = gaib("server", "backup", "migrate", "--to", "s3")
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("Nothing to copy from ") and "2 backups, 2 snapshots, 2 deployments already" \
        in again.stdout
    second = _ok(gaib("server", "backup", "migrate", "--to", "s3", "--json"))
    assert second["copied"] == 0 and second["bundles"]["snapshot"] == {"copied": 0, "already": 2}
    assert second["tier"]["outcome"] == "already" and second["schedule"] == "already"


def test_an_interrupted_migration_resumes(gaib: CliRunner, aws_env: dict[str, str],
                                         history: dict[tuple[str, ...], dict[str, Any]]) -> None:
    storage = _to_s3(gaib, aws_env)
    _ok(gaib("server", "backup", "migrate", "--to", "s3", "--json"))
    # A run killed after a snapshot's objects were copied but before its catalog item was written: that is
    # what S3 holds once the item is gone (objects first, item last).
    table = boto3.resource("dynamodb", region_name="us-east-1",
                           endpoint_url=aws_env["AWS_ENDPOINT_URL"]).Table(storage["GAIB_BACKUP_TABLE"])
    guild = gaib.environ["DISCORD_GUILD_ID"]
    newest = history[("snapshot", "list")]["snapshots"][0]["id"]
    table.delete_item(Key={"PK": server_pk(guild), "SK": f"{SNAPSHOT_SK_PREFIX}{newest[:19]}#{newest}"})
    assert [s["id"] for s in _ok(gaib("server", "snapshot", "list", "--json"))["snapshots"]] != \
        [s["id"] for s in history[("snapshot", "list")]["snapshots"]]
    resumed = _ok(gaib("server", "backup", "migrate", "--to", "s3", "--json"))
    assert resumed["bundles"]["snapshot"] == {"copied": 1, "already": 1} and resumed["copied"] == 1
    assert resumed["images"] == {"copied": 0, "already": 2}  # its images were there already
    assert _ok(gaib("server", "snapshot", "list", "--json"))["snapshots"] == \
        history[("snapshot", "list")]["snapshots"]


def test_a_different_bundle_on_s3_with_the_same_id_is_never_overwritten(
        gaib: CliRunner, aws_env: dict[str, str], history: dict[tuple[str, ...], dict[str, Any]]) -> None:
    storage = _to_s3(gaib, aws_env)
    older = history[("backup", "list", "--all-workspaces")]["backups"][-1]
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    s3.put_object(Bucket=storage["GAIB_BACKUP_BUCKET"], Key=older["key"], Body=b"someone else's bytes")
    # A backup made on S3 first registers the server there on the free tier, by default (nobody set it).
    own = _ok(gaib("server", "backup", "create", "-m", "made on S3", "--json"))
    assert own["tier"] == "free"

    refused = gaib("server", "backup", "migrate", "--to", "s3", "--json")
    assert refused.exit_code == 3, refused.stdout
    error = refused.error
    assert error["code"] == "CONFLICT" and older["id"] in error["message"]
    report = error["details"]["migrate"]
    assert report["conflicts"] == [{"kind": "backup", "id": older["id"],
                                    "reason": f"S3 holds other bytes at {older['key']}"}]
    assert report["bundles"]["backup"] == {"copied": 1, "already": 0} and report["bundles"]["snapshot"]["copied"] == 2
    # S3's object is untouched and the conflicting backup is not listed; the rest is.
    assert s3.get_object(Bucket=storage["GAIB_BACKUP_BUCKET"], Key=older["key"])["Body"].read() == \
        b"someone else's bytes"
    listed = [b["id"] for b in _ok(gaib("server", "backup", "list", "--json"))["backups"]]
    assert older["id"] not in listed and own["id"] in listed and len(listed) == 2
    # The tier someone set locally replaces the one S3 registered by default.
    assert report["tier"] == {"outcome": "copied", "tier": "premium"}
    shown = _ok(gaib("server", "tier", "show", "--json"))
    assert (shown["tier"], shown["set_by"]) == ("premium", "ops@example")
    table = boto3.resource("dynamodb", region_name="us-east-1",
                           endpoint_url=aws_env["AWS_ENDPOINT_URL"]).Table(storage["GAIB_BACKUP_TABLE"])
    sk = f"{BACKUP_SK_PREFIX}{older['id'][:19]}#{older['id']}"
    assert "Item" not in table.get_item(Key={"PK": server_pk(gaib.environ["DISCORD_GUILD_ID"]), "SK": sk})


def test_migrate_needs_an_s3_store(gaib: CliRunner) -> None:
    r = gaib("server", "backup", "migrate", "--to", "s3", "--json")
    assert r.exit_code == 2 and r.error["code"] == "SETTING_MISSING" and "GAIB_BACKUP_BUCKET" in r.error["suggestion"]
    assert gaib("server", "backup", "migrate", "--to", "gcs", "--json").exit_code == 6


def test_listings_on_s3_without_a_local_store_add_nothing_and_create_nothing(gaib: CliRunner,
                                                                            aws_env: dict[str, str]) -> None:
    _to_s3(gaib, aws_env)
    for args in (("backup", "list"), ("snapshot", "list"), ("theme", "registry"), ("tier", "show")):
        data = _ok(gaib("server", *args, "--json"))
        assert data["local_store"] is None, args
        assert "migrate" not in gaib("server", *args).stdout, args
    assert not (gaib.cwd / ".gaib" / "backups").exists()
