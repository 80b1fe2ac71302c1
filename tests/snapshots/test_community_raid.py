"""The raid on a community: emojis deleted, bans lifted, the icon reset, a channel with history deleted.
``snapshot restore --apply --messages`` brings each back; what survived keeps its id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.snapshots.community import Community, author, data_uri
from tests.support.cli import CliRunner
from tests.support.images import gif, png
from tests.support.raid_config import CONFIG

ICON = png(1000, 64)
SMILE, WAVE, PARTY, STAFF = png(1), png(2), gif(3), png(4)
STICKER = png(5, 48)
LONG = "x" * 2999 + "\n" + "y" * 1000  # 4,000 characters (Nitro), sent as two webhook messages
BANNED = {"700000000000000001": "spam links", "700000000000000002": "raid account", "700000000000000003": None}


@pytest.fixture
def discord(guild: Any) -> Community:
    return Community(guild)


def _history() -> list[dict[str, Any]]:
    return [
        {"author": author(1), "content": "Welcome to the server!"},
        {"author": author(2), "content": "Thanks! Glad to be here."},
        {"author": author(1), "content": "Read #rules first.",
         "embeds": [{"title": "Rules", "description": "Be kind"}]},
        {"author": author(3), "content": "Here is the map", "attachments": [
            {"filename": "map.png", "url": "https://cdn.discordapp.com/attachments/1/2/map.png", "size": 1234}]},
        {"author": author(2), "content": "@everyone the event starts at 8"},
        {"author": author(3), "content": LONG},
    ]


def _build(snap: CliRunner, c: Community) -> dict[str, Any]:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    member = c.role("Member")["id"]
    lounge, chat = c.channel("lounge")["id"], c.channel("chat")["id"]
    c.patch_guild({"icon": data_uri(ICON), "verification_level": 2, "afk_channel_id": lounge,
                   "system_channel_id": chat, "explicit_content_filter": 1})
    ids = {"smile": c.create_emoji("smile", SMILE), "wave": c.create_emoji("wave", WAVE),
           "party": c.create_emoji("party", PARTY, kind="image/gif"),
           "staff": c.create_emoji("staff", STAFF, roles=[member])}
    ids["sticker"] = c.create_sticker("hello", "wave", STICKER)
    for uid, reason in BANNED.items():
        c.ban(uid, reason)
    c.seed(chat, _history())
    c.seed(c.channel("rules")["id"], [{"author": author(1), "content": "1. Be kind."}])
    return ids


def test_a_community_raid_is_undone_with_one_restore(snap: CliRunner, discord: Community) -> None:
    c = discord
    ids = _build(snap, c)
    made = snap("server", "snapshot", "create", "--messages", "50", "--json")
    assert made.exit_code == 0, made.stdout
    snapshot_id = made.data["id"]
    counts = made.data["counts"]
    assert (counts["emojis"], counts["stickers"], counts["bans"], counts["messages"]) == (4, 1, 3, 7)
    old_chat = c.channel("chat")["id"]
    rules_before = c.messages(c.channel("rules")["id"])

    # The raid.
    c.delete_emoji(ids["wave"])
    c.delete_emoji(ids["staff"])
    c.delete_sticker(ids["sticker"])
    c.unban("700000000000000001")
    c.unban("700000000000000003")
    c.patch_guild({"icon": None, "verification_level": 0, "name": "pwned"})
    c.delete_channel(old_chat)
    mark = c.mark()

    dry = snap("server", "snapshot", "restore", snapshot_id, "--dry-run", "--messages", "--json")
    assert dry.exit_code == 0, dry.stdout
    extras = dry.data["plan"]["extras"]
    summary = extras["community"]["summary"]
    assert (summary["emoji_create"], summary["sticker_create"], summary["bans_added"]) == (2, 1, 2), extras
    assert set(extras["community"]["settings"]) == {"name", "icon", "verification_level", "system_channel_id"}
    [replay] = extras["messages"]["channels"]
    assert (replay["name"], replay["messages"], replay["sends"]) == ("chat", 6, 7)  # the 4,000 characters: 2
    assert extras["requests"]["by_route"]["POST /webhooks/{webhook_id}/{webhook_token}"] == 7
    assert extras["requests"]["total"] >= 7 + 3 + 2 + 1 + 1 + 1  # sends, emojis+sticker, ban batches, settings…
    assert c.writes_since(mark) == []  # a dry run writes nothing

    done = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr

    # Emojis: survivors keep their id; the deleted ones are back, byte for byte, with their role.
    emojis = {e["name"]: e for e in c.emojis()}
    assert emojis["smile"]["id"] == ids["smile"] and emojis["party"]["id"] == ids["party"]
    assert emojis["wave"]["id"] != ids["wave"] and emojis["staff"]["id"] != ids["staff"]
    for name, image, ext in (("smile", SMILE, "png"), ("wave", WAVE, "png"), ("party", PARTY, "gif"),
                             ("staff", STAFF, "png")):
        assert c.cdn(f"emojis/{emojis[name]['id']}.{ext}") == image, name
    assert emojis["staff"]["roles"] == [c.role("Member")["id"]]
    [sticker] = c.stickers()
    assert c.cdn(f"stickers/{sticker['id']}.png") == STICKER and sticker["description"] == "the hello sticker"
    # Settings and icon (the same image, under the hash Discord gives it).
    guild = c.settings()
    assert (guild["name"], guild["verification_level"], guild["explicit_content_filter"]) == ("Test Guild", 2, 1)
    assert c.cdn(f"icons/{guild['id']}/{guild['icon']}.png") == ICON
    new_chat = c.channel("chat")["id"]
    assert new_chat != old_chat and guild["system_channel_id"] == new_chat
    assert guild["afk_channel_id"] == c.channel("lounge")["id"]
    # Bans, with their reasons.
    assert c.bans() == BANNED
    # Messages: in order, under their authors' names and avatars, pinging nobody.
    history = c.messages(new_chat)
    assert [m["author"]["username"] for m in history] == ["Member 1", "Member 2", "Member 1", "Member 3",
                                                          "Member 2", "Member 3", "Member 3"]
    assert history[0]["content"] == "Welcome to the server!"
    assert history[2]["embeds"][0]["title"] == "Rules"
    assert "https://cdn.discordapp.com/attachments/1/2/map.png" in history[3]["content"]
    assert history[5]["content"] + history[6]["content"] == LONG
    assert not any(m["mention_everyone"] or m["mentions"] or m["mention_roles"] for m in history)
    posted = c.posted(new_chat)
    assert all(p["allowed_mentions"] == {"parse": []} for p in posted) and len(posted) == 7
    assert posted[1]["avatar_url"] == f"https://cdn.discordapp.com/avatars/{author(2)['id']}/{author(2)['avatar']}.png"
    # The channel that kept its history was not written to; the temporary webhook is gone.
    assert c.messages(c.channel("rules")["id"]) == rules_before
    writes = c.writes_since(mark)
    assert sum(1 for w in writes if w["route"] == "/webhooks/{webhook_id}" and w["method"] == "DELETE") == 1
    assert sum(1 for w in writes if w["route"] == "/channels/{channel_id}/webhooks") == 1

    # Nothing left to do: a plan is empty, and a second restore changes nothing and replays nothing.
    assert snap("server", "plan", "--json").data["empty"] is True
    mark = c.mark()
    again = snap("server", "snapshot", "restore", snapshot_id, "--apply", "--messages", "--yes", "--json")
    assert again.exit_code == 0, again.stdout
    result = again.data["result"]["extras"]
    assert result["community"]["created"] == [] and result["community"]["banned"] == 0
    assert result["messages"]["sent"] == 0
    assert c.writes_since(mark) == []
