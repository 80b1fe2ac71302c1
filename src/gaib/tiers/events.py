"""Publishing events for the services: one place that decides what a failed notification does.

A notification never undoes or fails the operation it reports: a ``NotifyError`` becomes a one-line
notice to the person running the command, and the command's own result stands.
"""

from __future__ import annotations

from gaib.errors import GaibError
from gaib.notify.base import NotifyError
from gaib.notify.events import Event, Kind, Sizes
from gaib.ports import Ports
from gaib.tiers.table import policy_for


def publish(ports: Ports, event: Event) -> None:
    """Send ``event`` through the run's notifier; a delivery failure is a notice, not an error."""
    try:
        ports.notifier.publish(event)
    except NotifyError as exc:
        ports.notice(f"the {event.event} notification was not delivered: {exc.message}")


def succeeded(ports: Ports, kind: Kind, *, server_id: str, tier: str, id: str, message: str,
              stored: int | None = None, plain: int | None = None, duration_ms: int | None = None) -> None:
    sizes = Sizes(stored_bytes=stored, plain_bytes=plain) if stored is not None and plain is not None else None
    publish(ports, Event.succeeded(kind, tier=policy_for(tier).name, at=ports.clock(), server_id=server_id,
                                   workspace=ports.settings.workspace, id=id, message=message, sizes=sizes,
                                   duration_ms=duration_ms))


def failed(ports: Ports, kind: Kind, error: GaibError, *, server_id: str | None, tier: str = "free",
           id: str | None = None, message: str | None = None, duration_ms: int | None = None) -> None:
    publish(ports, Event.failed(kind, error, tier=policy_for(tier).name, at=ports.clock(), server_id=server_id,
                                workspace=ports.settings.workspace, id=id, message=message,
                                duration_ms=duration_ms))


def quota_reached(ports: Ports, error: GaibError, *, server_id: str, tier: str) -> None:
    """``quota.reached``: a tier quota refused an on-demand backup or snapshot."""
    publish(ports, Event.quota_reached(error, tier=policy_for(tier).name, at=ports.clock(), server_id=server_id,
                                       workspace=ports.settings.workspace, message=error.message))
