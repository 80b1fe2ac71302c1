"""The bot token never reaches a stored file, whatever brings it: a channel topic read from Discord
(snapshots, exports), a name given to ``init``. Each is refused with SECRET_REFUSED (exit 2) naming
where the token is, and nothing is written."""

from __future__ import annotations

import httpx
import pytest

from gaib.errors import EXIT_CONFIG
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle


@pytest.fixture
def leaky(cli: CliRunner, emulator: EmulatorHandle) -> CliRunner:
    """A guild with one channel whose topic (set by hand in Discord) holds the bot token."""
    emulator.reset()
    cli.environ.update(emulator.bot_environ())
    httpx.post(f"{emulator.base_url}/guilds/{emulator.guild_id}/channels", headers=emulator.auth_headers(),
               json={"name": "ops", "type": 0, "topic": f"bot login: {emulator.token}"}).raise_for_status()
    return cli


def _refused(result: object, token: str) -> dict[str, str]:
    from tests.support.cli import Result

    assert isinstance(result, Result)
    assert result.exit_code == EXIT_CONFIG, result.stdout
    error = result.error
    assert error["code"] == "SECRET_REFUSED"
    assert token not in result.stdout + result.stderr
    return error


def _names_the_channel(error: dict[str, str]) -> None:
    """Issue 25: the refusal names the live channel and field and says to edit it in Discord (it used to
    name a line of a stored part and advise a placeholder in the config)."""
    assert "The topic of channel #ops (" in error["message"] and "on Discord" in error["message"], error
    assert "Edit the topic of channel #ops" in error["suggestion"] and "in Discord" in error["suggestion"]
    assert "placeholder" not in error["suggestion"]


def test_a_snapshot_of_a_guild_holding_the_token_is_refused(leaky: CliRunner, emulator: EmulatorHandle) -> None:
    error = _refused(leaky("server", "snapshot", "create", "--json"), emulator.token)
    _names_the_channel(error)
    assert leaky("server", "snapshot", "list", "--json").data["snapshots"] == []
    stored = [p for p in (leaky.cwd / ".gaib" / "backups" / "snapshots").rglob("*") if p.is_file()]
    assert stored == []  # the parts written before the refused one were removed too


def test_an_export_holding_the_token_is_neither_stored_nor_written(leaky: CliRunner, emulator: EmulatorHandle) -> None:
    _names_the_channel(_refused(leaky("server", "export", "--backup", "--json"), emulator.token))
    assert not (leaky.cwd / ".gaib" / "backups" / "exports").exists()
    _names_the_channel(_refused(leaky("server", "export", "-o", "out.yaml", "--json"), emulator.token))
    assert not (leaky.cwd / "out.yaml").exists()
    # Printed, not stored: the topic is shown redacted, as every output is.
    printed = leaky("server", "export")
    assert printed.exit_code == 0 and emulator.token not in printed.stdout and "[redacted]" in printed.stdout


def test_state_pull_and_import_of_a_channel_holding_the_token_name_it(leaky: CliRunner,
                                                                    emulator: EmulatorHandle) -> None:
    ops = next(c for c in httpx.get(f"{emulator.base_url}/guilds/{emulator.guild_id}/channels",
                                    headers=emulator.auth_headers()).json() if c["name"] == "ops")
    _names_the_channel(_refused(leaky("server", "import", "discord_channel.ops", ops["id"], "--json"), emulator.token))
    assert leaky("server", "state", "ls", "--json").data["resources"] == []
    # A managed channel whose topic gets the token pasted in later: pull refuses, naming it.
    headers = emulator.auth_headers()
    clean = httpx.post(f"{emulator.base_url}/guilds/{emulator.guild_id}/channels", headers=headers,
                       json={"name": "ops", "type": 0, "topic": "fine"}).json()
    assert leaky("server", "import", "discord_channel.ops", clean["id"]).exit_code == 0
    httpx.patch(f"{emulator.base_url}/channels/{clean['id']}", headers=headers,
                json={"topic": f"login {emulator.token}"}).raise_for_status()
    _names_the_channel(_refused(leaky("server", "state", "pull", "--json"), emulator.token))
    assert leaky("server", "state", "ls", "--json").data["serial"] == 1


def test_init_refuses_a_server_name_holding_the_token(cli: CliRunner) -> None:
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.fake-token-for-the-tests_0123456789"
    error = _refused(cli("server", "init", "--name", f"x {token}", "--json", env={"DISCORD_BOT_TOKEN": token}), token)
    assert "server.name" in error["message"]
    assert not (cli.cwd / "discord-server.yaml").exists()
