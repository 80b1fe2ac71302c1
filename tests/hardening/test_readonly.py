"""No read-only command creates, re-initialises or migrates anything: on an empty folder, a healthy
project and every kind of damaged store, each listing command leaves every byte as it was, and
answers with its documented exit code (never INTERNAL_ERROR)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import CliRunner
from tests.support.exits import assert_documented
from tests.support.state import GUILD
from tests.support.store import make_project
from tests.support.tree import fingerprint

READ_ONLY = [
    ("backup", "list"),
    ("backup", "list", "--all-workspaces"),
    ("snapshot", "list"),
    ("state", "ls"),
    ("locks",),
    ("workspace", "ls"),
    ("workspace", "show"),
    ("theme", "ls"),
    ("schedule", "show"),
]


def _nothing(cwd: Path) -> None:
    pass


def _write(relative: str, data: bytes) -> Callable[[Path], None]:
    def damage(cwd: Path) -> None:
        path = cwd / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return damage


def _damaged_item(cwd: Path) -> None:
    with sqlite3.connect(cwd / ".gaib/backups/catalog.sqlite3") as conn:
        conn.execute("DROP INDEX IF EXISTS items_by_server_tier")
        conn.execute("UPDATE items SET body = '{broken' WHERE sk LIKE 'BACKUP#%'")
    conn.close()


def _no_table(cwd: Path) -> None:
    catalog = cwd / ".gaib/backups/catalog.sqlite3"
    catalog.unlink()
    with sqlite3.connect(catalog) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


SCENARIOS: dict[str, Callable[[Path], None]] = {
    "healthy": _nothing,
    "empty catalog": _write(".gaib/backups/catalog.sqlite3", b""),
    "garbage catalog": _write(".gaib/backups/catalog.sqlite3", b"\x00\xff" * 300),
    "catalog without table": _no_table,
    "damaged catalog item": _damaged_item,
    "damaged format-version": _write(".gaib/backups/format-version", b"\xff\xfe"),
    "newer format-version": _write(".gaib/backups/format-version", b"9\n"),
    "binary lock": _write(".gaib/workspaces/default/.lock", b"\xff\x00"),
    "binary state": _write(".gaib/workspaces/default/terraform.tfstate", b"\xff\x00\x01"),
    "deep state": _write(".gaib/workspaces/default/terraform.tfstate", b"[" * 5000),
    "binary workspace file": _write(".gaib/workspace", b"\xff\xfe"),
    "binary gaib.yaml": _write("gaib.yaml", b"\xff\xfe\x00"),
    "deep gaib.yaml": _write("gaib.yaml", b"a: " + b"[" * 3000),
    "binary theme": _write("themes/broken/theme.yaml", b"\xff\xfe"),
    "deep theme": _write("themes/deep/theme.yaml", b"name: " + b"{a: " * 2000),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_read_only_commands_write_nothing_on_a_project(cli: CliRunner, scenario: str) -> None:
    project = make_project(cli)
    SCENARIOS[scenario](project.cwd)
    before = fingerprint(project.cwd)
    for args in READ_ONLY:
        for fmt in ((), ("--json",)):
            result = project("server", *args, *fmt)
            assert_documented(result)
            assert fingerprint(project.cwd) == before, (scenario, args)
    if scenario == "healthy":
        assert project("server", "backup", "list", "--json").data["backups"], "the seed backup is listed"


def test_read_only_commands_create_nothing_in_an_empty_folder(cli: CliRunner) -> None:
    cli.environ["DISCORD_GUILD_ID"] = GUILD
    for args in READ_ONLY:
        result = cli("server", *args, "--json")
        assert result.exit_code == 0, (args, result.stdout)
        assert list(cli.cwd.iterdir()) == [], args


def test_read_only_commands_create_nothing_on_s3_and_dynamodb(aws_project: CliRunner) -> None:
    project = aws_project
    import boto3

    endpoint = project.environ["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)

    def remote() -> tuple[list[tuple[str, str]], list[str]]:
        objects = s3.list_objects_v2(Bucket=project.environ["GAIB_BACKUP_BUCKET"]).get("Contents", [])
        items = ddb.scan(TableName=project.environ["GAIB_BACKUP_TABLE"])["Items"]
        return sorted((o["Key"], o["ETag"]) for o in objects), sorted(repr(i) for i in items)

    before, files = remote(), fingerprint(project.cwd)
    for args in READ_ONLY:
        assert_documented(project("server", *args, "--json"))
    assert remote() == before and fingerprint(project.cwd) == files
