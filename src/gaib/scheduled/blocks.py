"""Blocks of a window's listing: how the tasks of one window split its servers without meeting.

Claims (:mod:`gaib.scheduled.claims`) make each server's work exclusive; blocks make the split cheap. The
listing of a tier is cut into blocks by content (a cut after a server whose id hashes to a multiple of
``AVERAGE``, within ``MINIMUM``..``MAXIMUM`` servers), so every task of a window cuts the same listing
the same way, and one server more or less moves only the cuts next to it. Each block has a catalog item
``SCHEDULER#{tier} / BLOCK#{window}#{operation}#{shard}#{first server}``:

* first pass: a task takes the blocks it reaches first (one conditional put each) and works on them;
  blocks another task took are set aside;
* second pass: the set-aside blocks, last taken first and each one's servers in reverse order (the owner
  works forward, so the two meet once, in the middle of the owner's last block); a block marked ``done``
  is skipped without reading its servers' claims.

A block is marked ``done`` once every server in it has a final claim. A task that dies leaves its blocks
``running``: the others' second pass goes through them and does the servers the dead task never
claimed. Block items expire with the window's claims (a week, ``claims.KEEP``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gaib.clock import Clock
from gaib.errors import Conflict, NotFound
from gaib.scheduled.claims import KEEP, iso
from gaib.storage.base import Catalog
from gaib.storage.keys import parse_window, run_block_sk, scheduler_pk

AVERAGE: Final = 64
"""Servers per block on average (a cut after 1 server in 64, by the hash of its id)."""
MINIMUM: Final = 8
MAXIMUM: Final = 256


def _cuts_after(server_id: str) -> bool:
    digest = hashlib.sha256(b"gaib-run-block:" + server_id.encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") % AVERAGE == 0


def cut_blocks(servers: Iterable[str]) -> Iterator[list[str]]:
    """The listing ``servers`` cut into blocks (in listing order); the same listing always gives the
    same blocks, and a server added or removed changes only the blocks around it."""
    block: list[str] = []
    for server_id in servers:
        block.append(server_id)
        if len(block) >= MAXIMUM or (len(block) >= MINIMUM and _cuts_after(server_id)):
            yield block
            block = []
    if block:
        yield block


@dataclass(frozen=True)
class Block:
    """Some servers of the listing, as one task goes through them."""

    servers: tuple[str, ...]
    sk: str
    owned: bool
    """True when this task took the block first (its first pass)."""
    done: bool = False
    """True when the block was already marked done (its servers are skipped without a read)."""


class BlockClaims:
    """The block items of one task's pass over one window of one tier (and shard)."""

    def __init__(self, catalog: Catalog, *, clock: Clock, task: str, tier: str, window: str, operation: str,
                 shard: str) -> None:
        self.catalog = catalog
        self.clock = clock
        self.task = task
        self.tier = tier
        self.window = window
        self.operation = operation
        self.shard = shard
        self.pk = scheduler_pk(tier)

    def sk(self, servers: list[str] | tuple[str, ...]) -> str:
        return run_block_sk(self.window, self.operation, self.shard, servers[0])

    def take(self, servers: list[str]) -> Block:
        """The block, ``owned`` when this task created its item first (never overwrites another's)."""
        sk = self.sk(servers)
        now = self.clock()
        expires = max(parse_window(self.window), now) + KEEP
        try:
            self.catalog.put_if_absent(self.pk, sk, {
                "kind": "run-block", "tier": self.tier, "window": self.window, "operation": self.operation,
                "shard": self.shard, "first": servers[0], "servers": len(servers), "task": self.task,
                "status": "running", "started_at": iso(now), "expires_at": int(expires.timestamp())})
        except Conflict:
            return Block(tuple(servers), sk, owned=False)
        return Block(tuple(servers), sk, owned=True)

    def revisit(self, block: Block) -> Block:
        """A set-aside block for the second pass: its servers in reverse order, ``done`` when its item
        says so now."""
        item = self.catalog.get(self.pk, block.sk)
        done = item is not None and item.get("status") == "done"
        return Block(tuple(reversed(block.servers)), block.sk, owned=False, done=done)

    def finish(self, block: Block, at: datetime) -> None:
        """Mark the block done (every server in it has a final claim); nothing when its item is gone."""
        with contextlib.suppress(NotFound):
            self.catalog.update(self.pk, block.sk, {"status": "done", "finished_at": iso(at),
                                                    "finished_by": self.task})


__all__ = ["AVERAGE", "MAXIMUM", "MINIMUM", "Block", "BlockClaims", "cut_blocks"]
