"""Attachments on webhook messages: a multipart post (``payload_json`` and ``files[n]``) makes a message
whose attachments carry the files' names and sizes, and the emulator's CDN serves the bytes; a member's
seeded attachment with ``data`` is served the same way."""

from __future__ import annotations

import base64
import json

import httpx

from tests.support.discord.api import Api
from tests.support.discord.control import control
from tests.support.emulator import EmulatorHandle


def test_files_posted_through_a_webhook_become_attachments_the_cdn_serves(guild: EmulatorHandle) -> None:
    api = Api(guild)
    chat = api.channel("chat")
    hook = api("POST", f"/channels/{chat['id']}/webhooks", {"name": "Gaib restore"}).json()
    payload = {"content": "", "username": "Alice", "attachments": [{"id": 0, "filename": "map.png"},
                                                                   {"id": 1, "filename": "notes.txt"}]}
    r = httpx.post(f"{guild.base_url}/webhooks/{hook['id']}/{hook['token']}", params={"wait": "true"},
                   data={"payload_json": json.dumps(payload)},
                   files={"files[0]": ("a", b"\x89PNG-bytes", "image/png"), "files[1]": ("b", b"hello", "text/plain")})
    assert r.status_code == 200, r.text
    files = r.json()["attachments"]
    assert [(a["filename"], a["size"]) for a in files] == [("map.png", 10), ("notes.txt", 5)]
    served = httpx.get(guild.origin + "/cdn/" + files[1]["url"].removeprefix("https://cdn.discordapp.com/"))
    assert served.content == b"hello"
    empty = httpx.post(f"{guild.base_url}/webhooks/{hook['id']}/{hook['token']}",
                       data={"payload_json": json.dumps({"content": ""})}, files={"other": ("x", b"", "text/plain")})
    assert empty.status_code == 400 and empty.json()["code"] == 50006  # no file under files[n]: nothing to send


def test_a_seeded_attachment_with_data_is_served_by_the_cdn(guild: EmulatorHandle) -> None:
    chat = Api(guild).channel("chat")
    [message] = control(guild, "POST", f"/channels/{chat['id']}/messages", [
        {"author": {"id": "800000000000000001", "username": "alice"}, "content": "see",
         "attachments": [{"filename": "a b.png", "data": base64.b64encode(b"xyz").decode()}]}])
    [att] = message["attachments"]
    assert att["filename"] == "a_b.png" and att["size"] == 3
    assert httpx.get(guild.origin + "/cdn/" + att["url"].removeprefix("https://cdn.discordapp.com/")).content == b"xyz"
