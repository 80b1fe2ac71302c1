"""The theme registry with 1,000 deployments, and rollback against its lower bound, on both storages.

Registry and history: 1,000 deployments of one server (premium tier, so none is pruned) are written
through the deployment store, then measured, per storage: the median wall time of ``theme registry``
and of one ``theme history`` page (20) as in-process service calls and as the full CLI
(``python -m gaib server theme registry|history --json``, start-up included), the whole history in
pages of 1,000, recording one more deployment (what every apply adds) on the free and the premium
tier, and resolving a rollback target; on AWS (moto's standalone server on 127.0.0.1) the S3 and
DynamoDB requests each sends, counted by the storage's RequestCounter.

Rollback: the bundled emulator holds the sietch theme deployed, then a variant of it (other variables,
one category excluded); ``rollback --steps 1`` runs in-process through the services. Its Discord
writes are compared with the lower bound: one request per object that differs (the plan's changes)
plus one position request per kind the plan reorders.

Targets: ``theme registry`` sends at most 2 AWS requests and a history page one query, whatever the
number of deployments; rollback writes to Discord no more than the lower bound.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Report, environ_set, median_seconds, moto_environ, ms

ROOT = Path(__file__).resolve().parent.parent
GUILD = "223456789012345678"
DEPLOYMENTS = 1000
REPEAT = 9
CLI_REPEAT = 5
PAGE = 20
MAX_REGISTRY_REQUESTS = 2
VARIANT = ('version: "1.0"\ntheme:\n  name: sietch\n  variables:\n    community_name: Arrakis\n'
           '    general_slowmode: 30\n  exclude:\n    categories: [Council Chamber]\n')


def _app(project: Path, environ: dict[str, str], guild: str = GUILD) -> Any:
    from gaib.cli.context import Env
    from gaib.settings import Settings
    from gaib.wiring import App

    env = {**environ, "DISCORD_GUILD_ID": guild, "GAIB_ACTOR": "bench"}
    return App(Settings.resolve(Env(environ=env, cwd=project)))


def _requests(app: Any, fn: Callable[[], object]) -> dict[str, int]:
    counter = getattr(app.store, "requests", None)
    if counter is None:
        fn()
        return {}
    counter.reset()
    fn()
    counts: dict[str, int] = counter.by_operation()
    counter.reset()
    return counts


def _fmt(counts: dict[str, int]) -> str:
    if not counts:
        return "-"
    return f"{sum(counts.values())} (" + ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(counts.items())) + ")"


def _seed(app: Any, guild: str, count: int, tier: str) -> list[str]:
    """``count`` apply deployments in a chain, written through the deployment store (config part + item)."""
    from gaib.deployments.registry import deployments
    from gaib.deployments.store import NewDeployment
    from gaib.storage.keys import TIER_SK, new_id, server_pk
    from gaib.tiers.table import tier_item

    app.catalog.put_if_absent(server_pk(guild), TIER_SK, tier_item(guild, tier))  # type: ignore[arg-type]
    store = deployments(app)
    start = datetime.now(UTC) - timedelta(days=30)
    ids: list[str] = []
    for i in range(count):
        parent = ids[-1] if ids else None
        new = NewDeployment(server_id=guild, workspace="default", action="apply", actor="bench", via="cli",
                            config_text=f'version: "1.0"\nroles:\n  - name: Role {i}\n', result="success",
                            theme={"name": "sietch", "version": "1.0.0", "origin": "builtin",
                                   "variables": {"community_name": f"Community {i}"}},
                            serial=i + 1, counts={"created": 1, "updated": 0, "deleted": 0, "failed": 0},
                            previous=parent, parent=parent)
        ids.append(store.write(new_id(start + timedelta(seconds=i)), new, tier=tier).id)
    return ids


def _cli(project: Path, environ: dict[str, str], *args: str) -> None:
    env = {**environ, "DISCORD_GUILD_ID": GUILD, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run([sys.executable, "-m", "gaib", *args, "--json"], cwd=project, env=env,
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"gaib {' '.join(args)} failed ({run.returncode}): {run.stdout[-500:]}")


def measure_registry(kind: str, environ: dict[str, str]) -> list[list[Any]]:
    from gaib.deployments import registry
    from gaib.deployments.rollback import resolve
    from gaib.deployments.store import NewDeployment

    rows: list[list[Any]] = []
    aws = kind != "local"
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        app = _app(project, environ)
        ids = _seed(app, GUILD, DEPLOYMENTS, "premium")

        def view() -> object:
            return registry.view(app, GUILD)

        def page() -> object:
            return registry.history(app, GUILD, limit=PAGE, cursor=None, damaged=[])

        def everything() -> object:
            cursor: str | None = None
            total = 0
            while True:
                found, cursor = registry.history(app, GUILD, limit=1000, cursor=cursor, damaged=[])
                total += len(found)
                if cursor is None:
                    return total

        assert everything() == DEPLOYMENTS
        view_req, page_req, all_req = _requests(app, view), _requests(app, page), _requests(app, everything)
        view_n = sum(view_req.values())
        pages_n = page_req.get("dynamodb.Query", 0)
        rows.append([kind, f"theme registry ({DEPLOYMENTS} deployments, in-process)", ms(median_seconds(view, REPEAT)),
                     _fmt(view_req), f"<= {MAX_REGISTRY_REQUESTS} req" if aws else "",
                     ("yes" if view_n <= MAX_REGISTRY_REQUESTS else "NO") if aws else ""])
        rows.append([kind, f"theme history, one page of {PAGE} (in-process)", ms(median_seconds(page, REPEAT)),
                     _fmt(page_req), "1 query" if aws else "", ("yes" if pages_n == 1 else "NO") if aws else ""])
        rows.append([kind, f"theme history, all {DEPLOYMENTS} (pages of 1000)", ms(median_seconds(everything, 3)),
                     _fmt(all_req), "", ""])
        rows.append([kind, "gaib server theme registry (CLI)",
                     ms(median_seconds(lambda: _cli(project, environ, "server", "theme", "registry"), CLI_REPEAT)),
                     "", "", ""])
        rows.append([kind, "gaib server theme history (CLI)",
                     ms(median_seconds(lambda: _cli(project, environ, "server", "theme", "history"), CLI_REPEAT)),
                     "", "", ""])
        steps_req = _requests(app, lambda: resolve(registry.deployments(app), GUILD, steps=3, to=None))
        to_req = _requests(app, lambda: resolve(registry.deployments(app), GUILD, steps=None, to=ids[10]))
        rows.append([kind, "resolve rollback --steps 3 / --to ID", "", f"{_fmt(steps_req)} / {_fmt(to_req)}", "", ""])

        def record(guild: str) -> Callable[[], object]:
            def run() -> object:
                current = registry.current(registry.deployments(app), guild)
                new = NewDeployment(server_id=guild, workspace="default", action="apply", actor="bench", via="cli",
                                    config_text='version: "1.0"\n', result="success",
                                    previous=current.id if current else None,
                                    parent=current.position if current else None)
                return registry.record(app, new, operation="apply", from_id=new.previous)
            return run

        premium_req = _requests(app, record(GUILD))
        free_guild = "323456789012345678"
        _seed(app, free_guild, 5, "free")
        free_req = _requests(app, record(free_guild))
        rows.append([kind, "record a deployment (what apply adds): premium / free (prunes 1)", "",
                     f"{_fmt(premium_req)} / {_fmt(free_req)}", "", ""])
    return rows


def measure_rollback(kind: str, environ: dict[str, str], emu: Any) -> tuple[list[list[Any]], dict[str, Any]]:
    from tests.support.cli import CliRunner

    from gaib.deployments import rollback

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        emu.reset()
        env = {**environ, "DISCORD_BOT_TOKEN": emu.token, "DISCORD_GUILD_ID": emu.guild_id,
               "GAIB_DISCORD_API_URL": emu.base_url, "HOME": str(project)}
        cli = CliRunner(cwd=project, environ=env)
        for text in ('version: "1.0"\ntheme: sietch\n', VARIANT):
            (project / "discord-server.yaml").write_text(text)
            done = cli("server", "apply", "--auto-approve", "--json")
            if done.exit_code != 0:
                raise RuntimeError(f"apply failed: {done.stdout[-500:]}")
        app = _app(project, env, emu.guild_id)
        plan = rollback.plan_rollback(app, steps=1, to=None, dry_run=True)
        differ = len(plan.discord.changes)
        reorders = int(plan.discord.reorder_roles) + int(plan.discord.reorder_channels)
        mark = len(emu.requests())
        app = _app(project, env, emu.guild_id)
        counter = getattr(app.store, "requests", None)
        if counter is not None:
            counter.reset()

        def run() -> None:
            planned = rollback.plan_rollback(app, steps=1, to=None, dry_run=False)
            rollback.execute_rollback(app, planned, progress=lambda _m: None, accept_caps=True)

        seconds = median_seconds(run, 1)
        aws_req = counter.by_operation() if counter is not None else {}
        requests = emu.requests()[mark:]
        writes = [r for r in requests if r["method"] != "GET"]
        reads = len(requests) - len(writes)
        app.close()
    bound = differ + reorders
    routes = Counter(f"{r['method']} {r['route']}" for r in writes)
    rows = [[kind, f"rollback --steps 1 (sietch variant -> sietch): {differ} objects differ, {reorders} reorders",
             f"{seconds:.2f} s", _fmt(aws_req), f"Discord writes <= {bound}",
             f"{len(writes)} writes, {reads} reads: " + ("yes" if len(writes) <= bound else "NO")]]
    return rows, {"routes": routes, "differ": differ, "reorders": reorders}


def run() -> Report:
    sys.path.insert(0, str(ROOT))  # tests.support (moto_server, emulator) when run outside bench/run.py
    from tests.support.emulator import running_emulator
    from tests.support.procs import moto_server

    from gaib.storage.aws import ensure_bucket, ensure_table

    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_", "CI"))}
    report = Report(f"theme registry with {DEPLOYMENTS} deployments; rollback vs its lower bound",
                    ["storage", "operation", "median", "AWS requests", "target", "met"])
    with running_emulator(args=("--rate-limits", "off")) as emu:
        report.rows += measure_registry("local", base)
        local_rollback, facts = measure_rollback("local", base, emu)
        with moto_server() as url:
            aws_env = moto_environ(url)
            with environ_set(aws_env):
                rows: list[list[Any]] = []
                for what in ("registry", "rollback"):
                    suffix = uuid.uuid4().hex[:8]
                    env = {**base, **aws_env, "GAIB_BACKUP_BUCKET": f"gaib-bench-{what}-{suffix}",
                           "GAIB_BACKUP_TABLE": f"gaib-bench-{what}-{suffix}"}
                    ensure_bucket(env["GAIB_BACKUP_BUCKET"], region="us-east-1", endpoint_url=url)
                    ensure_table(env["GAIB_BACKUP_TABLE"], region="us-east-1", endpoint_url=url)
                    if what == "registry":
                        rows += measure_registry("aws (moto)", env)
                    else:
                        rows += measure_rollback("aws (moto)", env, emu)[0]
    report.rows += local_rollback + rows
    report.notes.append("rollback Discord writes by route: "
                        + ", ".join(f"{route} {n}" for route, n in sorted(facts["routes"].items())))
    report.notes.append("lower bound: one request per object that differs (the plan's changes) plus one position "
                        "request per kind reordered; reads are the guild read by the plan and again under the lock")
    report.notes.append("rollback AWS requests include the registry read, the pre-restore backup, recording the "
                        "rollback deployment, pruning, registry.json and the audit events; state stays local")
    report.notes.append("AWS timings are against moto on 127.0.0.1, not AWS itself: compare requests, not ms")
    return report


if __name__ == "__main__":
    print(run().render())
