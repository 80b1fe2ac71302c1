"""The Discord port's community methods, held against the client and the bundled emulator: settings,
emojis, stickers, bans and messages round-trip; listings page as Discord requires; images are checked
before anything is sent; the CDN never sees the bot token; webhook messages keep to 30 per minute per
channel without a single 429."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gaib.discord import limits as L
from gaib.discord.cdn import cdn_root_for
from gaib.discord.client import DiscordClient
from gaib.discord.community import data_uri
from gaib.discord.models import channel_body, role_body
from gaib.discord.port import DiscordPort
from gaib.emulator.stores.audit import BOT_USER_ID
from gaib.errors import DiscordError, DiscordNotFound, InvalidInput
from tests.discord.stub import Reply, stub_server
from tests.support.discord.control import LinkedClock, control
from tests.support.emulator import EmulatorHandle
from tests.support.images import gif, png


@pytest.fixture
def emu(limited: EmulatorHandle) -> EmulatorHandle:
    """The emulator with Discord's own limits, emptied for this test (tests.support.fixtures.guild)."""
    return limited


@pytest.fixture
def port(emu: EmulatorHandle) -> Iterator[DiscordPort]:
    client = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id)
    yield client
    client.close()


def test_settings_emojis_stickers_and_bans_round_trip(port: DiscordPort, emu: EmulatorHandle) -> None:
    voice = port.create_channel(channel_body(name="afk", type=2))
    role = port.create_role(role_body(name="Mods"))
    settings = port.update_guild_settings({"icon": data_uri(png(1)), "afk_channel_id": voice.id,
                                           "verification_level": 1})
    assert settings.afk_channel_id == voice.id and settings.verification_level == 1 and settings.icon
    assert port.get_guild_settings() == settings
    assert port.get_guild().settings == settings  # the guild object read with the roles carries them
    assert port.cdn_get(f"icons/{emu.guild_id}/{settings.icon}.png", max_bytes=10_000) == png(1)
    smile = port.create_emoji("smile", png(2), roles=[role.id])
    party = port.create_emoji("party", gif(3))
    assert (smile.roles, party.animated) == ((role.id,), True)
    assert port.update_emoji(smile.id, {"name": "grin"}).name == "grin"
    port.delete_emoji(party.id)
    assert [e.name for e in port.list_emojis()] == ["grin"]
    with pytest.raises(DiscordNotFound):
        port.delete_emoji(party.id)
    wave = port.create_sticker("wave", "wave", "a wave", png(4))
    assert port.cdn_get(f"stickers/{wave.id}.png", max_bytes=L.STICKER_MAX_BYTES) == png(4)
    assert port.update_sticker(wave.id, {"description": "hello"}).description == "hello"
    port.delete_sticker(wave.id)
    assert port.list_stickers() == []
    port.ban("700000000000000001", reason="spam")
    result = port.bulk_ban(["700000000000000001", "700000000000000002"], reason="raid")
    assert (result.banned, result.failed) == (("700000000000000002",), ("700000000000000001",))
    assert [(b.user_id, b.reason) for b in port.list_bans()] == [("700000000000000001", "spam"),
                                                                 ("700000000000000002", "raid")]
    port.unban("700000000000000001")
    assert [b.user_id for b in port.list_bans()] == ["700000000000000002"]


def test_bans_and_messages_are_read_in_discords_pages(port: DiscordPort, emu: EmulatorHandle) -> None:
    control(emu, "POST", "/bans", [{"user": {"id": str(700000000000000000 + i), "username": f"u{i}"}}
                                   for i in range(1, 2501)])
    chan = port.create_channel(channel_body(name="chat"))
    author = {"id": "800000000000000001", "username": "alice"}
    control(emu, "POST", f"/channels/{chan.id}/messages", [{"author": author, "content": f"m{i}"} for i in range(300)])
    before = emu.stats()["by_route"]
    bans = port.list_bans()
    messages = port.list_messages(chan.id, limit=250)
    routes = emu.stats()["by_route"]
    assert len(bans) == 2500 and bans[0].user_id == "700000000000000001" and bans[-1].username == "u2500"
    assert routes["GET /guilds/{guild_id}/bans"] - before.get("GET /guilds/{guild_id}/bans", 0) == 3
    assert [m.content for m in messages[:2]] == ["m299", "m298"] and messages[-1].content == "m50"
    assert routes["GET /channels/{channel_id}/messages"] - before.get("GET /channels/{channel_id}/messages", 0) == 3


def test_images_are_checked_before_anything_is_sent(port: DiscordPort, emu: EmulatorHandle) -> None:
    sent = emu.stats()["requests"]
    with pytest.raises(InvalidInput, match="256 KiB"):
        port.create_emoji("big", png(1, 300, noise=True))
    with pytest.raises(InvalidInput):
        port.create_emoji("text", b"not an image")
    with pytest.raises(InvalidInput):
        port.create_emoji("a b", png(1))
    with pytest.raises(InvalidInput, match="512 KiB"):
        port.create_sticker("big", "big", None, png(2, 450, noise=True))
    with pytest.raises(InvalidInput):
        port.bulk_ban([str(10**17 + i) for i in range(201)])
    assert emu.stats()["requests"] == sent


def test_the_cdn_is_read_without_the_bot_token_and_within_the_size_given() -> None:
    with stub_server() as stub:
        stub.script = [Reply(200, raw=png(1)), Reply(200, raw=png(2, 64, noise=True)), Reply(404, {})]
        client = DiscordClient(stub.base_url, token="secret-token", guild_id="1100000000000000001")
        try:
            assert client.cdn_get("emojis/1.png", max_bytes=10_000) == png(1)
            with pytest.raises(DiscordError, match="larger"):
                client.cdn_get("emojis/2.png", max_bytes=1000)
            with pytest.raises(DiscordNotFound):
                client.cdn_get("emojis/3.png", max_bytes=1000)
            with pytest.raises(InvalidInput):
                client.cdn_get("../../etc/passwd", max_bytes=1000)
        finally:
            client.close()
        assert [r.path for r in stub.requests] == ["/cdn/emojis/1.png", "/cdn/emojis/2.png", "/cdn/emojis/3.png"]
        assert not any("authorization" in {k.lower() for k in r.headers} for r in stub.requests)
    assert cdn_root_for("https://discord.com/api/v10") == "https://cdn.discordapp.com"
    assert cdn_root_for("http://127.0.0.1:8080/api/v10") == "http://127.0.0.1:8080/cdn"


def test_webhook_messages_keep_to_thirty_a_minute_per_channel(emu: EmulatorHandle) -> None:
    clock = LinkedClock(emu)
    heard: list[L.Wait] = []
    port: DiscordPort = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id, clock=clock)
    try:
        chan = port.create_channel(channel_body(name="chat"))
        hook = port.create_webhook(chan.id, "Gaib restore")
        port.on_wait(heard.append)
        for i in range(35):
            port.execute_webhook(hook.url, {"content": f"m{i}", "allowed_mentions": {"parse": []}})
        port.delete_webhook(hook.id)
        assert [m.content for m in port.list_messages(chan.id, limit=100)][::-1] == [f"m{i}" for i in range(35)]
    finally:
        port.close()
    assert emu.stats()["rate_limited"] == 0
    long_waits = [w for w in heard if w.seconds > 30]
    assert len(long_waits) == 1 and "webhook messages" in long_waits[0].reason


def test_members_are_listed_in_pages_and_one_patch_sets_roles_and_nick(port: DiscordPort,
                                                                        emu: EmulatorHandle) -> None:
    mods, vip = port.create_role(role_body(name="Mods")), port.create_role(role_body(name="VIP"))
    control(emu, "POST", "/members", {"members": [{"id": str(700000000000000000 + i), "username": f"u{i}"}
                                                  for i in range(1, 2101)]})
    before = emu.stats()["by_route"].get("GET /guilds/{guild_id}/members", 0)
    members = port.list_members()
    assert len(members) == 2100 and members[0].username == "u1" and members[-1].user_id == "700000000000002100"
    assert emu.stats()["by_route"]["GET /guilds/{guild_id}/members"] - before == 3  # 1000 a page
    edited = port.edit_member("700000000000000001", {"roles": [vip.id, mods.id], "nick": "One"})
    assert (set(edited.roles), edited.nick) == ({mods.id, vip.id}, "One")
    assert emu.stats()["by_route"]["PATCH /guilds/{guild_id}/members/{user_id}"] == 1  # roles and nick at once
    assert port.edit_member("700000000000000001", {"nick": None}).nick is None
    assert port.bot_user_id() == BOT_USER_ID
    with pytest.raises(DiscordNotFound):
        port.edit_member("800000000000000001", {"nick": "x"})
    with pytest.raises(InvalidInput):
        port.edit_member("700000000000000001", {"nick": "n" * 33})


def test_a_bot_without_the_members_intent_is_told_how_to_enable_it() -> None:
    from gaib.discord.endpoints.members import MembersIntentMissing
    from tests.support.emulator import running_emulator

    with running_emulator(args=("--no-members-intent",)) as emu:
        client = DiscordClient(emu.base_url, token=emu.token, guild_id=emu.guild_id)
        try:
            with pytest.raises(MembersIntentMissing) as caught:
                client.list_members()
        finally:
            client.close()
    assert caught.value.details["discord_code"] == 50001 and "Server Members Intent" in caught.value.hint
