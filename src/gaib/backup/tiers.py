"""Service tiers: what each tier keeps, and which tier a server is on.

A server's tier is the ``tier`` field of its catalog item ``SERVER#{id} / TIER``; a server without
one is on the free tier.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from gaib.errors import Conflict
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


def tier_of(catalog: Catalog, server_id: str, *, register: bool = False) -> TierPolicy:
    """The server's tier policy. With ``register``, a server without a tier item gets one (free), so
    the scheduler's ``tier-index`` (keyed on ``server_tier``) lists every server that has backups."""
    item = catalog.get(server_pk(server_id), TIER_SK)
    if item is None and register:
        with contextlib.suppress(Conflict):
            catalog.put_if_absent(server_pk(server_id), TIER_SK, tier_item(server_id, "free"))
    name = str(item.get("tier", "free")) if item else "free"
    return POLICIES.get(name, POLICIES["free"])


def tier_item(server_id: str, tier: Tier) -> dict[str, str]:
    """The ``SERVER#{id}/TIER`` item; ``server_tier`` is the hash key of the table's tier-index GSI."""
    return {"tier": tier, "server_tier": tier, "server_id": server_id}
