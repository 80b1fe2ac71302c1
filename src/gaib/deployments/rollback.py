"""``gaib server theme rollback``: put an earlier deployment back on Discord, minimally, and record it.

Plan, then execute. :func:`plan_rollback` resolves the target by walking the history (:func:`resolve`),
writes a ``registry-read`` audit event, verifies both checksums of the target's config part (a damaged
one is ``INTEGRITY_ERROR``, exit 3, before Discord is read), and plans against the live guild; it
changes nothing. :func:`execute_rollback`, under the workspace's state lock: checks that no deployment
was recorded since the plan, takes a ``pre-restore`` state backup, makes Discord match the target's
stored config minimally (:func:`gaib.iac.converge.converge`: objects keep their ids), records a
``rollback`` deployment (also after a partial run, so a re-run with ``--to`` finishes it), and writes
the target's config to the config file, the previous file kept beside it. When Discord and the state
already match the target there is nothing to do: no backup, no deployment (``RollbackResult.changed``
False); only the config file is written if it does not hold the target's config yet. A run killed before it
recorded anything changes nothing in the registry: running the same command again converges.

Walking: every deployment has a ``position`` (an apply: itself; a rollback: the deployment it
returned to) and a ``parent`` (the position one step back). ``--steps N`` follows ``parent`` N times
from the current deployment, so ``--steps 1`` twice goes two deployments back and never toggles.
A position whose own deployment was pruned is served by a kept rollback to it (same config); so is
``--to`` the id of a pruned deployment that a kept rollback returned to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gaib.backups.store import BackupManager
from gaib.config.desired import DesiredServer, to_desired
from gaib.config.load import read_config
from gaib.deployments import audit
from gaib.deployments.registry import (
    audit_failure,
    change_counts,
    current,
    deployments,
    record,
    who,
)
from gaib.deployments.store import MAX_STEPS, Deployment, DeploymentStore, NewDeployment, Via
from gaib.errors import ConfirmationRequired, Conflict, GaibError, InvalidInput, NotFound
from gaib.iac.apply_result import ApplyResult
from gaib.iac.caps import CapEstimate
from gaib.iac.converge import config_matches, converge, keep_config, recovered_plan
from gaib.iac.limit_tracking import with_limits
from gaib.iac.plan import Plan
from gaib.iac.progress import Reporter, Tick
from gaib.ports import Ports, server_id_of
from gaib.state.locking import locked
from gaib.state.model import State
from gaib.storage.keys import check_id
from gaib.tiers import events
from gaib.tiers.table import tier_of

SHOWN_AVAILABLE = 10


# --- resolving the target -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    current: Deployment
    target: Deployment
    steps: int | None
    to: str | None


def _available(store: DeploymentStore, server_id: str) -> list[dict[str, Any]]:
    found = store.newest_first(server_id, damaged=[])[:SHOWN_AVAILABLE]
    return [{"id": d.id, "created_at": d.created_at, "kind": d.action, "theme": d.theme_label()} for d in found]


def _listing(available: list[dict[str, Any]]) -> str:
    return "; ".join(f"{a['id']} ({a['theme']}, {a['kind']}, {a['created_at']})" for a in available)


class _Positions:
    """Finds the deployment that serves a position: its own item (one read), else a kept rollback to it."""

    def __init__(self, store: DeploymentStore, server_id: str) -> None:
        self.store = store
        self.server_id = server_id
        self._scanned: list[Deployment] | None = None

    def _scan(self) -> list[Deployment]:
        if self._scanned is None:
            self._scanned = self.store.newest_first(self.server_id, damaged=[])
        return self._scanned

    def find(self, position: str) -> Deployment | None:
        own = self.store.find(self.server_id, position)
        if own is not None:
            return own
        return next((d for d in self._scan() if d.position == position), None)

    def returning_to(self, deployment_id: str) -> Deployment | None:
        """The newest kept rollback to ``deployment_id`` (it deployed the same config)."""
        return next((d for d in self._scan() if d.manifest.extra.get("rolled_back_to") == deployment_id), None)


def resolve(store: DeploymentStore, server_id: str, *, steps: int | None, to: str | None,
            keep_last: int | None = None) -> Target:
    """The deployment to roll back to: ``to`` (an id of this server), else ``steps`` back (default 1).

    Raises InvalidName for a malformed id and NotFound (exit 6) for an id this server does not have,
    for a server with no deployment, and for a walk past the oldest kept deployment (naming what is
    available); IntegrityError (exit 3) when a needed catalog item is damaged.
    """
    if to is not None and steps is not None:
        raise InvalidInput("Give --steps or --to, not both.")
    if to is not None:
        to = check_id(to, "deployment id")
    if steps is not None and (isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS):
        raise InvalidInput(f"--steps must be between 1 and {MAX_STEPS}, got {steps!r}.")
    now = current(store, server_id)
    if now is None:
        raise NotFound(f"No deployment is recorded for server {server_id}: there is nothing to roll back to.",
                       hint="Deployments are recorded by 'gaib server apply'.")
    positions = _Positions(store, server_id)
    if to is not None:
        found = store.find(server_id, to) or positions.returning_to(to)
        if found is None:
            available = _available(store, server_id)
            raise NotFound(f"Server {server_id} has no deployment {to}. Available: {_listing(available)}.",
                           hint="List them with 'gaib server theme history'.", details={"available": available})
        return Target(now, found, None, to)
    wanted = steps if steps is not None else 1
    node, parent = now, now.parent
    reachable: list[Deployment] = []
    for _ in range(wanted):
        found = positions.find(parent) if parent is not None else None
        if found is None:
            raise _too_far(store, server_id, now, wanted, reachable, parent, keep_last)
        reachable.append(found)
        node, parent = found, found.parent
    return Target(now, node, wanted, None)


def _too_far(store: DeploymentStore, server_id: str, now: Deployment, wanted: int, reachable: list[Deployment],
             missing: str | None, keep_last: int | None) -> NotFound:
    """The NotFound of a walk that stopped after ``reachable`` (one per step back): the message counts the
    steps that can be taken and lists exactly those deployments, then the other kept ones (for ``--to``).
    ``missing`` is the position that is no longer kept, None when the history has nothing earlier."""
    walked = len(reachable)
    if missing is not None:
        kept = f" (this tier keeps the last {keep_last})" if keep_last else ""
        why = f"deployment {missing}, {walked + 1} back, is no longer kept{kept}"
    elif walked:
        why = f"only {walked} earlier deployment{'' if walked == 1 else 's'} can be reached"
    elif now.position != now.id:
        why = (f"the current deployment {now.id} returned to {now.position}, and nothing was deployed "
               "before that")
    else:
        why = f"nothing was deployed before the current deployment {now.id}"
    available = _available(store, server_id)
    steps_back = [f"--steps {n}: {d.id} ({d.theme_label()}, {d.action}, {d.created_at})"
                  for n, d in enumerate(reachable, start=1)]
    taken = {now.id, *(d.id for d in reachable)}
    others = [a for a in available if a["id"] not in taken]
    text = f"Cannot roll back {wanted} deployment{'' if wanted == 1 else 's'}: {why}."
    if steps_back:
        text += f" Reachable: {'; '.join(steps_back)}."
    if others:
        text += f" Other kept deployments (with --to ID): {_listing(others)}."
    return NotFound(text, hint="Pick one with --to ID, or fewer --steps.",
                    details={"available": available, "reachable_steps": walked,
                             "reachable": [d.id for d in reachable]})


# --- plan ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackPlan:
    server_id: str
    resolved: Target
    config_text: str
    desired: DesiredServer
    discord: Plan
    caps: CapEstimate
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "current": self.resolved.current.to_dict(),
                "target": self.resolved.target.to_dict(), "steps": self.resolved.steps, "to": self.resolved.to,
                "discord": self.discord.to_dict(), "caps": self.caps.to_dict(), "warnings": list(self.warnings)}


def desired_of(deployment: Deployment, text: str) -> DesiredServer:
    """A stored config as the model plans work on (re-read as written; never interpolated)."""
    _, config = read_config(text, filename=f"deployment {deployment.id} config", environ={})
    return to_desired(config)


def plan_rollback(ports: Ports, *, steps: int | None, to: str | None, dry_run: bool,
                  via: Via | None = None) -> RollbackPlan:
    """Resolve, audit the read, verify the target's config, then plan against the live guild. Changes
    nothing on Discord or in the state; a failure is written to the audit log."""
    sid = server_id_of(ports)
    store = deployments(ports)
    actor, how = who(ports.settings, via)
    try:
        policy = tier_of(ports.catalog, sid)
        resolved = resolve(store, sid, steps=steps, to=to, keep_last=policy.theme_history_keep_last)
        audit.write(ports.store, ports.clock, server_id=sid, workspace=ports.settings.workspace, actor=actor, via=how,
                    what="registry-read", operation="rollback", outcome="read", from_id=resolved.current.id,
                    to_id=resolved.target.id, theme=resolved.target.summary()["theme"],
                    detail={"steps": resolved.steps, "to": resolved.to, "dry_run": dry_run})
        text = store.config_text(resolved.target)
        desired = desired_of(resolved.target, text)
        ws = ports.settings.workspace
        live = ports.discord.get_guild()
        discord_plan = with_limits(ports, recovered_plan(
            ports, server_id=sid, desired=desired, current=ports.state.get(ws), objects=None, live=live,
            prune_unmanaged=False, operation="rollback", reading=True).plan)
    except GaibError as exc:
        audit_failure(ports, sid, "rollback", exc, detail={"steps": steps, "dry_run": dry_run}, via=via)
        raise
    caps = discord_plan.caps if discord_plan.caps is not None else CapEstimate()
    return RollbackPlan(server_id=sid, resolved=resolved, config_text=text, desired=desired, discord=discord_plan,
                        caps=caps, warnings=tuple(discord_plan.warnings) + tuple(caps.messages()))


# --- execute ------------------------------------------------------------------------------------------------


@dataclass
class RollbackResult:
    target_id: str
    from_id: str
    deployment: Deployment | None = None
    pre_restore_backup_id: str | None = None
    apply: ApplyResult | None = None
    previous_serial: int | None = None
    new_serial: int | None = None
    config_file: str = ""
    previous_config: str | None = None
    changed: bool = True
    """False when Discord and the state already matched the target: nothing was written there, no
    pre-restore backup taken and no deployment recorded."""
    config_written: bool = True
    """False when the config file already held the target's config (it is then left alone)."""

    def to_dict(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "from_id": self.from_id,
                "deployment": self.deployment.to_dict() if self.deployment else None,
                "pre_restore_backup_id": self.pre_restore_backup_id,
                "apply": self.apply.to_dict() if self.apply is not None else None,
                "previous_serial": self.previous_serial, "new_serial": self.new_serial,
                "config_file": self.config_file, "previous_config": self.previous_config,
                "changed": self.changed, "config_written": self.config_written}


def _header(target: Deployment) -> str:
    label = " ".join(f"{target.theme_label()}, {target.created_at}".split())  # one line, whatever was stored
    return (f"# Written by 'gaib server theme rollback': the config of deployment {target.id}\n"
            f"# ({label}), its theme merged in, so it stands alone.\n")


def execute_rollback(ports: Ports, plan: RollbackPlan, *, progress: Reporter, accept_caps: bool,
                     via: Via | None = None) -> RollbackResult:
    """Carry out a planned rollback (see the module docstring); publishes a rollback event."""
    sid, target = plan.server_id, plan.resolved.target
    started = time.monotonic()
    result = RollbackResult(target_id=target.id, from_id=plan.resolved.current.id)
    tier = target.manifest.tier
    try:
        if plan.caps.binds and not accept_caps:
            raise ConfirmationRequired("This rollback needs more creates than Discord allows in its long windows: "
                                       + "; ".join(plan.caps.messages()) + ". Nothing was changed.",
                                       hint="Pass --yes to start anyway; what the caps hold back is created by "
                                            "running the rollback again once they reset.")
        _execute(ports, plan, result, progress, via)
    except GaibError as exc:
        if result.deployment is None:  # a recorded (partial) rollback has its audit event already
            audit_failure(ports, sid, "rollback", exc, from_id=result.from_id, to_id=target.id, via=via)
        events.failed(ports, "rollback", exc, server_id=sid, tier=tier, id=target.id, duration_ms=_ms(started))
        raise
    message = (f"Rolled back to deployment {target.id} ({target.theme_label()})" if result.changed else
               f"Discord already matches deployment {target.id} ({target.theme_label()}); nothing changed")
    events.succeeded(ports, "rollback", server_id=sid, tier=tier, id=target.id, message=message,
                     duration_ms=_ms(started))
    return result


def _execute(ports: Ports, plan: RollbackPlan, result: RollbackResult, progress: Reporter,
             via: Via | None) -> None:
    settings, backend = ports.settings, ports.state
    sid, resolved, target = plan.server_id, plan.resolved, plan.resolved.target
    store = deployments(ports)
    ws = settings.workspace
    backups = BackupManager(ports.store, ports.catalog, clock=ports.clock, mac=ports.mac, notice=ports.notice)

    def before(state: State | None) -> str | None:
        if state is None:
            return None
        pre = backups.create(state, server_id=sid, workspace=ws, trigger="pre-restore",
                             message=f"before rolling back to deployment {target.id}")
        progress(Tick("note", f"Took pre-restore backup {pre.id}."))
        return pre.id

    with locked(backend, ws, f"theme rollback to {target.id}", ports.clock):
        now = current(store, sid)
        if now is None or now.id != resolved.current.id:
            raise Conflict(f"A deployment was recorded since this rollback was planned (current: "
                           f"{now.id if now else 'none'}); nothing was changed.",
                           hint="Run the rollback again to plan it against the newest deployment.")
        done = converge(ports, server_id=sid, desired=plan.desired, objects=None, prune_unmanaged=False,
                        before=before, progress=progress, operation="rollback")
        result.pre_restore_backup_id, result.previous_serial = done.pre_restore_id, done.previous_serial
        result.apply, result.new_serial, result.changed = done.result, done.result.serial, done.changed
        if not done.changed:  # Discord and the state already match the target: nothing to record or undo
            text = _header(target) + plan.config_text
            result.config_written = not config_matches(settings.config_file, text)
            result.config_file, result.previous_config = keep_config(settings.config_file, text, target.id,
                                                                     ports.clock())
            return
        actor, how = who(settings, via)
        new = NewDeployment(
            server_id=sid, workspace=ws, action="rollback", actor=actor, via=how, config_text=plan.config_text,
            result="partial" if done.failure else "success", theme=target.theme, serial=done.result.serial,
            lineage=done.lineage,
            counts={**change_counts(done.result.to_dict()),
                    **{k: v for k, v in target.manifest.counts.items() if k in ("roles", "categories", "channels")}},
            previous=now.id, position=target.position, parent=target.parent, rolled_back_to=target.id)
        try:
            recorded = record(ports, new, operation="rollback", from_id=now.id,
                              detail={"steps": resolved.steps, "pre_restore_backup": done.pre_restore_id})
            result.deployment = recorded.deployment
        except GaibError as exc:
            ports.notice(f"the rollback was applied but not recorded in the theme registry: {exc.message}")
    tag = result.deployment.id if result.deployment is not None else target.id
    text = _header(target) + plan.config_text
    result.config_written = not config_matches(settings.config_file, text)
    result.config_file, result.previous_config = keep_config(settings.config_file, text, tag, ports.clock())
    if done.failure is not None:
        done.failure.details["rollback"] = result.to_dict()
        done.failure.hint = (f"Run 'gaib server theme rollback --to {target.id}' to finish it. Undo everything "
                             f"with: gaib server theme rollback --to {now.id}")
        raise done.failure


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
