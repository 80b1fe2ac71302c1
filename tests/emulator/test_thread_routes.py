"""The emulator's thread routes answer Discord's errors: a thread in a channel that cannot hold one (50024),
a post without its message or with a tag of another channel (50035), a webhook message into a locked
archived thread (50083) or a thread of another channel (10003), an unknown thread (10003); an archived
thread a webhook posts into is unarchived; a forum's webhook needs a thread (220001)."""

from __future__ import annotations

from tests.support.discord.api import Bot
from tests.support.emulator import EmulatorHandle


def _error(r: object) -> tuple[int, int]:
    import httpx

    assert isinstance(r, httpx.Response)
    return r.status_code, int(r.json()["code"])


def test_thread_errors_are_discords(limited: EmulatorHandle) -> None:
    bot = Bot(limited)
    g = bot.gid
    voice = bot("POST", f"/guilds/{g}/channels", {"name": "lounge", "type": 2}, expect=201)
    chat = bot("POST", f"/guilds/{g}/channels", {"name": "chat"}, expect=201)
    other = bot("POST", f"/guilds/{g}/channels", {"name": "other"}, expect=201)
    forum = bot("POST", f"/guilds/{g}/channels", {"name": "help", "type": 15, "available_tags": [{"name": "a"}]},
                expect=201)
    elsewhere = bot("POST", f"/guilds/{g}/channels", {"name": "ideas", "type": 15, "available_tags": [{"name": "b"}]},
                    expect=201)
    c = bot.client
    assert _error(c.post(f"/channels/{voice['id']}/threads", json={"name": "x"})) == (400, 50024)
    assert _error(c.post(f"/channels/{forum['id']}/threads", json={"name": "x"})) == (400, 50035)
    foreign = elsewhere["available_tags"][0]["id"]
    assert _error(c.post(f"/channels/{forum['id']}/threads", json={
        "name": "x", "applied_tags": [foreign], "message": {"content": "hi"}})) == (400, 50035)
    thread = bot("POST", f"/channels/{chat['id']}/threads", {"name": "side"}, expect=201)
    hook = bot("POST", f"/channels/{chat['id']}/webhooks", {"name": "poster"})
    url = f"/webhooks/{hook['id']}/{hook['token']}"
    bot("PATCH", f"/channels/{thread['id']}", {"archived": True})
    bot("POST", url, {"content": "wake up"}, params={"wait": "true", "thread_id": thread["id"]})
    assert bot("GET", f"/channels/{thread['id']}")["thread_metadata"]["archived"] is False
    bot("PATCH", f"/channels/{thread['id']}", {"archived": True, "locked": True})
    assert _error(c.post(url, json={"content": "no"}, params={"thread_id": thread["id"]})) == (400, 50083)
    side2 = bot("POST", f"/channels/{other['id']}/threads", {"name": "elsewhere"}, expect=201)
    assert _error(c.post(url, json={"content": "no"}, params={"thread_id": side2["id"]})) == (404, 10003)
    assert _error(c.patch("/channels/999999999999999999", json={"archived": True})) == (404, 10003)
    forum_hook = bot("POST", f"/channels/{forum['id']}/webhooks", {"name": "poster"})
    assert _error(c.post(f"/webhooks/{forum_hook['id']}/{forum_hook['token']}", json={"content": "x"})) == (
        400, 220001)
    c.close()
