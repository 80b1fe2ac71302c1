"""Theme deployments: what each apply or rollback deployed, as immutable one-part bundles.

A deployment is a bundle (:mod:`gaib.bundles.repository`) with one part, ``config``: the effective
config it deployed (its theme merged in, standalone YAML), stored at
``themes/{server_id}/deployments/config.{id}.yaml.gz``. Its manifest (kind ``deployment``) is the
catalog item ``SERVER#{server_id} / DEPLOY#{ts}#{id}``; there is no ``manifest.json`` object, so a
deployment costs one object write and one item write, and listing reads no object.

Manifest fields (docs/format.md, "Theme deployments"): ``trigger`` is ``on-demand`` or
``scheduled``; ``serial`` and ``lineage`` are the state's after the deployment; ``counts`` holds the
changes made (``created``, ``updated``, ``deleted``, ``failed``) and what the config holds (``roles``,
``categories``, ``channels``); ``extra`` holds ``action`` (``apply``/``rollback``), ``actor``,
``via``, ``theme``, ``result``, ``previous``, ``position``, ``parent``, ``rolled_back_to`` and
``snapshot``. The sha256 of the effective config is the part's ``plain_sha256``.

``position`` and ``parent`` make history walkable without toggling: an apply's position is itself and
its parent is the position of the deployment it replaced; a rollback counts as the deployment it
returned to (its position and parent are the target's). ``rollback --steps 1`` follows ``parent``.

Reads trust nothing: an item whose manifest or fields do not verify raises ``IntegrityError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from gaib.bundles import codec
from gaib.bundles.manifest import Manifest
from gaib.bundles.order import misdated, order_key, written_of
from gaib.bundles.record import Record
from gaib.bundles.repository import BundleRepository, Layout, PartData
from gaib.clock import Clock
from gaib.errors import GaibError, IntegrityError, NotFound
from gaib.names import NAME_PATTERN, check_name, check_snowflake
from gaib.setting_values import DEFAULT_MAX_BUNDLE_BYTES
from gaib.storage.base import Catalog, Item, ObjectStore
from gaib.storage.keys import (
    DEPLOY_SK_PREFIX,
    check_id,
    deployment_config_key,
    deployment_sk,
    parse_id,
    server_pk,
)

if TYPE_CHECKING:
    from gaib.secrets.mac import ManifestMac

Action = Literal["apply", "rollback"]
Result = Literal["success", "partial"]
Via = Literal["cli", "ci", "scheduled"]
ACTIONS: tuple[str, ...] = ("apply", "rollback")
RESULTS: tuple[str, ...] = ("success", "partial")
VIAS: tuple[str, ...] = ("cli", "ci", "scheduled")
CONFIG_PART = "config"
CHANGE_COUNTS = ("created", "updated", "deleted", "failed")
CONFIG_COUNTS = ("roles", "categories", "channels")
PAGE = 1000
_THEME_NAME = re.compile(NAME_PATTERN)
MAX_STEPS = 1000
"""The most deployments ``rollback --steps`` walks back."""


def layout(server_id: str, deployment_id: str) -> Layout:
    """Where deployment ``deployment_id`` lives: its catalog key and its one part."""
    return Layout(pk=server_pk(server_id), sk=deployment_sk(deployment_id),
                  part_keys={CONFIG_PART: deployment_config_key(server_id, deployment_id)})


@dataclass(frozen=True)
class NewDeployment:
    """Everything recorded about a deployment but its id and time (given when it is written)."""

    server_id: str
    workspace: str
    action: Action
    actor: str
    via: Via
    config_text: str
    result: Result
    theme: Mapping[str, Any] | None = None
    serial: int | None = None
    lineage: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    previous: str | None = None
    position: str | None = None
    """None: the deployment itself (an apply)."""
    parent: str | None = None
    rolled_back_to: str | None = None
    snapshot: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Deployment(Record):
    """One verified deployment (its manifest, with the fields of ``extra`` checked by :func:`verify`)."""

    @property
    def action(self) -> str:
        return str(self.manifest.extra["action"])

    @property
    def result(self) -> str:
        return str(self.manifest.extra["result"])

    @property
    def theme(self) -> dict[str, Any] | None:
        theme = self.manifest.extra.get("theme")
        return dict(theme) if isinstance(theme, Mapping) else None

    @property
    def position(self) -> str:
        return str(self.manifest.extra["position"])

    @property
    def parent(self) -> str | None:
        parent = self.manifest.extra.get("parent")
        return str(parent) if parent is not None else None

    @property
    def config_sha256(self) -> str:
        return self.manifest.part(CONFIG_PART).plain_sha256

    def theme_label(self) -> str:
        """``sietch 1.0.0``, or ``(no theme)``."""
        theme = self.theme
        return f"{theme.get('name')} {theme.get('version')}" if theme else "(no theme)"

    def to_dict(self) -> dict[str, Any]:
        extra, part = self.manifest.extra, self.manifest.part(CONFIG_PART)
        return {
            "id": self.id, "server_id": self.server_id, "workspace": self.workspace, "created_at": self.created_at,
            "kind": extra["action"], "actor": extra.get("actor"), "via": extra.get("via"), "trigger": self.trigger,
            "theme": self.theme, "config_sha256": part.plain_sha256, "serial": self.serial, "lineage": self.lineage,
            "result": extra["result"], "counts": dict(self.counts), "previous": extra.get("previous"),
            "position": extra["position"], "parent": extra.get("parent"),
            "rolled_back_to": extra.get("rolled_back_to"), "snapshot": extra.get("snapshot"), "tier": self.tier,
            "message": self.message, "config_key": part.key, "stored_size": part.stored_size,
        }

    def summary(self) -> dict[str, Any]:
        """The entry the registry document keeps for this deployment."""
        d = self.to_dict()
        theme = d["theme"]
        if theme is not None:
            theme = {"name": theme.get("name"), "version": theme.get("version"), "origin": theme.get("origin")}
        return {"id": d["id"], "created_at": d["created_at"], "kind": d["kind"], "actor": d["actor"],
                "via": d["via"], "workspace": d["workspace"], "theme": theme, "config_sha256": d["config_sha256"],
                "serial": d["serial"], "result": d["result"], "counts": d["counts"], "position": d["position"],
                "parent": d["parent"], "rolled_back_to": d["rolled_back_to"], "snapshot": d["snapshot"]}


def _damaged(ident: str, why: str) -> IntegrityError:
    return IntegrityError(f"The catalog item of deployment {ident[:40]} is damaged: {why}.",
                          details={"id": ident[:40]})


def _optional_id(extra: Mapping[str, Any], name: str, ident: str) -> None:
    value = extra.get(name)
    if value is None:
        return
    try:
        check_id(value, name)
    except GaibError:
        raise _damaged(ident, f"'{name}' is not an id") from None


def is_theme(value: object) -> bool:
    """Whether ``value`` describes a theme as a deployment records it: a theme name and a printable version."""
    return (isinstance(value, Mapping) and isinstance(value.get("name"), str)
            and _THEME_NAME.fullmatch(value["name"]) is not None and isinstance(value.get("version"), str)
            and 0 < len(value["version"]) <= 64 and value["version"].isprintable())


def verify(manifest: Manifest, server_id: str, deployment_id: str) -> Deployment:
    """A deployment from a verified manifest, after checking it is this deployment and its fields hold."""
    ident = deployment_id
    if manifest.kind != "deployment" or manifest.id != deployment_id or manifest.server_id != server_id:
        raise _damaged(ident, f"it describes {manifest.kind} {manifest.id[:40]} of server {manifest.server_id[:25]}")
    extra = manifest.extra
    if extra.get("action") not in ACTIONS or extra.get("result") not in RESULTS:
        raise _damaged(ident, "its action or result is unknown")
    if extra.get("via") not in VIAS or not isinstance(extra.get("actor"), str):
        raise _damaged(ident, "it does not say who deployed it")
    theme = extra.get("theme")
    if theme is not None and not is_theme(theme):
        raise _damaged(ident, "its theme is not a theme description")
    for name in ("position", "parent", "previous", "rolled_back_to", "snapshot"):
        _optional_id(extra, name, ident)
    if extra.get("position") is None:
        raise _damaged(ident, "it has no position in the history")
    return Deployment(manifest)


class DeploymentStore:
    """Write, read, list and delete deployments over one store and catalog."""

    def __init__(self, store: ObjectStore, catalog: Catalog, *, clock: Clock,
                 max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES, mac: ManifestMac | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.repo = BundleRepository(store, catalog, max_bundle_bytes=max_bundle_bytes, mac=mac, notice=notice)
        self.catalog = catalog
        self.clock = clock

    def write(self, deployment_id: str, new: NewDeployment, *, tier: str,
              codec_name: codec.Codec = codec.DEFAULT_CODEC) -> Deployment:
        """Store the config part, then the catalog item; never overwrites (``Conflict``)."""
        check_snowflake(new.server_id, "server id")
        check_name(new.workspace, "workspace name")
        created = check_id(deployment_id, "deployment id")
        where = layout(new.server_id, created)
        extra: dict[str, Any] = {
            "action": new.action, "actor": new.actor, "via": new.via,
            "theme": dict(new.theme) if new.theme is not None else None, "result": new.result,
            "previous": new.previous, "position": new.position or created, "parent": new.parent,
            "rolled_back_to": new.rolled_back_to, "snapshot": new.snapshot,
        }
        trigger = "scheduled" if new.via == "scheduled" else "on-demand"
        header = Manifest(kind="deployment", id=created, server_id=new.server_id, workspace=new.workspace,
                          created_at=_iso(parse_id(created, "deployment id")), trigger=trigger, tier=tier,
                          message=new.message, serial=new.serial, lineage=new.lineage, parts={},
                          counts=dict(new.counts), extra=extra)
        plain = new.config_text.encode("utf-8")
        manifest, written = self.repo.write(header, where,
                                            [PartData(CONFIG_PART, where.part_keys[CONFIG_PART], plain)],
                                            codec_name=codec_name, tags={"Tier": tier, "ServerId": new.server_id})
        return Deployment(manifest, written)

    def _from_item(self, server_id: str, deployment_id: str, item: Item) -> Deployment:
        where = layout(server_id, deployment_id)
        manifest = self.repo.manifest(item, where, f"deployment {deployment_id}")
        return replace(verify(manifest, server_id, deployment_id),
                       written=written_of(item, f"deployment {deployment_id}"))

    def find(self, server_id: str, deployment_id: str) -> Deployment | None:
        """The verified deployment, or None if there is none; IntegrityError if its item is damaged."""
        check_snowflake(server_id, "server id")
        check_id(deployment_id, "deployment id")
        item = self.catalog.get(server_pk(server_id), deployment_sk(deployment_id))
        return self._from_item(server_id, deployment_id, item) if item is not None else None

    def get(self, server_id: str, deployment_id: str) -> Deployment:
        """The verified deployment; NotFound (exit 6) if absent, IntegrityError (exit 3) if damaged."""
        found = self.find(server_id, deployment_id)
        if found is None:
            raise NotFound(f"No deployment {deployment_id} for server {server_id}.",
                           hint="List the deployments with 'gaib server theme history'.")
        return found

    def every(self, server_id: str, damaged: list[str] | None = None) -> Iterator[Deployment]:
        """Every deployment of the server, newest first, page by page."""
        cursor: str | None = None
        while True:
            page, cursor = self.list(server_id, limit=PAGE, cursor=cursor, damaged=damaged)
            yield from page
            if cursor is None:
                return

    def newest_first(self, server_id: str, damaged: list[str] | None = None) -> list[Deployment]:
        """Every deployment of the server in the catalog's order of writes, newest first
        (:mod:`gaib.bundles.order`): a deployment recorded on a host whose clock runs ahead never stays
        "current" after a later one. Reads every page (deployments are bounded by the tier's retention)."""
        found = list(self.every(server_id, damaged=damaged))
        return sorted(found, key=_order, reverse=True)

    def list(self, server_id: str, *, limit: int = 20, cursor: str | None = None,
             damaged: list[str] | None = None) -> tuple[list[Deployment], str | None]:
        """One page in the order of the ids (the time each writer's clock gave; :meth:`newest_first` is
        the order of writes), newest first (one catalog query). A damaged item is appended to
        ``damaged`` and skipped (or raises IntegrityError without it)."""
        check_snowflake(server_id, "server id")
        page = self.catalog.query(server_pk(server_id), DEPLOY_SK_PREFIX, limit=limit, cursor=cursor)
        out = []
        for item in page.items:
            ident = str(item.get("id", ""))
            try:
                out.append(self._from_item(server_id, check_id(ident, "deployment id"), item))
            except GaibError:
                if damaged is None:
                    raise
                damaged.append(ident[:80])
        return out, page.next_cursor

    def config_text(self, deployment: Deployment) -> str:
        """The deployed config, after verifying both checksums of its part (IntegrityError otherwise)."""
        data = self.repo.read_part(deployment.manifest, CONFIG_PART)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityError(f"The config of deployment {deployment.id} is not UTF-8 text.",
                                 details={"id": deployment.id}) from None

    def delete(self, server_id: str, deployment_id: str) -> None:
        """Remove a deployment: its catalog item, then its config part (idempotent)."""
        self.repo.delete(layout(server_id, deployment_id))


def _order(deployment: Deployment) -> tuple[Any, ...]:
    created = deployment.created
    return order_key(deployment.written, created, deployment.id,
                     misdated=misdated(created, deployment.written, None))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(moment: datetime) -> str:
    """``2026-11-25T17:19:38.360Z``: how deployments and audit events write times."""
    return _iso(moment)
