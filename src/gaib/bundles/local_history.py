"""What the local store still holds for a server once S3 is configured: the history a listing must mention.

A project that kept its backups, snapshots and deployments in the local store (``.gaib/backups``) and
then set ``GAIB_BACKUP_BUCKET`` reads S3 from then on, where nothing is recorded yet. The listings that
would then say "nothing" (``backup list``, ``snapshot list``, ``theme registry``) or show the free tier
(``tier show``) call :func:`local_history` and, when it returns something, say how much the local store
holds and how to copy it (``gaib server backup migrate --to s3``).

Only reads: the local catalog is queried (one query per kind and page) and nothing is created. A local
store that cannot be read (damaged, not a store) counts as holding nothing, with a notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gaib.errors import GaibError
from gaib.names import NAME_PATTERN
from gaib.ports import Ports
from gaib.storage.base import Catalog
from gaib.storage.keys import BACKUP_SK_PREFIX, DEPLOY_SK_PREFIX, SNAPSHOT_SK_PREFIX, TIER_SK, server_pk

MIGRATE_COMMAND = "gaib server backup migrate --to s3"
_PAGE = 500


@dataclass(frozen=True)
class LocalHistory:
    """The counts of one server's bundles in the local store, and the tier recorded there (None: none)."""

    path: str
    backups: int
    snapshots: int
    deployments: int
    tier: str | None

    @property
    def bundles(self) -> int:
        return self.backups + self.snapshots + self.deployments

    @property
    def empty(self) -> bool:
        """Nothing worth copying: no bundle, and no tier but the default one."""
        return not self.bundles and self.tier in (None, "free")

    def counts(self) -> str:
        """``3 backups, 2 snapshots and 1 deployment`` (the kinds it holds; ``nothing`` without any)."""
        parts = [f"{n} {noun}{'' if n == 1 else 's'}" for n, noun in
                 ((self.backups, "backup"), (self.snapshots, "snapshot"), (self.deployments, "deployment")) if n]
        if not parts:
            return "nothing"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def notice(self) -> str:
        """One sentence for people: what the local store holds and the command that copies it."""
        if not self.bundles:
            return (f"The local store ({self.path}) has this server on the {self.tier} tier, not S3: copy it with "
                    f"'{MIGRATE_COMMAND}'.")
        tier = f" (on the {self.tier} tier)" if self.tier else ""
        return (f"The local store ({self.path}) holds {self.counts()} of this server{tier}, not on S3: copy them "
                f"with '{MIGRATE_COMMAND}'.")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "backups": self.backups, "snapshots": self.snapshots,
                "deployments": self.deployments, "tier": self.tier, "migrate": MIGRATE_COMMAND}


def _count(catalog: Catalog, server_id: str, prefix: str) -> int:
    total, cursor = 0, None
    while True:
        page = catalog.query(server_pk(server_id), prefix, limit=_PAGE, cursor=cursor)
        total += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return total


def local_history(ports: Ports, server_id: str) -> LocalHistory | None:
    """What the local store holds of ``server_id`` while the configured store is S3; None on the local
    store, without a local folder, or when it holds nothing of this server."""
    local = ports.local_storage()
    if local is None:
        return None
    _, catalog = local
    try:
        item = catalog.get(server_pk(server_id), TIER_SK)
        raw = item.get("tier") if item is not None else None
        found = LocalHistory(path=str(ports.settings.backup_dir),
                             backups=_count(catalog, server_id, BACKUP_SK_PREFIX),
                             snapshots=_count(catalog, server_id, SNAPSHOT_SK_PREFIX),
                             deployments=_count(catalog, server_id, DEPLOY_SK_PREFIX),
                             tier=raw if isinstance(raw, str) and re.fullmatch(NAME_PATTERN, raw) else None)
    except GaibError as exc:
        ports.notice(f"the local store {ports.settings.backup_dir} could not be read: {exc.message}")
        return None
    return None if found.empty else found
