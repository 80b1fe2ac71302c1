"""Backend selection (flags > env > gaib.yaml > local) and S3 specifics, on moto's server."""

from __future__ import annotations

import uuid

import boto3

from gaib.state.s3 import ensure_state_infra
from tests.support.cli import CliRunner

GUILD = "323456789012345678"


def _infra(endpoint: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    bucket, table = f"tfstate-{suffix}", f"locks-{suffix}"
    ensure_state_infra(bucket=bucket, table=table, region="us-east-1", endpoint_url=endpoint)
    return bucket, table


def test_gaib_yaml_backend_block_selects_s3(cli: CliRunner, aws_env: dict[str, str]) -> None:
    bucket, table = _infra(aws_env["AWS_ENDPOINT_URL"])
    cli.environ.update(aws_env)
    (cli.cwd / "gaib.yaml").write_text(
        f'guild_id: "{GUILD}"\nbackend:\n  type: s3\n  bucket: {bucket}\n  dynamodb_table: {table}\n'
        "  key_prefix: teams/gaib/\n")
    r = cli("server", "workspace", "new", "staging", "--json")
    assert r.exit_code == 0, r.stdout
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"teams/gaib/{GUILD}/staging/workspace.json"]
    assert not (cli.cwd / ".gaib" / "workspaces").exists()
    shown = cli("server", "workspace", "show", "--json").data
    assert shown["backend"] == "s3"


def test_environment_beats_gaib_yaml(cli: CliRunner, aws_env: dict[str, str]) -> None:
    bucket, table = _infra(aws_env["AWS_ENDPOINT_URL"])
    other, _ = _infra(aws_env["AWS_ENDPOINT_URL"])
    cli.environ.update(aws_env)
    (cli.cwd / "gaib.yaml").write_text(f"backend:\n  type: s3\n  bucket: {other}\n  dynamodb_table: {table}\n")
    r = cli("server", "workspace", "new", "prod", "--json",
            env={"GAIB_S3_BUCKET": bucket, "DISCORD_GUILD_ID": GUILD})
    assert r.exit_code == 0, r.stdout
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    assert boto3.client("s3").list_objects_v2(Bucket=other)["KeyCount"] == 0


def test_s3_key_with_guild_id_but_no_guild_is_a_config_error(cli: CliRunner, aws_env: dict[str, str]) -> None:
    """Gaib's older layout (key_prefix) holds the guild id; the original's default key needs none."""
    cli.environ.update(aws_env)
    r = cli("server", "workspace", "ls", "--json", env={"GAIB_S3_BUCKET": "some-bucket", "GAIB_S3_PREFIX": "g/"})
    assert r.exit_code == 2 and r.error["code"] == "SETTING_MISSING"


def test_state_is_written_with_sse_kms_when_a_key_is_configured(aws_env: dict[str, str]) -> None:
    from gaib.state.model import State
    from gaib.state.s3 import S3Backend

    endpoint = aws_env["AWS_ENDPOINT_URL"]
    bucket, table = _infra(endpoint)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    backend = S3Backend(bucket=bucket, table=table, guild_id=GUILD, region="us-east-1", endpoint_url=endpoint,
                        kms_key_id=key_id)
    s = State.new("default")
    s.serial = 1
    backend.put(s, expected_serial=None)
    head = boto3.client("s3").head_object(Bucket=bucket, Key=backend.key("default"))
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]
    assert backend.get("default") is not None


def test_lock_item_is_shaped_like_terraforms(aws_env: dict[str, str]) -> None:
    import json
    from datetime import UTC, datetime

    from gaib.state.s3 import S3Backend

    endpoint = aws_env["AWS_ENDPOINT_URL"]
    bucket, table = _infra(endpoint)
    backend = S3Backend(bucket=bucket, table=table, guild_id=GUILD, region="us-east-1", endpoint_url=endpoint)
    info = backend.lock("default", "apply", datetime(2026, 11, 25, tzinfo=UTC))
    item = boto3.client("dynamodb").get_item(TableName=table,
                                             Key={"LockID": {"S": f"{bucket}/{backend.key('default')}"}})["Item"]
    doc = json.loads(item["Info"]["S"])
    assert {"ID", "Operation", "Who", "Created", "Path", "Version", "Info"} <= set(doc)
    assert doc["ID"] == info.id and doc["Operation"] == "apply"


def test_flags_beat_the_environment(cli: CliRunner, aws_env: dict[str, str]) -> None:
    bucket, table = _infra(aws_env["AWS_ENDPOINT_URL"])
    cli.environ.update(aws_env)
    env = {"GAIB_S3_BUCKET": bucket, "GAIB_DYNAMODB_TABLE": table, "DISCORD_GUILD_ID": GUILD}
    r = cli("server", "workspace", "new", "local-one", "--backend", "local", "--state-path", "elsewhere", "--json",
            env=env)
    assert r.exit_code == 0, r.stdout
    assert (cli.cwd / "elsewhere" / "workspaces" / "local-one").is_dir()
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    r = cli("server", "workspace", "new", "remote-one", "--json", env=env)
    assert r.exit_code == 0
    assert boto3.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1
