"""Planning a snapshot restore: what Discord and the state need to match a snapshot again.

A snapshot restore makes the live server match the snapshot's config, minimally. The plan is the
ordinary IaC plan (:func:`gaib.iac.diff.build_plan`) with the snapshot's config as the desired server
and, as the state, the current state plus the snapshot's objects (every object the snapshot holds, with
the id it had then) for ids the current state does not hold. So objects that still exist are matched by
id (even if a raid renamed them), then by name, and updated in place, keeping their ids, messages and
invites; deleted ones are re-created and overwrites naming re-created roles get the new ids; objects
created after the snapshot are deleted only when Gaib manages them (they are in the state), or with
``prune_unmanaged``. What Discord's day-long caps do to the plan is added by
:func:`gaib.iac.limit_tracking.with_limits`. Pure: no I/O.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from gaib.config.desired import DesiredServer
from gaib.discord.models import ChannelType, Guild
from gaib.iac import addresses
from gaib.iac.diff import build_plan, manageable_roles
from gaib.iac.plan import Change, Plan
from gaib.state.model import State


def matching_state(current: State | None, objects: State, *, workspace: str, server_id: str) -> State:
    """The current state plus the snapshot's objects whose ids (and addresses) it does not hold yet.

    Its serial and lineage are the current state's (a new state of the objects' lineage when there is
    none), so writing it rolls the workspace forward.
    """
    base = copy.deepcopy(current) if current is not None else State.new(workspace, server_id)
    held_ids = {r.id for r in base.resources if r.id}
    taken = {r.address for r in base.resources}
    for res in objects.resources:
        if res.id and res.id not in held_ids and res.address not in taken:
            base.resources.append(copy.deepcopy(res))
            held_ids.add(res.id)
            taken.add(res.address)
    base.guild_id = server_id
    return base


def restore_plan(desired: DesiredServer, state: State, live: Guild, *, prune_unmanaged: bool) -> Plan:
    """The plan that makes ``live`` match ``desired``; with ``prune_unmanaged`` it also deletes live
    objects that neither the snapshot nor the state holds (roles managed by integrations excepted)."""
    plan = build_plan(desired, state, live)
    if not prune_unmanaged:
        return plan
    kept = set(plan.existing.values()) | {c.id for c in plan.changes if c.id}
    kept |= {r.id for r in state.resources if r.id}
    extra: list[Change] = []
    for ch in sorted(live.channels, key=lambda c: c.type == ChannelType.CATEGORY):  # children first
        if ch.id not in kept:
            if ch.type == ChannelType.CATEGORY:
                extra.append(Change("delete", "category", f"{addresses.CATEGORY}.unmanaged_{ch.id}", ch.name, ch.id))
            else:
                extra.append(Change("delete", "channel", f"{addresses.CHANNEL}.unmanaged_{ch.id}", ch.name, ch.id))
    for role in manageable_roles(live):
        if role.id not in kept:
            extra.append(Change("delete", "role", f"{addresses.ROLE}.unmanaged_{role.id}", role.name, role.id))
    return replace(plan, changes=plan.changes + tuple(extra))
