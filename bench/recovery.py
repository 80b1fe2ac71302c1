"""What the reliability benchmark checks after a kill: the project driven through the CLI, and the
checks a person recovering the machine would make (see bench/reliability.py)."""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import moto_environ

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Tally:
    trials: int = 0
    inconsistencies: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.inconsistencies += 1
        if len(self.examples) < 3:
            self.examples.append(" ".join(what.split())[:300])


class Project:
    """A project folder driven through the CLI in-process (checks) and by driver processes (kills)."""

    def __init__(self, root: Path, environ: dict[str, str], emulator: Any = None) -> None:
        self.cwd = root
        self.environ = environ
        self.emulator = emulator  # tests.support.emulator.EmulatorHandle when the workload uses Discord

    def __call__(self, *args: str) -> tuple[int, Any]:
        from gaib.cli.app import main
        from gaib.cli.context import Env

        out, err = io.StringIO(), io.StringIO()
        code = main(["server", *args, "--json"], env=Env(stdout=out, stderr=err, stdin=io.StringIO(),
                                                         environ=self.environ, cwd=self.cwd, stdin_is_tty=False))
        try:
            doc = json.loads(out.getvalue())
        except ValueError:
            doc = {"raw": out.getvalue()[-300:], "stderr": err.getvalue()[-300:]}
        return code, doc

    def ok(self, tally: Tally, *args: str) -> Any:
        code, doc = self(*args)
        if code != 0:
            tally.fail(f"{' '.join(args)} -> {code}: {json.dumps(doc)[:200]}")
            return None
        return doc["data"]

    def child_env(self) -> dict[str, str]:
        return {**os.environ, **self.environ, "PYTHONPATH": str(ROOT / "src")}


# --- environments ----------------------------------------------------------------------------------


@dataclass
class Servers:
    moto: str
    emulator: Any  # tests.support.emulator.EmulatorHandle


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}


def make_project(servers: Servers, tmp: Path, storage: str, *, discord: bool) -> Project:
    from tests.support.state import GUILD

    emu = servers.emulator
    env = {**_base_env(), "DISCORD_GUILD_ID": emu.guild_id if discord else GUILD, "DISCORD_BOT_TOKEN": emu.token,
           "GAIB_DISCORD_API_URL": emu.base_url if discord else "http://127.0.0.1:9"}
    if storage == "s3":
        env.update(moto_environ(servers.moto))
        os.environ.update(moto_environ(servers.moto))  # this process's checks use boto3 too
        from gaib.state.s3 import ensure_state_infra
        from gaib.storage.aws import ensure_bucket, ensure_table

        suffix = uuid.uuid4().hex[:10]
        ensure_bucket(f"rel-b-{suffix}", region="us-east-1", endpoint_url=servers.moto)
        ensure_table(f"rel-m-{suffix}", region="us-east-1", endpoint_url=servers.moto)
        env.update({"GAIB_BACKUP_BUCKET": f"rel-b-{suffix}", "GAIB_BACKUP_TABLE": f"rel-m-{suffix}"})
        if discord:  # the apply and snapshot workloads also keep their state in S3 with the DynamoDB lock
            ensure_state_infra(bucket=f"rel-s-{suffix}", table=f"rel-l-{suffix}", region="us-east-1",
                               endpoint_url=servers.moto)
            env.update({"GAIB_S3_BUCKET": f"rel-s-{suffix}", "GAIB_DYNAMODB_TABLE": f"rel-l-{suffix}"})
    root = Path(tempfile.mkdtemp(prefix=f"rel-{storage}-", dir=tmp))
    project = Project(root, env, emu if discord else None)
    code, doc = project("tier", "set", "premium", "--yes")  # the loops make many on-demand runs a day
    if code != 0:
        raise RuntimeError(f"tier set premium -> {code}: {doc}")
    return project


# --- checks after a kill ---------------------------------------------------------------------------


def _release_dead_lock(p: Project, tally: Tally, dead_pid: int) -> None:
    """The documented recovery for a lock a killed run left: local locks are taken over by the next
    run (its holder is gone); an S3/DynamoDB lock is released with ``unlock`` by an operator."""
    code, doc = p("locks")
    if code != 0:
        tally.fail(f"locks -> {code}")
        return
    if doc["data"]["locked"]:
        who = doc["data"]["lock"]["Who"]
        if f"(pid {dead_pid})" not in who:
            tally.fail(f"a lock not held by the killed process: {who}")
        if "GAIB_S3_BUCKET" in p.environ:
            p.ok(tally, "unlock", "--yes")


def state_serial(p: Project, tally: Tally) -> int | None:
    data = p.ok(tally, "state", "ls")
    return None if data is None else data["serial"]


def check_backups(p: Project, tally: Tally, dead_pid: int, last: dict[str, Any]) -> None:
    from gaib.backups.store import BackupManager
    from gaib.cli.context import Env
    from gaib.clock import utc_now
    from gaib.settings import Settings
    from gaib.wiring import App

    serial = state_serial(p, tally)
    if serial is not None and serial < last.get("serial", 0):
        tally.fail(f"the state went back from serial {last['serial']} to {serial}")
    with App(Settings.resolve(Env(environ=p.environ, cwd=p.cwd)), clock=utc_now) as app:
        manager = BackupManager(app.store, app.catalog, clock=utc_now)
        damaged: list[str] = []
        records, _ = manager.list(app.settings.require_guild(), limit=1000, damaged=damaged)
        if damaged:
            tally.fail(f"damaged backups after a kill: {damaged}")
        keys = {info.key for info in app.store.list(f"state/{app.settings.require_guild()}/")}
        for rec in records:
            if rec.key not in keys:
                tally.fail(f"backup {rec.id} is listed without its object")
                continue
            try:
                manager.load(rec)
            except Exception as exc:
                tally.fail(f"backup {rec.id} does not load: {exc}")
    if not records:
        tally.fail("every backup vanished")
        return
    _release_dead_lock(p, tally, dead_pid)
    data = p.ok(tally, "backup", "restore", records[0].id, "--yes")
    if data is not None:
        last["serial"] = data["result"]["new_serial"]


def check_snapshots(p: Project, tally: Tally, dead_pid: int, last: dict[str, Any]) -> None:
    from gaib.cli.context import Env
    from gaib.clock import utc_now
    from gaib.settings import Settings
    from gaib.snapshots.store import SnapshotManager
    from gaib.wiring import App

    state_serial(p, tally)
    with App(Settings.resolve(Env(environ=p.environ, cwd=p.cwd)), clock=utc_now) as app:
        manager = SnapshotManager(app.store, app.catalog, clock=utc_now)
        damaged: list[str] = []
        records, _ = manager.list(app.settings.require_guild(), limit=1000, damaged=damaged)
        if damaged:
            tally.fail(f"damaged snapshots after a kill: {damaged}")
        for rec in records:
            try:
                manager.load(rec)
            except Exception as exc:
                tally.fail(f"snapshot {rec.id} does not load: {exc}")
    _release_dead_lock(p, tally, dead_pid)
    if records:
        p.ok(tally, "snapshot", "restore", records[0].id, "--yes")
    discord_consistent(p, tally)


def check_apply(p: Project, tally: Tally, dead_pid: int, last: dict[str, Any]) -> None:
    state_serial(p, tally)
    _release_dead_lock(p, tally, dead_pid)
    discord_consistent(p, tally)


def discord_consistent(p: Project, tally: Tally) -> None:
    """Recovery apply succeeds; then no duplicate live object, every state id is live, and plan is empty."""
    import httpx

    emu = p.emulator
    if p.ok(tally, "apply", "--auto-approve") is None:
        return
    h = emu.auth_headers()
    roles = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/roles", headers=h).json()
    chans = httpx.get(f"{emu.base_url}/guilds/{emu.guild_id}/channels", headers=h).json()
    dup_roles = [n for n, k in Counter(r["name"] for r in roles).items() if k > 1]
    dup_chans = [n for n, k in Counter(f"{c.get('parent_id')}/{c['name']}/{c['type']}" for c in chans).items()
                 if k > 1]
    if dup_roles or dup_chans:
        tally.fail(f"duplicated Discord objects: {dup_roles + dup_chans}")
    state = p.ok(tally, "state", "ls")
    live = {r["id"] for r in roles} | {c["id"] for c in chans}
    if state is not None and {r["id"] for r in state["resources"]} - live:
        tally.fail("the state holds ids Discord does not have after a recovery apply")
    plan = p.ok(tally, "plan")
    if plan is not None and not plan["empty"]:
        tally.fail(f"plan not empty after the recovery apply: {plan.get('summary')}")


CHECKS: dict[str, Callable[[Project, Tally, int, dict[str, Any]], None]] = {
    "backup": check_backups, "snapshot": check_snapshots, "apply": check_apply}
