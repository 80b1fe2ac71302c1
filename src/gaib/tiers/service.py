"""Tier use cases on the run's ports: ``gaib server tier show`` and ``gaib server tier set``."""

from __future__ import annotations

from collections.abc import Callable

from gaib.bundles import local_history as local
from gaib.errors import OperatorOnly, PartialFailure, StorageError
from gaib.notify.events import Event
from gaib.ports import Ports, server_id_of
from gaib.tiers import events
from gaib.tiers.manager import TierChange, TierManager, TierReport, TierState
from gaib.tiers.table import check_tier

_REFUSED = ("AccessDenied", "AccessDeniedException")


def manager(ports: Ports) -> TierManager:
    return TierManager(ports.store, ports.catalog, clock=ports.clock)


def actor(ports: Ports) -> str:
    """Who is changing things: on AWS the caller's ARN as STS says (``GAIB_ACTOR`` is ignored there);
    locally the self-declared ``GAIB_ACTOR``, else ``user@host``."""
    return ports.identity.caller().name


def show(ports: Ports) -> TierReport:
    """The server's tier, limits, today's usage, retention and next scheduled runs."""
    return manager(ports).report(server_id_of(ports))


def local_history(ports: Ports) -> local.LocalHistory | None:
    """What the local store still holds of this server (its tier, its bundles) while the store is S3; None
    otherwise (:func:`gaib.bundles.local_history.local_history`)."""
    return local.local_history(ports, server_id_of(ports))


def current(ports: Ports, tier: str) -> tuple[TierState, str]:
    """The server's stored tier and the checked target tier (InvalidInput, exit 6, before any write)."""
    target = check_tier(tier)
    return manager(ports).get(server_id_of(ports)), target


def set_tier(ports: Ports, tier: str, *, progress: Callable[[int], None] | None = None) -> TierChange:
    """Move the server to ``tier``: the TIER item (who/when: the caller's STS ARN on AWS), an audit record,
    a ``tier.changed`` event, and the ``Tier`` tag of every object. Raises ``OperatorOnly`` (exit 1) when AWS
    refuses the tier item's write (only the operator role may), ``PartialFailure`` (exit 8) when re-tagging
    stopped on a storage failure (the tier is changed; running the command again finishes it)."""
    sid = server_id_of(ports)
    try:
        change = manager(ports).set(sid, tier, actor=actor(ports), on_s3=bool(ports.settings.backup_bucket),
                                    progress=progress)
    except StorageError as exc:
        if exc.details.get("aws_error") not in _REFUSED:
            raise
        raise OperatorOnly(f"AWS refused to change the tier of server {sid} ({exc.details['aws_error']}): only "
                           "the operator role may change a tier. Nothing was changed.",
                           details={"server_id": sid, "caller": actor(ports)}) from None
    verb = "moved to" if change.previous.name != change.new.name else "confirmed on"
    events.publish(ports, Event.tier_changed(
        tier=change.new.name, at=ports.clock(), server_id=sid, id=change.audit_id,
        message=f"Server {sid} {verb} the {change.new.name} tier (was {change.previous.name}) by {change.set_by}"))
    r = change.retagged
    if r.error is not None:
        raise PartialFailure(
            f"Server {sid} is now on the {change.new.name} tier, but re-tagging its objects stopped after "
            f"{r.changed} objects at {r.failed_key}: {r.error.message}",
            hint=f"Fix the storage problem and run 'gaib server tier set {change.new.name} --yes' again: it "
                 "re-tags only the objects still carrying the old tag.",
            details={"tier": change.to_dict()})
    return change
