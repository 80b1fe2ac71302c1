"""Backup create / restore / list at Discord's maximum guild size, on local storage and on S3 + DynamoDB.

The state: 250 roles and 500 channels (50 categories, 450 text and voice channels), each channel
with 10 permission overwrites, with the attributes Gaib keeps in state (gaib.iac.attributes).

Measured, per storage: the median wall time of ``create`` and of ``restore`` as in-process service
calls and as the full CLI (``python -m gaib server backup create`` / ``restore --yes``, start-up
included); bytes stored against plain; and, on AWS (moto's standalone server on 127.0.0.1), the
S3 and DynamoDB requests each operation sends, counted by the storage's RequestCounter.

Targets: a create sends at most 4 AWS requests (the tier, the object, the server's write sequence, the
item); a list sends one query per page; a local create or restore takes under 0.5 s including start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Report, environ_set, median_seconds, moto_environ, ms

ROOT = Path(__file__).resolve().parent.parent
GUILD = "223456789012345678"
REPEAT = 9
CLI_REPEAT = 7
LOCAL_TARGET_S = 0.5
MAX_AWS_CREATE = 4  # 3 before the catalog's write sequence (issue 21): one conditional UpdateItem more
LIST_PAGE = 20


def guild_state() -> Any:
    """A state at Discord's limits: 250 roles, 500 channels, 10 overwrites per channel."""
    from gaib.discord.models import Channel, ChannelType, Overwrite, OverwriteType, Role
    from gaib.iac.attributes import channel_attributes, role_attributes
    from gaib.state.model import Instance, Resource, State

    state = State.new("default", guild_id=GUILD)
    state.serial = 42
    ids = iter(range(10**17, 10**18))
    roles = [Role(id=str(next(ids)), name=f"Role {i:03d}", permissions=(1 << (i % 41)) | 0x400 | 0x800,
                  color=(i * 0x3A5F1) & 0xFFFFFF, hoist=i % 7 == 0, mentionable=i % 3 == 0, position=250 - i)
             for i in range(250)]
    state.resources += [Resource(type="discord_role", name=f"role_{i:03d}",
                                 instances=[Instance(attributes=role_attributes(r))]) for i, r in enumerate(roles)]

    def overwrites(n: int) -> tuple[Overwrite, ...]:
        return tuple(Overwrite(id=roles[(n * 10 + k) % 250].id, type=OverwriteType.ROLE,
                               allow=(1 << (k + 10)) | 0x400, deny=(1 << (k + 20)) if k % 2 else 0)
                     for k in range(10))

    categories = [Channel(id=str(next(ids)), name=f"Category {c:02d}", type=ChannelType.CATEGORY, position=c,
                          permission_overwrites=overwrites(c)) for c in range(50)]
    state.resources += [Resource(type="discord_category", name=f"category_{c:02d}",
                                 instances=[Instance(attributes=channel_attributes(ch))])
                        for c, ch in enumerate(categories)]
    for n in range(450):
        voice = n % 5 == 4
        ch = Channel(id=str(next(ids)), name=f"voice-{n:03d}" if voice else f"channel-{n:03d}",
                     type=ChannelType.VOICE if voice else ChannelType.TEXT, position=n % 9,
                     parent_id=categories[n // 9].id,
                     topic=None if voice else f"Talk about topic number {n} here; be kind and stay on topic.",
                     nsfw=n % 50 == 0, rate_limit_per_user=0 if n % 4 else 5,
                     bitrate=64000 if voice else None, user_limit=10 if voice else None,
                     permission_overwrites=overwrites(50 + n))
        state.resources.append(Resource(type="discord_channel", name=ch.name.replace("-", "_"),
                                        instances=[Instance(attributes=channel_attributes(ch))]))
    return state


def _clock() -> datetime:
    return datetime.now(UTC)


class Bench:
    """One project folder (local state) with backups on one storage."""

    def __init__(self, project: Path, environ: dict[str, str]) -> None:
        from gaib.backups.restore import RestoreEngine
        from gaib.backups.store import BackupManager
        from gaib.state.local import LocalBackend
        from gaib.storage.open import open_storage

        self.project = project
        self.environ = environ
        self.backend = LocalBackend(project / ".gaib")
        self.store, self.catalog = open_storage(root=project / ".gaib" / "backups",
                                                bucket=environ.get("GAIB_BACKUP_BUCKET"),
                                                table=environ.get("GAIB_BACKUP_TABLE"), region="us-east-1",
                                                environ=environ)
        self.manager = BackupManager(self.store, self.catalog, clock=_clock)
        self.engine = RestoreEngine(self.manager, self.backend, clock=_clock)

    def seed(self) -> None:
        from gaib.storage.keys import TIER_SK, server_pk
        from gaib.tiers.table import tier_item

        self.backend.put(guild_state(), expected_serial=None)
        # Many on-demand backups a day: the premium tier (no quota; bench/tiers.py measures the free one).
        self.catalog.put_if_absent(server_pk(GUILD), TIER_SK, tier_item(GUILD, "premium"))

    def create(self) -> Any:
        state = self.backend.get("default")
        assert state is not None
        return self.manager.create(state, server_id=GUILD, workspace="default")

    def restore(self, backup_id: str) -> Any:
        plan = self.engine.plan(GUILD, "default", backup_id)
        return self.engine.execute(plan, server_id=GUILD, workspace="default")

    def cli(self, *args: str) -> dict[str, Any]:
        env = {**self.environ, "DISCORD_GUILD_ID": GUILD, "PYTHONPATH": str(ROOT / "src")}
        run = subprocess.run([sys.executable, "-m", "gaib", *args, "--json"], cwd=self.project, env=env,
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise RuntimeError(f"gaib {' '.join(args)} failed ({run.returncode}): {run.stdout[-500:]}")
        data: dict[str, Any] = json.loads(run.stdout)["data"]
        return data

    def requests(self, fn: Callable[[], object]) -> dict[str, int]:
        counter = getattr(self.store, "requests", None)
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


def measure(kind: str, environ: dict[str, str]) -> tuple[list[list[Any]], dict[str, Any]]:
    rows: list[list[Any]] = []
    facts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), environ)
        b.seed()
        first = b.create()
        facts["plain"], facts["stored"] = first.plain_size, first.stored_size
        facts["resources"] = first.resources

        create_s = median_seconds(b.create, REPEAT)
        restore_s = median_seconds(lambda: b.restore(first.id), REPEAT)
        create_req = b.requests(b.create)
        restore_req = b.requests(lambda: b.restore(first.id))
        get_req = b.requests(lambda: b.manager.load(b.manager.get(GUILD, first.id)))

        # list: enough backups for several pages, then count queries per page
        while len(b.manager.list(GUILD, limit=1000)[0]) < 3 * LIST_PAGE + 5:
            b.create()
        pages: list[dict[str, int]] = []
        cursor: str | None = None
        while True:
            box: dict[str, Any] = {}

            def page(c: str | None = cursor, out: dict[str, Any] = box) -> None:
                out["records"], out["cursor"] = b.manager.list(GUILD, limit=LIST_PAGE, cursor=c)

            pages.append(b.requests(page))
            cursor = box["cursor"]
            if cursor is None:
                break
        queries = [p.get("dynamodb.Query", 0) for p in pages]

        # The full CLI, start-up included.
        cli_create = median_seconds(lambda: b.cli("server", "backup", "create"), CLI_REPEAT)
        cli_restore = median_seconds(lambda: b.cli("server", "backup", "restore", first.id, "--yes"), CLI_REPEAT)

    local = kind == "local"
    target = f"< {LOCAL_TARGET_S} s" if local else ""

    def ok_cli(seconds: float) -> str:
        return ("yes" if seconds < LOCAL_TARGET_S else "NO") if local else ""

    aws = not local
    create_n = sum(create_req.values())
    rows.append([kind, "create (in-process)", ms(create_s), _fmt(create_req), f"<= {MAX_AWS_CREATE} req" if aws else "",
                 ("yes" if create_n <= MAX_AWS_CREATE else "NO") if aws else ""])
    rows.append([kind, "restore (in-process, incl. pre-restore backup)", ms(restore_s), _fmt(restore_req), "", ""])
    rows.append([kind, "load + verify one backup", "", _fmt(get_req), "", ""])
    rows.append([kind, f"list, {len(pages)} pages of {LIST_PAGE}", "",
                 f"queries per page {queries}" if aws else "-", "1 query/page" if aws else "",
                 ("yes" if all(q == 1 for q in queries) else "NO") if aws else ""])
    rows.append([kind, "gaib server backup create (CLI)", ms(cli_create), "", target, ok_cli(cli_create)])
    rows.append([kind, "gaib server backup restore --yes (CLI)", ms(cli_restore), "", target, ok_cli(cli_restore)])
    facts.update(create_s=create_s, restore_s=restore_s, cli_create=cli_create, cli_restore=cli_restore,
                 create_req=create_req, restore_req=restore_req, list_queries=queries)
    return rows, facts


def run() -> Report:
    sys.path.insert(0, str(ROOT))  # tests.support (moto_server) when run outside bench/run.py
    from tests.support.procs import moto_server

    from gaib.storage.aws import ensure_bucket, ensure_table

    base = {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}
    report = Report(f"backup at max guild size (median of {REPEAT} in-process, {CLI_REPEAT} CLI runs)",
                    ["storage", "operation", "median", "AWS requests", "target", "met"])
    local_rows, facts = measure("local", base)
    report.rows += local_rows
    with moto_server() as url:
        aws_env = {**moto_environ(url), "GAIB_BACKUP_BUCKET": "gaib-bench-backups",
                   "GAIB_BACKUP_TABLE": "gaib-bench-metadata"}
        with environ_set(aws_env):
            ensure_bucket(aws_env["GAIB_BACKUP_BUCKET"], region="us-east-1", endpoint_url=url)
            ensure_table(aws_env["GAIB_BACKUP_TABLE"], region="us-east-1", endpoint_url=url)
            aws_rows, _ = measure("aws (moto)", {**base, **aws_env})
    report.rows += aws_rows
    report.notes.append(f"state: {facts['resources']} resources (250 roles, 50 categories, 450 channels, "
                        f"10 overwrites each); plain {facts['plain'] / 1024:.0f} KiB, stored (gzip) "
                        f"{facts['stored'] / 1024:.0f} KiB = {facts['stored'] / facts['plain']:.1%} of plain")
    report.notes.append("AWS requests are counted by the storage's RequestCounter; state reads/writes go to the "
                        "local state backend and are not AWS requests here")
    report.notes.append("AWS timings are against moto on 127.0.0.1, not AWS itself: compare requests, not ms")
    return report


if __name__ == "__main__":
    print(run().render())
