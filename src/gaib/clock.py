"""The clock every service is given (tests inject their own; nothing else reads the wall clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware (UTC)."""


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)
