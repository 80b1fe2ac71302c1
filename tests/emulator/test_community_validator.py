"""The community routes pass the shared contract validator (validate_pairs.py) on a recorded session.

Sticker uploads are multipart/form-data, which the validator cannot read (it re-encodes every body as
JSON): the emulator does not record them, so their answers are checked here through the same
GuildStickerResponse of the sticker reads, and the form itself against the spec's multipart schema.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.support.discord.api import Bot
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.images import gif, png
from tests.support.paths import VALIDATOR

pytestmark = pytest.mark.skipif(not VALIDATOR.exists(), reason="shared validator not present")


COMMUNITY_ROUTES = {
    "/guilds/{guild_id}": ("PATCH",),
    "/guilds/{guild_id}/emojis": ("GET", "POST"),
    "/guilds/{guild_id}/emojis/{emoji_id}": ("GET", "PATCH", "DELETE"),
    "/guilds/{guild_id}/stickers": ("GET", "POST"),
    "/guilds/{guild_id}/stickers/{sticker_id}": ("GET", "PATCH", "DELETE"),
    "/guilds/{guild_id}/bans": ("GET",),
    "/guilds/{guild_id}/bans/{user_id}": ("GET", "PUT", "DELETE"),
    "/guilds/{guild_id}/bulk-ban": ("POST",),
    "/channels/{channel_id}/messages": ("GET",),
    "/webhooks/{webhook_id}": ("DELETE",),
    "/channels/{channel_id}/webhooks": ("GET", "POST"),
    "/guilds/{guild_id}/audit-logs": ("GET",),
}


def _uri(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _session(emu: EmulatorHandle) -> None:
    bot = Bot(emu)
    g = bot.gid
    voice = bot("POST", f"/guilds/{g}/channels", {"name": "afk", "type": 2}, expect=201)
    chat = bot("POST", f"/guilds/{g}/channels", {"name": "chat"}, expect=201)
    role = bot("POST", f"/guilds/{g}/roles", {"name": "Mods"})
    bot("PATCH", f"/guilds/{g}", {"name": "Community", "icon": _uri(png(1)), "verification_level": 2,
                                  "default_message_notifications": 1, "explicit_content_filter": 2,
                                  "afk_channel_id": voice["id"], "afk_timeout": 900, "system_channel_id": chat["id"],
                                  "system_channel_flags": 1, "preferred_locale": "de"})
    smile = bot("POST", f"/guilds/{g}/emojis", {"name": "smile", "image": _uri(png(2)), "roles": [role["id"]]},
                expect=201)
    bot("POST", f"/guilds/{g}/emojis", {"name": "party", "image": _uri(gif(3), "image/gif")}, expect=201)
    bot("GET", f"/guilds/{g}/emojis")
    bot("GET", f"/guilds/{g}/emojis/{smile['id']}")
    bot("PATCH", f"/guilds/{g}/emojis/{smile['id']}", {"name": "grin", "roles": []})
    made = bot.client.post(f"/guilds/{g}/stickers", data={"name": "wave", "tags": "wave", "description": "hi"},
                           files={"file": ("s.png", png(4), "image/png")})
    assert made.status_code == 201, made.text
    sticker = made.json()
    bot("GET", f"/guilds/{g}/stickers")
    bot("GET", f"/guilds/{g}/stickers/{sticker['id']}")
    bot("PATCH", f"/guilds/{g}/stickers/{sticker['id']}", {"description": "a wave"})
    bot("PUT", f"/guilds/{g}/bans/700000000000000001", {"delete_message_seconds": 0}, expect=204,
        headers={"X-Audit-Log-Reason": "spam"})
    bot("POST", f"/guilds/{g}/bulk-ban", {"user_ids": ["700000000000000002", "700000000000000003"]})
    bot("GET", f"/guilds/{g}/bans", params={"limit": "1000"})
    bot("GET", f"/guilds/{g}/bans/700000000000000001")
    bot("DELETE", f"/guilds/{g}/bans/700000000000000002", {}, expect=204)
    control(emu, "POST", f"/channels/{chat['id']}/messages", [
        {"author": {"id": "800000000000000001", "username": "alice", "global_name": "Alice"}, "content": "hi",
         "attachments": [{"filename": "a.png", "url": "https://cdn.discordapp.com/attachments/1/2/a.png", "size": 3}],
         "embeds": [{"title": "t"}]}])
    hook = bot("POST", f"/channels/{chat['id']}/webhooks", {"name": "Gaib restore"})
    bot("POST", f"/webhooks/{hook['id']}/{hook['token']}",
        {"content": "@everyone hi", "username": "Alice", "avatar_url": "https://cdn.discordapp.com/embed/avatars/1.png",
         "allowed_mentions": {"parse": []}, "flags": 4096}, params={"wait": "true"})
    bot("GET", f"/channels/{chat['id']}/messages", params={"limit": "100"})
    bot("GET", f"/channels/{chat['id']}/webhooks")
    bot("DELETE", f"/webhooks/{hook['id']}", expect=204)
    bot("GET", f"/guilds/{g}/audit-logs", params={"action_type": "10", "limit": "100"})
    bot("GET", f"/guilds/{g}/audit-logs", params={"action_type": "22", "target_id": "700000000000000001"})
    # errors the spec allows the request for
    bot("GET", f"/guilds/{g}/emojis/999999999999999999", expect=404)
    bot("GET", f"/guilds/{g}/bans/999999999999999999", expect=404)
    bot("PATCH", f"/guilds/{g}", {"afk_timeout": 60, "afk_channel_id": chat["id"]}, expect=400)
    bot("POST", f"/guilds/{g}/emojis", {"name": "big", "image": _uri(png(5, 300, noise=True))}, expect=400)
    bot("DELETE", f"/guilds/{g}/emojis/{smile['id']}", expect=204)
    bot("DELETE", f"/guilds/{g}/stickers/{sticker['id']}", expect=204)
    bot.client.close()


def test_recorded_community_session_passes_the_contract_validator(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--record", str(record))) as emu:
        _session(emu)
        routes = set(emu.stats()["by_route"])
    assert routes >= {f"{m} {t}" for t, methods in COMMUNITY_ROUTES.items() for m in methods}
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert not [x for x in lines if "multipart" in str(x["request"]["headers"]).lower()]
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == f"{len(lines)} passed, 0 failed"
    # Every exchange of the session but the multipart sticker upload is recorded; how many 429s the
    # emulator's buckets add depends on how fast the machine runs the session.
    answered = [x for x in lines if x["response"]["status"] != 429]
    assert len(answered) == 30, [(x["request"]["method"], x["request"]["url"]) for x in answered]


def test_the_sticker_form_gaib_sends_matches_the_spec() -> None:
    spec = json.loads((VALIDATOR.parent / "openapi.json").read_text())
    schema = spec["paths"]["/guilds/{guild_id}/stickers"]["post"]["requestBody"]["content"]["multipart/form-data"]
    form = {"name": "wave", "tags": "wave", "description": "the hello sticker", "file": "<binary>"}
    jsonschema.validate(form, schema["schema"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "w", "tags": "wave", "file": "x"}, schema["schema"])
