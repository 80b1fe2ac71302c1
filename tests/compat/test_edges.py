"""Edges of the compatibility layer: bad backend settings are clear errors, Gaib's earlier S3 layout is
still found, double spellings warn, a token reference in gaib.yaml reads the environment."""

from __future__ import annotations

import json
import uuid

import boto3

from gaib.state.model import State
from gaib.state.s3 import ensure_state_infra
from tests.support.cli import CliRunner

GUILD = "323456789012345678"


def _bucket() -> str:
    bucket = f"edges-{uuid.uuid4().hex[:10]}"
    ensure_state_infra(bucket=bucket, table="gaib-locks", region="us-east-1", endpoint_url=None)
    return bucket


def test_bad_backend_settings_are_configuration_errors(cli: CliRunner, aws_env: dict[str, str]) -> None:
    cli.environ.update(aws_env)
    bucket = _bucket()
    r = cli("server", "workspace", "ls", "--json", env={"GAIB_S3_BUCKET": bucket, "GAIB_S3_ENCRYPT": "maybe"})
    assert r.exit_code == 2 and "encrypt must be true or false" in r.error["message"]
    (cli.cwd / "gaib.yaml").write_text(f"backend: {{type: s3, bucket: {bucket}, key: 'x/${{team}}/s.tfstate'}}\n")
    r = cli("server", "workspace", "ls", "--json")
    assert r.exit_code == 2 and "only ${workspace} and ${guild_id}" in r.error["message"]
    (cli.cwd / "gaib.yaml").write_text(f"backend: {{type: s3, bucket: {bucket}, key: one/state.tfstate}}\n")
    assert cli("server", "workspace", "ls", "--json").exit_code == 0
    r = cli("server", "workspace", "new", "staging", "--json")
    assert r.exit_code == 2 and "only the 'default'" in r.error["message"]


def test_gaibs_earlier_s3_layout_is_still_found(cli: CliRunner, aws_env: dict[str, str]) -> None:
    cli.environ.update(aws_env)
    bucket = _bucket()
    old = State.new("default", guild_id=GUILD)
    old.serial = 3
    boto3.client("s3").put_object(Bucket=bucket, Key=f"gaib/state/{GUILD}/default/terraform.tfstate",
                                  Body=old.to_json())
    r = cli("server", "state", "ls", "--json", env={"GAIB_S3_BUCKET": bucket, "DISCORD_GUILD_ID": GUILD})
    assert r.exit_code == 0 and r.data["serial"] == 3 and r.data["lineage"] == old.lineage
    assert "Gaib's earlier layout" in r.stderr and "key_prefix" in r.stderr


def test_both_spellings_of_user_limit_warn_and_the_first_wins(cli: CliRunner) -> None:
    from gaib.themes.effective import load_config

    path = cli.cwd / "discord-server.yaml"
    path.write_text('version: "1"\nchannels:\n  - {name: v, type: voice, user_limit: 3, userLimit: 4}\n')
    loaded = load_config(path, environ={})
    assert loaded.config.channels[0].user_limit == 3
    assert any("'userLimit' repeats 'user_limit'; 'user_limit' is used" in str(w) for w in loaded.warnings)


def test_a_token_reference_in_gaib_yaml_reads_the_environment(cli: CliRunner) -> None:
    from gaib.cli.context import Env
    from gaib.settings import Settings

    (cli.cwd / "gaib.yaml").write_text("discord:\n  bot_token: ${MY_BOT_TOKEN}\n")
    settings = Settings.resolve(Env(environ={"MY_BOT_TOKEN": "from-the-environment"}, cwd=cli.cwd))
    assert settings.bot_token == "from-the-environment" and settings.warnings == ()
    settings = Settings.resolve(Env(environ={}, cwd=cli.cwd))
    assert settings.bot_token is None and "MY_BOT_TOKEN, which is not set" in settings.warnings[0]
    assert "from-the-environment" not in repr(settings)


def test_gaib_yaml_config_keys_are_ignored_with_a_warning_when_a_config_file_exists(cli: CliRunner) -> None:
    (cli.cwd / "gaib.yaml").write_text("roles:\n  - name: From Project File\n")
    (cli.cwd / "discord-server.yaml").write_text('version: "1"\nroles:\n  - name: From Config\n')
    r = cli("server", "workspace", "show", "--json")
    assert r.exit_code == 0 and "gaib.yaml: roles ignored: the server config is read from discord-server.yaml" \
        in r.stderr
    doc = json.loads(r.stdout)
    assert doc["success"] is True
