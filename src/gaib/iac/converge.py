"""Making Discord match a stored config minimally: shared by ``snapshot restore --apply`` and ``theme rollback``.

:func:`converge` is the execute half of both. Called with the workspace's state lock held, it hands
the current state to ``before`` (which stores a ``pre-restore`` snapshot or backup, so the change can
be undone), reads the live guild, records in the state any objects the caller knows by id
(a snapshot's objects) that it does not hold yet, then plans against the guild as it is now
(:func:`gaib.iac.restore_plan.restore_plan`: surviving objects keep their ids, missing ones are
re-created, nothing already right is touched) and runs the plan through the ordinary applier, which
records every object in the state as soon as it exists. Creates are journaled first and objects an
interrupted run created are adopted, not created again (:mod:`gaib.iac.journal`;
:func:`recovered_plan` is the plan both the dry runs and the execution use). Discord's limits are tracked as for apply:
what earlier runs learned primes the client, and what this run saw is cached beside the state. A step
that fails does not raise here: the caller gets the ``PartialFailure`` back in
:attr:`Converged.failure`, does its own bookkeeping, then raises it.

:func:`keep_config` writes the config that now describes the server to the config file, keeping the
previous file beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gaib.config.desired import DesiredServer
from gaib.discord.models import Guild
from gaib.errors import PartialFailure
from gaib.fsutil import write_atomic
from gaib.iac.apply import Applier
from gaib.iac.apply_result import ApplyResult
from gaib.iac.journal import CreateJournal, Recovery, RunJournal, journal_for, mark_adopted, recover
from gaib.iac.limit_tracking import limits_tracked
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter
from gaib.iac.restore_plan import matching_state, restore_plan
from gaib.ports import Ports
from gaib.state.model import State


@dataclass
class Converged:
    """What :func:`converge` did: the pre-restore id ``before`` returned, the serial before, the plan it
    executed, the applier's result, and the partial failure (None when every step succeeded)."""

    pre_restore_id: str | None
    previous_serial: int | None
    lineage: str
    plan: Plan
    result: ApplyResult
    failure: PartialFailure | None = None


@dataclass
class Recovered:
    """A restore's plan from the current state, the objects it knows by id and what interrupted runs
    created (``state`` is the one the plan starts from)."""

    state: State
    plan: Plan
    journal: CreateJournal | None
    recovery: Recovery


def recovered_plan(ports: Ports, *, server_id: str, desired: DesiredServer, current: State | None,
                   objects: State | None, live: Guild, prune_unmanaged: bool, operation: str,
                   reading: bool) -> Recovered:
    """The plan making ``live`` match ``desired``, from ``current`` plus ``objects``' ids, with the objects
    interrupted runs created adopted (``reading``: a plan that writes nothing, see
    :func:`gaib.iac.journal.journal_for`). Reads the journal and maybe the audit log; writes nothing."""
    ws = ports.settings.workspace
    state = matching_state(current, objects if objects is not None else State.new(ws, server_id), workspace=ws,
                           server_id=server_id)
    journal = journal_for(ports, server_id, operation, reading=reading)
    recovery = recover(journal, ports.discord, state, live)
    state = recovery.state if recovery.state is not None else state
    plan = mark_adopted(restore_plan(desired, state, live, prune_unmanaged=prune_unmanaged), recovery.adopted)
    return Recovered(state, plan, journal, recovery)


def converge(ports: Ports, *, server_id: str, desired: DesiredServer, objects: State | None,
             prune_unmanaged: bool, before: Callable[[State | None], str | None],
             progress: Reporter, operation: str = "restore") -> Converged:
    """Make the live guild match ``desired`` (see the module docstring). The caller holds the lock."""
    with limits_tracked(ports, server_id, progress):
        return _converge(ports, server_id=server_id, desired=desired, objects=objects,
                         prune_unmanaged=prune_unmanaged, before=before, progress=progress, operation=operation)


def _converge(ports: Ports, *, server_id: str, desired: DesiredServer, objects: State | None,
              prune_unmanaged: bool, before: Callable[[State | None], str | None],
              progress: Reporter, operation: str) -> Converged:
    ws, backend = ports.settings.workspace, ports.state
    current = backend.get(ws)
    pre_id = before(current)
    live = ports.discord.get_guild()
    planned = recovered_plan(ports, server_id=server_id, desired=desired, current=current, objects=objects,
                             live=live, prune_unmanaged=prune_unmanaged, operation=operation, reading=False)
    state = planned.state
    if current is None or not state.content_equal(current) or current.guild_id != server_id:
        # Record the known ids first (one serial): a run cut off after this still has a state that
        # knows every object, and the objects that need nothing are managed from now on.
        state.serial = (current.serial if current else 0) + 1
        state.last_modified = ports.clock().isoformat().replace("+00:00", "Z")
        backend.put(state, expected_serial=current.serial if current else None)
    the_plan = planned.plan
    applier = Applier(ports.discord, backend, state, workspace=ws, clock=ports.clock, progress=progress,
                      concurrency=ports.settings.discord_concurrency, journal=planned.journal,
                      recovery=planned.recovery)
    done = Converged(pre_restore_id=pre_id, previous_serial=current.serial if current else None,
                     lineage=state.lineage, plan=the_plan, result=ApplyResult(serial=state.serial))
    if the_plan.empty:
        RunJournal(planned.journal, planned.recovery).settle(state)
        return done
    try:
        done.result = applier.run(the_plan, live)
    except PartialFailure as exc:
        done.result, done.failure = applier.result, exc
    return done


def keep_config(path: Path, text: str, tag: str) -> tuple[str, str | None]:
    """Write ``text`` to ``path``; an existing file is kept first as ``{name}.before-{tag}``.

    Returns the path written and the kept file's path (None when there was no file)."""
    previous = None
    if path.exists():
        kept = path.with_name(f"{path.name}.before-{tag}")
        write_atomic(kept, path.read_bytes(), mode=0o644)
        previous = str(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"), mode=0o644)
    return str(path), previous
