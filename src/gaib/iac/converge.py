"""Making Discord match a stored config minimally: shared by ``snapshot restore --apply`` and ``theme rollback``.

:func:`converge` is the execute half of both. Called with the workspace's state lock held, it reads
the current state and the live guild and plans against the guild as it is now
(:func:`gaib.iac.restore_plan.restore_plan`: surviving objects keep their ids, missing ones are
re-created, nothing already right is touched). Creates are journaled first and objects an
interrupted run created are adopted, not created again (:mod:`gaib.iac.journal`; :func:`recovered_plan`
is the plan both the dry runs and the execution use). When there is nothing to do — the plan is empty,
the state already holds every object the caller knows by id, and the caller has nothing more to change
(``more``) — it returns with :attr:`Converged.changed` False, having written nothing and taken no
pre-restore copy. Otherwise it hands the current state to ``before`` (which stores a ``pre-restore``
snapshot or backup, so the change can be undone), records in the state any objects the caller knows by
id (a snapshot's objects) that it does not hold yet, and runs the plan through the ordinary applier,
which records every object in the state as soon as it exists. Discord's limits are tracked as for apply:
what earlier runs learned primes the client, and what this run saw is cached beside the state. A step
that fails does not raise here: the caller gets the ``PartialFailure`` back in
:attr:`Converged.failure`, does its own bookkeeping, then raises it.

:func:`keep_config` writes the config that now describes the server to the config file, keeping the
previous file beside it under a name unique to the run (never overwriting an earlier copy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gaib.config.desired import DesiredServer
from gaib.discord.models import Guild
from gaib.errors import Conflict, PartialFailure
from gaib.fsutil import create_new, write_atomic
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
    executed, the applier's result, the partial failure (None when every step succeeded), whether it
    wrote the state before applying (objects known by id recorded) and whether it did anything at all."""

    pre_restore_id: str | None
    previous_serial: int | None
    lineage: str
    plan: Plan
    result: ApplyResult
    failure: PartialFailure | None = None
    state_written: bool = False
    changed: bool = True


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
             progress: Reporter, more: bool = False, operation: str = "restore",
             narrow: Callable[[Plan], Plan] | None = None) -> Converged:
    """Make the live guild match ``desired`` (see the module docstring). The caller holds the lock;
    ``more``: the caller changes more after this (so ``before`` is called even when this has nothing to do);
    ``narrow`` cuts the plan down before it runs (a restore of some parts only)."""
    with limits_tracked(ports, server_id, progress):
        return _converge(ports, server_id=server_id, desired=desired, objects=objects,
                         prune_unmanaged=prune_unmanaged, before=before, progress=progress, more=more,
                         operation=operation, narrow=narrow)


def _converge(ports: Ports, *, server_id: str, desired: DesiredServer, objects: State | None,
              prune_unmanaged: bool, before: Callable[[State | None], str | None],
              progress: Reporter, more: bool, operation: str,
              narrow: Callable[[Plan], Plan] | None = None) -> Converged:
    ws, backend = ports.settings.workspace, ports.state
    current = backend.get(ws)
    live = ports.discord.get_guild()
    planned = recovered_plan(ports, server_id=server_id, desired=desired, current=current, objects=objects,
                             live=live, prune_unmanaged=prune_unmanaged, operation=operation, reading=False)
    state = planned.state
    write = current is None or not state.content_equal(current) or current.guild_id != server_id
    the_plan = narrow(planned.plan) if narrow is not None else planned.plan
    previous = current.serial if current else None
    if not write and the_plan.empty and not more:
        RunJournal(planned.journal, planned.recovery).settle(state)
        return Converged(pre_restore_id=None, previous_serial=previous, lineage=state.lineage, plan=the_plan,
                         result=ApplyResult(serial=previous), changed=False)
    pre_id = before(current)
    if write:
        # Record the known ids first (one serial): a run cut off after this still has a state that
        # knows every object, and the objects that need nothing are managed from now on.
        state.serial = (current.serial if current else 0) + 1
        state.last_modified = ports.clock().isoformat().replace("+00:00", "Z")
        backend.put(state, expected_serial=previous)
    applier = Applier(ports.discord, backend, state, workspace=ws, clock=ports.clock, progress=progress,
                      concurrency=ports.settings.discord_concurrency, journal=planned.journal,
                      recovery=planned.recovery)
    done = Converged(pre_restore_id=pre_id, previous_serial=previous, lineage=state.lineage, plan=the_plan,
                     result=ApplyResult(serial=state.serial), state_written=write)
    if the_plan.empty:
        RunJournal(planned.journal, planned.recovery).settle(state)
        return done
    try:
        done.result = applier.run(the_plan, live)
    except PartialFailure as exc:
        done.result, done.failure = applier.result, exc
    return done


def config_matches(path: Path, text: str) -> bool:
    """True when the file at ``path`` already holds exactly ``text``."""
    try:
        return path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


KEEP_ATTEMPTS = 100


def keep_config(path: Path, text: str, tag: str, now: datetime) -> tuple[str, str | None]:
    """Write ``text`` to ``path``, first keeping an existing file beside it under a name this run alone
    uses: ``{name}.before-{tag}.{UTC time of now}``, then ``….2``, ``….3`` while that is taken. A kept
    copy is created, never overwritten (:func:`gaib.fsutil.create_new`), so every earlier copy — and the
    hand edits it holds — stays.

    Returns the path written and the kept file's path (None when there was no file). A file that
    already holds ``text`` is left alone (and nothing is kept): check with :func:`config_matches`."""
    if config_matches(path, text):
        return str(path), None
    previous = None
    if path.exists():
        data = path.read_bytes()
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = f"{path.name}.before-{tag}.{stamp}"
        for attempt in range(1, KEEP_ATTEMPTS + 1):
            kept = path.with_name(base if attempt == 1 else f"{base}.{attempt}")
            try:
                create_new(kept, data, mode=0o644)
            except FileExistsError:
                continue
            previous = str(kept)
            break
        else:
            raise Conflict(f"Could not keep the previous {path.name}: {base} and {KEEP_ATTEMPTS - 1} numbered "
                           "copies of it already exist; the config file was not changed.",
                           hint=f"Move the old {path.name}.before-* copies away and run the command again.")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"), mode=0o644)
    return str(path), previous
