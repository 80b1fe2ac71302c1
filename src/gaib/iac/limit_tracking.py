"""Discord's limits around a run that changes Discord: priming the client, the plan's caps, caching what was seen.

What earlier runs learned of a guild's limits is kept beside the state (:mod:`gaib.iac.limitcache`).
Before a run it primes the Discord client (windows never seen count with their documented budgets);
a plan gets its cap estimate and the name/topic edits that will have to wait from it; after the run,
whatever its outcome, what Discord's headers showed is merged into the cache. A cache that cannot be
written is a progress note, never an error.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import datetime

from gaib.discord.limits import Usage, WindowState
from gaib.iac import limitcache
from gaib.iac.caps import Budget, documented_budgets, estimate_caps, name_topic_waits
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter, Tick
from gaib.ports import Ports


def limit_budgets(ports: Ports, guild_id: str) -> dict[str, Budget]:
    """What is left of the guild's long windows, from the last headers seen (cached beside the
    state); windows never seen are absent (callers take the documented budgets)."""
    return limitcache.load(ports.settings.state_dir, guild_id).budgets


def with_limits(ports: Ports, plan: Plan) -> Plan:
    """``plan`` with its cap estimate and the name/topic edits that will have to wait."""
    now = ports.clock()
    cached = limitcache.load(ports.settings.state_dir, plan.guild_id)
    caps = estimate_caps(plan.cap_needs(), cached.budgets, now)
    edits = [(c.address, c.id) for c in plan.changes if c.edits_name_or_topic and c.id is not None]
    waits = name_topic_waits(edits, cached.name_topic, now)
    return dataclasses.replace(plan, caps=caps, waits=tuple(waits))


@contextlib.contextmanager
def limits_tracked(ports: Ports, guild_id: str, progress: Reporter) -> Iterator[None]:
    """Around a run that changes Discord outside :func:`gaib.iac.service.apply` (restores, rollbacks):
    prime the client with what earlier runs learned of the guild's limits, and cache what this run
    saw afterwards."""
    cached = limitcache.load(ports.settings.state_dir, guild_id)
    ports.discord.prime_limits(usage_for_priming(cached, ports.clock()))
    try:
        yield
    finally:
        save_limits(ports, guild_id, cached, progress)


def usage_for_priming(cached: limitcache.GuildLimits, now: datetime) -> Usage:
    """What the plan assumed: the cached windows, and the documented budgets for windows never seen
    (so creates go out together, as the plan counted them; a guild whose window was used up
    elsewhere answers the first few with 429 and the apply stops at the cap)."""
    usage = cached.usage(now)
    windows = dict(usage.windows)
    for name, budget in documented_budgets().items():
        windows.setdefault(name, WindowState(budget.limit, budget.remaining, 0.0))
    return Usage(windows=windows, name_topic=usage.name_topic, recent=usage.recent)


def save_limits(ports: Ports, guild_id: str, cached: limitcache.GuildLimits, progress: Reporter) -> None:
    """Merge what the client saw this run into ``cached`` and write it beside the state; a write that
    fails is reported to ``progress`` as a note."""
    try:
        merged = limitcache.merge(cached, ports.discord.limit_usage(), ports.clock())
        limitcache.save(ports.settings.state_dir, guild_id, merged)
    except OSError as exc:
        progress(Tick("note", f"could not update the Discord limits cache: {exc.strerror or exc}"))
