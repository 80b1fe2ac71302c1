"""A fleet of servers registered for scheduled runs, for tests and the scheduled-run benchmark.

Each server gets a state of realistic size (15 roles, 9 categories, 23 channels: ~20 KB of JSON, like
docs/format.md's example) where its schedule says it lives (a local project folder, or an S3 state
bucket on moto), a ``TIER`` item (which puts it in the catalog's tier index) and its schedule: the
``SCHEDULE`` item and the ``metadata/{server}/backup-schedule.json`` document, exactly as
``gaib server schedule enable`` writes them (``gaib.scheduled.schedules.Schedule``).

What a run left behind, read past the run: ``local_events`` (the local event log), ``scheduled_backups``
(the catalog's scheduled backup items) and ``emf`` (the metric lines it printed).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gaib.cli.context import Env
from gaib.errors import Conflict
from gaib.scheduled.metrics import parse_emf
from gaib.scheduled.schedules import Schedule, cadence
from gaib.settings import Settings
from gaib.state.location import StateLocation
from gaib.state.model import Instance, Resource, State
from gaib.storage.keys import SCHEDULE_SK, TIER_SK, schedule_key, server_pk
from gaib.tiers.table import POLICIES, tier_item
from gaib.wiring import App
from tests.support.procs import AWS_TEST_ENV
from tests.support.store import hmac_key


def server_ids(count: int, start: int = 1_300_000_000_000_000_000) -> list[str]:
    return [str(start + i * 7919) for i in range(count)]


def realistic_state(server_id: str, serial: int = 1, workspace: str = "default") -> State:
    """A state like a real server's: 15 roles, 9 categories and 23 channels with their attributes."""
    state = State.new(workspace, guild_id=server_id)
    state.serial = serial
    base = int(server_id)
    resources: list[Resource] = []
    for i in range(15):
        resources.append(Resource(type="discord_role", name=f"role-{i}", instances=[Instance(attributes={
            "id": str(base + 1000 + i), "name": f"Role {i}", "permissions": str(1 << (i % 40)),
            "color": 0x2ECC71 + i, "hoist": i % 2 == 0, "mentionable": False, "position": i + 1})]))
    for i in range(9):
        resources.append(Resource(type="discord_category", name=f"category-{i}", instances=[Instance(attributes={
            "id": str(base + 2000 + i), "name": f"Category {i}", "type": 4, "position": i,
            "permission_overwrites": [{"id": str(base + 1000 + i), "type": 0, "allow": "1024", "deny": "0"},
                                      {"id": server_id, "type": 0, "allow": "0", "deny": "1024"}]})]))
    for i in range(23):
        resources.append(Resource(type="discord_channel", name=f"channel-{i}", instances=[Instance(attributes={
            "id": str(base + 3000 + i), "name": f"channel-{i}", "type": 0, "position": i,
            "parent_id": str(base + 2000 + i % 9), "topic": f"Topic of channel {i}: " + "talk about things " * 4,
            "nsfw": False, "rate_limit_per_user": 0, "bitrate": None, "user_limit": None,
            "permission_overwrites": [{"id": str(base + 1000 + i % 15), "type": 0, "allow": "3072", "deny": "0"}]})]))
    state.resources = resources
    return state


@dataclass
class Fleet:
    """Servers registered on one backup storage; states local (``root``) or in an S3 ``state_bucket``."""

    project: Path
    environ: dict[str, str]
    state_bucket: str | None = None
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 3, 0, 20, tzinfo=UTC))
    servers: dict[str, str] = field(default_factory=dict)  # id -> tier

    def clock(self) -> datetime:
        return self.now

    def app(self, **extra_env: str) -> App:
        env = Env(environ={**self.environ, **extra_env}, cwd=self.project)
        return App(Settings.resolve(env), clock=self.clock)

    # --- states ---------------------------------------------------------------------------------------

    def location(self, server_id: str, workspace: str = "default") -> StateLocation:
        if self.state_bucket is not None:
            return StateLocation(workspace=workspace, backend="s3", bucket=self.state_bucket,
                                 key=f"servers/{server_id}/{workspace}/terraform.tfstate", region="us-east-1")
        return StateLocation(workspace=workspace, backend="local",
                             path=str((self.project / "servers" / server_id / ".gaib").resolve()))

    def put_state(self, app: App, server_id: str, state: State | bytes, workspace: str = "default") -> None:
        """Write a state (or raw bytes, e.g. a corrupt one) where the server's schedule says it lives."""
        loc = self.location(server_id, workspace)
        data = state if isinstance(state, bytes) else state.to_json()
        if loc.backend == "s3":
            client = app._state_clients(loc.region)[0]
            client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data)
        else:
            assert loc.path is not None
            path = Path(loc.path) / "workspaces" / workspace / "terraform.tfstate"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    # --- registration ---------------------------------------------------------------------------------

    def register(self, app: App, server_id: str, tier: str, *, workspaces: Iterable[str] = ("default",),
                 export_config: bool = False, snapshots: bool = False, secret: str | None = None,
                 state: bool = True, document: bool = True) -> Schedule:
        """The server's tier item, schedule item and document (and its state, serial 1)."""
        names = list(workspaces)
        with contextlib.suppress(Conflict):
            item = {**tier_item(server_id, tier), "set_by": "operator"}  # type: ignore[arg-type]
            app.catalog.put_if_absent(server_pk(server_id), TIER_SK, item)
        schedule = Schedule(server_id=server_id, enabled=True,
                            workspaces=tuple(self.location(server_id, n) for n in names),
                            export_config=export_config, snapshots=snapshots, bot_token_secret=secret, tier=tier,
                            cadence=cadence(POLICIES[tier]), updated_at="2026-11-24T00:00:00Z", updated_by="fleet")
        app.catalog.put_if_absent(server_pk(server_id), SCHEDULE_SK,
                                  {"kind": "schedule", "server_id": server_id, "schedule": schedule.to_document()})
        if document:
            app.store.put(schedule_key(server_id), schedule.to_bytes(), content_type="application/json")
        if state:
            for name in names:
                self.put_state(app, server_id, realistic_state(server_id, 1, name), name)
        self.servers[server_id] = tier
        return schedule

    def register_many(self, app: App, tiers: dict[str, str], *, workers: int = 16,
                      each: Callable[[str], dict[str, Any]] | None = None) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda sid: self.register(app, sid, tiers[sid], **(each(sid) if each else {})), tiers))

    def set_item(self, app: App, server_id: str, fields: dict[str, Any]) -> None:
        """Replace the server's schedule item with ``fields`` (hostile-schedule tests)."""
        app.catalog.delete(server_pk(server_id), SCHEDULE_SK)
        app.catalog.put_if_absent(server_pk(server_id), SCHEDULE_SK, fields)


def aws_fleet(project: Path, endpoint: str) -> Fleet:
    """A fleet on moto: a backup bucket and table, and a state bucket."""
    from gaib.state.s3 import ensure_state_infra
    from gaib.storage.aws import ensure_bucket, ensure_table

    suffix = uuid.uuid4().hex[:10]
    bucket, table, states = f"backups-{suffix}", f"meta-{suffix}", f"states-{suffix}"
    ensure_bucket(bucket, region="us-east-1", endpoint_url=endpoint)
    ensure_table(table, region="us-east-1", endpoint_url=endpoint)
    ensure_state_infra(bucket=states, table=f"locks-{suffix}", region="us-east-1", endpoint_url=endpoint)
    environ = {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": endpoint, "GAIB_BACKUP_BUCKET": bucket, "GAIB_BACKUP_TABLE": table,
               "GAIB_SECRETS": "env", "HOME": str(project), "GAIB_MAC_KEY_ID": hmac_key({"AWS_ENDPOINT_URL": endpoint})}
    return Fleet(project=project, environ=environ, state_bucket=states)


def local_fleet(project: Path) -> Fleet:
    return Fleet(project=project, environ={"HOME": str(project)})


def local_events(fleet: Fleet) -> list[dict[str, Any]]:
    """The events a run wrote to the local event log (``[]`` when there is none)."""
    path = fleet.project / ".gaib" / "backups" / ".events" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def scheduled_backups(app: App, server_id: str) -> list[dict[str, Any]]:
    """The server's backup items in the catalog that a scheduled run made."""
    page = app.catalog.query(server_pk(server_id), "BACKUP#", limit=1000)
    return [i for i in page.items if i.get("trigger") == "scheduled"]


def emf(text: str) -> list[tuple[str, Mapping[str, str], dict[str, int]]]:
    """The EMF metric lines in a run's output: ``(namespace, dimensions, values)`` each."""
    return [parsed for line in text.splitlines() if (parsed := parse_emf(line)) is not None]
