"""State surgery: ``state rm`` and ``state mv``, each a new serial under the lock."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime

from gaib.errors import AlreadyExists, InvalidInput, NotFound, StateNotFound
from gaib.state.backend import StateBackend
from gaib.state.locking import locked
from gaib.state.model import RESOURCE_TYPES, Resource, State

_TYPES = "|".join(RESOURCE_TYPES)
_ADDRESS_RE = re.compile(rf"({_TYPES})\.(.+)", re.DOTALL)
_BRACKETED_RE = re.compile(rf"""({_TYPES})\[(["'])(.+)\2\]""", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 200


def check_address(address: str) -> tuple[str, str]:
    """Split ``type.name`` into (type, name); raises InvalidInput (exit 6) for anything else.

    The name is the rest after the first dot and may hold spaces, dots and emoji (the original Gaib
    names resources by display name): ``discord_category.The Gathering``. Also accepted: the whole
    address in quotes, ``type."name"`` and ``type["name"]``.
    """
    text = address.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    m = _BRACKETED_RE.fullmatch(text)
    rtype, name = (m.group(1), m.group(3)) if m else (None, None)
    if m is None and (m2 := _ADDRESS_RE.fullmatch(text)):
        rtype, name = m2.group(1), m2.group(2)
        if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
            name = name[1:-1]
    if rtype is None or not name or len(name) > MAX_NAME or _CONTROL.search(name) or name != name.strip():
        raise InvalidInput(f"Invalid resource address {address[:80]!r}.", code="INVALID_ADDRESS",
                           hint=f"Use TYPE.NAME with TYPE one of {', '.join(RESOURCE_TYPES)}, "
                                "e.g. discord_role.moderator or 'discord_category.The Gathering' (quoted) "
                                "('gaib server state ls' lists them).")
    return rtype, name


def normalize_address(address: str) -> str:
    """``type.name`` for any accepted spelling of an address (InvalidInput otherwise)."""
    rtype, name = check_address(address)
    return f"{rtype}.{name}"


def display_address(address: str) -> str:
    """The address as a shell argument: quoted when the name holds anything beyond letters, digits,
    ``_`` and ``-`` (``'discord_category.The Gathering'``)."""
    import shlex

    return address if re.fullmatch(r"[A-Za-z0-9_.-]+", address) else shlex.quote(address)


def resolve(state: State, address: str) -> Resource | None:
    """The resource at ``address``: exactly, else the one resource of that type whose address name
    matches case-insensitively (names typed by hand), else the one whose display name (its ``name``
    on Discord, ``discord_category.The Gathering`` for ``discord_category.the_gathering``) matches,
    exactly or else case-insensitively; None if there is none.

    Raises InvalidInput (exit 6, ``INVALID_ADDRESS``) when a display name belongs to several
    resources of the type, naming their addresses: a name never picks one of them silently.
    """
    rtype, name = check_address(address)
    found = state.find_by_name(rtype, name)
    if found is not None:
        return found
    of_type = [r for r in state.resources if r.type == rtype and isinstance(r.attributes.get("name"), str)]
    same = [r for r in of_type if r.attributes["name"] == name] or \
        [r for r in of_type if str(r.attributes["name"]).casefold() == name.casefold()]
    if len(same) > 1:
        listed = ", ".join(display_address(r.address) for r in same[:5])
        raise InvalidInput(f"{rtype}.{name} is the name of {len(same)} resources: {listed}.", code="INVALID_ADDRESS",
                           hint="Give the address of the one you mean ('gaib server state ls' lists them).")
    return same[0] if same else None


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
        found = {a: resolve(old, a) for a in addresses}
        missing = [a for a, res in found.items() if res is None]
        if missing:
            raise NotFound(f"No resource {normalize_address(missing[0])} in the state.", code="ADDRESS_NOT_FOUND")
        gone = {res.address for res in found.values() if res is not None}
        new = copy.deepcopy(old)
        new.resources = [r for r in new.resources if r.address not in gone]
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
        source = resolve(old, src)
        if source is None:
            raise NotFound(f"No resource {normalize_address(src)} in the state.", code="ADDRESS_NOT_FOUND")
        target = f"{dst_type}.{dst_name}"
        if old.find(target) is not None:
            raise AlreadyExists(f"{target} already exists in the state.",
                                hint="Remove it first or pick another name.")
        new = copy.deepcopy(old)
        res = new.find(source.address)
        assert res is not None
        res.name = dst_name
        return _commit(backend, old, new, clock())
