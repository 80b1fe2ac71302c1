"""Memory is bounded per bundle: ``snapshot download`` streams each part from storage to its file, and a bundle
that claims (or really holds) more than the ceiling ``GAIB_MAX_BUNDLE_BYTES`` allows is refused before a byte
past the ceiling is read or written — on local storage and on S3 + DynamoDB (moto). Small ceilings, set through
the setting, keep the tests fast. The caller shows the server's own bot token (an emulated guild with the
snapshots' server id), as reading saved messages needs (issue 24, item 3)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gaib.bundles.manifest import parse_manifest, seal
from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.storage.keys import server_pk, snapshot_key, snapshot_sk
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.state import GUILD
from tests.support.storage.raw import Storage
from tests.support.storage.writer import write_snapshot

MIB = 1024 * 1024
LINE = b'{"id": "1300000000000000001", "author": {"id": "1"}, "content": "the spice must flow"}\n'


@pytest.fixture(scope="module")
def own_guild() -> Iterator[EmulatorHandle]:
    with running_emulator(guild_id=GUILD, args=("--rate-limits", "off")) as emu:
        yield emu


@pytest.fixture(autouse=True)
def with_the_servers_bot(bcli: CliRunner, own_guild: EmulatorHandle) -> None:
    bcli.environ.update(own_guild.bot_environ())


def _big_snapshot(cli: CliRunner, parts: int = 6, size: int = 8 * MIB) -> str:
    app = App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)
    body = LINE * (size // len(LINE))
    return write_snapshot(app, {f"messages/{1300000000000000000 + n}": body for n in range(parts)})


def test_download_streams_every_part_to_its_file_holding_none_whole(bcli: CliRunner) -> None:
    sid = _big_snapshot(bcli)  # 6 parts of 8 MiB plain, a few hundred KiB stored
    tracemalloc.start()
    try:
        r = bcli("server", "snapshot", "download", sid, "-o", "copy", "--json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.exit_code == 0, r.stdout + r.stderr
    written = sorted(p for p in (bcli.cwd / "copy").iterdir() if p.name.startswith("messages-"))
    assert len(written) == 6 and all(p.stat().st_size == 8 * MIB // len(LINE) * len(LINE) for p in written)
    assert peak < 6 * MIB, f"peak {peak / MIB:.1f} MiB"  # not one part's 8 MiB, let alone the bundle's 48


def test_a_bundle_claiming_more_than_the_ceiling_is_refused_before_anything_is_read(bcli: CliRunner) -> None:
    sid = _big_snapshot(bcli)
    bcli.environ["GAIB_MAX_BUNDLE_BYTES"] = "32MiB"
    before = Storage(bcli).objects()

    r = bcli("server", "snapshot", "download", sid, "-o", "copy", "--json")
    assert r.exit_code == 3 and r.error["code"] == "INTEGRITY_ERROR"
    assert "more than the 33554432 one bundle may hold" in r.error["message"]
    assert "GAIB_MAX_BUNDLE_BYTES" in r.error["suggestion"]
    assert not (bcli.cwd / "copy").exists()
    assert bcli("server", "snapshot", "compare", sid, sid, "--json").error["code"] == "INTEGRITY_ERROR"
    assert Storage(bcli).objects() == before

    bcli.environ["GAIB_MAX_BUNDLE_BYTES"] = "64MiB"
    assert bcli("server", "snapshot", "download", sid, "-o", "copy", "--json").exit_code == 0
    bcli.environ["GAIB_MAX_BUNDLE_BYTES"] = "lots"
    bad = bcli("server", "snapshot", "download", sid, "-o", "other", "--json")
    assert bad.exit_code == 2 and "GAIB_MAX_BUNDLE_BYTES" in bad.error["suggestion"]


def test_real_bytes_past_their_claim_are_refused_and_leave_no_file(bcli: CliRunner) -> None:
    sid = _big_snapshot(bcli, parts=2, size=4 * MIB)
    catalog = Storage(bcli).catalog()
    item = catalog.get(server_pk(GUILD), snapshot_sk(sid))
    manifest = parse_manifest(item, "test")
    name = next(n for n in manifest.parts if n.startswith("messages/"))
    # A manifest (with a checksum anyone can compute) claiming 64 KiB for a part that holds 4 MiB: its MAC
    # no longer verifies, and without one (as a bundle written before sealing) the stream still stops it.
    claims = {**manifest.parts, name: replace(manifest.parts[name], plain_size=65536)}
    for forged in (seal(replace(manifest, parts=claims)), seal(replace(manifest, parts=claims, mac=None))):
        catalog.delete(server_pk(GUILD), snapshot_sk(sid))
        catalog.put_if_absent(server_pk(GUILD), snapshot_sk(sid),
                              {**{k: v for k, v in item.items() if k != "mac"}, **forged.to_dict()})
        Storage(bcli).write(snapshot_key(GUILD, sid, "manifest.json"), forged.to_json())
        r = bcli("server", "snapshot", "download", sid, "-o", "copy", "--json")
        assert r.exit_code == 3
        if forged.mac is not None:
            assert r.error["code"] == "BUNDLE_NOT_AUTHENTIC" and not (bcli.cwd / "copy").exists()
    assert r.error["code"] == "INTEGRITY_ERROR"
    assert "expands beyond the 65536 bytes recorded" in r.error["message"]
    assert not (bcli.cwd / "copy").exists()
    assert [p for p in Path(bcli.cwd).rglob("*.tmp.*")] == []
