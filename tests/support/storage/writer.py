"""Backups, snapshots and theme deployments written through Gaib's own writers at chosen times (a settable
clock starting at ``T0``), for tests that prune, list or re-tier them; ``listed`` is what
``server backup list`` shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gaib.backups.store import BackupManager
from gaib.cli.context import Env
from gaib.discord.models import Guild, Role
from gaib.settings import Settings
from gaib.snapshots.store import SnapshotManager
from gaib.state.local import LocalBackend
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.state import GUILD, seed_state

T0 = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


class Writer:
    """Writes backups and snapshots through Gaib's managers with a settable clock."""

    def __init__(self, cli: CliRunner) -> None:
        self.now = T0
        self.ports = App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=lambda: self.now)
        state = LocalBackend(cli.cwd / ".gaib").get("default")
        self.state = state if state is not None else seed_state(cli.cwd)

    def backup(self, at: datetime, workspace: str = "default", trigger: str = "scheduled") -> str:
        self.now = at
        mgr = BackupManager(self.ports.store, self.ports.catalog, clock=lambda: self.now, mac=self.ports.mac)
        return mgr.create(self.state, server_id=GUILD, workspace=workspace, trigger=trigger,  # type: ignore[arg-type]
                          message=f"at {at:%m-%d %H:%M}").id

    def snapshot(self, at: datetime) -> str:
        self.now = at
        mgr = SnapshotManager(self.ports.store, self.ports.catalog, clock=lambda: self.now, mac=self.ports.mac)
        guild = Guild(id=GUILD, name="Sietch", roles=(Role(id="200000000000000001", name="Naib"),))
        return mgr.create(server_id=GUILD, workspace="default", guild=guild, state=self.state, registry=None,
                          trigger="scheduled").id


def listed(cli: CliRunner) -> list[str]:
    ids: list[str] = [b["id"] for b in cli("server", "backup", "list", "--all-workspaces", "--limit", "1000",
                                            "--json").data["backups"]]
    return ids


def write_deployments(ports: Any, count: int) -> list[Any]:
    """``count`` theme deployments (kind ``deployment``) written through the one bundle writer."""
    from gaib.bundles.manifest import Manifest
    from gaib.bundles.prune import Bundle
    from gaib.bundles.repository import BundleRepository, Layout, PartData
    from gaib.bundles.retention import Retained
    from gaib.storage.keys import deployment_config_key, deployment_sk, new_id, parse_id, server_pk

    repo = BundleRepository(ports.store, ports.catalog, mac=ports.mac)  # sealed, as Gaib writes them
    out = []
    for n in range(count):
        ident = new_id(T0 - timedelta(days=count - n))
        lay = Layout(pk=server_pk(GUILD), sk=deployment_sk(ident),
                     part_keys={"config": deployment_config_key(GUILD, ident)})
        header = Manifest(kind="deployment", id=ident, server_id=GUILD, workspace="default",
                          created_at=f"{parse_id(ident):%Y-%m-%dT%H:%M:%S}.000Z", trigger="on-demand", tier="free",
                          message=f"deploy {n}", serial=None, lineage=None, parts={})
        m, written = repo.write(header, lay, [PartData("config", lay.part_keys["config"], f"theme: {n}\n".encode())])
        out.append(Bundle(Retained(m.id, (GUILD,), parse_id(m.id), m.stored_size, sequence=written.sequence), lay))
    return out


def write_snapshot(ports: Any, parts: dict[str, bytes], *, server_id: str = GUILD) -> str:
    """A snapshot bundle of the given parts (``state``, ``config``, ``theme-registry``, ``objects`` and any of
    ``messages/{channel}``) written through the one bundle writer, as big as a test needs without a guild to
    read; returns its id. The base parts a caller leaves out are small valid ones."""
    from gaib.bundles.manifest import Manifest
    from gaib.bundles.repository import BundleRepository, PartData
    from gaib.deployments.document import empty_registry
    from gaib.snapshots.store import layout
    from gaib.state.model import State
    from gaib.storage.keys import new_id

    ident = new_id(ports.clock())
    objects = State.new("default", server_id)
    objects.lineage = "snapshot-objects"
    base = {"state": b"null\n", "config": b"roles: []\n", "objects": objects.to_json(),
            "theme-registry": empty_registry(server_id)}
    plain = {**base, **parts}
    where = layout(server_id, ident, plain)
    header = Manifest(kind="snapshot", id=ident, server_id=server_id, workspace="default",
                      created_at=f"{ports.clock():%Y-%m-%dT%H:%M:%S.000Z}", trigger="on-demand", tier="free",
                      message="written for a test", serial=None, lineage=None, parts={})
    repo = BundleRepository(ports.store, ports.catalog, max_bundle_bytes=2**40, mac=ports.mac)
    repo.write(header, where, [PartData(n, where.part_keys[n], b) for n, b in plain.items()])
    return ident
