"""Community snapshots: images stored once, damaged parts refused before Discord is touched, replays that
ping nobody, the tier's message limit, excluded channels, compare, delete and the boost tier's slots."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaib.storage.keys import TIER_SK, server_pk
from gaib.tiers.table import tier_item
from tests.snapshots.community import (
    Community,
    app_of,
    author,
    data_uri,
    flip_a_byte,
    jsonl,
    media_keys,
    replace_object,
)
from tests.support.cli import CliRunner
from tests.support.images import gif, png
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

LOCAL = pytest.mark.parametrize("store", ["local"], indirect=True)  # storage plays no part in these


@pytest.fixture
def discord(guild: Any) -> Community:
    return Community(guild)


def _server(snap: CliRunner, c: Community, *, emojis: int = 3) -> dict[str, str]:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    c.patch_guild({"icon": data_uri(png(900, 40))})
    ids = {f"e{i}": c.create_emoji(f"e{i}", png(i)) for i in range(emojis)}
    ids["sticker"] = c.create_sticker("hello", "wave", png(99, 40))
    c.ban("700000000000000001", "spam")
    c.seed(c.channel("chat")["id"], [{"author": author(i % 3), "content": f"message {i}"} for i in range(12)])
    c.seed(c.channel("rules")["id"], [{"author": author(1), "content": "1. Be kind."}])
    return ids


def _snapshot(snap: CliRunner, *args: str) -> dict[str, Any]:
    made = snap("server", "snapshot", "create", *args, "--json")
    assert made.exit_code == 0, made.stdout + made.stderr
    data: dict[str, Any] = made.data
    return data


def test_a_snapshot_of_an_unchanged_server_stores_no_new_images(snap: CliRunner, discord: Community) -> None:
    on_tier(snap, "premium")  # several on-demand snapshots in one day
    _server(snap, discord)
    first = _snapshot(snap)
    keys = media_keys(snap)
    assert len(keys) == 5  # three emojis, the sticker, the icon: each once
    # 4 base parts, guild, emojis, stickers, bans, structure, threads, members and 5 safety parts
    assert first["media_added"] == first["media_size"] > 0 and len(first["parts"]) == 16
    second = _snapshot(snap)
    assert second["media_added"] == 0 and second["media_size"] == first["media_size"]
    assert media_keys(snap) == keys  # nothing new stored
    listed = snap("server", "snapshot", "list").stdout
    assert "IMAGES" in listed and "(0 B new)" in listed
    same = snap("server", "snapshot", "compare", first["id"], second["id"], "--json").data
    assert same["identical"] is True, same


@pytest.mark.parametrize("damage", ["emoji image flipped", "emoji image missing", "message part flipped",
                                    "message line edited"])
def test_damaged_images_or_messages_stop_the_restore_before_any_discord_write(
        snap: CliRunner, discord: Community, damage: str) -> None:
    ids = _server(snap, discord)
    made = _snapshot(snap, "--messages", "20")
    sid, server = made["id"], snap.environ["DISCORD_GUILD_ID"]
    emoji_sha = _emoji_sha(snap, made, "e1")
    chat = discord.channel("chat")["id"]
    if damage == "emoji image flipped":
        flip_a_byte(snap, f"media/{server}/{emoji_sha}")
    elif damage == "emoji image missing":
        app_of(snap).store.delete(f"media/{server}/{emoji_sha}")
    elif damage == "message part flipped":
        flip_a_byte(snap, made["parts"][f"messages/{chat}"]["key"])
    else:
        key = made["parts"][f"messages/{chat}"]["key"]
        lines = jsonl(gzip.decompress(app_of(snap).store.get(key)))
        lines[0]["content"] = "@everyone free nitro"
        replace_object(snap, key, gzip.compress(b"".join(json.dumps(x).encode() + b"\n" for x in lines)))
    discord.delete_emoji(ids["e1"])
    discord.delete_channel(chat)
    mark = discord.mark()
    for args in (("--dry-run", "--messages"), ("--apply", "--messages", "--yes")):
        r = snap("server", "snapshot", "restore", sid, *args, "--json")
        assert r.exit_code == 3 and r.error["code"] == "INTEGRITY_ERROR", (args, r.stdout)
    assert discord.writes_since(mark) == []  # nothing written to Discord, no pre-restore snapshot either
    assert [s["id"] for s in snap("server", "snapshot", "list", "--json").data["snapshots"]] == [sid]


def _emoji_sha(snap: CliRunner, made: dict[str, Any], name: str) -> str:
    doc = json.loads(gzip.decompress(app_of(snap).store.get(made["parts"]["emojis"]["key"])))
    return str(next(e["sha256"] for e in doc["emojis"] if e["name"] == name))


HOSTILE: list[dict[str, Any]] = [
    {"author": {**author(5), "global_name": "Discord Staff"}, "content": "@everyone @here URGENT"},
    {"author": {**author(6), "global_name": "everyone"}, "content": "<@&{role}> and <@800000000000000001> look"},
    {"author": author(7), "content": "z" * 4000},
    {"author": author(8), "content": "", "embeds": [{"title": f"embed {i}", "description": "@everyone"}
                                                    for i in range(10)]},
    {"author": {**author(9), "global_name": "Clyde"}, "content": "```@everyone```"},
]


@LOCAL
def test_hostile_messages_are_replayed_without_pinging_anyone(snap: CliRunner, discord: Community) -> None:
    c = discord
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    role = c.role("Admin")["id"]
    hostile = [{**m, "content": m["content"].replace("{role}", role)} for m in HOSTILE]
    c.seed(c.channel("chat")["id"], hostile)
    sid = _snapshot(snap, "--messages", "100")["id"]
    c.delete_channel(c.channel("chat")["id"])
    done = snap("server", "snapshot", "restore", sid, "--apply", "--messages", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    chat = c.channel("chat")["id"]
    history = c.messages(chat)
    assert len(history) == 6  # the 4,000 characters arrive as two messages
    assert not any(m["mention_everyone"] or m["mentions"] or m["mention_roles"] for m in history)
    assert all(p["allowed_mentions"] == {"parse": []} and p["flags"] == 4096 for p in c.posted(chat))
    assert [m["author"]["username"] for m in history] == ["Dis-cord Staff", "everyone (user)", "Member 7",
                                                          "Member 7", "Member 8", "Cly-de"]
    assert history[2]["content"] + history[3]["content"] == "z" * 4000
    assert [e["title"] for e in history[4]["embeds"]] == [f"embed {i}" for i in range(10)]
    assert history[0]["content"] == "@everyone @here URGENT"  # the words are kept; nobody is pinged


@LOCAL
def test_messages_per_channel_follow_the_tier(snap: CliRunner, discord: Community) -> None:
    _server(snap, discord)
    r = snap("server", "snapshot", "create", "--messages", "101", "--json")
    assert r.exit_code == 7 and r.error["code"] == "TIER_LIMIT", r.stdout
    assert snap("server", "snapshot", "list", "--json").data["snapshots"] == []
    server = snap.environ["DISCORD_GUILD_ID"]
    catalog = app_of(snap).catalog
    if catalog.get(server_pk(server), TIER_SK) is None:
        catalog.put_if_absent(server_pk(server), TIER_SK, {**tier_item(server, "premium"), "set_by": "operator"})
    else:
        catalog.update(server_pk(server), TIER_SK, {**tier_item(server, "premium"), "set_by": "operator"})
    made = _snapshot(snap, "--messages", "1000")
    assert made["counts"]["messages"] == 13 and made["tier"] == "premium"


@LOCAL
def test_excluded_channels_keep_their_messages_out(snap: CliRunner, discord: Community) -> None:
    on_tier(snap, "premium")  # several on-demand snapshots in one day
    _server(snap, discord)
    (snap.cwd / "gaib.yaml").write_text("backup:\n  exclude: ['#Rules']\n")
    made = _snapshot(snap, "--messages", "50")
    assert made["counts"]["message_channels"] == 1 and made["counts"]["messages"] == 12
    rules, chat = discord.channel("rules")["id"], discord.channel("chat")["id"]
    assert f"messages/{chat}" in made["parts"] and f"messages/{rules}" not in made["parts"]
    both = _snapshot(snap, "--messages", "50", "--exclude-channel", "Info/chat")
    assert both["counts"]["messages"] == 0 and not [p for p in both["parts"] if p.startswith("messages/")]
    manifest = app_of(snap).catalog.get(server_pk(snap.environ["DISCORD_GUILD_ID"]),
                                        f"SNAPSHOT#{both['id'][:19]}#{both['id']}")
    assert manifest is not None and sorted(manifest["extra"]["excluded_channels"]) == sorted([rules, chat])


@LOCAL
def test_compare_reports_community_differences(snap: CliRunner, discord: Community) -> None:
    on_tier(snap, "premium")  # several on-demand snapshots in one day
    c = discord
    ids = _server(snap, c)
    first = _snapshot(snap, "--messages", "50")["id"]
    c.delete_emoji(ids["e0"])
    c.create_emoji("fresh", gif(7), kind="image/gif")
    c.ban("700000000000000002", "raid")
    c.patch_guild({"verification_level": 3})
    c.seed(c.channel("chat")["id"], [{"author": author(1), "content": "new one"}])
    second = _snapshot(snap, "--messages", "50")["id"]
    diff = snap("server", "snapshot", "compare", first, second, "--json").data
    assert diff["identical"] is False
    assert diff["emojis"]["added"] == ["fresh"] and diff["emojis"]["removed"] == ["e0"]
    assert diff["bans"]["added"] == ["user000002 (700000000000000002)"]
    assert {"field": "verification_level", "old": 0, "new": 3} in diff["settings"]
    [chat] = diff["messages"]
    assert (chat["channel"], chat["old"], chat["new"], chat["added"]) == ("chat", 12, 13, 1)
    text = snap("server", "snapshot", "compare", first, second).stdout
    assert "+ emoji fresh" in text and "- emoji e0" in text and "messages in #chat: 12 -> 13" in text


def test_delete_keeps_images_other_snapshots_use(snap: CliRunner, discord: Community) -> None:
    on_tier(snap, "premium")  # several on-demand snapshots in one day
    _server(snap, discord)
    first = _snapshot(snap)["id"]
    discord.create_emoji("later", png(50))
    second = _snapshot(snap)["id"]
    assert len(media_keys(snap)) == 6
    gone = snap("server", "snapshot", "delete", first, "--yes", "--json").data
    assert gone["images_removed"] == [] and len(media_keys(snap)) == 6  # the second uses them all
    gone = snap("server", "snapshot", "delete", second, "--yes", "--json").data
    assert len(gone["images_removed"]) == 6 and media_keys(snap) == []



def test_prune_removes_an_old_community_snapshot_whole_and_the_images_only_it_used(
        snap: CliRunner, discord: Community) -> None:
    ids = _server(snap, discord)
    start = datetime.now(UTC)
    snap.clock = lambda: start
    old = _snapshot(snap, "--messages", "50")
    assert len(media_keys(snap)) == 5
    discord.delete_emoji(ids["e0"])
    snap.clock = lambda: start + timedelta(days=1)  # the free tier's one on-demand snapshot of that day
    new = _snapshot(snap, "--messages", "50")
    server = snap.environ["DISCORD_GUILD_ID"]
    snap.clock = lambda: start + timedelta(days=10)
    done = snap("server", "snapshot", "prune", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    result = done.data["result"]
    assert [r["id"] for r in result["removed"]] == [old["id"]] and result["complete"] is True
    assert [s["id"] for s in snap("server", "snapshot", "list", "--json").data["snapshots"]] == [new["id"]]
    store = app_of(snap).store
    assert list(store.list(f"snapshots/{server}/{old['id']}/")) == []  # its messages parts too
    assert result["media_removed"] == [hashlib.sha256(png(0)).hexdigest()]  # e0's image
    assert len(media_keys(snap)) == 4  # the deleted emoji's image went with the only snapshot holding it
    assert snap("server", "snapshot", "restore", new["id"], "--dry-run", "--json").exit_code == 0


@LOCAL
def test_boost_slots_and_the_banner_are_checked_in_the_plan(snap: CliRunner, discord: Community) -> None:
    c = discord
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    c.set_boost(2)
    c.patch_guild({"banner": data_uri(png(77, 60))})
    ids = [e["id"] for e in c.seed_emojis([(f"s{i}", png(1000 + i)) for i in range(60)])]
    sid = _snapshot(snap)["id"]
    c.set_boost(0)  # the boosts ran out: 50 static slots, no banner feature
    for emoji_id in ids[:20]:
        c.delete_emoji(emoji_id)
    c.patch_guild({"banner": None})
    dry = snap("server", "snapshot", "restore", sid, "--dry-run", "--json").data["plan"]
    extras = dry["extras"]["community"]
    assert extras["summary"]["emoji_create"] == 10
    assert any("10 static emojis do not fit" in w for w in dry["warnings"]), dry["warnings"]
    assert any("banner needs boost level 2" in w for w in dry["warnings"]), dry["warnings"]
    done = snap("server", "snapshot", "restore", sid, "--apply", "--yes", "--json")
    assert done.exit_code == 0, done.stdout
    assert len(c.emojis()) == 50


@LOCAL
def test_a_snapshot_reads_the_guild_object_once(snap: CliRunner, discord: Community, guild: Any) -> None:
    _server(snap, discord)  # the guild has an icon: the snapshot needs its settings
    seen = len(guild.requests())
    made = _snapshot(snap)
    reads = [r for r in guild.requests()[seen:] if r["method"] == "GET" and r["route"] == "/guilds/{guild_id}"]
    assert len(reads) == 1, reads  # the settings come with the guild object read beside the roles
    assert made["counts"]["emojis"] == 3 and made["media_added"] > 0
    assert len(media_keys(snap)) == 5  # three emojis, the sticker and the icon the settings name
