"""Notifications: the ``Event`` type and the ``Notifier`` port.

Adapters live in ``gaib.notify.local`` (``FileNotifier``, a JSON Lines file) and ``gaib.notify.sns``
(``SnsNotifier``); only the composition root builds them.
"""

from gaib.notify.base import Notifier, NotifyError, NullNotifier
from gaib.notify.events import EVENT_NAMES, Counts, ErrorInfo, Event, EventName, Kind, Sizes, Tier

__all__ = ["EVENT_NAMES", "Counts", "ErrorInfo", "Event", "EventName", "Kind", "Notifier", "NotifyError",
           "NullNotifier", "Sizes", "Tier"]
