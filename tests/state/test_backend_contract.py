"""One contract every state backend passes (local folder, S3 + DynamoDB on moto's server)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gaib.errors import InvalidName, LockHeld, NotFound, SerialConflict, StateError
from gaib.state.backend import StateBackend
from gaib.state.local import LocalBackend
from gaib.state.model import Instance, Resource, State

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
Factory = Callable[..., StateBackend]


def role(name: str, rid: str) -> Resource:
    return Resource(type="discord_role", name=name, instances=[Instance(attributes={"id": rid, "name": name})])


def next_of(state: State, **changes: object) -> State:
    new = copy.deepcopy(state)
    new.serial += 1
    for k, v in changes.items():
        setattr(new, k, v)
    return new


def test_missing_state_is_none_and_first_write_creates_it(backend_factory: Factory) -> None:
    b = backend_factory()
    assert b.get("default") is None
    s = State.new("default", guild_id="1")
    s.serial = 1
    s.resources = [role("mods", "10")]
    b.put(s, expected_serial=None)
    got = b.get("default")
    assert got is not None
    assert got.serial == 1 and got.lineage == s.lineage and got.addresses() == ["discord_role.mods"]


def test_put_is_compare_and_swap(backend_factory: Factory) -> None:
    b = backend_factory()
    s1 = State.new("default")
    s1.serial = 1
    b.put(s1, expected_serial=None)
    # Someone else writes serial 2 ...
    b.put(next_of(s1, resources=[role("a", "1")]), expected_serial=1)
    # ... so a writer that read serial 1 must fail instead of overwriting.
    with pytest.raises(SerialConflict) as info:
        b.put(next_of(s1, resources=[role("b", "2")]), expected_serial=1)
    assert info.value.exit_code == 3
    current = b.get("default")
    assert current is not None and current.serial == 2 and current.addresses() == ["discord_role.a"]
    # A second "create" of an existing state is a conflict too.
    with pytest.raises(SerialConflict):
        b.put(next_of(s1), expected_serial=None)


def test_a_local_writer_sees_another_writers_state_between_its_own_writes(tmp_path: Path) -> None:
    """Two runs on one state folder: one that wrote serial 2 and then finds serial 3 written by the other
    must not overwrite it, however many writes of its own came before (it remembers its own writes)."""
    mine, theirs = LocalBackend(tmp_path / ".gaib"), LocalBackend(tmp_path / ".gaib")
    s1 = State.new("default")
    s1.serial = 1
    mine.put(s1, expected_serial=None)
    s2 = next_of(s1, resources=[role("a", "1")])
    mine.put(s2, expected_serial=1)
    theirs.put(next_of(s2, resources=[role("b", "2")]), expected_serial=2)
    with pytest.raises(SerialConflict):
        mine.put(next_of(s2, resources=[role("c", "3")]), expected_serial=2)
    current = mine.get("default")
    assert current is not None and current.serial == 3 and current.addresses() == ["discord_role.b"]
    mine.put(next_of(current, resources=[role("d", "4")]), expected_serial=3)  # and carries on from there
    again = theirs.get("default")
    assert again is not None and again.serial == 4 and again.addresses() == ["discord_role.d"]


def test_serial_must_grow_and_lineage_must_stay(backend_factory: Factory) -> None:
    b = backend_factory()
    s1 = State.new("default")
    s1.serial = 3
    b.put(s1, expected_serial=None)
    same = copy.deepcopy(s1)
    with pytest.raises(StateError, match="serial 3 over serial 3"):
        b.put(same, expected_serial=3)
    other = next_of(s1, lineage="other-lineage")
    with pytest.raises(StateError, match="lineage"):
        b.put(other, expected_serial=3)
    got = b.get("default")
    assert got is not None and got.serial == 3 and got.lineage == s1.lineage


def test_workspaces_are_isolated_listed_and_deleted(backend_factory: Factory) -> None:
    b = backend_factory()
    b.create_workspace("staging")
    b.create_workspace("prod-eu")
    s = State.new("staging")
    s.serial = 1
    s.resources = [role("x", "1")]
    b.put(s, expected_serial=None)
    assert {"staging", "prod-eu"} <= set(b.list_workspaces())
    assert b.get("prod-eu") is None
    assert b.workspace_exists("staging") and not b.workspace_exists("nope")
    b.delete("staging")
    assert "staging" not in b.list_workspaces()
    assert b.get("staging") is None
    with pytest.raises(NotFound):
        b.delete("staging")


@pytest.mark.parametrize("hostile", ["../x", "..", "", "a/b", "%2e%2e", "é", "x" * 10_000, "a b", "-lead"])
def test_hostile_workspace_names_are_refused_before_any_io(backend_factory: Factory, hostile: str) -> None:
    b = backend_factory()
    for call in (lambda: b.get(hostile), lambda: b.create_workspace(hostile),
                 lambda: b.lock(hostile, "apply", NOW), lambda: b.lock_info(hostile)):
        with pytest.raises(InvalidName) as info:
            call()
        assert info.value.exit_code == 6
    assert b.list_workspaces() == []


def test_lock_names_the_holder_and_blocks_others(backend_factory: Factory) -> None:
    b = backend_factory()
    first = b.lock("default", "apply", NOW)
    info = b.lock_info("default")
    assert info is not None and info.id == first.id and info.operation == "apply"
    assert "pid" in info.who and info.created.startswith("2026-11-25T12:00")
    with pytest.raises(LockHeld) as err:
        b.lock("default", "backup create", NOW + timedelta(minutes=5))
    assert err.value.exit_code == 5
    assert info.who in err.value.message and info.created in err.value.message
    # Unlocking with someone else's id does nothing.
    b.unlock("default", "not-the-holder")
    assert b.lock_info("default") is not None
    b.unlock("default", first.id)
    assert b.lock_info("default") is None
    second = b.lock("default", "restore", NOW)
    assert second.id != first.id


def test_locks_are_per_workspace(backend_factory: Factory) -> None:
    b = backend_factory()
    b.lock("default", "apply", NOW)
    b.lock("staging", "apply", NOW)  # does not raise
    assert b.lock_info("staging") is not None


def test_stale_lock_is_taken_over_fresh_one_is_not(backend_factory: Factory) -> None:
    b = backend_factory(stale_after=timedelta(minutes=10))
    old = b.lock("default", "apply", NOW)
    with pytest.raises(LockHeld):
        b.lock("default", "apply", NOW + timedelta(minutes=9))
    new = b.lock("default", "apply", NOW + timedelta(minutes=11))
    assert new.id != old.id
    held = b.lock_info("default")
    assert held is not None and held.id == new.id
    # The dead holder's late unlock must not release the new lock.
    b.unlock("default", old.id)
    held = b.lock_info("default")
    assert held is not None and held.id == new.id


def test_force_unlock_returns_what_it_released(backend_factory: Factory) -> None:
    b = backend_factory()
    held = b.lock("default", "apply", NOW)
    released = b.force_unlock("default")
    assert released is not None and released.id == held.id
    assert b.lock_info("default") is None
    assert b.force_unlock("default") is None


def test_unicode_and_large_states_round_trip(backend_factory: Factory) -> None:
    b = backend_factory()
    s = State.new("default")
    s.serial = 1
    s.resources = [role(f"r{i}", str(10**17 + i)) for i in range(750)]
    s.resources[0].instances[0].attributes["name"] = "🛡️ Naib — 守护者"
    b.put(s, expected_serial=None)
    got = b.get("default")
    assert got is not None
    assert got.canonical() == s.canonical()
