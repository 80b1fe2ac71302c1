"""Benchmark runner: ``python bench/run.py [NAME ...]`` runs the named benchmarks (default: all).

Each benchmark is a module ``bench/<name>.py`` with ``run() -> Report``; this runner prints every
report's table with figures and ratios measured in the same run, and writes them as JSON to
``bench/results/<name>.json``. Benchmarks are never timed assertions inside the test suite.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.common import Report  # noqa: E402

BENCHMARKS = ["startup", "apply", "backup", "snapshot", "registry", "tiers", "scheduled", "memory",
              "reliability"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
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
