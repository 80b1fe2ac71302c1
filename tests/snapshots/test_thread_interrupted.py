"""Putting threads and forum posts back is exactly once too: a restore killed in the middle of a thread's
replay, or answered unreliably (the emulator's ``drop-after`` fault: Discord does the work, the answer is
lost), ends with every thread once and every saved message in its thread once and in order, no webhook
left behind, and a re-run that sends nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.snapshots.community import Community, author
from tests.snapshots.test_restore_interrupted import _after_messages, _kill_after, emulator  # noqa: F401
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle
from tests.support.raid_config import CONFIG

POST = ["It crashes.", "same", "same here", "which version?", "1.1", "fixed in 1.2", "thanks"]
SIDE = ["off topic", "indeed", "more", "the end"]


@pytest.fixture
def discord(guild: EmulatorHandle) -> Any:
    yield Community(guild)
    guild.set_faults()


def _prepare(snap: CliRunner, c: Community) -> str:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    forum = c.create_channel({"name": "help", "type": 15, "available_tags": [{"name": "bug"}]})
    post = c._call("POST", f"/channels/{forum['id']}/threads", {
        "name": "Crash", "applied_tags": [forum["available_tags"][0]["id"]], "message": {"content": POST[0]}})
    c.seed(post["id"], [{"author": author(1 + i % 3), "content": t} for i, t in enumerate(POST[1:])])
    side = c._call("POST", f"/channels/{c.channel('chat')['id']}/threads", {"name": "side", "type": 11})
    c.seed(side["id"], [{"author": author(2), "content": t} for t in SIDE])
    made = snap("server", "snapshot", "create", "--messages", "50", "--json")
    assert made.exit_code == 0, made.stdout
    return str(made.data["id"])


def _threads(c: Community) -> list[dict[str, Any]]:
    return list(c._call("GET", f"/guilds/{c.emu.guild_id}/threads/active")["threads"])


def _raid(c: Community) -> None:
    c.delete_channel(c.channel("help")["id"])
    c.delete_channel(next(t for t in _threads(c) if t["name"] == "side")["id"])


def _converged(c: Community) -> None:
    threads = _threads(c)
    assert Counter(t["name"] for t in threads) == {"Crash": 1, "side": 1}
    by_name = {t["name"]: t for t in threads}
    assert [m["content"] for m in c.messages(by_name["Crash"]["id"])] == POST
    assert [m["content"] for m in c.messages(by_name["side"]["id"])] == SIDE
    for name in ("help", "chat"):
        assert c._call("GET", f"/channels/{c.channel(name)['id']}/webhooks") == [], name


@pytest.mark.slow
def test_a_restore_killed_mid_thread_replay_finishes_the_rest_once(snap: CliRunner, discord: Community,
                                                                   guild: EmulatorHandle) -> None:
    snapshot_id = _prepare(snap, discord)
    _raid(discord)
    _kill_after(snap, snapshot_id, _after_messages(guild, 3))
    r = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    _converged(discord)
    mark = discord.mark()
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert again.exit_code == 0, again.stdout
    assert discord.writes_since(mark) == []


@pytest.mark.slow
def test_lost_answers_start_no_thread_twice_and_post_no_message_twice(snap: CliRunner, discord: Community,
                                                                      guild: EmulatorHandle) -> None:
    snapshot_id = _prepare(snap, discord)
    _raid(discord)
    guild.set_faults(rate=0.2, kinds=["drop-after"])
    r = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    guild.set_faults()
    assert r.exit_code == 0, r.stdout + r.stderr
    assert guild.stats()["faults"] >= 3
    _converged(discord)
