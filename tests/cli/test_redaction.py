"""Secrets never reach output, and redaction never mangles ordinary words.

Decision: a secret of 20 characters or more (every real bot or webhook token) is scrubbed wherever it
appears; a shorter one (a test or emulator token) only where it stands as a whole word.
"""

from __future__ import annotations

from gaib.discord.errors import scrub
from gaib.redact import redact
from tests.support.cli import CliRunner

REAL = "MTE5OTg4NzY1NDMyMTA5ODc2NQ.GhXyZa.s3cr3t-b0t-t0k3n_value_for_tests"


def test_a_short_token_never_mangles_words() -> None:
    assert redact("Connection refused", ["t"]) == "Connection refused"
    assert scrub("Connection refused (errno 111)", ["t"]) == "Connection refused (errno 111)"
    assert redact("demonstrate the demo-token here", ["demo-token"]) == "demonstrate the [redacted] here"
    assert redact("token=abcd; abcdef abcd.", ["abcd"]) == "token=[redacted]; abcdef abcd."  # abcd. is a word+dot
    assert scrub("bad token abcd!", ["abcd"]) == "bad token [redacted]!"


def test_a_real_token_is_scrubbed_anywhere() -> None:
    assert redact(f"url?token={REAL}x and Bearer{REAL}", [REAL]) == "url?token=[redacted]x and Bearer[redacted]"
    assert REAL not in scrub(f"prefix{REAL}suffix", [REAL])


def test_an_unreachable_discord_with_a_short_token_reads_cleanly(cli: CliRunner) -> None:
    (cli.cwd / "discord-server.yaml").write_text('version: "1.0"\n')
    env = {"DISCORD_BOT_TOKEN": "t", "DISCORD_GUILD_ID": "1100000000000000001",
           "GAIB_DISCORD_API_URL": "http://127.0.0.1:9/api/v10"}
    r = cli("server", "plan", env=env)
    assert r.exit_code == 4, r.stderr
    assert "[redacted]" not in r.stderr and "Connect" in r.stderr


def test_a_real_token_never_appears_in_errors(cli: CliRunner) -> None:
    (cli.cwd / "discord-server.yaml").write_text('version: "1.0"\n')
    env = {"DISCORD_BOT_TOKEN": REAL, "DISCORD_GUILD_ID": "1100000000000000001",
           "GAIB_DISCORD_API_URL": f"http://127.0.0.1:9/api/v10/{REAL}"}
    r = cli("server", "plan", "--json", env=env)
    assert r.exit_code != 0 and REAL not in r.stdout + r.stderr
