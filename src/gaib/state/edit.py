"""State surgery: ``state rm`` and ``state mv``, each a new serial under the lock."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime

from gaib.errors import AlreadyExists, InvalidInput, NotFound, StateNotFound
from gaib.state.backend import StateBackend
from gaib.state.locking import locked
from gaib.state.model import RESOURCE_TYPES, State

_ADDRESS_RE = re.compile(r"(discord_role|discord_category|discord_channel)\.([A-Za-z0-9_][A-Za-z0-9_-]{0,99})")


def check_address(address: str) -> tuple[str, str]:
    """Split ``type.name``; raises InvalidInput (exit 6) for anything else."""
    m = _ADDRESS_RE.fullmatch(address)
    if not m:
        raise InvalidInput(f"Invalid resource address {address[:80]!r}.", code="INVALID_ADDRESS",
                           hint=f"Use TYPE.NAME with TYPE one of {', '.join(RESOURCE_TYPES)}, "
                                "e.g. discord_role.moderator ('gaib server state ls' lists them).")
    return m.group(1), m.group(2)


def _load(backend: StateBackend, workspace: str) -> State:
    state = backend.get(workspace)
    if state is None:
        raise StateNotFound(f"Workspace '{workspace}' has no state yet.")
    return state


def _commit(backend: StateBackend, old: State, new: State, now: datetime) -> State:
    new.serial = old.serial + 1
    new.last_modified = now.isoformat().replace("+00:00", "Z")
    backend.put(new, expected_serial=old.serial)
    return new


def remove(backend: StateBackend, workspace: str, addresses: list[str],
           clock: Callable[[], datetime]) -> State:
    """Forget resources (Discord is not touched). Raises NotFound for an unknown address."""
    for a in addresses:
        check_address(a)
    with locked(backend, workspace, "state rm", clock):
        old = _load(backend, workspace)
        missing = [a for a in addresses if old.find(a) is None]
        if missing:
            raise NotFound(f"No resource {missing[0]} in the state.", code="ADDRESS_NOT_FOUND")
        new = copy.deepcopy(old)
        new.resources = [r for r in new.resources if r.address not in set(addresses)]
        return _commit(backend, old, new, clock())


def move(backend: StateBackend, workspace: str, src: str, dst: str, clock: Callable[[], datetime]) -> State:
    """Rename a resource's address, keeping its Discord id. Types must match."""
    src_type, _ = check_address(src)
    dst_type, dst_name = check_address(dst)
    if src_type != dst_type:
        raise InvalidInput(f"Cannot move {src} to {dst}: the resource types differ.", code="INVALID_ADDRESS",
                           hint="The destination must have the same type as the source.")
    with locked(backend, workspace, "state mv", clock):
        old = _load(backend, workspace)
        if old.find(src) is None:
            raise NotFound(f"No resource {src} in the state.", code="ADDRESS_NOT_FOUND")
        if old.find(dst) is not None:
            raise AlreadyExists(f"{dst} already exists in the state.", hint="Remove it first or pick another name.")
        new = copy.deepcopy(old)
        res = new.find(src)
        assert res is not None
        res.name = dst_name
        return _commit(backend, old, new, clock())
