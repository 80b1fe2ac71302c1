"""A realistic recorded session passes the shared Discord contract validator (validate_pairs.py).

Only spec-valid *requests* are sent here (the validator checks requests too); error answers are
provoked with requests the spec allows (an unknown role id, a 1025-character topic, a wrong token,
a burst that hits a bucket). 405s, unknown routes and invalid JSON are covered in test_errors.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.discord.api import Bot
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.paths import VALIDATOR

pytestmark = pytest.mark.skipif(not VALIDATOR.exists(), reason="shared validator not present")


def _session(emu: EmulatorHandle) -> None:
    bot = Bot(emu)
    g = bot.gid
    bot("GET", f"/guilds/{g}", params={"with_counts": "true"})
    bot("GET", f"/guilds/{g}/roles")
    bot("GET", f"/guilds/{g}/emojis")
    mods = bot("POST", f"/guilds/{g}/roles", {"name": "Mods", "permissions": "1099511627782", "hoist": True})
    blue = bot("POST", f"/guilds/{g}/roles", {"name": "Blue", "permissions": 0,
                                              "colors": {"primary_color": 3447003, "secondary_color": None,
                                                         "tertiary_color": None}})
    bot("PATCH", f"/guilds/{g}/roles", [{"id": mods["id"], "position": 2}])
    bot("PATCH", f"/guilds/{g}/roles/{blue['id']}", {"name": "Azure", "mentionable": True})
    bot("GET", f"/guilds/{g}/roles/{mods['id']}")
    cat = bot("POST", f"/guilds/{g}/channels", {"name": "Info", "type": 4}, expect=201)
    rules = bot("POST", f"/guilds/{g}/channels", {
        "name": "rules", "type": 0, "parent_id": cat["id"], "topic": "Be nice", "rate_limit_per_user": 10,
        "permission_overwrites": [{"id": g, "type": 0, "allow": "0", "deny": "2048"},
                                  {"id": mods["id"], "type": 0, "allow": 2048, "deny": 0}]}, expect=201)
    voice = bot("POST", f"/guilds/{g}/channels", {"name": "Lounge", "type": 2, "user_limit": 10}, expect=201)
    bot("POST", f"/guilds/{g}/channels", {"name": "stage", "type": 13}, expect=201)
    bot("POST", f"/guilds/{g}/channels", {"name": "news", "type": 5}, expect=201)
    bot("POST", f"/guilds/{g}/channels", {"name": "forum", "type": 15, "topic": "t" * 2000}, expect=201)
    bot("PATCH", f"/guilds/{g}/channels", [{"id": voice["id"], "position": 3, "parent_id": cat["id"]},
                                           {"id": rules["id"], "position": 0}], expect=204)
    bot("PATCH", f"/channels/{rules['id']}", {"name": "house-rules", "nsfw": False})
    bot("PUT", f"/channels/{rules['id']}/permissions/{blue['id']}", {"type": 0, "allow": "1024", "deny": "0"},
        expect=204)
    bot("DELETE", f"/channels/{rules['id']}/permissions/{blue['id']}", expect=204)
    bot("GET", f"/channels/{rules['id']}")
    bot("GET", f"/guilds/{g}/channels")
    hook = bot("POST", f"/channels/{rules['id']}/webhooks", {"name": "Gaib Notifier"})
    hook_path = f"/webhooks/{hook['id']}/{hook['token']}"
    bot("POST", hook_path, {"content": "Backup finished"}, expect=204)
    bot("POST", hook_path, {"embeds": [{"title": "Snapshot", "color": 3447003,
                                        "fields": [{"name": "id", "value": "snap-1", "inline": True}],
                                        "footer": {"text": "gaib"}}]}, expect=200, params={"wait": "true"})
    # errors the spec allows the request for
    bot("GET", f"/guilds/{g}/roles/999999999999999999", expect=404)
    bot("POST", f"/guilds/{g}/channels", {"name": "long", "topic": "x" * 1025}, expect=400)
    bot("POST", f"/webhooks/{hook['id']}/wrong-token", {"content": "x"}, expect=404)
    bot("GET", f"/guilds/{g}", expect=401, headers={"Authorization": "Bot not-the-token"})
    for i in range(2):  # the name/topic limit (2 per 10 minutes, one used above): one 429, waited out
        bot("PATCH", f"/channels/{rules['id']}", {"name": f"rules-{i}"})
    bot("DELETE", f"/channels/{cat['id']}")
    bot("DELETE", f"/guilds/{g}/roles/{blue['id']}", expect=204)
    bot.client.close()


def test_recorded_session_passes_the_contract_validator(tmp_path: Path) -> None:
    record = tmp_path / "pairs.jsonl"
    with running_emulator(args=("--record", str(record))) as emu:
        _session(emu)
        stats = emu.stats()
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    statuses = {x["response"]["status"] for x in lines}
    assert {200, 201, 204, 400, 401, 404, 429} <= statuses
    assert stats["rate_limited"] >= 1
    proc = subprocess.run([sys.executable, str(VALIDATOR), str(record), "--fast"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == f"{len(lines)} passed, 0 failed"
