"""snapshot create / list / download / compare, and what a damaged or hostile input does."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.raid_config import CONFIG
from tests.support.tiers import on_tier

PART_FILES = ("state.json.gz", "config.yaml.gz", "theme-registry.json.gz", "objects.json.gz")


def _app(cli: CliRunner) -> App:
    return App(Settings.resolve(Env(environ=cli.environ, cwd=cli.cwd)), clock=cli.clock)


def _applied(snap: CliRunner) -> str:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    made = snap("server", "snapshot", "create", "-m", "first", "--json")
    assert made.exit_code == 0, made.stdout
    return str(made.data["id"])


def test_download_writes_verified_decompressed_files(snap: CliRunner) -> None:
    sid = _applied(snap)
    r = snap("server", "snapshot", "download", sid, "-o", "copy", "--json")
    assert r.exit_code == 0, r.stdout
    folder = snap.cwd / "copy"
    assert sorted(p.name for p in folder.iterdir()) == ["bans.json", "config.yaml", "emojis.json", "guild.json",
                                                         "manifest.json", "objects.json", "state.json",
                                                         "stickers.json", "theme-registry.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["id"] == sid and manifest["kind"] == "snapshot" and len(manifest["manifest_sha256"]) == 64
    state = json.loads((folder / "state.json").read_text())
    assert state["serial"] == manifest["serial"] and len(state["resources"]) == 7
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert [r["name"] for r in config["roles"]] == ["Admin", "Member"]
    # The theme registry as it was: the apply's deployment is current.
    registry = json.loads((folder / "theme-registry.json").read_text())
    assert [(d["kind"], d["serial"]) for d in registry["history"]] == [("apply", manifest["serial"])]
    assert registry["current"] == registry["history"][0]
    # The exported config re-applies with zero changes.
    (snap.cwd / "discord-server.yaml").write_text((folder / "config.yaml").read_text())
    assert snap("server", "plan", "--json").data["empty"] is True
    # An existing non-empty folder needs --force; --raw keeps the stored bytes.
    again = snap("server", "snapshot", "download", sid, "-o", "copy", "--raw", "--json")
    assert again.exit_code == 6 and again.error["code"] == "ALREADY_EXISTS"
    raw = snap("server", "snapshot", "download", sid, "-o", "copy", "--raw", "--force", "--json")
    assert raw.exit_code == 0, raw.stdout
    assert gzip.decompress((folder / "config.yaml.gz").read_bytes()) == (folder / "config.yaml").read_bytes()


def test_list_shows_counts_sizes_and_messages(snap: CliRunner) -> None:
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    sid = _applied(snap)
    second = snap("server", "snapshot", "create", "-m", "second\x1b[31m", "--codec", "zstd", "--json").data
    listed = snap("server", "snapshot", "list", "--json").data
    assert [s["id"] for s in listed["snapshots"]] == [second["id"], sid]
    assert listed["snapshots"][1]["counts"]["roles"] == 2 and listed["snapshots"][1]["stored_size"] > 0
    assert listed["snapshots"][0]["parts"]["config"]["codec"] == "zstd"
    text = snap("server", "snapshot", "list").stdout
    assert "first" in text and "\x1b" not in text and "second\\x1b[31m" in text
    # Issue 25: the OBJECTS column ("2r/1c/3ch/0e/0s/0b") has a legend under the table.
    assert "OBJECTS: r roles, c categories, ch channels, e emojis, s stickers, b bans, msg messages" in text
    page = snap("server", "snapshot", "list", "--limit", "1", "--json").data
    assert len(page["snapshots"]) == 1 and page["next_cursor"]
    rest = snap("server", "snapshot", "list", "--limit", "1", "--cursor", page["next_cursor"], "--json").data
    assert [s["id"] for s in rest["snapshots"]] == [sid]


def test_compare_reports_known_changes_field_by_field(snap: CliRunner, discord: Guild) -> None:
    on_tier(snap, "premium")  # two on-demand snapshots in one day
    first = _applied(snap)
    same = snap("server", "snapshot", "compare", first, first, "--json")
    assert same.exit_code == 0 and same.data["identical"] is True
    discord.patch_channel(discord.channel("rules")["id"], {"topic": "New rules"})
    discord.create_role({"name": "Guests"})
    member = discord.role("Member")
    discord._call("PATCH", f"/guilds/{discord.emu.guild_id}/roles/{member['id']}", {"color": 0x123456})
    second = snap("server", "snapshot", "create", "--json").data["id"]
    diff = snap("server", "snapshot", "compare", first, second, "--json").data
    assert diff["identical"] is False
    assert diff["roles"]["added"] == ["Guests"]
    assert {"field": "color", "old": "#000000", "new": "#123456"} in diff["roles"]["changed"][0]["fields"]
    [rules] = diff["channels"]["changed"]
    assert rules["name"] == "Info/rules" and {"field": "topic", "old": "Read me", "new": "New rules"} in rules["fields"]
    text = snap("server", "snapshot", "compare", first, second).stdout
    assert "+ role Guests" in text and "topic: 'Read me' -> 'New rules'" in text


def _corrupt(cli: CliRunner, sid: str, how: str, part: str) -> None:
    app = _app(cli)
    key = f"snapshots/{cli.environ['DISCORD_GUILD_ID']}/{sid}/{part}"
    data = app.store.get(key)
    app.store.delete(key)
    if how == "missing":
        return
    if how == "flipped":
        changed = bytearray(data)
        changed[len(changed) // 2] ^= 0x01
        data = bytes(changed)
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "edited":
        doc: dict[str, Any] = json.loads(data)
        doc["message"] = "edited by hand"
        data = json.dumps(doc).encode()
    app.store.put(key, data)


@pytest.mark.parametrize(("how", "part"), [("flipped", p) for p in PART_FILES] + [("truncated", "config.yaml.gz"),
                                            ("missing", "state.json.gz"), ("missing", "manifest.json"),
                                            ("edited", "manifest.json")])
def test_a_damaged_snapshot_is_refused_before_anything_is_written(snap: CliRunner, discord: Guild, how: str,
                                                                  part: str) -> None:
    sid = _applied(snap)
    _corrupt(snap, sid, how, part)
    discord.delete_channel(discord.channel("chat")["id"])  # something a restore would fix
    state_file = snap.cwd / ".gaib" / "workspaces" / "default" / "terraform.tfstate"
    before = state_file.read_bytes()
    mark = discord.mark()
    for args in (("restore", sid, "--dry-run"), ("restore", sid, "--apply", "--yes"), ("restore", sid, "--yes"),
                 ("download", sid, "-o", "out")):
        r = snap("server", "snapshot", *args, "--json")
        assert r.exit_code == 3 and r.error["code"] == "INTEGRITY_ERROR", (args, r.stdout)
    assert discord.writes_since(mark) == []
    assert state_file.read_bytes() == before
    assert not (snap.cwd / "out").exists()
    assert (snap.cwd / "discord-server.yaml").read_text() == CONFIG
    # list verifies manifests (not parts, which every use verifies): a damaged manifest is reported and
    # skipped. Either way the snapshot can still be deleted.
    listed = snap("server", "snapshot", "list", "--json").data
    if part == "manifest.json":
        assert listed["damaged"] == [sid] and listed["snapshots"] == []
    else:
        assert [s["id"] for s in listed["snapshots"]] == [sid]
    assert snap("server", "snapshot", "delete", sid, "--yes").exit_code == 0


@pytest.mark.parametrize("bad", ["../x", "/etc", "..", "a/../../b", "link-out", "link-out/sub"])
def test_download_never_writes_outside_the_target(snap: CliRunner, tmp_path: Path, bad: str) -> None:
    sid = _applied(snap)
    outside = tmp_path.parent / f"outside-{os.getpid()}"
    outside.mkdir(exist_ok=True)
    (snap.cwd / "link-out").symlink_to(outside)
    r = snap("server", "snapshot", "download", sid, "-o", bad, "--force", "--json")
    assert r.exit_code == 6 and r.error["code"] == "INVALID_INPUT", r.stdout
    assert list(outside.iterdir()) == []


def test_a_symlink_planted_in_the_target_is_replaced_not_followed(snap: CliRunner, tmp_path: Path) -> None:
    sid = _applied(snap)
    victim = tmp_path.parent / f"victim-{os.getpid()}.txt"
    victim.write_text("precious")
    (snap.cwd / "out").mkdir()
    (snap.cwd / "out" / "config.yaml").symlink_to(victim)
    assert snap("server", "snapshot", "download", sid, "-o", "out", "--force").exit_code == 0
    assert victim.read_text() == "precious"
    assert not (snap.cwd / "out" / "config.yaml").is_symlink()


@pytest.mark.parametrize("bad", ["../x", "20261125T170312042Z-A1B2C3D4", "x" * 5000, "20261125T170312042Z-a1b2c3d4/..",
                                 "２０２６", "%2e%2e"])
def test_hostile_snapshot_ids_are_refused(snap: CliRunner, bad: str) -> None:
    for args in (("restore", bad, "--dry-run"), ("download", bad, "-o", "x"), ("compare", bad, bad),
                 ("delete", bad, "--yes")):
        r = snap("server", "snapshot", *args, "--json")
        assert r.exit_code == 6 and r.error["code"] in ("INVALID_NAME", "NOT_FOUND"), (args, r.stdout)
    assert not (snap.cwd / "x").exists()
