"""Error answers: auth, unknown objects and routes, methods, form errors, bad bodies and guild limits."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.discord.api import Api, form_errors, inner_codes


def test_missing_or_wrong_token_is_401_40001(api: Api) -> None:
    url = f"{api.emu.base_url}/guilds/{api.gid}/roles"
    for headers in ({}, {"Authorization": "Bot wrong"}, {"Authorization": api.emu.token},
                    {"Authorization": f"Bearer {api.emu.token}"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401 and r.json() == {"message": "401: Unauthorized", "code": 40001}
    assert api("GET", f"/guilds/{api.gid}/roles").status_code == 200


@pytest.mark.parametrize(("path", "code"), [
    ("/guilds/999999999999999999", 10004),
    ("/guilds/999999999999999999/roles", 10004),
    ("/channels/999999999999999999", 10003),
    ("/guilds/{gid}/roles/999999999999999999", 10011),
])
def test_unknown_objects_carry_discords_codes(api: Api, path: str, code: int) -> None:
    r = api("GET", path.format(gid=api.gid))
    assert r.status_code == 404 and r.json()["code"] == code and r.json()["message"].startswith("Unknown ")


@pytest.mark.parametrize("path", ["/nope", "/guilds", "/guilds/{gid}/roles/1/extra", "/guilds/{gid}/roles/"])
def test_unknown_routes_are_404_code_0(api: Api, path: str) -> None:
    r = api("GET", path.format(gid=api.gid))
    assert r.status_code == 404 and r.json() == {"message": "404: Not Found", "code": 0}


@pytest.mark.parametrize("method", ["PUT", "TRACE", "OPTIONS", "HEAD", "BREW"])
def test_unsupported_methods_are_405_json(api: Api, method: str) -> None:
    r = api(method, f"/guilds/{api.gid}")
    assert r.status_code == 405
    if method != "HEAD":
        assert r.json() == {"message": "405: Method Not Allowed", "code": 0}
    assert api("DELETE", f"/guilds/{api.gid}/channels").status_code == 405


@pytest.mark.parametrize("bad_id", ["abc", "x..y", "12345678901234567890123", "99999999999999999999",
                                    "０１２", "%2e%2e", "-1", "0123"])
def test_hostile_path_ids_are_rejected_as_form_errors(api: Api, bad_id: str) -> None:
    r = api("GET", f"/channels/{bad_id}")
    errors = form_errors(r.json())
    assert inner_codes(errors["channel_id"]) == ["NUMBER_TYPE_COERCE"]
    assert r.status_code == 400


def test_raw_dot_dot_path_does_not_escape_the_api(api: Api) -> None:
    parts = urlsplit(api.emu.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v10/guilds/../../_emulator/requests HTTP/1.1\r\nHost: x\r\n"
                     b"Authorization: Bot test-token\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 404") and b'"code": 0' in reply


def test_invalid_fields_give_nested_50035(api: Api) -> None:
    r = api("POST", f"/guilds/{api.gid}/channels", {
        "name": "x" * 101, "type": 1, "rate_limit_per_user": 21601,
        "permission_overwrites": [{"id": api.gid, "type": 2}, "junk"]})
    assert r.status_code == 400
    errors = form_errors(r.json())
    assert inner_codes(errors["name"]) == ["BASE_TYPE_BAD_LENGTH"]
    assert inner_codes(errors["type"]) == ["BASE_TYPE_CHOICES"]
    assert inner_codes(errors["rate_limit_per_user"]) == ["NUMBER_TYPE_MAX"]
    assert inner_codes(errors["permission_overwrites"]["0"]["type"]) == ["BASE_TYPE_CHOICES"]
    assert inner_codes(errors["permission_overwrites"]["1"]) == ["DICT_TYPE_CONVERT"]
    assert api("GET", f"/guilds/{api.gid}/channels").json() == []  # nothing half-created
    missing = api("POST", f"/guilds/{api.gid}/channels", {"type": 0})
    assert inner_codes(form_errors(missing.json())["name"]) == ["BASE_TYPE_REQUIRED"]


def test_role_field_errors_and_permissions_must_be_digits(api: Api) -> None:
    r = api("POST", f"/guilds/{api.gid}/roles", {"name": "", "permissions": "8a", "color": 16777216,
                                                  "hoist": "yes"})
    errors = form_errors(r.json())
    assert inner_codes(errors["name"]) == ["BASE_TYPE_BAD_LENGTH"]
    assert inner_codes(errors["permissions"]) == ["NUMBER_TYPE_COERCE"]
    assert inner_codes(errors["color"]) == ["NUMBER_TYPE_MAX"]
    assert inner_codes(errors["hoist"]) == ["BASE_TYPE_BOOLEAN"]
    for bad in (-1, True, "1" * 101, "٣"):
        res = api("POST", f"/guilds/{api.gid}/roles", {"permissions": bad})
        assert res.status_code == 400, bad
    assert len(api("GET", f"/guilds/{api.gid}/roles").json()) == 1


def test_topic_limit_is_1024_except_forums(api: Api) -> None:
    r = api("POST", f"/guilds/{api.gid}/channels", {"name": "t", "topic": "x" * 1025})
    assert inner_codes(form_errors(r.json())["topic"]) == ["BASE_TYPE_MAX_LENGTH"]
    forum = api.channel("f", type=15, topic="x" * 4096)
    assert len(forum["topic"]) == 4096
    ok = api.channel("t", topic="x" * 1024)
    assert api("PATCH", f"/channels/{ok['id']}", {"topic": "y" * 1025}).status_code == 400
    assert api("GET", f"/channels/{ok['id']}").json()["topic"] == "x" * 1024


def test_voice_limits(api: Api) -> None:
    r = api("POST", f"/guilds/{api.gid}/channels", {"name": "v", "type": 2, "bitrate": 7999, "user_limit": 100})
    errors = form_errors(r.json())
    assert inner_codes(errors["bitrate"]) == ["NUMBER_TYPE_MIN"]
    assert inner_codes(errors["user_limit"]) == ["NUMBER_TYPE_MAX"]


def test_invalid_json_is_50109_and_wrong_content_type_is_50035(api: Api) -> None:
    url = f"/guilds/{api.gid}/roles"
    bad = api.client.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == 50109
    text = api.client.post(url, content=b'{"name": "x"}', headers={"Content-Type": "text/plain"})
    assert text.status_code == 400
    assert inner_codes(form_errors(text.json())) == ["CONTENT_TYPE_INVALID"]
    array = api("POST", url, ["not", "an", "object"])
    assert inner_codes(form_errors(array.json())) == ["DICT_TYPE_CONVERT"]
    not_list = api("PATCH", url, {"id": "1"})
    assert inner_codes(form_errors(not_list.json())) == ["LIST_TYPE_CONVERT"]
    assert len(api("GET", url).json()) == 1


def test_at_most_100_overwrites_per_request(api: Api) -> None:
    over = [{"id": str(10**17 + i), "type": 1, "allow": "1"} for i in range(101)]
    r = api("POST", f"/guilds/{api.gid}/channels", {"name": "x", "permission_overwrites": over})
    assert inner_codes(form_errors(r.json())["permission_overwrites"]) == ["BASE_TYPE_MAX_LENGTH"]
    assert len(api.channel("x", permission_overwrites=over[:100])["permission_overwrites"]) == 100


def test_only_one_parent_change_per_channel_reorder(api: Api) -> None:
    cat = api.channel("cat", type=4)
    a, b = api.channel("a"), api.channel("b")
    r = api("PATCH", f"/guilds/{api.gid}/channels",
            [{"id": a["id"], "parent_id": cat["id"]}, {"id": b["id"], "parent_id": cat["id"]}])
    assert r.status_code == 400 and r.json()["code"] == 40009
    assert api("GET", f"/channels/{a['id']}").json()["parent_id"] is None


def test_role_limit_250(api: Api) -> None:
    for i in range(249):
        api.role(f"r{i}")
    r = api("POST", f"/guilds/{api.gid}/roles", {"name": "one too many"})
    assert r.status_code == 400 and r.json()["code"] == 30005
    assert len(api("GET", f"/guilds/{api.gid}/roles").json()) == 250


def test_category_limit_50_and_guild_limit_500(api: Api) -> None:
    cat = api.channel("cat", type=4)
    for i in range(50):
        api.channel(f"c{i}", parent_id=cat["id"])
    full = api("POST", f"/guilds/{api.gid}/channels", {"name": "x", "parent_id": cat["id"]})
    assert inner_codes(form_errors(full.json())["parent_id"]) == ["CHANNEL_PARENT_MAX_CHANNELS"]
    for i in range(449):
        api.channel(f"d{i}")
    assert len(api("GET", f"/guilds/{api.gid}/channels").json()) == 500
    r = api("POST", f"/guilds/{api.gid}/channels", {"name": "x"})
    assert r.status_code == 400 and r.json()["code"] == 30013


def test_parent_must_be_a_category(api: Api) -> None:
    text = api.channel("t")
    r = api("POST", f"/guilds/{api.gid}/channels", {"name": "x", "parent_id": text["id"]})
    assert "parent_id" in form_errors(r.json())
    cat = api.channel("cat", type=4)
    nested = api("POST", f"/guilds/{api.gid}/channels", {"name": "c2", "type": 4, "parent_id": cat["id"]})
    assert "parent_id" in form_errors(nested.json())


def test_oversized_body_is_413(api: Api) -> None:
    r = api.client.post(f"/guilds/{api.gid}/roles", content=b"x" * (9 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == 40005
