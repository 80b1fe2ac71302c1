"""A workspace state seeded on disk, for tests that back up or restore one."""

from __future__ import annotations

from pathlib import Path

from gaib.state.local import LocalBackend
from gaib.state.model import Instance, Resource, State

GUILD = "223456789012345678"


def seed_state(root: Path, serial: int = 4, names: tuple[str, ...] = ("mods", "members", "general")) -> State:
    """Write a state of ``names`` roles (serial ``serial``) into ``root/.gaib`` and return it."""
    s = State.new("default", guild_id=GUILD)
    s.serial = serial
    s.resources = [Resource(type="discord_role", name=n, instances=[Instance(attributes={"id": str(10**17 + i),
                                                                                        "name": n.title()})])
                   for i, n in enumerate(names)]
    LocalBackend(root / ".gaib").put(s, expected_serial=None)
    return s
