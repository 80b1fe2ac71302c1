"""``gaib server backup run-scheduled``: one window of a tier's scheduled runs (the ECS task's command).

EventBridge starts N identical Fargate tasks per window; the catalog coordinates them:

1. The tier's servers come from the catalog's tier index, a page at a time (``Catalog.index_query``).
   ``--shard I/N`` keeps the servers whose id hashes to shard I (sha256, deterministic; the shard, the
   window and the other options are read in :mod:`gaib.scheduled.window`). The listing is cut into
   blocks (:mod:`gaib.scheduled.blocks`, ~64 servers, the same cuts in every task): a task works first
   on the blocks it took before any other task (one conditional put per block), then goes back through
   the others' blocks that are not yet done, backwards, for the servers nobody claimed (a dead task's).
   Listing and taking blocks run in their own thread while the workers back up.
2. Just before a batch of servers is started, one batched read (``Catalog.get_many``) fetches their
   ``SCHEDULE`` items and their claims for this window (:mod:`gaib.scheduled.claims`); servers another task
   finished or is working on are skipped without another request.
3. Per server (``--concurrency`` at once; :mod:`gaib.scheduled.jobs`), for state backups: read each
   workspace's state where the schedule says it lives, and compare it with the last backup the scheduled
   runs wrote (its sha256, kept in the ``SCHEDULE`` item's ``status``). When nothing changed and nothing
   else is due, the claim is created with its outcome (``unchanged``) in one conditional put — an
   unchanged server costs the state read and that put. Otherwise the server is claimed (``running``,
   leased), each changed workspace is backed up (trigger ``scheduled``), the config is exported if the
   schedule asks, backups are pruned when a removal is due (at most daily per server), and the claim
   gets its outcome. For ``--snapshots`` runs (premium, weekly): a snapshot of the live guild and the
   state, then snapshots are pruned.
4. One server's failure (a missing or corrupt state, a damaged schedule, Discord or storage failing)
   fails that server only: it is recorded on its claim, published as a ``*.failed`` event, and the run
   goes on. The report says what happened; the command exits 8 when some server failed.
5. When the pass is over, the heartbeat item ``SCHEDULER#{tier} / HEARTBEAT#{operation}`` records the
   window, and the report carries the heartbeat metric; one ``scheduled-run.summary`` event is published
   (:mod:`gaib.scheduled.report`).

Claims make retries, overlaps and duplicates harmless: whatever number of tasks run a window, each
server is backed up at most once in it; a task that dies leaves its unclaimed servers to the others,
and its claimed-but-unfinished ones to a task that takes over the claim once its lease has passed (or to
the next window).
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Final

from gaib.errors import GaibError, InvalidInput
from gaib.interrupt import Workers
from gaib.ports import RunPorts
from gaib.scheduled.blocks import Block, BlockClaims, cut_blocks
from gaib.scheduled.claims import claim_state
from gaib.scheduled.jobs import ServerJobs
from gaib.scheduled.report import RunReport, ServerResult, publish_summary, write_heartbeat
from gaib.scheduled.window import Operation, RunOptions, resolve_window
from gaib.storage.base import TIER_INDEX, Item
from gaib.storage.keys import SCHEDULE_SK, server_of_pk, server_pk
from gaib.tiers.table import POLICIES, TierPolicy, check_tier

BATCH: Final = 50
"""Servers whose schedule and claim are read together (100 keys: one ``BatchGetItem``) just before they
are worked on."""
SECOND_PASS_BATCH: Final = 10
"""The same in another task's block: smaller, so the two tasks meet on fewer servers read by both."""


class _Run:
    """One task's pass over one window (the module docstring tells the steps): the reading side here,
    each server's work in :class:`~gaib.scheduled.jobs.ServerJobs`."""

    def __init__(self, ports: RunPorts, options: RunOptions, policy: TierPolicy, operation: Operation,
                 window: str) -> None:
        self.ports = ports
        self.options = options
        self.policy = policy
        self.task = f"{window}-{secrets.token_hex(4)}"
        self.jobs = ServerJobs(ports, policy, operation, window, task=self.task, lease=options.lease)
        self.blocks = BlockClaims(ports.catalog, clock=ports.clock, task=self.task, tier=policy.name,
                                  window=window, operation=operation,
                                  shard=options.shard.label if options.shard else "all")

    # --- listing -------------------------------------------------------------------------------------

    def read_blocks(self, out: queue.Queue[Block | BaseException | None], stop: threading.Event) -> None:
        """The reading side of a run, in its own thread while the workers back up: list the tier's servers,
        cut the listing into blocks and take the free ones (first pass), then revisit the blocks other tasks
        took, last first (second pass; :mod:`gaib.scheduled.blocks`). Hands the blocks on, then None, or
        the exception that stopped it."""
        try:
            others: list[Block] = []
            for servers in cut_blocks(self.listing()):
                if stop.is_set():
                    return
                block = self.blocks.take(servers)
                if block.owned:
                    out.put(block)
                else:
                    others.append(block)
            for block in reversed(others):
                if stop.is_set():
                    return
                out.put(self.blocks.revisit(block))
            out.put(None)
        except BaseException as exc:  # handed to the run's thread, which raises it
            out.put(exc)

    def listing(self) -> Iterator[str]:
        """The servers of the tier in this task's shard, from the tier index, a page at a time."""
        cursor: str | None = None
        while True:
            page = self.ports.catalog.index_query(TIER_INDEX, self.policy.name, limit=self.options.page_size,
                                                  cursor=cursor)
            for pk, _sk in page.keys:
                try:
                    sid = server_of_pk(pk)
                except GaibError:
                    continue  # not a server's item: nothing a run can do with it
                if self.options.shard is None or self.options.shard.holds(sid):
                    yield sid
            cursor = page.next_cursor
            if cursor is None:
                return

    def batch(self, servers: list[str]) -> list[tuple[str, Item | None, Item | None]]:
        """(server id, schedule item, claim item) of ``servers``, in one batched read."""
        keys = [self.jobs.key(sid) for sid in servers]
        found = self.ports.catalog.get_many([(server_pk(s), SCHEDULE_SK) for s in servers] +
                                            [(k.pk, k.sk) for k in keys])
        return [(s, found.get((server_pk(s), SCHEDULE_SK)), found.get((k.pk, k.sk)))
                for s, k in zip(servers, keys, strict=True)]


def run_scheduled(ports: RunPorts, options: RunOptions, *,
                  progress: Callable[[str], None] | None = None) -> RunReport:
    """Do one window of the tier's scheduled backups (or snapshots) for this task's share of servers.

    Raises InvalidInput (exit 6) for a bad tier, window or shard, or ``--snapshots`` on a tier without
    automatic snapshots. Storage failures while listing stop the run (nothing else can go on); every
    per-server failure is in the report instead.
    """
    policy = POLICIES[check_tier(options.tier)]
    operation: Operation = "snapshot" if options.snapshots else "backup"
    if options.snapshots and policy.snapshot_schedule is None:
        raise InvalidInput(f"The {policy.name} tier takes no automatic snapshots (they are manual).",
                           hint="Run --snapshots for the premium tier only.", code="USAGE_ERROR")
    started = ports.clock()
    window = resolve_window(policy, operation, options.window, started)
    run = _Run(ports, options, policy, operation, window)
    report = RunReport(tier=policy.name, operation=operation, window=window, task=run.task, shard=options.shard,
                       started_at=started)
    clock = time.monotonic()
    before = ports.request_counts()
    blocks: queue.Queue[Block | BaseException | None] = queue.Queue(2)
    stop = threading.Event()
    reader = threading.Thread(target=run.read_blocks, args=(blocks, stop), name="gaib-run-reader", daemon=True)
    reader.start()
    with Workers(max_workers=options.concurrency, thread_name_prefix="gaib-run") as pool:
        work = _Work(run, pool, report, progress)
        try:
            while (block := blocks.get()) is not None:
                if isinstance(block, BaseException):
                    raise block
                work.block(block)
            work.drain(0)
        except BaseException:
            stop.set()
            work.cancel()
            raise
    report.complete = True
    report.finished_at = ports.clock()
    report.duration_ms = int((time.monotonic() - clock) * 1000)
    write_heartbeat(ports, report)
    publish_summary(ports, report)
    after = ports.request_counts()
    if before is not None and after is not None:
        report.requests = {op: n - before.get(op, 0) for op, n in after.items() if n > before.get(op, 0)}
    return report


class _Work:
    """The run's side of the workers: starts each block's servers a batch at a time (at most
    ``--concurrency`` waiting beyond a batch), collects their results into the report, and marks a block
    done once every server in it has a final claim."""

    def __init__(self, run: _Run, pool: Workers, report: RunReport,
                 progress: Callable[[str], None] | None) -> None:
        self.run = run
        self.pool = pool
        self.report = report
        self.progress = progress
        self.limit = run.options.concurrency
        self.pending: dict[Future[ServerResult], Block] = {}
        self.left: dict[str, int] = {}
        self.final: dict[str, bool] = {}

    def block(self, block: Block) -> None:
        if block.done:  # another task finished it: nothing to read
            for sid in block.servers:
                self.report.add(ServerResult(sid, "claimed"))
            return
        self.left[block.sk] = len(block.servers)
        self.final[block.sk] = True
        size = BATCH if block.owned else SECOND_PASS_BATCH
        for start in range(0, len(block.servers), size):
            self.drain(self.limit)
            for sid, schedule_item, claim in self.run.batch(list(block.servers[start:start + size])):
                state = claim_state(claim, self.run.ports.clock())
                if state in ("final", "running"):
                    self.settle(block, ServerResult(sid, "claimed", final=state == "final"))
                else:
                    stale = claim if state == "stale" else None
                    self.pending[self.pool.submit(self.run.jobs.server, sid, schedule_item, stale)] = block

    def drain(self, limit: int) -> None:
        """Collect results until at most ``limit`` servers are still in the workers' hands."""
        while len(self.pending) > limit:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                self.settle(self.pending.pop(future), future.result())

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()

    def settle(self, block: Block, result: ServerResult) -> None:
        report, progress = self.report, self.progress
        report.add(result)
        if progress is not None and result.outcome == "failed":
            codes = ", ".join(e.error_code for _, e in result.errors)
            progress(f"server {result.server_id}: failed ({codes})")
        if progress is not None and report.listed % 1000 == 0:
            progress(f"{report.listed} servers: {report.created} backed up, {report.unchanged} unchanged, "
                     f"{report.failed} failed, {report.empty} without a state, "
                     f"{report.claimed_elsewhere + report.unscheduled} skipped")
        self.final[block.sk] = self.final[block.sk] and result.final
        self.left[block.sk] -= 1
        if self.left[block.sk] == 0:
            del self.left[block.sk]
            if self.final.pop(block.sk):
                try:
                    self.run.blocks.finish(block, self.run.ports.clock())
                except GaibError as exc:  # only the next tasks' shortcut is lost
                    self.run.ports.notice(f"block {block.sk} could not be marked done: {exc.message}")


__all__ = ["BATCH", "SECOND_PASS_BATCH", "run_scheduled"]
