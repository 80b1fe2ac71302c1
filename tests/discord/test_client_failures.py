"""The client's request loop against a scripted local HTTP server: retries, error mapping, secrets.

The server is real (127.0.0.1); only the clock is fake, so retries never really sleep and the tests
can assert exactly how long the client decided to wait.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from gaib.discord.client import USER_AGENT, DiscordClient
from gaib.discord.models import ChannelType, Overwrite, channel_body, role_body
from gaib.discord.ratelimit import RESET_MARGIN, RetryPolicy
from gaib.errors import (
    EXIT_CONFIG,
    EXIT_DISCORD,
    EXIT_INVALID_INPUT,
    ConfigError,
    DiscordAuthError,
    DiscordError,
    DiscordNotFound,
    DiscordPermissionError,
    DiscordRateLimited,
    DiscordUnavailable,
    InvalidInput,
    InvalidName,
    MissingSetting,
)
from tests.discord.stub import DROP, Late, Reply, Seen, Stub
from tests.support.clocks import FakeClock
from tests.support.procs import free_port

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gx1y2z.super-secret-token-value_0123456789"
GUILD = "111111111111111111"
ROLE = {"id": "222222222222222222", "name": "Mods", "permissions": "8", "position": 1, "color": 0,
        "hoist": False, "managed": False, "mentionable": False}


def make(stub: Stub, clock: FakeClock, **kw: Any) -> DiscordClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=4.0, jitter=0.5))
    return DiscordClient(stub.base_url, token=TOKEN, guild_id=GUILD, clock=clock, **kw)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert "super-secret" not in text


# --- request shape -----------------------------------------------------------------------------


def test_requests_carry_auth_user_agent_reason_and_string_permissions(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(200, ROLE)]
    with make(stub, clock) as client:
        role = client.create_role(role_body(name="Mods", permissions=8), reason="gaib apply: añadir/rol " * 40)
    assert role.id == ROLE["id"] and role.permissions == 8
    seen = stub.requests[0]
    assert seen.method == "POST" and seen.path == f"/api/v10/guilds/{GUILD}/roles"
    assert seen.headers["Authorization"] == f"Bot {TOKEN}"
    assert re.fullmatch(r"DiscordBot \(https://\S+, \S+\)", seen.headers["User-Agent"])
    assert seen.headers["User-Agent"] == USER_AGENT
    assert seen.headers["Content-Type"] == "application/json"
    reason = seen.headers["X-Audit-Log-Reason"]
    assert re.fullmatch(r"[\x21-\x7e]+", reason)  # URL-encoded ASCII
    from urllib.parse import unquote
    assert len(unquote(reason)) == 512 and unquote(reason).startswith("gaib apply: añadir/rol")
    assert seen.body == {"name": "Mods", "permissions": "8"}


def test_int_permissions_and_overwrite_objects_are_sent_as_strings(stub: Stub, clock: FakeClock) -> None:
    chan = {"id": "333", "name": "general", "type": 0, "position": 0, "guild_id": GUILD, "flags": 0}
    stub.script = [Reply(201, chan), Reply(204)]
    with make(stub, clock) as client:
        client.create_channel({"name": "general", "type": ChannelType.TEXT,
                               "permission_overwrites": [Overwrite(GUILD, deny=1 << 10),
                                                         {"id": "9", "type": 0, "allow": 2**60}]})
        client.set_overwrite("333", Overwrite("9", allow=1 << 11, deny=1 << 53))
    assert stub.requests[0].body == {
        "name": "general", "type": 0,
        "permission_overwrites": [{"id": GUILD, "type": 0, "allow": "0", "deny": "1024"},
                                  {"id": "9", "type": 0, "allow": str(2**60)}]}
    assert stub.requests[1].method == "PUT" and stub.requests[1].path == "/api/v10/channels/333/permissions/9"
    assert stub.requests[1].body == {"type": 0, "allow": "2048", "deny": str(1 << 53)}


def test_channel_body_helper_distinguishes_clear_from_omit() -> None:
    assert channel_body(name="x") == {"name": "x"}
    assert channel_body(name="x", parent_id=None, topic=None) == {"name": "x", "parent_id": None, "topic": None}
    assert channel_body(type=ChannelType.VOICE, bitrate=64000) == {"type": 2, "bitrate": 64000}


@pytest.mark.parametrize("bad", ["../x", "1/../../2", "１２３", "9" * 30, "", " 1", "1?a=b"])
def test_hostile_ids_are_refused_before_sending(stub: Stub, clock: FakeClock, bad: str) -> None:
    with make(stub, clock) as client:
        for call in (lambda: client.delete_role(bad), lambda: client.get_channel(bad),
                     lambda: client.delete_overwrite("1", bad),
                     lambda: client.set_overwrite("1", Overwrite(bad)),
                     lambda: client.reorder_channels([{"id": bad, "position": 1}])):
            with pytest.raises(InvalidName) as err:
                call()
            assert err.value.exit_code == EXIT_INVALID_INPUT
    assert stub.requests == []


def test_hostile_guild_id_is_refused_at_construction(stub: Stub) -> None:
    with pytest.raises(InvalidName):
        DiscordClient(stub.base_url, token=TOKEN, guild_id="../../etc")


# --- configuration -----------------------------------------------------------------------------


def test_from_environ_reads_token_guild_url_and_record(stub: Stub, tmp_path: Path) -> None:
    env = {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_GUILD_ID": GUILD, "GAIB_DISCORD_API_URL": stub.base_url + "/",
           "GAIB_DISCORD_RECORD": str(tmp_path / "rec.jsonl")}
    stub.script = [Reply(200, [ROLE])]
    with DiscordClient.from_environ(env) as client:
        assert client.base_url == stub.base_url and client.guild_id == GUILD
        assert [r.name for r in client.list_roles()] == ["Mods"]
        assert_no_secret(repr(client))
    assert (tmp_path / "rec.jsonl").exists()


@pytest.mark.parametrize("env, error, exit_code", [
    ({}, MissingSetting, EXIT_CONFIG),
    ({"DISCORD_BOT_TOKEN": "   "}, MissingSetting, EXIT_CONFIG),
    ({"DISCORD_BOT_TOKEN": "abc\r\nX-Evil: 1"}, ConfigError, EXIT_CONFIG),
    ({"DISCORD_BOT_TOKEN": "abc", "GAIB_DISCORD_API_URL": "ftp://discord.com/api"}, ConfigError, EXIT_CONFIG),
    ({"DISCORD_BOT_TOKEN": "abc", "GAIB_DISCORD_API_URL": "not a url"}, ConfigError, EXIT_CONFIG),
    ({"DISCORD_BOT_TOKEN": "abc", "DISCORD_GUILD_ID": "guild-1"}, InvalidName, EXIT_INVALID_INPUT),
])
def test_from_environ_rejects_bad_settings(env: dict[str, str], error: type[Exception], exit_code: int) -> None:
    with pytest.raises(error) as err:
        DiscordClient.from_environ(env)
    assert err.value.exit_code == exit_code  # type: ignore[attr-defined]
    assert "abc" not in str(err.value)


def test_guild_methods_need_a_guild_id(stub: Stub) -> None:
    with DiscordClient(stub.base_url, token=TOKEN) as client, pytest.raises(MissingSetting):
        client.list_roles()
    assert stub.requests == []


# --- retries -----------------------------------------------------------------------------------


def test_429_waits_retry_after_and_the_margin_then_succeeds(stub: Stub, clock: FakeClock) -> None:
    limited = Reply(429, {"message": "You are being rate limited.", "retry_after": 0.75, "global": False},
                    {"Retry-After": "1", "X-RateLimit-Scope": "user", "X-RateLimit-Bucket": "b1",
                     "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.75"})
    stub.script = [limited, Reply(200, [ROLE])]
    with make(stub, clock) as client:
        assert len(client.list_roles()) == 1
    assert clock.sleeps == [pytest.approx(0.75 + RESET_MARGIN)]  # the body's precise value, not the rounded header
    assert len(stub.requests) == 2


def test_429_without_body_uses_retry_after_header(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(429, None, {"Retry-After": "2", "X-RateLimit-Scope": "shared"}), Reply(200, [])]
    with make(stub, clock) as client:
        assert client.list_roles() == []
    assert clock.sleeps == [pytest.approx(2.0 + RESET_MARGIN)]


def test_global_429_delays_other_routes_too(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(429, {"message": "global", "retry_after": 1.5, "global": True},
                         {"Retry-After": "2", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}),
                   Reply(200, [ROLE])]
    with make(stub, clock) as client:
        client.list_roles()
        assert clock.sleeps == [pytest.approx(1.5 + RESET_MARGIN)]
        stub.script = [Reply(204)]
        client.delete_overwrite("5", "6")  # another route, after the global window: no wait
    assert clock.sleeps == [pytest.approx(1.5 + RESET_MARGIN)]


def test_429_longer_than_the_policy_allows_fails_fast(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(429, {"message": "shared", "retry_after": 1336.57, "global": False},
                         {"Retry-After": "1337", "X-RateLimit-Scope": "shared"})]
    with make(stub, clock) as client, pytest.raises(DiscordRateLimited) as err:
        client.list_roles()
    assert err.value.exit_code == EXIT_DISCORD
    assert err.value.details["retry_after"] == pytest.approx(1336.57)
    assert clock.sleeps == [] and len(stub.requests) == 1


def test_429_forever_gives_up_after_max_attempts(stub: Stub, clock: FakeClock) -> None:
    stub.handler = lambda seen: Reply(429, {"message": "slow down", "retry_after": 0.2, "global": False},
                                      {"Retry-After": "1", "X-RateLimit-Scope": "user"})
    with make(stub, clock, retry=RetryPolicy(max_attempts=3)) as client, pytest.raises(DiscordRateLimited):
        client.list_roles()
    assert len(stub.requests) == 3
    assert clock.sleeps == [pytest.approx(0.2 + RESET_MARGIN)] * 2


def test_5xx_is_retried_with_bounded_backoff(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(502, {"message": "502: Bad Gateway", "code": 0}), Reply(503, raw=b"<html>busy</html>"),
                   Reply(500, {"message": "500: Internal Server Error", "code": 0}), Reply(200, [ROLE])]
    with make(stub, clock) as client:
        assert client.list_roles()[0].name == "Mods"
    assert len(stub.requests) == 4
    assert len(clock.sleeps) == 3
    for n, slept in enumerate(clock.sleeps, start=1):
        ceiling = min(4.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= slept <= ceiling


def test_5xx_forever_raises_unavailable_after_max_attempts(stub: Stub, clock: FakeClock) -> None:
    stub.handler = lambda seen: Reply(503, {"message": "503: Service Unavailable", "code": 0})
    with make(stub, clock) as client, pytest.raises(DiscordUnavailable) as err:
        client.list_channels()
    assert err.value.exit_code == EXIT_DISCORD
    assert len(stub.requests) == 5 and len(clock.sleeps) == 4
    assert max(clock.sleeps) <= 4.0


def test_other_5xx_and_4xx_are_not_retried(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(501, {"message": "nope", "code": 0})]
    with make(stub, clock) as client:
        with pytest.raises(DiscordUnavailable):
            client.list_roles()
        stub.script = [Reply(400, {"message": "Maximum number of guild roles reached (250)", "code": 30005})]
        with pytest.raises(DiscordError) as err:
            client.create_role({"name": "one too many"})
    assert len(stub.requests) == 2 and clock.sleeps == []
    assert "30005" in err.value.message and "250" in err.value.hint
    assert err.value.details["discord_code"] == 30005


def test_dropped_connection_and_timeout_are_retried(stub: Stub, clock: FakeClock) -> None:
    stub.script = [DROP, Late(1.0, Reply(200, [])), Reply(200, [ROLE])]
    with make(stub, clock, read_timeout=0.2) as client:
        assert [r.id for r in client.list_roles()] == [ROLE["id"]]
    assert len(stub.requests) == 3 and len(clock.sleeps) == 2


def test_connection_refused_gives_unavailable(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v10"
    caplog.set_level(logging.DEBUG, logger="gaib.discord")
    client = DiscordClient(url, token=TOKEN, guild_id=GUILD, clock=clock, retry=RetryPolicy(max_attempts=3))
    with client, pytest.raises(DiscordUnavailable) as err:
        client.create_role({"name": "x"}, dedupe=True)  # never sent, so no dedupe probe either
    assert err.value.details["attempts"] == 3 and len(clock.sleeps) == 2
    assert_no_secret(str(err.value), json.dumps(err.value.to_dict()), caplog.text)


# --- errors that are never retried ---------------------------------------------------------------


def test_401_stops_the_client(stub: Stub, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gaib.discord")
    stub.handler = lambda seen: Reply(401, {"message": "401: Unauthorized", "code": 40001})
    with make(stub, clock) as client:
        with pytest.raises(DiscordAuthError) as err:
            client.list_roles()
        assert err.value.exit_code == EXIT_DISCORD
        assert err.value.details["discord_code"] == 40001
        for call in (client.get_guild, client.list_channels, lambda: client.create_role({"name": "x"})):
            with pytest.raises(DiscordAuthError):
                call()
    assert len(stub.requests) == 1 and clock.sleeps == []
    assert_no_secret(str(err.value), json.dumps(err.value.to_dict()), caplog.text, repr(client))


@pytest.mark.parametrize("code", [50013, 50001])
def test_403_is_a_permission_error_and_not_retried(stub: Stub, clock: FakeClock, code: int) -> None:
    stub.handler = lambda seen: Reply(403, {"message": "Missing Permissions", "code": code})
    with make(stub, clock) as client, pytest.raises(DiscordPermissionError) as err:
        client.create_channel({"name": "x"})
    assert err.value.details["discord_code"] == code and len(stub.requests) == 1


def test_404_carries_discords_code(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(404, {"message": "Unknown Role", "code": 10011})]
    with make(stub, clock) as client, pytest.raises(DiscordNotFound) as err:
        client.delete_role("12345")
    assert err.value.details["discord_code"] == 10011
    assert "Unknown Role" in err.value.message and "/roles/12345" in err.value.message


def test_50035_field_errors_are_flattened_to_paths(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(400, {"code": 50035, "message": "Invalid Form Body", "errors": {
        "name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}]},
        "permission_overwrites": {"0": {"type": {"_errors": [
            {"code": "BASE_TYPE_CHOICES", "message": "Value must be one of {0, 1}."}]}}}}})]
    with make(stub, clock) as client, pytest.raises(DiscordError) as err:
        client.create_channel({"name": "x" * 101, "permission_overwrites": [{"id": "1", "type": 7}]})
    assert type(err.value) is DiscordError and err.value.exit_code == EXIT_DISCORD
    assert "permission_overwrites.0.type: BASE_TYPE_CHOICES Value must be one of {0, 1}." in err.value.message
    assert err.value.details["errors"] == [
        "name: BASE_TYPE_BAD_LENGTH Must be between 1 and 100 in length.",
        "permission_overwrites.0.type: BASE_TYPE_CHOICES Value must be one of {0, 1}."]


def test_error_bodies_that_echo_the_token_are_scrubbed(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(400, {"code": 50035, "message": f"bad {TOKEN}",
                               "errors": {"_errors": [{"code": "X", "message": TOKEN}]}})]
    with make(stub, clock) as client, pytest.raises(DiscordError) as err:
        client.list_roles()
    assert_no_secret(str(err.value), json.dumps(err.value.to_dict()))
    assert "(body): X [redacted]" in err.value.details["errors"]


def test_non_json_success_is_a_clean_error(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(200, raw=b"<html>captive portal</html>")]
    with make(stub, clock) as client, pytest.raises(DiscordError) as err:
        client.get_channel("1")
    assert err.value.exit_code == EXIT_DISCORD


# --- duplicates after ambiguous failures --------------------------------------------------------


class RoleStore:
    """Creates roles for real, but drops the connection after processing the first ``drops`` POSTs."""

    def __init__(self, drops: int, existing: list[dict[str, Any]] | None = None) -> None:
        self.drops = drops
        self.roles: list[dict[str, Any]] = list(existing or [])
        self.next_id = 500000000000000000

    def __call__(self, seen: Seen) -> Reply | str:
        if seen.method == "GET":
            return Reply(200, self.roles)
        self.next_id += 1
        role = {**ROLE, "id": str(self.next_id), "name": seen.body["name"]}
        self.roles.append(role)
        if self.drops > 0:
            self.drops -= 1
            return DROP
        return Reply(200, role)


def test_dedupe_returns_the_role_a_dropped_post_created(stub: Stub, clock: FakeClock) -> None:
    stub.handler = store = RoleStore(drops=1)
    with make(stub, clock) as client:
        role = client.create_role({"name": "Raiders"}, dedupe=True)
    assert [r["name"] for r in store.roles] == ["Raiders"]
    assert role.id == store.roles[0]["id"]
    assert [s.method for s in stub.requests] == ["POST", "GET"]


def test_without_dedupe_a_blind_retry_duplicates(stub: Stub, clock: FakeClock) -> None:
    # Documents the hazard dedupe=True exists for.
    stub.handler = store = RoleStore(drops=1)
    with make(stub, clock) as client:
        client.create_role({"name": "Raiders"})
    assert [r["name"] for r in store.roles] == ["Raiders", "Raiders"]


def test_dedupe_reposts_when_nothing_was_created(stub: Stub, clock: FakeClock) -> None:
    stub.script = [Reply(503, {"message": "down", "code": 0}), Reply(200, []),
                   Reply(200, {**ROLE, "name": "Raiders"})]
    with make(stub, clock) as client:
        assert client.create_role({"name": "Raiders"}, dedupe=True).name == "Raiders"
    assert [s.method for s in stub.requests] == ["POST", "GET", "POST"]


def test_channel_dedupe_matches_name_type_and_parent(stub: Stub, clock: FakeClock) -> None:
    other_parent = {"id": "700", "name": "chat", "type": 0, "position": 0, "parent_id": "1", "guild_id": GUILD,
                    "flags": 0}
    voice = {**other_parent, "id": "701", "type": 2, "parent_id": "2"}
    created = {**other_parent, "id": "702", "parent_id": "2"}
    stub.script = [DROP, Reply(200, [other_parent, voice, created])]
    with make(stub, clock) as client:
        channel = client.create_channel(channel_body(name="chat", type=0, parent_id="2"), dedupe=True)
    assert channel.id == "702" and channel.parent_id == "2"
    assert [s.method for s in stub.requests] == ["POST", "GET"]


def test_dedupe_needs_a_name(stub: Stub, clock: FakeClock) -> None:
    with make(stub, clock) as client, pytest.raises(InvalidInput):
        client.create_role({"color": 5}, dedupe=True)
    assert stub.requests == []


# --- reorders ----------------------------------------------------------------------------------


def test_channel_reorder_sends_each_parent_change_alone(stub: Stub, clock: FakeClock) -> None:
    stub.handler = lambda seen: Reply(204)
    with make(stub, clock) as client:
        client.reorder_channels([{"id": "1", "position": 0}, {"id": "2", "position": 1, "parent_id": "9"},
                                 {"id": "3", "position": 2}, {"id": "4", "parent_id": None,
                                                              "lock_permissions": True}])
    assert [s.body for s in stub.requests] == [
        [{"id": "1", "position": 0}, {"id": "3", "position": 2}],
        [{"id": "2", "position": 1, "parent_id": "9"}],
        [{"id": "4", "parent_id": None, "lock_permissions": True}]]
    assert all(s.method == "PATCH" and s.path == f"/api/v10/guilds/{GUILD}/channels" for s in stub.requests)


def test_reorder_rejects_bad_positions(stub: Stub, clock: FakeClock) -> None:
    with make(stub, clock) as client:
        with pytest.raises(InvalidInput):
            client.reorder_roles([("1", -1)])
        with pytest.raises(InvalidInput):
            client.reorder_channels([{"id": "1", "position": "top"}])
        with pytest.raises(InvalidInput):
            client.reorder_channels([{"id": "1", "nme": "typo"}])
    assert stub.requests == []


# --- webhooks ----------------------------------------------------------------------------------


WEBHOOK_TOKEN = "wh-secret-abcdefghijklmnopqrstuvwxyz0123456789"


def test_webhook_execution_sends_no_bot_token_and_dies_on_404(
        stub: Stub, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # includes httpx's own "HTTP Request: POST <url>" lines
    url = stub.base_url.replace("/api/v10", "/api") + f"/webhooks/42/{WEBHOOK_TOKEN}"
    stub.script = [Reply(204), Reply(404, {"message": "Unknown Webhook", "code": 10015})]
    with make(stub, clock) as client:
        assert client.execute_webhook(url, {"content": "backup done"}) is None
        with pytest.raises(DiscordNotFound) as first:
            client.execute_webhook(url, {"content": "again"})
        with pytest.raises(DiscordNotFound) as second:
            client.execute_webhook(url, {"content": "and again"})
    assert len(stub.requests) == 2
    assert stub.requests[0].path == f"/api/v10/webhooks/42/{WEBHOOK_TOKEN}"  # unversioned URL gets /v10
    assert "Authorization" not in stub.requests[0].headers
    assert stub.requests[0].body == {"content": "backup done"}
    assert "webhooks/42/redacted" in caplog.text  # httpx's request line, rewritten
    for text in (str(first.value), str(second.value), json.dumps(first.value.to_dict()), caplog.text):
        assert WEBHOOK_TOKEN not in text
        assert TOKEN not in text


@pytest.mark.parametrize("url", ["https://discord.com/api/webhooks/42", "file:///etc/passwd",
                                 "https://discord.com/api/webhooks/abc/token", "javascript:alert(1)"])
def test_bad_webhook_urls_are_refused(stub: Stub, clock: FakeClock, url: str) -> None:
    with make(stub, clock) as client, pytest.raises(InvalidInput):
        client.execute_webhook(url, {"content": "x"})


# --- recording ---------------------------------------------------------------------------------


def test_recording_redacts_bot_and_webhook_tokens(stub: Stub, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    hook = {"id": "42", "type": 1, "channel_id": "5", "name": "alerts", "token": WEBHOOK_TOKEN,
            "url": f"https://discord.com/api/webhooks/42/{WEBHOOK_TOKEN}"}
    stub.script = [Reply(200, hook), Reply(204)]
    with make(stub, clock, record_path=path) as client:
        webhook = client.create_webhook("5", "alerts")
        assert WEBHOOK_TOKEN not in repr(webhook)
        client.execute_webhook(webhook.url.replace("https://discord.com/api", stub.base_url), {"content": "hi"})
    text = path.read_text()
    assert TOKEN not in text and WEBHOOK_TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2
    assert lines[0]["request"]["headers"]["authorization"] == "Bot [redacted]"
    assert lines[0]["response"]["body"]["token"] == "redacted"
    assert lines[1]["request"]["url"].endswith("/webhooks/42/redacted")
    assert lines[1]["response"]["status"] == 204
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
