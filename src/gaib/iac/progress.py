"""Progress events of a run that changes Discord (apply, destroy, restores), for the CLI to render.

A run reports ``start`` once with the number of steps, then one ``done``, ``failed`` or ``deferred``
per step, plus ``wait`` (a rate-limit wait as it starts: ``seconds`` long, ``text`` what is waited for,
``address`` the route) and ``note`` events. Reporters may be called from several threads at once and
must be quick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gaib.discord.limits import Wait, duration

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
            return f"  waiting {duration(self.seconds)}: {self.text}"
        return f"  {self.text}" if self.kind in ("done", "note") else self.text


Reporter = Callable[[Tick], None]


def silent(_tick: Tick) -> None:
    """A reporter that ignores everything."""


def wait_reporter(progress: Reporter) -> Callable[[Wait], None]:
    """A Discord port ``on_wait`` listener that reports each rate-limit wait to ``progress`` as it starts."""
    def heard(event: Wait) -> None:
        progress(Tick("wait", f"{event.reason} ({event.route})", event.route, seconds=event.seconds))
    return heard
