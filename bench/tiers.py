"""Tiers: the cost of the quota check on ``backup create``, and prune of 90 days of hourly backups.

Measured on local storage (folder + SQLite) and on S3 + DynamoDB (moto's standalone server on 127.0.0.1,
requests counted by the storage's RequestCounter):

* ``backup create`` on the free tier with its quota check (target: at most 4 AWS requests), the create
  the quota refuses, and a premium create (no quota to take);
* 2,160 hourly backups (90 days, what premium keeps): the prune plan, the re-tagging of ``tier set free``,
  and the prune that then removes everything older than 7 days (1,992 backups) — time and requests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Report, environ_set, median_seconds, moto_environ, ms

ROOT = Path(__file__).resolve().parent.parent
GUILD = "223456789012345678"
HOURS = 90 * 24
MAX_AWS_CREATE = 5  # with the quota counter and the server's write sequence (issue 21)
REPEAT = 7
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


class Bench:
    """One project folder (local state) with backups on one storage and a settable clock."""

    def __init__(self, project: Path, environ: dict[str, str]) -> None:
        from gaib.backups.store import BackupManager
        from gaib.cli.context import Env
        from gaib.settings import Settings
        from gaib.state.model import State
        from gaib.wiring import App

        self.now = NOW
        self.ports = App(Settings.resolve(Env(environ={**environ, "DISCORD_GUILD_ID": GUILD}, cwd=project)),
                         clock=lambda: self.now)
        self.manager = BackupManager(self.ports.store, self.ports.catalog, clock=lambda: self.now)
        self.state = State.new("default", guild_id=GUILD)

    def requests(self, fn: Callable[[], object]) -> tuple[dict[str, int], Any]:
        counter = getattr(self.ports.store, "requests", None)
        if counter is None:
            return {}, fn()
        counter.reset()
        value = fn()
        counts: dict[str, int] = counter.by_operation()
        counter.reset()
        return counts, value

    def create(self, trigger: str = "on-demand") -> Any:
        return self.manager.create(self.state, server_id=GUILD, workspace="default", trigger=trigger)  # type: ignore[arg-type]

    def set_tier(self, tier: str) -> Any:
        from gaib.tiers.manager import TierManager

        return TierManager(self.ports.store, self.ports.catalog, clock=lambda: self.now).set(GUILD, tier,
                                                                                            actor="bench")


def _fmt(counts: dict[str, int]) -> str:
    if not counts:
        return "-"
    return f"{sum(counts.values())} (" + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(counts.items())) + ")"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def quota_rows(kind: str, environ: dict[str, str]) -> list[list[Any]]:
    from gaib.errors import TierLimit

    rows: list[list[Any]] = []
    aws = kind != "local"
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), environ)
        first_req, _ = b.requests(b.create)  # the server's first backup also registers its tier

        def next_day_create() -> None:
            b.now += timedelta(days=1)
            b.create()

        create_s = median_seconds(next_day_create, REPEAT)
        b.now += timedelta(days=1)
        create_req, _ = b.requests(b.create)

        def refused() -> None:
            try:
                b.create()
            except TierLimit:
                return
            raise AssertionError("the quota did not refuse the second on-demand backup of the day")

        refused_s = median_seconds(refused, REPEAT)
        refused_req, _ = b.requests(refused)
        scheduled_req, _ = b.requests(lambda: b.create("scheduled"))
        b.set_tier("premium")
        premium_s = median_seconds(b.create, REPEAT)
        premium_req, _ = b.requests(b.create)
    n = sum(create_req.values())
    rows.append([kind, "backup create, free (quota check), first of the day", ms(create_s), _fmt(create_req),
                 f"<= {MAX_AWS_CREATE} req" if aws else "", ("yes" if n <= MAX_AWS_CREATE else "NO") if aws else ""])
    rows.append([kind, "backup create, free, the server's very first (registers its tier)", "", _fmt(first_req),
                 "", ""])
    rows.append([kind, "backup create refused by the quota (exit 7)", ms(refused_s), _fmt(refused_req), "", ""])
    rows.append([kind, "scheduled backup (never counted)", "", _fmt(scheduled_req), "", ""])
    rows.append([kind, "backup create, premium (unlimited: no counter)", ms(premium_s), _fmt(premium_req), "", ""])
    return rows


def prune_rows(kind: str, environ: dict[str, str]) -> tuple[list[list[Any]], dict[str, Any]]:
    from gaib.prune import service as prune_service

    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), environ)
        b.set_tier("premium")
        t0 = time.perf_counter()
        for h in range(HOURS, 0, -1):
            b.now = NOW - timedelta(hours=h - 1)
            b.create("scheduled")
        seed_s = time.perf_counter() - t0
        b.now = NOW
        (plan_s, (plan_req, plan)) = _timed(lambda: b.requests(lambda: prune_service.plan_prune(b.ports, "backup")))
        assert len(plan.bundles) == HOURS and not plan.retention.remove
        (retag_s, (retag_req, change)) = _timed(lambda: b.requests(lambda: b.set_tier("free")))
        assert change.retagged.changed == HOURS
        (free_plan_s, (free_plan_req, free_plan)) = _timed(
            lambda: b.requests(lambda: prune_service.plan_prune(b.ports, "backup")))
        removed = len(free_plan.retention.remove)
        assert removed == HOURS - 7 * 24
        (exec_s, (exec_req, outcome)) = _timed(
            lambda: b.requests(lambda: prune_service.execute_prune(b.ports, free_plan)))
        assert outcome.result.complete and len(outcome.result.removed) == removed
    rows.append([kind, f"prune plan over {HOURS:,} backups (premium: removes nothing)", ms(plan_s), _fmt(plan_req),
                 "", ""])
    rows.append([kind, f"tier set free: re-tag {HOURS:,} objects", ms(retag_s), _fmt(retag_req), "", ""])
    rows.append([kind, f"prune plan after premium -> free ({removed:,} to remove)", ms(free_plan_s),
                 _fmt(free_plan_req), "", ""])
    rows.append([kind, f"prune execute: remove {removed:,} backups (items, then objects)", ms(exec_s),
                 _fmt(exec_req), "", ""])
    rows.append([kind, f"prune total (plan + execute) of {HOURS:,} backups", ms(free_plan_s + exec_s),
                 str(sum(free_plan_req.values()) + sum(exec_req.values())) if free_plan_req else "-", "", ""])
    return rows, {"seed_s": seed_s}


def run() -> Report:
    sys.path.insert(0, str(ROOT))  # tests.support (moto_server) when run outside bench/run.py
    from tests.support.procs import moto_server

    from gaib.storage.aws import ensure_bucket, ensure_table

    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}
    report = Report(f"tiers: quota check on create (median of {REPEAT}), prune of {HOURS:,} hourly backups",
                    ["storage", "operation", "time", "AWS requests", "target", "met"])
    report.rows += quota_rows("local", base)
    local_prune, local_facts = prune_rows("local", base)
    with moto_server() as url:
        aws_env = moto_environ(url)
        with environ_set(aws_env):
            rows: list[list[Any]] = []
            for n, part in enumerate(("quota", "prune")):
                names = {"GAIB_BACKUP_BUCKET": f"gaib-bench-tiers-{n}", "GAIB_BACKUP_TABLE": f"gaib-bench-tiers-{n}"}
                ensure_bucket(names["GAIB_BACKUP_BUCKET"], region="us-east-1", endpoint_url=url)
                ensure_table(names["GAIB_BACKUP_TABLE"], region="us-east-1", endpoint_url=url)
                env = {**base, **aws_env, **names}
                if part == "quota":
                    rows += quota_rows("aws (moto)", env)
                else:
                    aws_prune, aws_facts = prune_rows("aws (moto)", env)
    report.rows += rows + local_prune + aws_prune
    report.notes.append(f"seeding {HOURS:,} backups took {local_facts['seed_s']:.1f} s locally and "
                        f"{aws_facts['seed_s']:.1f} s on moto (not part of the figures)")
    report.notes.append("prune removes catalog items first (SQLite: one transaction per batch of 250; DynamoDB: "
                        "BatchWriteItem, 25 per request), then the objects (S3 DeleteObjects, up to 1,000 per request)")
    report.notes.append("AWS timings are against moto on 127.0.0.1, not AWS itself: compare requests, not ms "
                        "(most of the AWS plan time is moto answering the 3 Query pages of ~1 MB)")
    return report


if __name__ == "__main__":
    print(run().render())
