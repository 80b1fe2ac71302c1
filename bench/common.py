"""Shared pieces for benchmarks: timing helpers, the report table and the environment for moto."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.emulator import EmulatorHandle

ROOT = Path(__file__).resolve().parent.parent


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


def moto_environ(url: str) -> dict[str, str]:
    """The AWS settings that point boto3 at moto's server at ``url`` (fake credentials, us-east-1)."""
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": url}


@contextlib.contextmanager
def environ_set(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in this process's environment for the block, then put back what was there."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_gaib(project: Path, emu: EmulatorHandle, *args: str, timeout: float = 900) -> tuple[float, Any]:
    """Run ``gaib ARGS --json`` as a process in ``project`` against the emulator (none of this machine's
    GAIB_/DISCORD_/AWS_ settings leak in); its wall time and the ``data`` of its answer. RuntimeError,
    with the end of its output, when it fails."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))},
           "DISCORD_BOT_TOKEN": emu.token, "DISCORD_GUILD_ID": emu.guild_id, "GAIB_DISCORD_API_URL": emu.base_url,
           "PYTHONPATH": str(ROOT / "src"), "HOME": str(project)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gaib", *args, "--json"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"gaib {' '.join(args)} exited {done.returncode}: "
                           f"{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return seconds, json.loads(done.stdout)["data"]
