"""Narrowing a plan: the changes a ``destroy -t`` names, and a plan without permission overwrites.

Pure: no I/O. A target is an address as the state holds it (case-insensitively) or a kind word
(``role``, ``category``, ``channel`` and the original's spellings, :data:`KIND_WORDS`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gaib.errors import NotFound
from gaib.iac.plan import Change, Plan
from gaib.state.edit import normalize_address, resolve
from gaib.state.model import State

KIND_WORDS = {"role": "role", "roles": "role", "discord_role": "role", "category": "category",
              "categories": "category", "discord_category": "category", "channel": "channel",
              "channels": "channel", "discord_channel": "channel"}
"""A ``-t`` kind word -> the kind of change it selects."""


def targeted(changes: Sequence[Change], targets: Sequence[str], state: State | None) -> tuple[Change, ...]:
    """The changes a ``destroy -t`` names: by address (as ``state`` holds it, case-insensitively), or
    every change of a kind (``role``, ``category``, ``channel``, the original's spelling).
    NotFound (``ADDRESS_NOT_FOUND``) for a target that names nothing in the state."""
    kinds = {KIND_WORDS[t.strip().lower()] for t in targets if t.strip().lower() in KIND_WORDS}
    addresses_wanted: set[str] = set()
    for target in targets:
        if target.strip().lower() in KIND_WORDS:
            continue
        res = resolve(state, target) if state is not None else None
        if res is None:
            raise NotFound(f"No resource {normalize_address(target)} in the state.", code="ADDRESS_NOT_FOUND",
                           hint="'gaib server state ls' lists the addresses; -t also takes role, category, "
                                "channel.")
        addresses_wanted.add(res.address)
    return tuple(c for c in changes if c.address in addresses_wanted or c.kind in kinds)


def without_permissions(plan: Plan) -> Plan:
    """The plan without permission overwrite changes (``diff --no-permissions``)."""
    kept = []
    for c in plan.changes:
        fields = tuple(f for f in c.fields if f.field != "permission_overwrites")
        if c.action == "update" and not fields:
            continue
        kept.append(dataclasses.replace(c, fields=fields))
    return dataclasses.replace(plan, changes=tuple(kept))
