"""Restore by part: the one list of part names and how --only / --exclude / --messages select from it."""

from __future__ import annotations

import pytest

from gaib.errors import InvalidInput
from gaib.snapshots.selection import PARTS, parse


def test_by_default_every_part_but_messages_is_restored_and_messages_needs_the_flag() -> None:
    plain = parse()
    assert plain.ordered() == [p for p in PARTS if p != "messages"] and plain.everything
    assert parse(messages=True).includes("messages")


def test_only_narrows_to_the_named_parts_and_may_name_messages() -> None:
    chosen = parse(["roles"])
    assert chosen.ordered() == ["roles"] and not chosen.everything
    assert parse(["Roles, members", " messages"]).ordered() == ["roles", "members", "messages"]


def test_exclude_removes_parts_from_the_default() -> None:
    assert "bans" not in parse(exclude=["bans,members"]).ordered()
    assert "members" not in parse(exclude=["bans,members"]).ordered()
    assert parse(["roles,channels"], ["bans"]).ordered() == ["roles", "channels"]


@pytest.mark.parametrize(("only", "exclude", "said"), [
    (["rolez"], None, "--only: unknown part 'rolez'"),
    (None, ["../x"], "--exclude: unknown part '../x'"),
    ([","], None, "--only needs at least one part name"),
    (["roles"], ["roles"], "roles is both in --only and in --exclude"),
    (["é" * 10_000], None, "--only: unknown part"),
])
def test_a_bad_part_list_is_refused_naming_the_valid_parts(only: list[str] | None, exclude: list[str] | None,
                                                          said: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(only, exclude)
    assert said in caught.value.message
    assert caught.value.exit_code == 6 and len(caught.value.message) < 300


def test_includes_refuses_a_name_outside_the_list() -> None:
    with pytest.raises(ValueError):
        parse().includes("everything")
