"""The theme deployment registry: recording deployments and reading the registry, history and audit log.

Every successful or partial ``apply`` (:func:`gaib.deployments.deploy.apply_and_record`), every ``theme rollback``
and every ``snapshot restore`` records a deployment (:mod:`gaib.deployments.store`) through :func:`record`, which,
in this order: stores the deployment (its config part, then its ``DEPLOY#`` item); prunes the
server's older deployments under its tier's theme-history retention (free: the last 5; premium: all),
item first, then part; rewrites ``themes/{server}/registry.json`` by compare-and-swap
(:mod:`gaib.deployments.document`); and writes an audit event (:mod:`gaib.deployments.audit`). A failed apply
that changed nothing records no deployment, only a ``failure`` audit event; a ``theme rollback`` or
``snapshot restore`` that changed nothing on Discord or in the state records nothing at all (their
callers do not call here), so "+0 ~0 -0" entries never push real deployments out of the tier's history.

What is never stored: the bot token or a webhook URL from the environment (replaced by ``[redacted]``
in the stored config), and theme variable values that may be secret. Only variables the theme's
manifest declares are recorded; a variable whose value the config file takes from the environment
(``${NAME}``) is recorded as that expression, never its value; a variable whose name says it is a
secret (``token``, ``secret``, ``password``, ``key``, ``webhook``, ``credential``, ``auth`` as a word of
its name) or whose value contains a known secret, a webhook URL or a Discord-token-shaped string is
recorded as ``[redacted]``.

Who: ``GAIB_ACTOR``, else the OS user; ``via`` is ``ci`` when the environment says so (``CI``),
``scheduled`` for scheduled runs, else ``cli``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gaib.bundles.retention import Retained, plan_retention
from gaib.deployments import audit, document
from gaib.deployments.store import Deployment, DeploymentStore, NewDeployment, Via, is_theme, iso
from gaib.errors import GaibError
from gaib.notify.events import clean_text
from gaib.ports import Ports
from gaib.redact import REDACTED, replace_secrets, secrets_from
from gaib.settings import Settings
from gaib.storage.documents import update_document
from gaib.storage.keys import check_id, new_id, parse_id, theme_registry_key
from gaib.tiers.table import TierPolicy, tier_of

if TYPE_CHECKING:
    from gaib.themes.apply import AppliedTheme

SHOWN_RECENT = 5
MAX_VARIABLE_TEXT = 200
_SECRET_WORDS = r"token|secret|secrets|password|passwd|pass|key|apikey|webhook|credential|credentials|auth"
_SECRET_NAME = re.compile(rf"(^|_)({_SECRET_WORDS})(_|$)")
_ENV_REFERENCE = re.compile(r"(?<!\$)\$\{")


# --- who ----------------------------------------------------------------------------------------------------


def who(settings: Settings, via: Via | None = None) -> tuple[str, Via]:
    """The actor (``GAIB_ACTOR``, else the OS user, else ``unknown``) and how Gaib was run."""
    actor = clean_text(settings.actor or settings.os_user or "unknown", limit=64) or "unknown"
    return actor, via or ("ci" if settings.ci else "cli")


# --- what is recorded ---------------------------------------------------------------------------------------


def _secret_value(text: str, secrets: list[str]) -> bool:
    return REDACTED in clean_text(text, secrets, limit=len(text) + len(REDACTED) + 1)


def recorded_variables(values: Mapping[str, Any], written: Mapping[str, Any],
                       environ: Mapping[str, str]) -> dict[str, Any]:
    """The theme variables as a deployment records them (see the module docstring for the rule).

    ``values`` are the resolved values of the declared variables, ``written`` what the config file
    wrote under ``theme.variables`` before interpolation.
    """
    secrets = secrets_from(environ)
    out: dict[str, Any] = {}
    for name, value in values.items():
        raw = written.get(name)
        if _SECRET_NAME.search(name.lower()):
            out[name] = REDACTED
        elif isinstance(raw, str) and _ENV_REFERENCE.search(raw):
            out[name] = REDACTED if _secret_value(raw, secrets) else raw[:MAX_VARIABLE_TEXT]
        elif isinstance(value, str):
            out[name] = REDACTED if _secret_value(value, secrets) else value[:MAX_VARIABLE_TEXT]
        else:
            out[name] = value
    return out


def theme_record(applied: AppliedTheme | None, written: Mapping[str, Any], environ: Mapping[str, str]
                 ) -> dict[str, Any] | None:
    """The theme a deployment records: name, version, origin and the recorded variables (or None)."""
    if applied is None:
        return None
    return {"name": applied.name, "version": applied.version, "origin": applied.origin,
            "variables": recorded_variables(applied.variables, written, environ)}


def change_counts(result: Mapping[str, Any] | None) -> dict[str, int]:
    """created/updated/deleted/failed of an ApplyResult's dict (forgotten objects count as deleted)."""
    result = result or {}

    def n(name: str) -> int:
        value = result.get(name)
        return len(value) if isinstance(value, list) else 0

    return {"created": n("created"), "updated": n("updated"), "deleted": n("deleted") + n("forgotten"),
            "failed": n("failed")}


# --- recording ----------------------------------------------------------------------------------------------


def deployments(ports: Ports) -> DeploymentStore:
    return DeploymentStore(ports.store, ports.catalog, clock=ports.clock,
                           max_bundle_bytes=ports.settings.max_bundle_bytes, mac=ports.mac, notice=ports.notice)


def current(store: DeploymentStore, server_id: str) -> Deployment | None:
    """The newest readable deployment of the server in the catalog's order of writes (one catalog query
    per 1,000 deployments), or None."""
    found = store.newest_first(server_id, damaged=[])
    return found[0] if found else None


@dataclass(frozen=True)
class Recorded:
    deployment: Deployment
    pruned: tuple[str, ...] = ()
    audit_id: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def record(ports: Ports, new: NewDeployment, *, operation: audit.Operation, from_id: str | None,
           detail: Mapping[str, Any] | None = None) -> Recorded:
    """Store ``new`` as the server's newest deployment, prune, rewrite the registry document and audit it.

    The deployment exists once its item is written; a failure of the steps after (prune, document,
    audit) is returned as a warning, never raised, so a recorded deployment is never reported as lost.
    """
    store = deployments(ports)
    sid = new.server_id
    policy = tier_of(ports.catalog, sid, register=True)
    deployment = store.write(new_id(ports.clock()), new, tier=policy.name)
    warnings: list[str] = []
    pruned: tuple[str, ...] = ()
    try:
        pruned = prune(ports, store, sid, policy)
    except GaibError as exc:
        warnings.append(f"older deployments were not pruned: {exc.message}")
    try:
        refresh_document(ports, store, sid, policy)
    except GaibError as exc:
        warnings.append(f"the registry document was not updated: {exc.message}")
    audit_id = None
    try:
        audit_id = audit.write(
            ports.store, ports.clock, server_id=sid, workspace=new.workspace, actor=new.actor, via=new.via,
            what="rollback" if new.action == "rollback" else "deploy", operation=operation,
            outcome="success" if new.result == "success" else "partial", from_id=from_id,
            to_id=new.rolled_back_to or deployment.id, deployment=deployment.id,
            theme=deployment.summary()["theme"], detail={**dict(new.counts), **dict(detail or {})}).id
    except GaibError as exc:
        warnings.append(f"the audit event was not written: {exc.message}")
    for w in warnings:
        ports.notice(w)
    return Recorded(deployment, pruned, audit_id, tuple(warnings))


def prune(ports: Ports, store: DeploymentStore, server_id: str, policy: TierPolicy) -> tuple[str, ...]:
    """Remove the deployments the tier's theme history does not keep (item first, then config part)."""
    retention = policy.theme_history_retention()
    if retention.keeps_everything:
        return ()
    kept = [Retained(d.id, (server_id,), parse_id(d.id), d.manifest.stored_size, sequence=d.sequence)
            for d in store.every(server_id, damaged=[])]
    plan = plan_retention(kept, retention, ports.clock())
    for decision in plan.remove:
        store.delete(server_id, decision.item.id)
    return plan.remove_ids


def refresh_document(ports: Ports, store: DeploymentStore, server_id: str, policy: TierPolicy) -> None:
    """Rewrite ``registry.json`` by compare-and-swap from the catalog's newest deployments, listed after
    each read of the document (so the write that wins saw every deployment recorded before it)."""

    def change(old: bytes | None) -> bytes:
        fresh = [d.summary() for d in store.newest_first(server_id, damaged=[])[:document.RECENT]]
        return document.merged(old, server_id, fresh, updated_at=iso(ports.clock()))

    update_document(ports.store, theme_registry_key(server_id), change, content_type="application/json",
                    tags={"ServerId": server_id, "Tier": policy.name})


def audit_failure(ports: Ports, server_id: str | None, operation: audit.Operation, exc: GaibError, *,
                  from_id: str | None = None, to_id: str | None = None, detail: Mapping[str, Any] | None = None,
                  via: Via | None = None) -> None:
    """Write a ``failure`` audit event; a failure to write it is a notice (the original error stands)."""
    if server_id is None:
        return
    actor, how = who(ports.settings, via)
    try:
        audit.write(ports.store, ports.clock, server_id=server_id, workspace=ports.settings.workspace, actor=actor,
                    via=how, what="failure", operation=operation, outcome="failed", from_id=from_id, to_id=to_id,
                    error=audit.error_info(exc, secrets_from(ports.settings.environ)), detail=detail)
    except GaibError as err:
        ports.notice(f"the failure was not written to the audit log: {err.message}")


# --- snapshot restore ---------------------------------------------------------------------------------------


def _snapshot_entry(snapshot_registry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The current entry of a snapshot's registry document, if it is one this Gaib can walk from."""
    entry = document.current_entry(snapshot_registry)
    if entry is None:
        return None
    try:
        for name in ("id", "position"):
            check_id(entry.get(name), name)
        if entry.get("parent") is not None:
            check_id(entry["parent"], "parent")
    except GaibError:
        return None
    return entry


def record_snapshot_restore(ports: Ports, server_id: str, *, snapshot_id: str, snapshot_registry: Mapping[str, Any],
                            config_text: str, config_counts: Mapping[str, int], applied: bool,
                            result: Mapping[str, Any] | None, serial: int | None, partial: bool,
                            via: Via | None = None) -> Recorded | None:
    """Record a snapshot restore as a ``rollback`` deployment returning to the deployment that was current
    in the snapshot's registry (its theme, position and parent), with the snapshot's config. A snapshot
    taken before any deployment returns to "nothing before". A failure to record is a notice."""
    settings = ports.settings
    try:
        store = deployments(ports)
        previous = current(store, server_id)
        entry = _snapshot_entry(snapshot_registry)
        theme: Mapping[str, Any] | None = None
        if entry is not None:
            kept = store.find(server_id, entry["id"]) if isinstance(entry.get("id"), str) else None
            theme = kept.theme if kept is not None else entry.get("theme")
            theme = theme if is_theme(theme) else None
        actor, how = who(settings, via)
        state = ports.state.get(settings.workspace)
        new = NewDeployment(
            server_id=server_id, workspace=settings.workspace, action="rollback", actor=actor, via=how,
            config_text=replace_secrets(config_text, secrets_from(settings.environ)),
            result="partial" if partial else "success", theme=theme,
            serial=serial, lineage=state.lineage if state is not None else None,
            counts={**change_counts(result), **{k: int(v) for k, v in config_counts.items()
                                                if k in ("roles", "categories", "channels")}},
            previous=previous.id if previous is not None else None,
            position=entry["position"] if entry is not None else None,
            parent=entry.get("parent") if entry is not None else None,
            rolled_back_to=entry["id"] if entry is not None else None, snapshot=snapshot_id,
            message=f"snapshot {snapshot_id} restored" + (" to Discord" if applied else " (state and config only)"))
        return record(ports, new, operation="snapshot-restore", from_id=new.previous,
                      detail={"snapshot": snapshot_id, "applied_to_discord": applied})
    except GaibError as exc:
        ports.notice(f"the restore was not recorded in the theme registry: {exc.message}")
        return None


# --- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryView:
    server_id: str
    policy: TierPolicy
    current: Deployment | None
    recent: list[Deployment]
    damaged: list[str]

    def to_dict(self) -> dict[str, Any]:
        keep = self.policy.theme_history_keep_last
        return {"server_id": self.server_id, "tier": self.policy.name, "keeps": keep,
                "current": self.current.to_dict() if self.current else None,
                "recent": [d.to_dict() for d in self.recent], "damaged": self.damaged}


def view(ports: Ports, server_id: str) -> RegistryView:
    """The current deployment and the ones before it (at most SHOWN_RECENT) in the catalog's order of
    writes: one catalog query per 1,000 deployments, plus the tier item."""
    store = deployments(ports)
    damaged: list[str] = []
    found = store.newest_first(server_id, damaged=damaged)[:SHOWN_RECENT + 1]
    policy = tier_of(ports.catalog, server_id)
    return RegistryView(server_id, policy, found[0] if found else None, found[1:], damaged)


def history(ports: Ports, server_id: str, *, limit: int, cursor: str | None,
            damaged: list[str]) -> tuple[list[Deployment], str | None]:
    """Every kept deployment, newest first, one catalog query per page."""
    return deployments(ports).list(server_id, limit=limit, cursor=cursor, damaged=damaged)


def audit_log(ports: Ports, server_id: str, *, limit: int, damaged: list[str]) -> list[dict[str, Any]]:
    """The newest ``limit`` audit events, newest first."""
    return audit.list_events(ports.store, server_id, limit=limit, damaged=damaged)
