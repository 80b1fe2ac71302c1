"""The emulator's community routes: guild settings, emojis, stickers, bans, messages, webhook deletion
and the CDN, with Discord's shapes, validation, limits and errors."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.discord.api import Api, form_errors, inner_codes
from tests.support.discord.control import advance_clock, control
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.images import gif, png

USER = "700000000000000001"


def uri(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def emoji(api: Api, name: str, data: bytes, kind: str = "image/png", **extra: Any) -> httpx.Response:
    return api("POST", f"/guilds/{api.gid}/emojis", {"name": name, "image": uri(data, kind), **extra})


def sticker(api: Api, name: str, data: bytes, **form: str) -> httpx.Response:
    return api.client.post(f"/guilds/{api.gid}/stickers", data={"name": name, "tags": "smile", **form},
                           files={"file": ("s.png", data, "image/png")})


def cdn(emu: EmulatorHandle, path: str) -> httpx.Response:
    return httpx.get(f"{emu.origin}/cdn/{path}")


def test_guild_settings_change_with_discords_validation(api: Api) -> None:
    voice = api.channel("afk", type=2)
    text = api.channel("general")
    r = api("PATCH", f"/guilds/{api.gid}", {"name": "New name", "verification_level": 3, "afk_timeout": 900,
                                             "afk_channel_id": voice["id"], "system_channel_id": text["id"],
                                             "icon": uri(png(1))})
    assert r.status_code == 200, r.text
    guild = r.json()
    assert (guild["name"], guild["verification_level"], guild["afk_timeout"]) == ("New name", 3, 900)
    assert len(guild["icon"]) == 32 and cdn(api.emu, f"icons/{api.gid}/{guild['icon']}.png").content == png(1)
    bad = api("PATCH", f"/guilds/{api.gid}", {"name": "x", "verification_level": 9, "afk_timeout": 42,
                                               "afk_channel_id": text["id"], "icon": "data:image/png;base64,AAAA",
                                               "banner": uri(png(2)), "preferred_locale": "xx"})
    assert bad.status_code == 400
    errors = form_errors(bad.json())
    assert set(errors) == {"name", "verification_level", "afk_timeout", "afk_channel_id", "icon", "banner",
                           "preferred_locale"}
    assert inner_codes(errors["banner"]) == ["GUILD_FEATURE_REQUIRED"]
    assert inner_codes(errors["icon"]) == ["IMAGE_INVALID"]
    assert api("GET", f"/guilds/{api.gid}").json()["name"] == "New name"  # nothing of a bad request applied
    api("DELETE", f"/channels/{voice['id']}")
    assert api("GET", f"/guilds/{api.gid}").json()["afk_channel_id"] is None


def test_emojis_keep_discords_rules(api: Api) -> None:
    r = emoji(api, "smile", png(1))
    assert r.status_code == 201, r.text
    created = r.json()
    assert set(created) == {"id", "name", "roles", "require_colons", "managed", "animated", "available"}
    assert cdn(api.emu, f"emojis/{created['id']}.png").content == png(1)
    assert emoji(api, "party", gif(2), "image/gif").json()["animated"] is True
    too_big = emoji(api, "big", png(3, 300, noise=True))
    assert too_big.status_code == 400 and inner_codes(form_errors(too_big.json())["image"]) == ["BINARY_TYPE_MAX_SIZE"]
    bad = emoji(api, "a b", png(4), roles=["1"])
    assert set(form_errors(bad.json())) == {"name", "roles"}
    role = api.role("Mods")
    r = api("PATCH", f"/guilds/{api.gid}/emojis/{created['id']}", {"name": "grin", "roles": [role["id"]]})
    assert r.json()["name"] == "grin" and r.json()["roles"] == [role["id"]]
    assert api("DELETE", f"/guilds/{api.gid}/emojis/{created['id']}").status_code == 204
    gone = api("GET", f"/guilds/{api.gid}/emojis/{created['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == 10014
    assert [e["name"] for e in api("GET", f"/guilds/{api.gid}").json()["emojis"]] == ["party"]


def test_emoji_and_sticker_slots_follow_the_boost_level(api: Api) -> None:
    images = [{"name": f"e{i}", "image": base64.b64encode(png(i)).decode()} for i in range(50)]
    control(api.emu, "POST", "/emojis", images)
    full = emoji(api, "one_more", png(99))
    assert full.status_code == 400
    assert full.json() == {"code": 30008, "message": "Maximum number of emojis reached (50)"}
    assert emoji(api, "animated", gif(1), "image/gif").status_code == 201  # animated ones count apart
    control(api.emu, "POST", "/guild", {"premium_tier": 1})
    assert emoji(api, "one_more", png(99)).status_code == 201
    for i in range(15):
        assert sticker(api, f"st{i}", png(i)).status_code == 201
    over = sticker(api, "st15", png(15))
    assert over.status_code == 400 and over.json()["code"] == 30039


def test_stickers_are_uploaded_as_multipart_and_served_back(api: Api) -> None:
    r = sticker(api, "wave", png(5), description="a wave")
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["type"], made["format_type"], made["guild_id"], made["description"]) == (2, 1, api.gid, "a wave")
    assert cdn(api.emu, f"stickers/{made['id']}.png").content == png(5)
    bad = sticker(api, "x", png(6, 500, noise=True), description="y")
    assert set(form_errors(bad.json())) == {"name", "description", "file"}
    as_json = api("POST", f"/guilds/{api.gid}/stickers", {"name": "wave", "tags": "x"})
    assert as_json.status_code == 400
    r = api("PATCH", f"/guilds/{api.gid}/stickers/{made['id']}", {"tags": "hand", "description": None})
    assert (r.json()["tags"], r.json()["description"]) == ("hand", None)
    assert api("DELETE", f"/guilds/{api.gid}/stickers/{made['id']}").status_code == 204
    assert api("GET", f"/guilds/{api.gid}/stickers/{made['id']}").json()["code"] == 10060


def test_bans_page_by_user_id_and_carry_the_audit_reason(api: Api) -> None:
    r = api("PUT", f"/guilds/{api.gid}/bans/{USER}", {}, headers={"X-Audit-Log-Reason": "spam%20links"})
    assert r.status_code == 204
    assert api("GET", f"/guilds/{api.gid}/bans/{USER}").json()["reason"] == "spam links"
    users = [str(700000000000000100 + i) for i in range(250)]
    for start in (0, 200):
        r = api("POST", f"/guilds/{api.gid}/bulk-ban", {"user_ids": users[start:start + 200]})
        assert r.status_code == 200 and len(r.json()["banned_users"]) == len(users[start:start + 200])
    again = api("POST", f"/guilds/{api.gid}/bulk-ban", {"user_ids": users[:2]})
    assert again.status_code == 400 and again.json()["code"] == 500000
    too_many = api("POST", f"/guilds/{api.gid}/bulk-ban", {"user_ids": [str(10**17 + i) for i in range(201)]})
    assert too_many.status_code == 400 and "user_ids" in form_errors(too_many.json())
    page = api("GET", f"/guilds/{api.gid}/bans", params={"limit": "100"}).json()
    assert len(page) == 100 and page[0]["user"]["id"] == USER
    rest = api("GET", f"/guilds/{api.gid}/bans", params={"limit": "1000", "after": page[-1]["user"]["id"]}).json()
    assert len(rest) == 151 and rest[-1]["user"]["id"] == users[-1]
    assert api("GET", f"/guilds/{api.gid}/bans", params={"limit": "1001"}).status_code == 400
    assert api("DELETE", f"/guilds/{api.gid}/bans/{USER}").status_code == 204
    assert api("DELETE", f"/guilds/{api.gid}/bans/{USER}").json()["code"] == 10026


def test_messages_are_listed_newest_first_and_webhooks_ping_only_what_is_allowed(api: Api) -> None:
    chan = api.channel("chat")
    author = {"id": "800000000000000001", "username": "alice", "global_name": "Alice"}
    seeded = control(api.emu, "POST", f"/channels/{chan['id']}/messages",
                     [{"author": author, "content": f"m{i}"} for i in range(120)])
    newest = api("GET", f"/channels/{chan['id']}/messages", params={"limit": "100"}).json()
    assert [m["content"] for m in newest[:2]] == ["m119", "m118"] and len(newest) == 100
    older = api("GET", f"/channels/{chan['id']}/messages", params={"before": newest[-1]["id"]}).json()
    assert [m["content"] for m in older] == [f"m{i}" for i in range(19, -1, -1)]
    after = api("GET", f"/channels/{chan['id']}/messages", params={"after": seeded[117]["id"]}).json()
    assert [m["content"] for m in after] == ["m119", "m118"]
    assert api("GET", f"/channels/{chan['id']}/messages", params={"limit": "101"}).status_code == 400
    category = api.channel("Info", type=4)
    assert api("GET", f"/channels/{category['id']}/messages").json()["code"] == 50024
    hook = api("POST", f"/channels/{chan['id']}/webhooks", {"name": "Gaib restore"}).json()
    url = f"/webhooks/{hook['id']}/{hook['token']}"
    loud = api("POST", url, {"content": "@everyone <@800000000000000001>"}, params={"wait": "true"}).json()
    assert loud["mention_everyone"] is True and [u["id"] for u in loud["mentions"]] == ["800000000000000001"]
    quiet = api("POST", url, {"content": "@everyone <@800000000000000001>", "username": "Alice",
                              "allowed_mentions": {"parse": []}}, params={"wait": "true"}).json()
    assert quiet["mention_everyone"] is False and quiet["mentions"] == []
    assert api("DELETE", f"/webhooks/{hook['id']}").status_code == 204
    assert api("DELETE", f"/webhooks/{hook['id']}").json()["code"] == 10015
    assert api("GET", f"/channels/{chan['id']}/messages", params={"limit": "1"}).json()[0]["author"]["username"] \
        == "Alice"  # what it posted stays in the channel
    api("DELETE", f"/channels/{chan['id']}")
    assert api("GET", f"/channels/{chan['id']}/messages").status_code == 404


def test_the_cdn_serves_only_what_exists_and_needs_no_token(emu_off: EmulatorHandle) -> None:
    emu_off.reset()
    assert cdn(emu_off, "emojis/123.png").status_code == 404
    assert cdn(emu_off, "../../etc/passwd").status_code == 404


def test_emoji_creates_and_channel_webhook_messages_are_rate_limited() -> None:
    with running_emulator(args=("--rate-limits", "discord")) as emu:
        api = Api(emu)
        try:
            statuses = [emoji(api, f"e{i}", png(i)).status_code for i in range(50)]
            assert statuses == [201] * 50
            advance_clock(emu, 1.5)  # past the 50-per-second global window, well inside the emoji hour
            refused = emoji(api, "e50", png(50))
            assert refused.status_code == 429 and refused.json()["global"] is False
            assert refused.json()["retry_after"] > 3500
            chan = api.channel("chat")
            hooks = [api("POST", f"/channels/{chan['id']}/webhooks", {"name": f"h{i}"}).json() for i in range(7)]
            answers = []
            for i in range(31):  # 30 per minute per channel, across its webhooks (5 per 2 s each)
                hook = hooks[i // 5]
                answers.append(api("POST", f"/webhooks/{hook['id']}/{hook['token']}", {"content": str(i)}))
            assert [a.status_code for a in answers[:30]] == [204] * 30
            refused = answers[30]
            assert refused.status_code == 429 and int(refused.headers["X-RateLimit-Remaining"]) > 0
            advance_clock(emu, 61)
            assert api("POST", f"/webhooks/{hooks[6]['id']}/{hooks[6]['token']}", {"content": "x"}).status_code == 204
        finally:
            api.close()


def test_the_community_survives_a_restart_through_the_data_file(tmp_path: Path) -> None:
    data = tmp_path / "guild.json"
    with running_emulator(args=("--rate-limits", "off", "--data", str(data))) as emu:
        api = Api(emu)
        made = emoji(api, "smile", png(1)).json()
        chan = api.channel("chat")
        control(emu, "POST", f"/channels/{chan['id']}/messages",
                [{"author": {"id": "800000000000000001", "username": "alice"}, "content": "hi"}])
        api("PUT", f"/guilds/{api.gid}/bans/{USER}", {})
        api.close()
    assert "community" in json.loads(data.read_text())
    with running_emulator(args=("--rate-limits", "off", "--data", str(data))) as emu:
        api = Api(emu)
        assert [e["id"] for e in api("GET", f"/guilds/{api.gid}/emojis").json()] == [made["id"]]
        assert cdn(emu, f"emojis/{made['id']}.png").content == png(1)
        assert [m["content"] for m in api("GET", f"/channels/{chan['id']}/messages").json()] == ["hi"]
        assert [b["user"]["id"] for b in api("GET", f"/guilds/{api.gid}/bans").json()] == [USER]
        api.close()


@pytest.mark.parametrize("tier", [-1, 4, "2", True])
def test_the_boost_control_refuses_what_is_not_a_boost_level(emu_off: EmulatorHandle, tier: Any) -> None:
    with pytest.raises(Exception, match="400"):
        control(emu_off, "POST", "/guild", {"premium_tier": tier})


def test_the_audit_log_keeps_each_change_with_its_reason_newest_first(api: Api) -> None:
    g = api.gid
    made = api("POST", f"/guilds/{g}/channels", {"name": "chat"}, headers={"X-Audit-Log-Reason": "gaib%20%5Bm.1%5D"})
    role = api("POST", f"/guilds/{g}/roles", {"name": "Mods"}).json()
    hook = api("POST", f"/channels/{made.json()['id']}/webhooks", {"name": "Gaib restore"}).json()
    api("DELETE", f"/webhooks/{hook['id']}", headers={"X-Audit-Log-Reason": "done"})
    api("POST", f"/guilds/{g}/bulk-ban", {"user_ids": [USER, "700000000000000002"]})
    api("PATCH", f"/guilds/{g}/roles/{role['id']}", {"name": "Nope", "permissions": "x"})  # refused: not logged
    log = api("GET", f"/guilds/{g}/audit-logs").json()
    assert set(log) == {"audit_log_entries", "users", "integrations", "webhooks", "guild_scheduled_events", "threads",
                        "application_commands", "auto_moderation_rules"}
    assert [(e["action_type"], e["target_id"], e.get("reason")) for e in log["audit_log_entries"]] == [
        (22, "700000000000000002", None), (22, USER, None), (52, hook["id"], "done"), (50, hook["id"], None),
        (30, role["id"], None), (10, made.json()["id"], "gaib [m.1]")]
    assert [u["id"] for u in log["users"]] == [log["audit_log_entries"][0]["user_id"]]
    creates = api("GET", f"/guilds/{g}/audit-logs", params={"action_type": "10"}).json()["audit_log_entries"]
    assert [e["target_id"] for e in creates] == [made.json()["id"]]
    newest = log["audit_log_entries"][0]["id"]
    older = api("GET", f"/guilds/{g}/audit-logs", params={"before": newest, "limit": "2"}).json()
    assert [e["action_type"] for e in older["audit_log_entries"]] == [22, 52]
    by_target = api("GET", f"/guilds/{g}/audit-logs", params={"target_id": hook["id"]}).json()
    assert [e["action_type"] for e in by_target["audit_log_entries"]] == [52, 50]
    assert api("GET", f"/guilds/{g}/audit-logs", params={"limit": "101"}).status_code == 400
    assert api("GET", f"/guilds/{g}/audit-logs", params={"action_type": "x"}).status_code == 400


def test_a_channels_webhooks_are_listed_with_their_tokens(api: Api) -> None:
    chat = api("POST", f"/guilds/{api.gid}/channels", {"name": "chat"}).json()
    other = api("POST", f"/guilds/{api.gid}/channels", {"name": "other"}).json()
    hooks = [api("POST", f"/channels/{chat['id']}/webhooks", {"name": n}).json() for n in ("one", "two")]
    api("POST", f"/channels/{other['id']}/webhooks", {"name": "elsewhere"})
    listed = api("GET", f"/channels/{chat['id']}/webhooks").json()
    assert [(h["id"], h["name"], h["token"], h["url"]) for h in listed] == [
        (h["id"], h["name"], h["token"], h["url"]) for h in hooks]
    assert api("GET", "/channels/999999999999999999/webhooks").json()["code"] == 10003
