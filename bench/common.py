"""Shared pieces for benchmarks: timing helpers and the report table."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        cells = [[str(c) for c in row] for row in self.rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(self.headers)]
        line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(self.headers))
        out = [f"== {self.title}", line, "-" * len(line)]
        out += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in cells]
        out += [f"   {n}" for n in self.notes]
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "headers": self.headers, "rows": self.rows, "notes": self.notes}


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_command(cmd: Sequence[str], repeat: int, **kwargs: Any) -> float:
    """Median wall time of running ``cmd`` to completion (it must exit 0)."""

    def once() -> None:
        subprocess.run(list(cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)

    once()  # warm the page cache and .pyc files
    return median_seconds(once, repeat)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
