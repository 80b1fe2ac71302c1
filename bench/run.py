"""Benchmark runner: ``python bench/run.py [NAME ...] [--trials N] [--only GROUPS]`` runs the named benchmarks
(default: all). ``--trials N`` and ``--only a,b`` set ``GAIB_RELIABILITY_TRIALS`` and ``GAIB_RELIABILITY_ONLY``
for the reliability benchmark (see bench/reliability.py).

Each benchmark is a module ``bench/<name>.py`` with ``run() -> Report``; this runner prints every
report's table with figures and ratios measured in the same run, and writes them as JSON to
``bench/results/<name>.json``. Benchmarks are never timed assertions inside the test suite.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import Report  # noqa: E402

BENCHMARKS = ["startup", "apply", "backup", "snapshot", "registry", "tiers", "scheduled", "memory",
              "reliability", "raid"]


def _options(argv: list[str]) -> list[str]:
    """The benchmark names in ``argv``; ``--trials N`` and ``--only GROUPS`` go to the environment."""
    names: list[str] = []
    args = iter(argv)
    for arg in args:
        option, _, value = arg.partition("=")
        if option in ("--trials", "--only"):
            value = value or next(args, "")
            if option == "--trials" and not value.isdigit():
                raise SystemExit("--trials takes a number of trials")
            os.environ["GAIB_RELIABILITY_" + option[2:].upper()] = value
        else:
            names.append(arg)
    return names


def main(argv: list[str]) -> int:
    names = _options(argv) or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"== {name}: not available yet\n")
                continue
            raise
        report: Report = module.run()
        print(report.render())
        (out_dir / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
