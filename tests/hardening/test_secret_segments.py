"""A bot token's secret segments are refused and hidden like the whole token; its public first segment is not.

A Discord bot token is ``base64(bot id).timestamp.hmac``: anyone can compute the first segment from the
bot's id, the other two are the secret. A value holding the second and third segments (a token pasted
without its first part), or the HMAC alone, must never be stored nor printed. Each place a value can
enter is tried: the config file, a theme variable, a channel topic read from Discord, a backup message,
a schedule's option.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gaib.errors import EXIT_CONFIG
from gaib.redact import redact
from gaib.secretguard import SecretFinder
from tests.support.cli import CliRunner, Result
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.themes import make_theme
from tests.support.tree import fingerprint

BOT_ID = "MTIzNDU2Nzg5MDEyMzQ1Njc4"
STAMP = "GaBcDe"
HMAC = "fake-hmac-for-the-segment-tests_0123456789"
TOKEN = f"{BOT_ID}.{STAMP}.{HMAC}"
LEAKS = {"hmac and stamp": f"{STAMP}.{HMAC}", "hmac alone": HMAC, "stamp alone": f"login stamp {STAMP} ok"}


@pytest.mark.parametrize("text", [*LEAKS.values(), f"{BOT_ID}.{STAMP}.{HMAC}", f"x.{STAMP}", f"{HMAC}tail"],
                         ids=[*LEAKS, "whole", "stamp after a dot", "hmac inside a word"])
def test_every_secret_segment_is_found_and_hidden(text: str) -> None:
    finder = SecretFinder([TOKEN])
    assert finder.in_text(text)
    shown = redact(text, [TOKEN])
    assert HMAC not in shown and STAMP not in shown, shown


@pytest.mark.parametrize("text", [f"our bot is {BOT_ID}", f"{STAMP}x and x{STAMP}", "GaBcDef", "plain text"])
def test_the_public_first_segment_and_lookalikes_stay_allowed(text: str) -> None:
    assert not SecretFinder([TOKEN]).in_text(text)
    assert redact(text, [TOKEN]) == text


def test_other_values_gain_no_segments() -> None:
    # A webhook URL or a short test token is not a bot token: only the value as a whole is matched.
    assert not SecretFinder(["test-token"]).in_text("test")
    assert not SecretFinder(["https://x.example/a.b"]).in_text("example")


def _refused(result: Result) -> dict[str, str]:
    assert result.exit_code == EXIT_CONFIG, result.stdout + result.stderr
    assert result.error["code"] == "SECRET_REFUSED"
    for secret in (HMAC, f"{STAMP}.{HMAC}"):
        assert secret not in result.stdout + result.stderr
    return result.error


CONFIG = """version: "1.0"
roles:
  - name: Members
channels:
  - name: general
    topic: "{topic}"
"""


@pytest.mark.parametrize("leak", list(LEAKS.values()), ids=list(LEAKS))
def test_a_config_holding_a_segment_is_refused_naming_the_field(project: CliRunner, leak: str) -> None:
    (project.cwd / "discord-server.yaml").write_text(CONFIG.format(topic=leak))
    before = fingerprint(project.cwd)
    error = _refused(project("server", "plan", "--json", env={"DISCORD_BOT_TOKEN": TOKEN}))
    assert "channels[0].topic" in error["message"]
    assert fingerprint(project.cwd) == before
    # The public segment alone is an ordinary value.
    (project.cwd / "discord-server.yaml").write_text(CONFIG.format(topic=f"bot {BOT_ID}"))
    public = project("server", "plan", "--json", env={"DISCORD_BOT_TOKEN": TOKEN})
    assert public.json["success"] or public.error["code"] != "SECRET_REFUSED", public.stdout


def test_a_theme_variable_holding_the_hmac_is_refused(project: CliRunner) -> None:
    make_theme(project.cwd / "themes")
    (project.cwd / "discord-server.yaml").write_text(
        f'version: "1.0"\ntheme:\n  name: town\n  variables:\n    guild: Tabr\n    accent: "#654321"\n'
        f'channels:\n  - name: chat\n    topic: "{STAMP}.{HMAC}"\n')
    before = fingerprint(project.cwd)
    _refused(project("server", "plan", "--json", env={"DISCORD_BOT_TOKEN": TOKEN}))
    assert fingerprint(project.cwd) == before


def test_a_backup_message_or_a_schedule_option_holding_segments_stores_nothing(bproject: CliRunner) -> None:
    env = {"DISCORD_BOT_TOKEN": TOKEN}
    before = bproject("server", "backup", "list", "--json").data["backups"]
    _refused(bproject("server", "backup", "create", "-m", f"fyi {STAMP}.{HMAC}", "--json", env=env))
    _refused(bproject("server", "snapshot", "create", "-m", f"fyi {HMAC}", "--json", env=env))
    assert bproject("server", "backup", "list", "--json").data["backups"] == before
    assert bproject("server", "snapshot", "list", "--json").data["snapshots"] == []
    # A token's secret part pasted where a secret's *name* belongs is not kept in the schedule item.
    _refused(bproject("server", "schedule", "enable", "--bot-token-secret", f"{STAMP}.{HMAC}", "--json", env=env))
    shown = bproject("server", "schedule", "show", "--json", env=env)
    assert HMAC not in shown.stdout


@pytest.fixture(scope="module")
def token_emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(token=TOKEN) as emu:
        yield emu


def test_a_live_topic_holding_segments_is_never_snapshotted(cli: CliRunner, token_emulator: EmulatorHandle) -> None:
    emu = token_emulator
    emu.reset()
    cli.environ.update(emu.bot_environ())
    httpx.post(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=emu.auth_headers(),
               json={"name": "ops", "type": 0, "topic": f"recovery: {STAMP}.{HMAC}"}).raise_for_status()
    _refused(cli("server", "snapshot", "create", "--json"))
    assert cli("server", "snapshot", "list", "--json").data["snapshots"] == []
    stored = [p for p in (cli.cwd / ".gaib" / "backups" / "snapshots").rglob("*") if p.is_file()]
    assert stored == []
