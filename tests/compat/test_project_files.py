"""compat.md, "gaib.yaml" and S3 state: the four file names in the current or a parent folder, every
key, the whole backend block and the original's environment variables, and one DynamoDB lock item
format both tools honour. AWS is moto's server; Discord is the emulator."""

from __future__ import annotations

import json
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from gaib.state.s3 import ensure_state_infra
from tests.compat.originals import cycle, live, ok, original_state, seed_live
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle

CONFIG = textwrap.dedent("""\
    version: "1"
    roles:
      - name: Fremen
        color: "#5865F2"
    categories:
      - name: Sietch
    channels:
      - name: water-council
        category: Sietch
        topic: Every drop counts
""")


def _infra(table: str | None = None) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    bucket, table = f"gaib-compat-{suffix}", table or f"locks-{suffix}"
    ensure_state_infra(bucket=bucket, table=table, region="us-east-1", endpoint_url=None)
    return bucket, table


@pytest.mark.parametrize("name", ["gaib.yaml", "gaib.yml", ".gaib.yaml", ".gaib.yml"])
def test_project_file_is_found_under_each_name_in_a_parent_folder(gaib: CliRunner, guild: EmulatorHandle,
                                                                  name: str) -> None:
    (gaib.cwd / name).write_text('version: "1"\nname: arrakis\nbackend:\n  type: local\n  path: shared-state\n')
    sub = gaib.cwd / "servers" / "tabr"
    sub.mkdir(parents=True)
    (sub / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    runner = CliRunner(cwd=sub, environ=dict(gaib.environ))
    if name == "gaib.yaml":
        cycle(runner)
    else:
        ok(runner("server", "apply", "--auto-approve"))
    assert (gaib.cwd / "shared-state" / "workspaces" / "default" / "terraform.tfstate").is_file()
    assert not (sub / ".gaib").exists()


def test_two_project_files_in_one_folder_warn(gaib: CliRunner) -> None:
    (gaib.cwd / "gaib.yaml").write_text("backend: {type: local}\n")
    (gaib.cwd / ".gaib.yml").write_text("backend: {type: s3, bucket: x}\n")
    r = ok(gaib("server", "workspace", "show", "--json"))
    assert r.data["backend"] == "local" and ".gaib.yml is ignored" in r.stderr


def test_gaib_yaml_holds_the_whole_config_token_and_outputs(gaib: CliRunner, guild: EmulatorHandle) -> None:
    token = gaib.environ.pop("DISCORD_BOT_TOKEN")
    del gaib.environ["DISCORD_GUILD_ID"]
    (gaib.cwd / "gaib.yaml").write_text(textwrap.dedent(f"""\
        version: "1"
        name: arrakis
        discord:
          bot_token: {token}
        server:
          id: "{guild.guild_id}"
          name: Arrakis
        roles:
          - name: Fremen
        channels:
          - name: welcome
        outputs:
          welcome_channel:
            value: welcome
            description: Where new members land
          webhook_secret:
            value: s3cr3t-value
            sensitive: true
        """), encoding="utf-8")
    first = cycle(gaib)
    assert first["summary"]["create"] == 2 and first["output_changes"] == [
        {"name": "welcome_channel", "action": "add"}, {"name": "webhook_secret", "action": "add"}]
    r = ok(gaib("server", "apply", "--auto-approve"))
    assert "welcome_channel = \"welcome\"" in r.stdout and "webhook_secret = (sensitive)" in r.stdout
    assert "s3cr3t-value" not in r.stdout + r.stderr
    state = json.loads((gaib.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate").read_text())
    assert state["outputs"]["webhook_secret"] == {"value": "s3cr3t-value", "type": "string", "sensitive": True}
    assert sorted(x["name"] for x in live(guild)[0]) == ["@everyone", "Fremen"]
    # the token was read from the file, used, and never shown
    for result in (r, gaib("server", "plan", "--json"), gaib("server", "locks")):
        assert token not in result.stdout + result.stderr
    assert "holds the bot token" in r.stderr


def test_full_s3_backend_block_with_profile_kms_and_endpoint(gaib: CliRunner, guild: EmulatorHandle,
                                                            aws_env: dict[str, str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bucket, table = _infra()
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    creds = tmp_path / "aws-credentials"
    creds.write_text("[gaib-compat]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    (gaib.cwd / "gaib.yaml").write_text(textwrap.dedent(f"""\
        backend:
          type: s3
          bucket: {bucket}
          key: teams/${{workspace}}/gaib.tfstate
          region: us-east-1
          dynamodb_table: {table}
          encrypt: true
          kms_key_id: {key_id}
          profile: gaib-compat
          endpoint: {aws_env["AWS_ENDPOINT_URL"]}
        """), encoding="utf-8")
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    cycle(gaib)
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=bucket, Key="teams/default/gaib.tfstate")
    assert head["ServerSideEncryption"] == "aws:kms" and key_id in head["SSEKMSKeyId"]
    ok(gaib("server", "workspace", "new", "staging"))
    assert ok(gaib("server", "workspace", "ls", "--json")).data["current"] == "staging"
    names = [w["name"] for w in ok(gaib("server", "workspace", "ls", "--json")).data["workspaces"]]
    assert names == ["default", "staging"]
    assert boto3.client("dynamodb").scan(TableName=table)["Items"] == []  # every lock released
    (gaib.cwd / "gaib.yaml").write_text((gaib.cwd / "gaib.yaml").read_text().replace("gaib-compat", "nope"))
    r = gaib("server", "plan", "--json")
    assert r.exit_code != 0 and "ProfileNotFound" in r.error["message"]


def test_the_originals_environment_variables(gaib: CliRunner, guild: EmulatorHandle,
                                             aws_env: dict[str, str]) -> None:
    bucket, table = _infra()
    token = gaib.environ.pop("DISCORD_BOT_TOKEN")
    env = {"DISCORD_TOKEN": token, "GAIB_BACKEND_TYPE": "s3", "GAIB_S3_BUCKET": bucket,
           "GAIB_S3_KEY": "env/${workspace}.tfstate", "GAIB_DYNAMODB_TABLE": table,
           "GAIB_S3_ENDPOINT": aws_env["AWS_ENDPOINT_URL"], "GAIB_S3_ENCRYPT": "false",
           "GAIB_AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    cycle(gaib, env=env)
    s3 = boto3.client("s3")
    assert "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="env/default.tfstate")
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG.replace("Every drop", "Each drop"), encoding="utf-8")
    r = ok(gaib("server", "apply", "--auto-approve", env={**env, "GAIB_S3_ENCRYPT": "true",
                                                          "GAIB_KMS_KEY_ID": key_id}))
    assert token not in r.stdout + r.stderr
    assert key_id in s3.head_object(Bucket=bucket, Key="env/default.tfstate")["SSEKMSKeyId"]


def _s3_project(gaib: CliRunner, guild: EmulatorHandle, aws_env: dict[str, str]) -> tuple[str, dict[str, object]]:
    """An S3 project set up by the original: only the bucket in gaib.yaml, its state at the default
    key, the lock table at its default name."""
    bucket, _ = _infra("gaib-locks")
    gaib.environ.update(aws_env)
    (gaib.cwd / "discord-server.yaml").write_text(CONFIG, encoding="utf-8")
    seed_live(gaib)
    doc = original_state(guild)
    boto3.client("s3").put_object(Bucket=bucket, Key="servers/default/terraform.tfstate",
                                  Body=json.dumps(doc, indent=2).encode())
    (gaib.cwd / "gaib.yaml").write_text(f"backend:\n  type: s3\n  bucket: {bucket}\n", encoding="utf-8")
    return bucket, doc


def test_a_state_at_the_originals_default_key_is_found_with_only_the_bucket(
        gaib: CliRunner, guild: EmulatorHandle, aws_env: dict[str, str]) -> None:
    bucket, doc = _s3_project(gaib, guild, aws_env)
    first = cycle(gaib)
    assert first["empty"] is True
    stored = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key="servers/default/terraform.tfstate")
                        ["Body"].read())
    assert stored["lineage"] == doc["lineage"] and stored["serial"] > 3
    assert all(r["provider"] == "discord" for r in stored["resources"])


def _original_lock(bucket: str, created: datetime) -> dict[str, dict[str, str]]:
    """The lock item exactly as the original writes it."""
    return {"LockID": {"S": f"{bucket}/servers/default/terraform.tfstate"},
            "ID": {"S": "5f0c1a2b-original"}, "Who": {"S": "alice@ci-runner-7"}, "Operation": {"S": "apply"},
            "Info": {"S": ""}, "Created": {"S": created.strftime("%Y-%m-%dT%H:%M:%S.") + "123Z"},
            "TTL": {"N": str(int((created + timedelta(minutes=10)).timestamp()))}}


def test_one_lock_item_format_both_tools_honour(gaib: CliRunner, guild: EmulatorHandle,
                                               aws_env: dict[str, str]) -> None:
    bucket, _ = _s3_project(gaib, guild, aws_env)
    ddb = boto3.client("dynamodb")
    now = datetime.now(UTC)
    ddb.put_item(TableName="gaib-locks", Item=_original_lock(bucket, now))
    # a lock the original holds stops Gaib, and `locks` names its holder
    r = gaib("server", "apply", "--auto-approve", "--json")
    assert r.exit_code == 5 and "alice@ci-runner-7" in r.error["message"]
    held = ok(gaib("server", "locks", "--json")).data
    assert held["locked"] is True
    assert (held["lock"]["Who"], held["lock"]["Operation"], held["lock"]["ID"]) == \
        ("alice@ci-runner-7", "apply", "5f0c1a2b-original")
    # `unlock` releases it
    ok(gaib("server", "unlock", "--yes"))
    assert "Item" not in ddb.get_item(TableName="gaib-locks",
                                      Key={"LockID": {"S": f"{bucket}/servers/default/terraform.tfstate"}})
    # a lock Gaib holds carries the original's attributes, so the original's conditional put fails
    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.wiring import App

    settings = Settings.resolve(Env(environ=gaib.environ, cwd=gaib.cwd))
    with App(settings) as app:
        info = app.state.lock("default", "apply", now)
        item = ddb.get_item(TableName="gaib-locks",
                            Key={"LockID": {"S": f"{bucket}/servers/default/terraform.tfstate"}})["Item"]
        assert {"ID", "Who", "Operation", "Info", "Created", "TTL"} <= set(item)
        assert item["ID"]["S"] == info.id and item["Created"]["S"].endswith("Z")
        stale = (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName="gaib-locks", Item=_original_lock(bucket, now),
                         ConditionExpression="attribute_not_exists(LockID) OR Created < :stale_threshold",
                         ExpressionAttributeValues={":stale_threshold": {"S": stale}})
        assert "alice" not in ok(gaib("server", "locks")).stdout
        app.state.unlock("default", info.id)
    # an original lock older than lock_stale_after is taken over
    ddb.put_item(TableName="gaib-locks", Item=_original_lock(bucket, now - timedelta(hours=2)))
    ok(gaib("server", "apply", "--auto-approve"))
