"""snapshot create / list / download / compare, and what a damaged or hostile input does."""

from __future__ import annotations

import errno
import gzip
import json
import os
import pwd
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gaib.bundles.download import Source, write_streams
from gaib.cli.context import Env
from gaib.errors import StorageError
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
    assert sorted(p.name for p in folder.iterdir()) == SNAPSHOT_FILES
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


SNAPSHOT_FILES = ["automod.json", "bans.json", "config.yaml", "emojis.json", "events.json", "guild.json",
                  "manifest.json", "members.json", "objects.json", "onboarding.json", "soundboard.json", "state.json",
                  "stickers.json", "structure.json", "theme-registry.json", "threads.json", "welcome.json"]


@pytest.mark.parametrize("form", ["absolute", "cwd-absolute", "tilde", "tilde-user", "dotdot-inside",
                                  "dotdot-outside", "symlink"])
def test_download_writes_wherever_the_user_says(snap: CliRunner, tmp_path_factory: pytest.TempPathFactory,
                                                form: str) -> None:
    """-o takes any path a user types, as restic --target or tar -C do: absolute, ~ (expanded by Gaib too,
    since a quoted '~/snap' reaches it as is), relative with .. inside or outside the current folder."""
    sid = _applied(snap)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    home = tmp_path_factory.mktemp("home")
    user = pwd.getpwuid(os.getuid())
    arg, where = {
        "absolute": (str(elsewhere / "srv" / "snap"), elsewhere / "srv" / "snap"),  # missing parents are made
        "cwd-absolute": (str(snap.cwd / "snap3"), snap.cwd / "snap3"),
        "tilde": ("~/snap", home / "snap"),
        # ~user is that account's home folder (not $HOME); the path climbs from it to a writable folder
        "tilde-user": (f"~{user.pw_name}/{os.path.relpath(elsewhere, user.pw_dir)}/snap", elsewhere / "snap"),
        "dotdot-inside": (f"../{snap.cwd.name}/snap2", snap.cwd / "snap2"),
        "dotdot-outside": (f"../{elsewhere.name}/snap", elsewhere / "snap"),
        "symlink": ("link-out/snap", elsewhere / "snap"),
    }[form]
    (snap.cwd / "link-out").symlink_to(elsewhere)
    r = snap("server", "snapshot", "download", sid, "-o", arg, "--json", env={"HOME": str(home)})
    assert r.exit_code == 0, r.stdout
    assert Path(r.data["folder"]) == Path(os.path.realpath(where))
    assert sorted(p.name for p in where.iterdir()) == SNAPSHOT_FILES
    assert json.loads((where / "manifest.json").read_text())["id"] == sid
    assert not (snap.cwd / "~").exists()  # never a literal folder named ~
    assert not [p for p in where.parent.iterdir() if ".tmp" in p.name]  # no temporary folder left behind


def test_download_refuses_a_non_empty_folder_or_a_file_without_force(
        snap: CliRunner, tmp_path_factory: pytest.TempPathFactory) -> None:
    sid = _applied(snap)
    full = tmp_path_factory.mktemp("full")
    (full / "notes.txt").write_text("mine")
    a_file = snap.cwd / "a-file"
    a_file.write_text("mine")
    for arg in (str(full), "a-file"):
        r = snap("server", "snapshot", "download", sid, "-o", arg, "--json")
        assert r.exit_code == 6, r.stdout
        assert r.error["code"] in ("ALREADY_EXISTS", "INVALID_INPUT")
    refused = snap("server", "snapshot", "download", sid, "-o", str(full), "--json").error
    assert refused["code"] == "ALREADY_EXISTS" and "--force" in refused["suggestion"]
    assert [p.name for p in full.iterdir()] == ["notes.txt"] and a_file.read_text() == "mine"
    forced = snap("server", "snapshot", "download", sid, "-o", str(full), "--force", "--json")
    assert forced.exit_code == 0, forced.stdout
    assert sorted(p.name for p in full.iterdir()) == sorted([*SNAPSHOT_FILES, "notes.txt"])
    assert (full / "notes.txt").read_text() == "mine"
    # An empty existing folder is fine without --force.
    (snap.cwd / "empty").mkdir()
    assert snap("server", "snapshot", "download", sid, "-o", "empty").exit_code == 0
    assert sorted(p.name for p in (snap.cwd / "empty").iterdir()) == SNAPSHOT_FILES


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "..", "a/../../b", ".", "sub/state.json", ""])
def test_a_hostile_part_name_is_refused_before_anything_is_written(tmp_path: Path, bad: str) -> None:
    """The folder is the user's to choose; the names inside it are Gaib's: a bundle naming a part outside
    the fixed list never gets a file written, in a new folder or an existing one."""
    (tmp_path / "existing").mkdir()
    for target in (tmp_path / "new", tmp_path / "existing"):
        with pytest.raises(ValueError, match="unexpected bundle file name"):
            write_streams(target, [("manifest.json", lambda: [b"{}"]), (bad, lambda: [b"x"])], force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]
    assert list((tmp_path / "existing").iterdir()) == []


def _disk_full() -> Iterator[bytes]:
    yield b"x: "
    raise OSError(errno.ENOSPC, "No space left on device")


def _third_fails() -> list[tuple[str, Source]]:
    """Files whose third one cannot be written (the disk fills up in the middle of its stream)."""
    return [("manifest.json", lambda: [b"{}"]), ("state.json", lambda: [b"{}"]), ("config.yaml", _disk_full)]


def test_a_failed_download_leaves_no_half_written_target(tmp_path: Path) -> None:
    files = _third_fails()
    with pytest.raises(StorageError, match="No space left"):
        write_streams(tmp_path / "new" / "snap", files, force=False)
    assert not (tmp_path / "new" / "snap").exists() and list((tmp_path / "new").iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "state.json").write_text("old")
    with pytest.raises(StorageError):
        write_streams(kept, files, force=True)
    assert [p.name for p in kept.iterdir()] == ["state.json"] and (kept / "state.json").read_text() == "old"


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
