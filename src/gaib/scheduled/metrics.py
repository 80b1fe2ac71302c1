"""Metrics of scheduled runs as CloudWatch embedded-metric-format (EMF) lines.

A run prints one JSON line per (``Tier``, ``Operation``); CloudWatch Logs turns each into metrics in the
namespace (``Gaib/Backups``) with exactly those two dimensions — what the Terraform's alarms watch
(docs/infrastructure.md, "Metrics"). No ``PutMetricData`` call, so printing metrics costs no request.
Pure: the caller decides where the lines go.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

Unit = Literal["Count", "Bytes", "Milliseconds"]

DIMENSIONS: Final = ("Tier", "Operation")


@dataclass(frozen=True)
class Metric:
    name: str
    value: int
    unit: Unit = "Count"


def emf_line(namespace: str, *, tier: str, operation: str, metrics: list[Metric], at: datetime) -> str:
    """One EMF log line carrying ``metrics`` with the dimensions ``Tier`` and ``Operation``."""
    if not metrics or len(metrics) > 100:
        raise ValueError("an EMF line carries 1 to 100 metrics")
    doc: dict[str, object] = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [list(DIMENSIONS)],
                                   "Metrics": [{"Name": m.name, "Unit": m.unit} for m in metrics]}],
        },
        "Tier": tier,
        "Operation": operation,
    }
    for m in metrics:
        doc[m.name] = m.value
    return json.dumps(doc, separators=(",", ":"))


def parse_emf(line: str) -> tuple[str, Mapping[str, str], dict[str, int]] | None:
    """(namespace, dimensions, {metric: value}) of an EMF line, None for any other line (for tests and
    readers of the task's logs)."""
    try:
        doc = json.loads(line)
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        names = [m["Name"] for m in directive["Metrics"]]
        dims = {d: str(doc[d]) for d in directive["Dimensions"][0]}
        return str(directive["Namespace"]), dims, {n: int(doc[n]) for n in names}
    except (ValueError, KeyError, IndexError, TypeError):
        return None
