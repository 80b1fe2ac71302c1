"""Recording deployments below the CLI: walking history, races on the registry document, the document's shape."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gaib.cli.context import Env
from gaib.deployments import document
from gaib.deployments.registry import deployments, record
from gaib.deployments.rollback import resolve
from gaib.deployments.store import NewDeployment
from gaib.errors import NotFound
from gaib.settings import Settings
from gaib.storage.base import ObjectStore, StoredDocument
from gaib.storage.keys import TIER_SK, server_pk, theme_registry_key
from gaib.tiers.table import tier_item
from gaib.wiring import App

SERVER = "1100000000000000001"


class Clock:
    """The only mock: time that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(seconds=1)
            return self.now


def make_app(project: tuple[Path, dict[str, str]], clock: Any = None) -> App:
    folder, environ = project
    return App(Settings.resolve(Env(environ=environ, cwd=folder)), clock=clock or Clock())


def premium(app: App) -> None:
    app.catalog.put_if_absent(server_pk(SERVER), TIER_SK, {**tier_item(SERVER, "premium"), "set_by": "operator"})


def deploy(app: App, name: str, *, rollback_to: str | None = None) -> str:
    """Record an apply of a config with one role ``name`` (or a rollback to ``rollback_to``)."""
    store = deployments(app)
    found, _ = store.list(SERVER, limit=1)
    cur = found[0] if found else None
    if rollback_to is None:
        new = NewDeployment(server_id=SERVER, workspace="default", action="apply", actor="t", via="cli",
                            config_text=f"version: '1.0'\nroles:\n  - name: {name}\n", result="success",
                            previous=cur.id if cur else None, parent=cur.position if cur else None)
    else:
        target = store.get(SERVER, rollback_to)
        new = NewDeployment(server_id=SERVER, workspace="default", action="rollback", actor="t", via="cli",
                            config_text=store.config_text(target), result="success", previous=cur.id if cur else None,
                            position=target.position, parent=target.parent, rolled_back_to=target.id)
    return record(app, new, operation="apply", from_id=new.previous).deployment.id


def target(app: App, *, steps: int | None = None, to: str | None = None) -> str:
    return resolve(deployments(app), SERVER, steps=steps, to=to).target.id


def test_steps_follow_parents_and_a_rollback_counts_as_its_target(project: tuple[Path, dict[str, str]]) -> None:
    app = make_app(project)
    premium(app)
    a, b, c = deploy(app, "A"), deploy(app, "B"), deploy(app, "C")
    assert target(app, steps=1) == b and target(app, steps=2) == a
    r1 = deploy(app, "", rollback_to=b)
    assert target(app, steps=1) == a  # from r1 (counts as b), not back to c
    r2 = deploy(app, "", rollback_to=a)
    with pytest.raises(NotFound) as info:
        target(app, steps=1)
    assert info.value.details["reachable_steps"] == 0
    # An apply after a rollback continues from where the rollback went: d's parent is a.
    d = deploy(app, "D")
    assert target(app, steps=1) == a
    assert target(app, to=c) == c and target(app, to=r1) == r1
    assert deployments(app).get(SERVER, r2).position == a and deployments(app).get(SERVER, d).parent == a


def test_a_walk_too_far_counts_and_lists_the_same_deployments(project: tuple[Path, dict[str, str]]) -> None:
    """Issue 25: 'only 0 earlier deployments can be reached' came with a list of 5 (every kept deployment,
    the current one and the one a restore returned to included). The message now lists exactly the
    deployments it counts as reachable, then the others, for --to."""
    app = make_app(project)
    premium(app)
    a, b, c = deploy(app, "A"), deploy(app, "B"), deploy(app, "C")
    with pytest.raises(NotFound) as info:
        target(app, steps=5)
    message = info.value.message
    assert "only 2 earlier deployments can be reached" in message
    reachable = message.split("Reachable: ")[1]
    assert reachable.startswith(f"--steps 1: {b} ") and f"; --steps 2: {a} " in reachable
    assert "Other kept" not in message and c not in reachable  # the current one is not "earlier"
    assert info.value.details["reachable"] == [b, a] and info.value.details["reachable_steps"] == 2
    # A rollback to the first deployment: nothing is earlier, and the message does not pretend otherwise.
    r = deploy(app, "", rollback_to=a)
    with pytest.raises(NotFound) as info:
        target(app, steps=1)
    message = info.value.message
    assert f"the current deployment {r} returned to {a}, and nothing was deployed before that" in message
    assert "can be reached" not in message and "Reachable" not in message
    others = message.split("Other kept deployments (with --to ID): ")[1]
    assert [part.split(" ")[0] for part in others.split("; ")] == [c, b, a]
    assert info.value.details["reachable"] == [] and len(info.value.details["available"]) == 4


def test_a_pruned_position_is_served_by_a_kept_rollback_to_it(project: tuple[Path, dict[str, str]]) -> None:
    app = make_app(project)  # free tier: the last 5 are kept
    a = deploy(app, "A")
    b = deploy(app, "B")
    rolled = deploy(app, "", rollback_to=a)  # counts as a
    deploy(app, "C")  # parent: a
    for name in ("D", "E", "F"):
        deploy(app, name)
    kept = [d.id for d in deployments(app).every(SERVER)]
    assert a not in kept and b not in kept and rolled in kept and len(kept) == 5
    with pytest.raises(NotFound):
        target(app, steps=5)  # F -> E -> D -> C -> a (served by the rollback) -> nothing before a
    assert target(app, steps=4) == rolled
    assert target(app, to=a) == rolled  # a pruned id a kept rollback returned to
    with pytest.raises(NotFound):
        target(app, to=b)


class _Interleaved:
    """A store whose first read of the registry document lets another writer record a deployment in between
    (the race made deterministic)."""

    def __init__(self, inner: ObjectStore, between: Any) -> None:
        self.inner = inner
        self.between = between

    def get_document(self, key: str) -> StoredDocument:
        doc = self.inner.get_document(key)
        if self.between is not None and key.endswith("registry.json"):
            run, self.between = self.between, None
            run()
        return doc

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Ports:
    def __init__(self, app: App, store: Any) -> None:
        self._app = app
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def test_a_lost_race_on_the_registry_document_loses_no_deployment(project: tuple[Path, dict[str, str]]) -> None:
    clock = Clock()
    first, other = make_app(project, clock), make_app(project, clock)
    premium(first)
    deploy(first, "A")
    racer: list[str] = []
    ports = _Ports(first, _Interleaved(first.store, lambda: racer.append(deploy(other, "Racer"))))
    mine = deploy(ports, "Mine")  # type: ignore[arg-type]
    doc = json.loads(first.store.get(theme_registry_key(SERVER)))
    ids = [e["id"] for e in doc["history"]]
    assert racer and racer[0] in ids and mine in ids and len(ids) == 3
    assert doc["current"]["id"] == max(ids)


@pytest.mark.slow
def test_concurrent_deployments_all_land_in_the_catalog_and_the_document(project: tuple[Path, dict[str, str]]) -> None:
    clock = Clock()
    apps = [make_app(project, clock) for _ in range(3)]
    premium(apps[0])
    made: list[str] = []
    errors: list[BaseException] = []

    def work(app: App, n: int) -> None:
        try:
            for i in range(3):
                made.append(deploy(app, f"W{n}-{i}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(app, n)) for n, app in enumerate(apps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = sorted(d.id for d in deployments(apps[0]).every(SERVER))
    assert listed == sorted(made) and len(made) == 9
    doc = json.loads(apps[0].store.get(theme_registry_key(SERVER)))
    assert sorted(e["id"] for e in doc["history"]) == listed


def test_the_document_keeps_only_what_the_catalog_has() -> None:
    fresh = [{"id": "20261125T170000000Z-00000002", "created_at": "x"},
             {"id": "20261125T170000000Z-00000001", "created_at": "x"}]
    old = document.encode({"format_version": 1, "server_id": SERVER, "current": None, "history": [
        {"id": "20261125T170000000Z-00000003", "created_at": "x"},  # newer: a racer's, kept
        {"id": "20261125T160000000Z-00000009", "created_at": "x"},  # older, not in the catalog: pruned, dropped
    ]})
    doc = json.loads(document.merged(old, SERVER, fresh, updated_at="now"))
    assert [e["id"] for e in doc["history"]] == ["20261125T170000000Z-00000003", "20261125T170000000Z-00000002",
                                                 "20261125T170000000Z-00000001"]
    assert doc["current"]["id"] == "20261125T170000000Z-00000003"
    assert document.entries(b"not json") == [] and document.entries(b'{"format_version": 9}') == []
