"""The notifier port: where services publish ``Event``s, and its failure class.

Contract of ``Notifier.publish``: the event is delivered once (appended, or accepted by SNS) before it
returns; a delivery failure raises ``NotifyError`` (or ``ConfigError`` for a misconfigured notifier) and
never carries a secret. Notifiers scrub the known secret values they were given from every event.
"""

from __future__ import annotations

from typing import Protocol

from gaib.errors import GaibError
from gaib.notify.events import Event


class NotifyError(GaibError):
    """A notification could not be delivered (events file not writable, SNS refused or unreachable)."""

    code = "NOTIFY_FAILED"
    default_hint = "Check the notification settings (events file or SNS topic) and that the target is reachable."


class Notifier(Protocol):
    def publish(self, event: Event) -> None:
        """Deliver ``event``; raises NotifyError when it could not be delivered."""


class NullNotifier:
    """Publishes nothing (notifications switched off). Never fails."""

    def publish(self, event: Event) -> None:
        return None
