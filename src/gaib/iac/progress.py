"""Progress events of a run that changes Discord (apply, destroy, restores), for the CLI to render.

A run reports ``start`` once with the number of steps, then one ``done``, ``failed`` or ``deferred``
per step, plus ``wait`` (a rate-limit wait: ``seconds`` and a reason) and ``note`` events. Reporters
may be called from several threads at once and must be quick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TickKind = Literal["start", "done", "failed", "deferred", "wait", "note"]


@dataclass(frozen=True)
class Tick:
    kind: TickKind
    text: str = ""
    address: str = ""
    total: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """The event as one line for a log or a plain terminal."""
        if self.kind == "start":
            return f"Applying {self.total} change(s)…"
        if self.kind == "failed":
            return f"  ! {self.address}: {self.text}"
        if self.kind == "deferred":
            return f"  … {self.address}: {self.text}"
        if self.kind == "wait":
            return f"  waiting {self.text}"
        return f"  {self.text}" if self.kind in ("done", "note") else self.text


Reporter = Callable[[Tick], None]


def silent(_tick: Tick) -> None:
    """A reporter that ignores everything."""
