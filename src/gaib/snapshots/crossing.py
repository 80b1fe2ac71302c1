"""Copying another server's structure: ``snapshot restore ID --from-server A`` (what Xenon calls a template).

Server A's snapshot is read from A's place in the store and must authenticate as A's (its MAC verifies
for A's server id and prefix; an unsealed snapshot is refused: reseal it on A first). Only its structure
is restored into the current server: roles, categories, channels and their overwrites (the config),
the server's settings, emojis and stickers. Never its bans, members or messages: they are dropped
before planning (:func:`structure_only`), ``--messages`` is refused, and so is ``--prune-unmanaged``
(which would lift this server's bans and delete what it holds that A's snapshot lacks). A bookkeeping
restore (neither ``--apply`` nor ``--dry-run``) is refused too: A's state names A's objects.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gaib.errors import BundleNotAuthentic, UsageError
from gaib.names import check_snowflake

if TYPE_CHECKING:
    from gaib.snapshots.parts import Extras
    from gaib.snapshots.store import SnapshotContent, SnapshotManager


def source(manager: SnapshotManager, from_server: str, snapshot_id: str, *, into: str, apply: bool,
           dry_run: bool, messages: bool, prune_unmanaged: bool) -> SnapshotContent:
    """Server ``from_server``'s snapshot, verified and authenticated as that server's (see the module
    docstring); UsageError (exit 6) for an option a structure copy refuses, BundleNotAuthentic (exit 3) for
    a snapshot without a MAC."""
    source_id = check_snowflake(from_server, "--from-server")
    if messages:
        raise UsageError("--from-server copies another server's structure only: its messages are never "
                         "replayed here. Drop --messages.")
    if prune_unmanaged:
        raise UsageError("--from-server cannot be used with --prune-unmanaged: copying another server's "
                         "structure never deletes what this server holds or lifts its bans.")
    if not (apply or dry_run):
        raise UsageError("--from-server copies another server's structure onto this one: pass --apply "
                         "(or --dry-run to see the plan); its state is never made this server's.")
    if source_id == into:
        raise UsageError("--from-server names this server; restore its own snapshot without it.")
    record = manager.get(source_id, snapshot_id)
    if not manager.repo.authenticate(record.manifest):
        raise BundleNotAuthentic(
            f"Snapshot {snapshot_id} of server {source_id} has no MAC: it cannot be proven to be that server's, "
            "so its structure is not copied.",
            hint=f"Seal server {source_id}'s bundles with 'gaib server backup reseal -g {source_id}', then copy again.",
            details={"from_server": source_id, "id": snapshot_id})
    return manager.load(record)


def structure_only(extras: Extras) -> Extras:
    """The community parts without any personal data: no bans, no messages."""
    return replace(extras, bans=(), messages={})
