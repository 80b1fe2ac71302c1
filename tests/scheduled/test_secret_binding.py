"""Secrets bound to their server (issue 24, item 4): ``schedule enable --bot-token-secret`` accepts only a secret
whose ``ServerId`` tag names the same server; a scheduled run reads a schedule's secret only when its tag names
the server being worked on, and (with GAIB_SERVER_ROLE_ARN) on that server's own role session."""

from __future__ import annotations

import re
import uuid
from typing import Any

import boto3
import pytest

from gaib import aws
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from gaib.settings import Settings
from gaib.storage.keys import exports_prefix
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.fleet import Fleet
from tests.support.state import GUILD

pytestmark = pytest.mark.aws

OTHER = "1300000000000000077"
ROLE = "arn:aws:iam::123456789012:role/gaib-server-task"


def secret(value: str = "not-a-real-token-0123456789", server: str | None = None) -> str:
    """A new Secrets Manager secret on moto (tagged ServerId=server when given); its ARN."""
    tags = [{"Key": "ServerId", "Value": server}] if server else []
    return str(boto3.client("secretsmanager").create_secret(
        Name=f"gaib/bot-{uuid.uuid4().hex[:8]}", SecretString=value, Tags=tags)["ARN"])


@pytest.fixture
def acli(cli: CliRunner, aws_env: dict[str, str]) -> CliRunner:
    """Backups on moto, secrets in moto's Secrets Manager, a local state for GUILD."""
    from tests.support.state import seed_state
    from tests.support.store import backup_storage_env

    cli.environ.update({"DISCORD_GUILD_ID": GUILD, **backup_storage_env(aws_env)})
    seed_state(cli.cwd)
    return cli


def test_enable_accepts_the_servers_own_secret(acli: CliRunner) -> None:
    own = secret(server=GUILD)

    ok = acli("server", "schedule", "enable", "--export-config", "--bot-token-secret", own, "--json")

    assert ok.exit_code == 0, ok.stdout
    assert ok.data["schedule"]["bot_token_secret"] == own


@pytest.mark.parametrize("owner", [OTHER, None], ids=["another-server", "untagged"])
def test_enable_refuses_a_secret_not_tagged_with_this_server(acli: CliRunner, owner: str | None) -> None:
    theirs = secret(server=owner)

    refused = acli("server", "schedule", "enable", "--export-config", "--bot-token-secret", theirs, "--json")

    assert refused.exit_code == 6, refused.stdout
    error = refused.error
    assert error["code"] == "SECRET_NOT_BOUND" and theirs in error["message"]
    assert (OTHER in error["message"]) if owner else ("no ServerId tag" in error["message"])
    assert f"Key=ServerId,Value={GUILD}" in error["suggestion"] and "tag-resource" in error["suggestion"]
    assert acli("server", "schedule", "show", "--json").data["schedule"] is None  # nothing was written
    text = acli("server", "schedule", "enable", "--export-config", "--bot-token-secret", theirs)
    assert text.exit_code == 6 and "Error [SECRET_NOT_BOUND]" in text.stderr


def test_a_missing_secret_is_refused_as_unavailable(acli: CliRunner) -> None:
    r = acli("server", "schedule", "enable", "--export-config", "--bot-token-secret", "gaib/no-such-secret", "--json")
    assert r.exit_code == 2 and r.error["code"] == "SECRET_UNAVAILABLE"


class Signed:
    """The access key that signed each Secrets Manager request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def on_send(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        header = request.headers.get("Authorization", b"")
        text = header.decode("latin-1") if isinstance(header, bytes) else str(header)
        found = re.search(r"Credential=([A-Za-z0-9]+)/", text)
        self.sent.append((event_name.rsplit(".", 1)[-1], found.group(1) if found else ""))


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> Signed:
    rec = Signed()
    made = aws.client

    def client(service: str, **kwargs: Any) -> Any:
        c = made(service, **kwargs)
        if service == "secretsmanager":
            c.meta.events.register("before-send", rec.on_send)
        return c

    monkeypatch.setattr(aws, "client", client)
    return rec


def test_a_run_reads_only_the_secret_of_the_server_it_works_on(aws_only: Fleet, signed: Signed) -> None:
    """A schedule naming another server's secret (written past ``schedule enable``): that server's export fails
    with SECRET_NOT_BOUND and the secret's value is never read."""
    fleet = aws_only
    sid = "1300000000000000011"
    theirs = secret(server=OTHER)
    fleet.register(fleet.app(), sid, "premium", export_config=True, secret=theirs)
    app = App(Settings.resolve(_env(fleet)), clock=fleet.clock)

    report = run_scheduled(app, RunOptions(tier="premium"))

    assert report.failed == 1
    assert "SECRET_NOT_BOUND" in str(report.failures)
    assert [op for op, _ in signed.sent] == ["DescribeSecret"]  # never GetSecretValue


def test_with_the_server_role_the_secret_is_read_on_the_servers_session(aws_only: Fleet, signed: Signed,
                                                                       emulator: EmulatorHandle) -> None:
    emulator.reset()
    fleet = aws_only
    sid = emulator.guild_id
    own = secret(emulator.token, server=sid)
    fleet.register(fleet.app(), sid, "premium", export_config=True, secret=own)
    app = App(Settings.resolve(_env(fleet, GAIB_SERVER_ROLE_ARN=ROLE, GAIB_DISCORD_API_URL=emulator.base_url)),
              clock=fleet.clock)

    report = run_scheduled(app, RunOptions(tier="premium"))

    assert report.failed == 0 and report.created == 1, report.failures
    assert any(not o.key.endswith("latest.yaml") for o in fleet.app().store.list(exports_prefix(sid)))
    session = app.server_session(sid)
    assert session is not None
    key = session.role.credentials().get_frozen_credentials().access_key
    assert sorted(op for op, _ in signed.sent) == ["DescribeSecret", "GetSecretValue"]
    assert all(signer == key for _, signer in signed.sent)  # the server's role session, not the task's keys


def _env(fleet: Fleet, **extra: str) -> Any:
    from gaib.cli.context import Env

    return Env(environ={**fleet.environ, "GAIB_SECRETS": "aws", **extra}, cwd=fleet.project)


def test_a_secret_the_servers_session_may_not_describe_is_not_bound(acli: CliRunner,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the server role's policy, describing another server's secret is AccessDenied (moto's server does
    not evaluate IAM, so the answer is given at the client's HTTP boundary): refused as SECRET_NOT_BOUND."""
    theirs = secret(server=OTHER)
    made = aws.client

    class Refused:
        status_code = 400
        headers: dict[str, str] = {}  # noqa: RUF012

    def refuse(model: Any = None, **_: Any) -> Any:
        if model is not None and model.name == "DescribeSecret":
            return Refused(), {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    def client(service: str, **kwargs: Any) -> Any:
        c = made(service, **kwargs)
        c.meta.events.register("before-call.secretsmanager", refuse)
        return c

    monkeypatch.setattr(aws, "client", client)

    refused = acli("server", "schedule", "enable", "--export-config", "--bot-token-secret", theirs, "--json")

    assert refused.exit_code == 6 and refused.error["code"] == "SECRET_NOT_BOUND", refused.stdout
    assert "AWS refused to describe" in refused.error["message"] and "tag-resource" in refused.error["suggestion"]
    assert acli("server", "schedule", "show", "--json").data["schedule"] is None
