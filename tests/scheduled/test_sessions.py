"""Per-server role sessions (issue 24, item 1): with GAIB_SERVER_ROLE_ARN a scheduled run does each server's
work on credentials from sts:AssumeRole tagged ServerId=<server>, and its cross-server work (tier listing,
claims, blocks) on the task's own credentials. Every AWS request is recorded with the access key that signed it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gaib import aws
from gaib.scheduled.run import run_scheduled
from gaib.scheduled.window import RunOptions
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.fleet import Fleet, scheduled_backups, server_ids
from tests.support.state import GUILD, seed_state
from tests.support.store import backup_storage_env

pytestmark = pytest.mark.aws

ROLE = "arn:aws:iam::123456789012:role/gaib-server-task"
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")


@dataclass(frozen=True)
class Sent:
    service: str
    operation: str
    key: str  # the access key id that signed it
    body: str  # the URL and body, to tell whose object or item it touched


class Recorder:
    """Every request of every client ``gaib.aws`` makes, with the access key that signed it."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send", self._on_send)
        return client

    def _on_send(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        found = _CREDENTIAL.search(str(request.headers.get("Authorization", b""), "latin-1")
                                   if isinstance(request.headers.get("Authorization"), bytes)
                                   else str(request.headers.get("Authorization", "")))
        body = request.body if isinstance(request.body, bytes | str) else b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.sent.append(Sent(service, operation, found.group(1) if found else "", f"{request.url} {text}"))

    def by(self, key: str) -> list[Sent]:
        return [s for s in self.sent if s.key == key]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder()
    made = aws.client

    def client(service: str, **kwargs: Any) -> Any:
        return rec.attach(made(service, **kwargs))

    monkeypatch.setattr(aws, "client", client)
    yield rec


def run_app(fleet: Fleet, **extra: str) -> App:
    """The run's composition root as ``run-scheduled`` builds it: the task's own credentials."""
    from gaib.cli.context import Env

    env = Env(environ={**fleet.environ, "GAIB_SERVER_ROLE_ARN": ROLE, **extra}, cwd=fleet.project)
    return App(Settings.resolve(env), clock=fleet.clock)


def session_keys(app: App, servers: list[str]) -> dict[str, str]:
    """The access key of each server's role session."""
    out = {}
    for sid in servers:
        session = app.server_session(sid)
        assert session is not None
        out[sid] = session.role.credentials().get_frozen_credentials().access_key
    return out


def test_each_servers_work_uses_its_own_tagged_role_session(aws_only: Fleet, recorder: Recorder) -> None:
    fleet = aws_only
    servers = server_ids(3)
    setup = fleet.app()
    for sid in servers:
        fleet.register(setup, sid, "free")
    app = run_app(fleet)

    recorder.sent.clear()  # what the set-up sent
    report = run_scheduled(app, RunOptions(tier="free"))

    assert report.created == 3 and report.failed == 0
    keys = session_keys(app, servers)
    assert len(set(keys.values())) == 3 and "testing" not in keys.values()
    for sid in servers:
        session = app.server_session(sid)
        assert session is not None
        assert session.role.tags == {"ServerId": sid} and session.role.name == f"gaib-server-{sid}"
        assert session.role.assumed == 1  # once per server while the credentials last
        own = recorder.by(keys[sid])
        # The server's state read, its backup's objects and catalog item, and its schedule status.
        assert any(s.service == "s3" and s.operation == "GetObject" and f"servers/{sid}/" in s.body for s in own)
        assert any(s.service == "s3" and s.operation == "PutObject" and f"state/{sid}/" in s.body for s in own)
        assert any(s.service == "dynamodb" and f"SERVER#{sid}" in s.body and "BACKUP#" in s.body for s in own)
        others = [o for o in servers if o != sid]
        assert not any(o in s.body for s in own for o in others)  # nothing of another server on this session
        assert len(scheduled_backups(setup, sid)) == 1
    # STS: one AssumeRole per server, tagged, on the task's credentials.
    assumes = [s for s in recorder.sent if s.operation == "AssumeRole"]
    assert len(assumes) == 3 and all(s.key == "testing" for s in assumes)
    assert all("Tags.member.1.Key=ServerId" in s.body and "TransitiveTagKeys.member.1=ServerId" in s.body
               for s in assumes)
    # The cross-server work: the tier listing, the blocks and the claims, on the task's own credentials.
    task = recorder.by("testing")
    assert any(s.operation == "Query" and "tier-index" in s.body for s in task)
    assert any(s.operation == "PutItem" and "SCHEDULER#free" in s.body for s in task)  # a block
    assert any(s.operation in ("PutItem", "UpdateItem") and "RUN#" in s.body for s in task)  # claims
    assert not any(s.service == "s3" and "state/" in s.body and s.operation == "PutObject" for s in task)


def test_without_the_setting_the_run_uses_its_own_credentials_only(aws_only: Fleet, recorder: Recorder) -> None:
    fleet = aws_only
    [sid] = server_ids(1)
    fleet.register(fleet.app(), sid, "free")
    app = fleet.app()

    recorder.sent.clear()  # what the set-up sent
    report = run_scheduled(app, RunOptions(tier="free"))

    assert report.created == 1 and app.server_session(sid) is None
    assert recorder.sent and all(s.key == "testing" for s in recorder.sent)
    assert not any(s.operation == "AssumeRole" for s in recorder.sent)


def test_a_refused_role_fails_the_server_not_the_run(aws_only: Fleet, recorder: Recorder) -> None:
    """STS refusing the role (AccessDenied): that server fails with a storage error naming the role, its claim
    records it, and nothing of it is read or written on the task's own credentials instead."""
    fleet = aws_only
    [sid] = server_ids(1)
    fleet.register(fleet.app(), sid, "free")
    app = run_app(fleet)

    def refuse(**_: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "AssumeRole")

    session = app.server_session(sid)
    assert session is not None
    session.role._sts = type("Sts", (), {"assume_role": staticmethod(refuse)})()

    recorder.sent.clear()  # what the set-up sent
    report = run_scheduled(app, RunOptions(tier="free"))

    assert (report.failed, report.created) == (1, 0)
    [failure] = report.failures
    assert failure["server_id"] == sid and "gaib-server-task" in str(failure) and "AccessDenied" in str(failure)
    assert scheduled_backups(fleet.app(), sid) == []
    assert not any(s.service == "s3" and f"servers/{sid}/" in s.body for s in recorder.sent)  # its state: unread


def test_owner_tools_act_on_their_one_server_through_its_role_session(cli: CliRunner, aws_env: dict[str, str],
                                                                      recorder: Recorder) -> None:
    cli.environ.update({"DISCORD_GUILD_ID": GUILD, **backup_storage_env(aws_env), "GAIB_SERVER_ROLE_ARN": ROLE})
    seed_state(cli.cwd)
    recorder.sent.clear()

    made = cli("server", "backup", "create", "--json")

    assert made.exit_code == 0, made.stdout
    [assume] = [s for s in recorder.sent if s.operation == "AssumeRole"]
    assert f"RoleSessionName=gaib-server-{GUILD}" in assume.body and f"Tags.member.1.Value={GUILD}" in assume.body
    storage = [s for s in recorder.sent if s.service in ("s3", "dynamodb")]
    assert any(s.operation == "PutObject" and f"state/{GUILD}/" in s.body for s in storage)
    assert storage and all(s.key not in ("testing", "") for s in storage)  # all on the server's session

    unnamed = cli("server", "backup", "list", "--json", env={"DISCORD_GUILD_ID": ""})
    assert unnamed.exit_code == 2 and unnamed.error["code"] == "SETTING_MISSING"
    assert "GAIB_SERVER_ROLE_ARN" in unnamed.error["message"]


def test_a_servers_session_storage_still_refuses_the_runs_secrets(aws_only: Fleet, recorder: Recorder) -> None:
    """The run's own secrets (its bot token) are refused on a server's role-session storage as on the run's."""
    from tests.support.fleet import realistic_state

    fleet = aws_only
    [sid] = server_ids(1)
    token = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
    setup = fleet.app()
    fleet.register(setup, sid, "free", state=False)
    state = realistic_state(sid)
    state.resources[20].instances[0].attributes["topic"] = f"the bot: {token}"
    fleet.put_state(setup, sid, state)
    app = run_app(fleet, DISCORD_BOT_TOKEN=token)

    report = run_scheduled(app, RunOptions(tier="free"))

    assert report.failed == 1 and "SECRET_REFUSED" in str(report.failures)
    assert scheduled_backups(setup, sid) == []
    assert token not in str(report.failures)
