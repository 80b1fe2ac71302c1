"""Discord endpoints: success codes, object shapes and the side effects Discord has."""

from __future__ import annotations

from gaib.emulator.snowflake import DISCORD_EPOCH_MS
from tests.support.discord.api import Api, inner_codes

ROLE_KEYS = {"id", "name", "permissions", "position", "color", "colors", "hoist", "managed",
             "mentionable", "icon", "unicode_emoji", "flags"}
GUILD_KEYS = {
    "id", "name", "icon", "description", "home_header", "splash", "discovery_splash", "features", "banner",
    "owner_id", "application_id", "region", "afk_channel_id", "afk_timeout", "system_channel_id",
    "system_channel_flags", "widget_enabled", "widget_channel_id", "verification_level", "roles",
    "default_message_notifications", "mfa_level", "explicit_content_filter", "max_presences", "max_members",
    "max_stage_video_channel_users", "max_video_channel_users", "vanity_url_code", "premium_tier",
    "premium_subscription_count", "preferred_locale", "rules_channel_id", "safety_alerts_channel_id",
    "public_updates_channel_id", "premium_progress_bar_enabled", "nsfw", "nsfw_level", "emojis", "stickers",
    "incidents_data",
}


def test_guild_has_every_required_field_and_everyone_role(api: Api) -> None:
    r = api("GET", f"/guilds/{api.gid}", params={"with_counts": "true"})
    assert r.status_code == 200
    guild = r.json()
    assert set(guild) >= GUILD_KEYS
    assert guild["name"] == "Test Guild" and guild["id"] == api.gid
    assert guild["approximate_member_count"] >= 1
    [everyone] = guild["roles"]
    assert everyone["id"] == api.gid and everyone["name"] == "@everyone" and everyone["position"] == 0
    assert "approximate_member_count" not in api("GET", f"/guilds/{api.gid}").json()


def test_role_create_is_200_with_full_object_and_string_permissions(api: Api) -> None:
    r = api("POST", f"/guilds/{api.gid}/roles", {"name": "Mods", "permissions": 8, "hoist": True})
    assert r.status_code == 200
    role = r.json()
    assert set(role) == ROLE_KEYS
    assert role["permissions"] == "8" and role["hoist"] is True and role["position"] == 1
    assert role["colors"] == {"primary_color": 0, "secondary_color": None, "tertiary_color": None}
    assert "tags" not in role
    huge = str((1 << 200) | 8)  # unknown high bits must round-trip exactly
    again = api.role("Big", permissions=huge)
    assert again["permissions"] == huge
    assert api("GET", f"/guilds/{api.gid}/roles/{again['id']}").json()["permissions"] == huge


def test_role_defaults_and_color_sync(api: Api) -> None:
    role = api.role(color=0x3498DB)
    assert role["name"] == "role" and role["colors"]["primary_color"] == 0x3498DB
    assert role["permissions"] == "2248473465835073"  # new roles start with @everyone's permissions
    r = api("PATCH", f"/guilds/{api.gid}/roles/{role['id']}", {"colors": {"primary_color": 255}, "name": "blue"})
    assert r.status_code == 200
    assert r.json()["color"] == 255 and r.json()["name"] == "blue"
    bare = api("POST", f"/guilds/{api.gid}/roles")  # no body at all: Discord's defaults
    assert bare.status_code == 200 and bare.json()["name"] == "new role"


def test_ids_are_increasing_snowflake_strings(api: Api) -> None:
    ids = [api.role(f"r{i}")["id"] for i in range(5)] + [api.channel("c")["id"]]
    assert all(isinstance(i, str) and i.isdigit() for i in ids)
    numbers = [int(i) for i in ids]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert (numbers[0] >> 22) + DISCORD_EPOCH_MS > 1_600_000_000_000  # a real, recent timestamp


def test_new_roles_go_just_above_everyone_and_reorder_returns_all(api: Api) -> None:
    a, b, c = api.role("a"), api.role("b"), api.role("c")
    positions = {r["name"]: r["position"] for r in api("GET", f"/guilds/{api.gid}/roles").json()}
    assert positions == {"@everyone": 0, "c": 1, "b": 2, "a": 3}
    r = api("PATCH", f"/guilds/{api.gid}/roles", [{"id": c["id"], "position": 3}])
    assert r.status_code == 200
    after = {x["name"]: x["position"] for x in r.json()}
    assert after == {"@everyone": 0, "b": 1, "a": 2, "c": 3}
    assert [x["position"] for x in r.json()] == [0, 1, 2, 3]
    assert {a["id"], b["id"]} <= {x["id"] for x in r.json()}


def test_role_delete_is_204_and_removes_its_overwrites(api: Api) -> None:
    role = api.role("gone")
    chan = api.channel("general", permission_overwrites=[
        {"id": role["id"], "type": 0, "allow": "1024", "deny": 0},
        {"id": api.gid, "type": 0, "deny": "1024"}])
    r = api("DELETE", f"/guilds/{api.gid}/roles/{role['id']}")
    assert r.status_code == 204 and r.content == b""
    over = api("GET", f"/channels/{chan['id']}").json()["permission_overwrites"]
    assert over == [{"id": api.gid, "type": 0, "allow": "0", "deny": "1024"}]
    assert api("GET", f"/guilds/{api.gid}/roles/{role['id']}").json()["code"] == 10011


def test_everyone_cannot_be_deleted(api: Api) -> None:
    r = api("DELETE", f"/guilds/{api.gid}/roles/{api.gid}")
    assert r.status_code == 400 and r.json()["code"] == 50028
    assert len(api("GET", f"/guilds/{api.gid}/roles").json()) == 1


def test_channel_create_is_201_with_guild_channel_fields(api: Api) -> None:
    cat = api.channel("Info", type=4)
    text = api.channel("rules", parent_id=cat["id"], topic="Read me", rate_limit_per_user=30)
    voice = api.channel("Lounge", type=2)
    for chan in (cat, text, voice):
        assert {"id", "type", "flags", "guild_id", "name", "position", "permission_overwrites"} <= set(chan)
        assert chan["guild_id"] == api.gid
    assert text["parent_id"] == cat["id"] and text["topic"] == "Read me" and text["rate_limit_per_user"] == 30
    assert voice["bitrate"] == 64000 and voice["user_limit"] == 0
    assert "bitrate" not in text and "topic" not in voice
    listed = {c["id"] for c in api("GET", f"/guilds/{api.gid}/channels").json()}
    assert listed == {cat["id"], text["id"], voice["id"]}


def test_channel_overwrites_in_create_accept_ints_and_strings(api: Api) -> None:
    mods = api.role("mods")
    chan = api.channel("staff", permission_overwrites=[
        {"id": api.gid, "type": 0, "deny": 1024},
        {"id": mods["id"], "type": 0, "allow": "3072"}])
    assert chan["permission_overwrites"] == [
        {"id": api.gid, "type": 0, "allow": "0", "deny": "1024"},
        {"id": mods["id"], "type": 0, "allow": "3072", "deny": "0"}]


def test_channel_patch_is_200_and_delete_is_200_with_body(api: Api) -> None:
    chan = api.channel("old")
    r = api("PATCH", f"/channels/{chan['id']}", {"name": "new", "topic": None, "nsfw": True})
    assert r.status_code == 200 and r.json()["name"] == "new" and r.json()["nsfw"] is True
    r = api("DELETE", f"/channels/{chan['id']}")
    assert r.status_code == 200 and r.json()["id"] == chan["id"] and r.json()["name"] == "new"
    assert api("GET", f"/channels/{chan['id']}").status_code == 404


def test_deleting_a_category_orphans_its_children(api: Api) -> None:
    cat = api.channel("cat", type=4)
    kids = [api.channel(f"k{i}", parent_id=cat["id"]) for i in range(3)]
    assert api("DELETE", f"/channels/{cat['id']}").status_code == 200
    for kid in kids:
        assert api("GET", f"/channels/{kid['id']}").json()["parent_id"] is None


def test_channel_reorder_is_204_and_moves_one_parent(api: Api) -> None:
    cat = api.channel("cat", type=4)
    a, b = api.channel("a"), api.channel("b")
    r = api("PATCH", f"/guilds/{api.gid}/channels", [
        {"id": a["id"], "position": 5, "parent_id": cat["id"]}, {"id": b["id"], "position": 7}])
    assert r.status_code == 204 and r.content == b""
    moved = api("GET", f"/channels/{a['id']}").json()
    assert moved["parent_id"] == cat["id"] and moved["position"] == 5
    assert api("GET", f"/channels/{b['id']}").json()["position"] == 7


def test_lock_permissions_copies_the_category_overwrites(api: Api) -> None:
    cat = api.channel("cat", type=4, permission_overwrites=[{"id": api.gid, "type": 0, "deny": "1024"}])
    chan = api.channel("x")
    r = api("PATCH", f"/guilds/{api.gid}/channels",
            [{"id": chan["id"], "parent_id": cat["id"], "lock_permissions": True}])
    assert r.status_code == 204
    assert api("GET", f"/channels/{chan['id']}").json()["permission_overwrites"] == cat["permission_overwrites"]


def test_overwrite_put_and_delete_are_204(api: Api) -> None:
    chan = api.channel("x")
    role = api.role("r")
    path = f"/channels/{chan['id']}/permissions/{role['id']}"
    assert api("PUT", path, {"type": 0, "allow": "1024", "deny": 2048}).status_code == 204
    assert api("PUT", path, {"type": 0, "allow": "3072"}).status_code == 204  # replaces, no duplicate
    over = api("GET", f"/channels/{chan['id']}").json()["permission_overwrites"]
    assert over == [{"id": role["id"], "type": 0, "allow": "3072", "deny": "0"}]
    member = "123456789012345678"
    assert api("PUT", f"/channels/{chan['id']}/permissions/{member}", {"type": 1, "deny": "1"}).status_code == 204
    r = api("DELETE", path)
    assert r.status_code == 204 and r.content == b""
    again = api("DELETE", path)
    assert again.status_code == 404 and again.json()["code"] == 10009
    missing_role = api("PUT", f"/channels/{chan['id']}/permissions/999999999999999999", {"type": 0})
    assert missing_role.status_code == 404 and missing_role.json()["code"] == 10011


def test_webhook_create_and_execute(api: Api) -> None:
    chan = api.channel("alerts")
    r = api("POST", f"/channels/{chan['id']}/webhooks", {"name": "Gaib Alerts"})
    assert r.status_code == 200
    hook = r.json()
    assert hook["url"] == f"{api.emu.base_url}/webhooks/{hook['id']}/{hook['token']}"
    assert hook["channel_id"] == chan["id"] and hook["type"] == 1
    with_no_auth = {"User-Agent": "DiscordBot (https://x, 1)"}
    import httpx

    sent = httpx.post(hook["url"], json={"content": "backup ok"}, headers=with_no_auth)
    assert sent.status_code == 204 and sent.content == b""
    waited = httpx.post(hook["url"], params={"wait": "true"}, headers=with_no_auth,
                        json={"embeds": [{"title": "Backup", "fields": [{"name": "size", "value": "1 MB"}]}]})
    assert waited.status_code == 200
    message = waited.json()
    assert message["channel_id"] == chan["id"] and message["webhook_id"] == hook["id"]
    assert message["embeds"][0]["type"] == "rich" and message["embeds"][0]["fields"][0]["inline"] is False
    posted = api.emu.webhook_messages(hook["id"])
    assert [m.get("content") for m in posted] == ["backup ok", None]
    assert posted[1]["embeds"][0]["title"] == "Backup" and posted[1]["id"] == message["id"]


def test_webhook_errors(api: Api) -> None:
    chan = api.channel("alerts")
    hook = api("POST", f"/channels/{chan['id']}/webhooks", {"name": "n"}).json()
    base = f"/webhooks/{hook['id']}"
    wrong = api("POST", f"{base}/not-the-token", {"content": "x"})
    assert wrong.status_code == 404 and wrong.json()["code"] == 10015
    unknown = api("POST", f"/webhooks/123/{hook['token']}", {"content": "x"})
    assert unknown.status_code == 404 and unknown.json()["code"] == 10015
    empty = api("POST", f"{base}/{hook['token']}", {"content": "   "})
    assert empty.status_code == 400 and empty.json()["code"] == 50006
    too_big = api("POST", f"{base}/{hook['token']}",
                  {"embeds": [{"description": "d" * 4000}, {"description": "e" * 2500}]})
    assert too_big.status_code == 400
    assert inner_codes(too_big.json()["errors"]["embeds"]) == ["MAX_EMBED_SIZE_EXCEEDED"]
    eleven = api("POST", f"{base}/{hook['token']}", {"embeds": [{"title": "t"}] * 11})
    assert inner_codes(eleven.json()["errors"]["embeds"]) == ["BASE_TYPE_MAX_LENGTH"]
    long_title = api("POST", f"{base}/{hook['token']}", {"embeds": [{"title": "t" * 257}]})
    assert "title" in long_title.json()["errors"]["embeds"]["0"]
    bad_name = api("POST", f"/channels/{chan['id']}/webhooks", {"name": "My Discord Hook"})
    assert bad_name.status_code == 400 and "name" in bad_name.json()["errors"]
    assert api.emu.webhook_messages(hook["id"]) == []
    cat = api.channel("c", type=4)
    assert api("POST", f"/channels/{cat['id']}/webhooks", {"name": "n"}).json()["code"] == 50024


def test_reset_leaves_only_everyone(api: Api) -> None:
    api.role("x")
    api.channel("y")
    api.emu.reset()
    assert [r["id"] for r in api("GET", f"/guilds/{api.gid}/roles").json()] == [api.gid]
    assert api("GET", f"/guilds/{api.gid}/channels").json() == []
    assert len(api.emu.requests()) == 2  # the log was emptied before these two GETs


def test_emojis_list_is_empty(api: Api) -> None:
    r = api("GET", f"/guilds/{api.gid}/emojis")
    assert r.status_code == 200 and r.json() == []


def test_text_like_channel_names_are_stored_as_discord_stores_them() -> None:
    import httpx

    from tests.support.emulator import running_emulator

    with running_emulator(args=("--rate-limits", "off")) as emu:
        url = f"{emu.base_url}/guilds/{emu.guild_id}/channels"
        made = {}
        for kind, name in ((0, "Hello  World"), (5, "Big News"), (15, "Q And A"), (2, "Voice Room"), (4, "My Cat")):
            r = httpx.post(url, json={"name": name, "type": kind}, headers=emu.auth_headers())
            assert r.status_code == 201, r.text
            made[kind] = r.json()["name"]
        assert made == {0: "hello-world", 5: "big-news", 15: "q-and-a", 2: "Voice Room", 4: "My Cat"}
