"""The bot token and webhook tokens never appear in the recording, the request log or the output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.discord.api import Api
from tests.support.emulator import running_emulator

TOKEN = "MTE5.secret-bot-token.xyz"


def test_tokens_are_redacted_everywhere(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    with running_emulator(token=TOKEN, args=("--record", str(record), "--verbose")) as emu:
        api = Api(emu)
        chan = api.channel("alerts")
        hook = api("POST", f"/channels/{chan['id']}/webhooks", {"name": "n"}).json()
        httpx.post(hook["url"], json={"content": "hi"}, headers={"User-Agent": "DiscordBot (https://x, 1)"})
        httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}?t={TOKEN}", headers=emu.auth_headers())
        api("GET", f"/guilds/{emu.guild_id}", headers={"Authorization": "Bot wrong-token"})
        log = json.dumps(emu.requests())
        api.close()
        emu.process.terminate()
        emu.process.wait(timeout=10)
    text = record.read_text()
    for secret in (TOKEN, hook["token"]):
        assert secret not in text and secret not in log
    lines = [json.loads(x) for x in text.splitlines()]
    assert lines[0]["request"]["headers"]["authorization"] == "Bot [redacted]"
    assert lines[1]["response"]["body"]["token"] == "[redacted]"
    assert lines[2]["request"]["url"].endswith(f"/webhooks/{hook['id']}/redacted")
    assert f"/webhooks/{hook['id']}/redacted" in log


def test_token_from_environment_and_never_printed(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gaib.emulator", "--guild-id", "not-a-snowflake"],
                          env={"DISCORD_BOT_TOKEN": TOKEN, "PATH": "/usr/bin"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "snowflake" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout
    missing = subprocess.run([sys.executable, "-m", "gaib.emulator"], env={"PATH": "/usr/bin"},
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "DISCORD_BOT_TOKEN" in missing.stderr
