"""Requests whose answer is lost after Discord did the work (the emulator's ``drop-after`` fault, what a
dropped connection or a killed proxy does): the port never makes a second webhook, message, emoji or
sticker; a retried delete that finds the object gone and a retried bulk ban that finds the users banned
succeed; and the audit log gives back the reason a create carried."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gaib.discord.client import DiscordClient
from gaib.discord.models import AUDIT_CHANNEL_CREATE, AUDIT_WEBHOOK_CREATE, channel_body
from gaib.errors import DiscordNotFound
from tests.discord.stub import Reply, Stub
from tests.support.clocks import FakeClock
from tests.support.discord.control import LinkedClock
from tests.support.emulator import EmulatorHandle
from tests.support.images import png

USERS = ("700000000000000001", "700000000000000002")


@pytest.fixture
def client(guild: EmulatorHandle) -> Iterator[DiscordClient]:
    """A client of the emptied emulator whose retry waits take no time (faults are cleared after)."""
    try:
        with DiscordClient(guild.base_url, token=guild.token, guild_id=guild.guild_id,
                           clock=LinkedClock(guild)) as c:
            yield c
    finally:
        guild.set_faults()


def lose_next_answer(emu: EmulatorHandle) -> None:
    """The next request is processed, then its connection closes without an answer."""
    emu.set_faults(on_requests=[emu.stats()["requests"] + 1], kinds=["drop-after"])


def test_a_webhook_and_its_messages_are_made_once_when_answers_are_lost(client: DiscordClient,
                                                                        guild: EmulatorHandle) -> None:
    chat = client.create_channel(channel_body(name="chat"))
    lose_next_answer(guild)
    hook = client.create_webhook(chat.id, "Gaib restore", dedupe=True)
    assert [h.id for h in client.list_webhooks(chat.id)] == [hook.id] and hook.url
    last = None
    for text in ("hello", "hello", "bye"):  # the same text twice is two messages, each sent once
        lose_next_answer(guild)
        posted = client.execute_webhook(hook.url, {"content": text, "username": "Member 1"}, wait=True,
                                        dedupe_channel=chat.id, dedupe_after=last)
        assert posted["content"] == text and posted["id"] != last
        last = posted["id"]
    history = client.list_messages(chat.id, limit=10)
    assert [m.content for m in reversed(history)] == ["hello", "hello", "bye"]
    assert guild.stats()["faults"] == 4
    lose_next_answer(guild)
    client.delete_webhook(hook.id)  # the retry answers 10015 Unknown Webhook: the first try deleted it
    assert client.list_webhooks(chat.id) == []


def test_without_dedupe_a_lost_answer_duplicates_a_message(client: DiscordClient, guild: EmulatorHandle) -> None:
    chat = client.create_channel(channel_body(name="chat"))
    hook = client.create_webhook(chat.id, "Gaib restore")
    lose_next_answer(guild)
    client.execute_webhook(hook.url, {"content": "hello"}, wait=True)
    assert [m.content for m in client.list_messages(chat.id, limit=10)] == ["hello", "hello"]


def test_emojis_and_stickers_are_uploaded_once_when_answers_are_lost(client: DiscordClient,
                                                                    guild: EmulatorHandle) -> None:
    first = client.create_emoji("wave", png(1))  # an emoji of that name already there is not the new one
    guild.set_faults(on_requests=[guild.stats()["requests"] + 2], kinds=["drop-after"])  # the upload, after a read
    made = client.create_emoji("wave", png(2), dedupe=True)
    assert made.id != first.id and sorted(e.id for e in client.list_emojis()) == sorted([first.id, made.id])
    guild.set_faults(on_requests=[guild.stats()["requests"] + 2], kinds=["drop-after"])
    sticker = client.create_sticker("hello", "wave", "hi", png(3), dedupe=True)
    assert [s.id for s in client.list_stickers()] == [sticker.id]
    assert guild.stats()["faults"] == 2


def test_a_bulk_ban_of_users_already_banned_succeeds(client: DiscordClient, guild: EmulatorHandle) -> None:
    lose_next_answer(guild)
    result = client.bulk_ban(list(USERS), reason="raid")  # the retry answers 500000: nobody left to ban
    assert (result.banned, result.already) == ((), USERS)
    assert [(b.user_id, b.reason) for b in client.list_bans()] == [(u, "raid") for u in USERS]
    client.unban(USERS[0])
    again = client.bulk_ban(list(USERS), reason="again")
    assert (again.banned, again.failed, again.already) == ((USERS[0],), (USERS[1],), ())


def test_the_audit_log_gives_back_the_reason_a_create_carried(client: DiscordClient, guild: EmulatorHandle) -> None:
    chat = client.create_channel(channel_body(name="chat"), reason="gaib apply [run-1.1]")
    client.create_channel(channel_body(name="other"))
    hook = client.create_webhook(chat.id, "Gaib restore", reason="gaib snapshot restore")
    creates = client.audit_log(AUDIT_CHANNEL_CREATE)
    assert [(e.target_id, e.reason) for e in creates][::-1] == [(chat.id, "gaib apply [run-1.1]"),
                                                                (creates[0].target_id, None)]
    assert [(e.target_id, e.reason) for e in client.audit_log(AUDIT_WEBHOOK_CREATE)] == [
        (hook.id, "gaib snapshot restore")]
    older = client.audit_log(AUDIT_CHANNEL_CREATE, limit=1, before=creates[0].id)
    assert [e.target_id for e in older] == [chat.id]


def test_a_delete_answered_unknown_fails_unless_an_earlier_try_may_have_done_it(stub: Stub,
                                                                                clock: FakeClock) -> None:
    client = DiscordClient(stub.base_url, token="t", guild_id="1100000000000000001", clock=clock)
    try:
        stub.script = [Reply(503, {"message": "unavailable", "code": 0}),
                       Reply(404, {"message": "Unknown Webhook", "code": 10015})]
        client.delete_webhook("1200000000000000001")
        stub.script = [Reply(404, {"message": "Unknown Webhook", "code": 10015})]
        with pytest.raises(DiscordNotFound):
            client.delete_webhook("1200000000000000002")
        stub.script = [Reply(502, {"message": "bad gateway", "code": 0}),
                       Reply(404, {"message": "Unknown Channel", "code": 10003})]
        assert client.delete_channel("1200000000000000003") is None
    finally:
        client.close()
