"""Service tiers: what each tier keeps, and which tier a server is on.

A server's tier is the ``tier`` field of its catalog item ``SERVER#{id} / TIER``; a server without
one is on the free tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from gaib.storage.base import Catalog
from gaib.storage.keys import TIER_SK, server_pk

Tier = Literal["free", "premium"]


@dataclass(frozen=True)
class TierPolicy:
    name: Tier
    retention: timedelta
    on_demand_per_day: int | None  # None: unlimited
    cross_region: bool


POLICIES: dict[str, TierPolicy] = {
    "free": TierPolicy("free", timedelta(days=7), 1, False),
    "premium": TierPolicy("premium", timedelta(days=90), None, True),
}


def tier_of(catalog: Catalog, server_id: str) -> TierPolicy:
    item = catalog.get(server_pk(server_id), TIER_SK)
    name = str(item.get("tier", "free")) if item else "free"
    return POLICIES.get(name, POLICIES["free"])
