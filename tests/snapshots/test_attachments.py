"""Attachments as files: ``snapshot create --messages`` stores the bytes of each attachment (within the
per-file and per-snapshot caps; larger ones stay links, noted), and the replay uploads them again instead
of posting a dead link. On both storages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.snapshots.community import Community, author
from tests.support.cli import CliRunner
from tests.support.images import png
from tests.support.raid_config import CONFIG

PHOTO = png(7, 32)
BIG = bytes(range(256)) * 12  # 3,072 bytes: over a 2 KiB per-file cap


@pytest.fixture
def discord(guild: Any) -> Community:
    return Community(guild)


def _file(name: str, data: bytes, kind: str) -> dict[str, Any]:
    return {"filename": name, "data": base64.b64encode(data).decode(), "size": len(data), "content_type": kind}


def test_attachments_are_stored_and_uploaded_again_on_replay(snap: CliRunner, discord: Community) -> None:
    c = discord
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    chat = c.channel("chat")["id"]
    gone = {"filename": "gone.png", "url": "https://cdn.discordapp.com/attachments/1/2/gone.png", "size": 9}
    c.seed(chat, [{"author": author(1), "content": "the map", "attachments": [_file("map.png", PHOTO, "image/png")]},
                  {"author": author(2), "content": "", "attachments": [_file("log.bin", BIG, "text/plain")]},
                  {"author": author(3), "content": "old link", "attachments": [gone]}])
    snap.environ["GAIB_MAX_ATTACHMENT_BYTES"] = "2KiB"
    made = snap("server", "snapshot", "create", "--messages", "10", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    manifest = made.data
    assert manifest["counts"]["attachments"] == 1
    snapshot_id = manifest["id"]
    listed = snap("server", "snapshot", "download", snapshot_id, "-o", str(snap.cwd / "dl"))
    assert listed.exit_code == 0, listed.stdout
    saved = (snap.cwd / "dl" / f"messages-{chat}.jsonl").read_text()
    assert "larger than GAIB_MAX_ATTACHMENT_BYTES" in saved and "could not be read" in saved
    assert any(p.read_bytes() == PHOTO for p in (snap.cwd / "dl").glob("media-*.png"))

    c.delete_channel(chat)  # the raid: the channel and its history are gone
    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    history = c.messages(c.channel("chat")["id"])
    first = history[0]
    assert first["content"] == "the map" and [a["filename"] for a in first["attachments"]] == ["map.png"]
    path = first["attachments"][0]["url"].removeprefix("https://cdn.discordapp.com/")
    assert c.cdn(path) == PHOTO  # the same bytes, uploaded again
    assert "attachments/" in history[1]["content"] and history[1]["attachments"] == []  # over the cap: a link
    assert history[2]["content"].endswith("https://cdn.discordapp.com/attachments/1/2/gone.png")


def test_attachment_caps_are_checked_settings(snap: CliRunner) -> None:
    snap.environ["GAIB_MAX_ATTACHMENT_BYTES"] = "100GiB"
    bad = snap("server", "snapshot", "create", "--messages", "10", "--json")
    assert bad.exit_code != 0 and "GAIB_MAX_ATTACHMENT_BYTES" in bad.stdout + bad.stderr


def test_the_per_snapshot_cap_keeps_later_files_as_links(snap: CliRunner, discord: Community) -> None:
    c = discord
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    chat = c.channel("chat")["id"]
    c.seed(chat, [{"author": author(1), "content": "first", "attachments": [_file("map.png", PHOTO, "image/png")]},
                  {"author": author(2), "content": "second",
                   "attachments": [_file("mid.bin", b"m" * 900, "text/plain")]}])
    snap.environ["GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES"] = "1KiB"  # 246 bytes fit, then 900 more do not
    made = snap("server", "snapshot", "create", "--messages", "10", "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    assert made.data["counts"]["attachments"] == 1
    snap("server", "snapshot", "download", made.data["id"], "-o", str(snap.cwd / "dl"))
    lines = (snap.cwd / "dl" / f"messages-{chat}.jsonl").read_text().splitlines()
    assert '"sha256"' in lines[0] and "past GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES" in lines[1]
