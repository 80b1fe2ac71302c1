"""The answer to one request, as the emulator's HTTP handler writes it and its request log notes it.

``route`` is the matched template (None for an unknown path) and ``fault`` the injected fault, both
for the request log; an :class:`Outcome` with ``drop`` set is never answered (the handler closes the
connection instead); ``record`` False keeps the exchange out of the recording
(:mod:`gaib.emulator.recorder`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gaib.emulator.apierrors import ApiError


@dataclass
class Outcome:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    route: str | None = None
    fault: str | None = None
    drop: bool = False
    record: bool = True
    content_type: str = "application/json"


def error_outcome(exc: ApiError) -> Outcome:
    """Discord's JSON error answer for ``exc``."""
    return Outcome(exc.status, exc.body())
