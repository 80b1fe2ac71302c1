"""Theme registry use cases: what the CLI calls — view, history, audit log, rollback, apply-and-record.

Each function takes the run's :class:`gaib.ports.Ports` and returns plain values for the CLI to render;
nothing here builds an adapter. Reading (:func:`view`, :func:`history`, :func:`audit_log`) is
:mod:`gaib.deployments.registry`'s. Rollback (:mod:`gaib.deployments.rollback`) and the recorded apply
(:mod:`gaib.deployments.deploy`) are imported only when called: they load the config reader and the apply
engine, which listing the registry never needs.

``Deployment`` (the record every listing returns) and ``MAX_STEPS`` (the most ``rollback --steps`` walks
back) are re-exported so the CLI needs no other module of this package; so is ``local_history`` (what the
local store still holds once S3 is configured: the registry says so when S3 has nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gaib.bundles.local_history import LocalHistory, local_history
from gaib.deployments.registry import RegistryView, audit_log, history, view
from gaib.deployments.store import MAX_STEPS, Deployment, Via
from gaib.ports import Ports

if TYPE_CHECKING:
    from gaib.deployments.deploy import Applied as Applied
    from gaib.deployments.rollback import RollbackPlan as RollbackPlan
    from gaib.deployments.rollback import RollbackResult as RollbackResult
    from gaib.iac.plan import Plan
    from gaib.iac.progress import Reporter

__all__ = ["MAX_STEPS", "Deployment", "LocalHistory", "RegistryView", "apply_and_record", "audit_log",
           "execute_rollback", "history", "local_history", "plan_rollback", "view"]


def plan_rollback(ports: Ports, *, steps: int | None, to: str | None, dry_run: bool,
                  via: Via | None = None) -> RollbackPlan:
    """Resolve the target, verify its config and plan against the live guild; changes nothing
    (:func:`gaib.deployments.rollback.plan_rollback`)."""
    from gaib.deployments import rollback

    return rollback.plan_rollback(ports, steps=steps, to=to, dry_run=dry_run, via=via)


def execute_rollback(ports: Ports, plan: RollbackPlan, *, progress: Reporter, accept_caps: bool,
                     via: Via | None = None) -> RollbackResult:
    """Carry out a planned rollback and record it (:func:`gaib.deployments.rollback.execute_rollback`)."""
    from gaib.deployments import rollback

    return rollback.execute_rollback(ports, plan, progress=progress, accept_caps=accept_caps, via=via)


def apply_and_record(ports: Ports, *, progress: Reporter, confirm: Callable[[Plan], None],
                     dry_run: bool = False, via: Via | None = None) -> Applied:
    """``gaib server apply`` with its deployment recorded (:func:`gaib.deployments.deploy.apply_and_record`)."""
    from gaib.deployments import deploy

    return deploy.apply_and_record(ports, progress=progress, confirm=confirm, dry_run=dry_run, via=via)
