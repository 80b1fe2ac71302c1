"""The config a restore replaces is kept under a name of its own: restoring the same snapshot twice, with
hand edits in between, keeps both edited files, and a file already holding a name is never replaced."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.raid_config import CONFIG


def _kept(stdout: str) -> Path:
    found = re.search(r"Previous config kept as (\S+?)\.(?:\s|$)", stdout)
    assert found, stdout
    return Path(found.group(1))


def test_two_restores_of_one_snapshot_keep_both_hand_edited_configs(snap: CliRunner, discord: Guild) -> None:
    config = snap.cwd / "discord-server.yaml"
    config.write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    sid = snap("server", "snapshot", "create", "--json").data["id"]
    # Both restores run in the same second (the clock is fixed), so the time alone cannot tell them apart.
    now = datetime.now(UTC).replace(microsecond=0)
    snap.clock = lambda: now
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    # Someone's file already holds the name the first copy would take: it stays as it is.
    planted = snap.cwd / f"discord-server.yaml.before-{sid}.{stamp}"
    planted.write_text("my own notes\n")

    first_edit = CONFIG + "# first hand edit\n"
    config.write_text(first_edit)
    one = snap("server", "snapshot", "restore", sid, "--apply", "--yes")
    assert one.exit_code == 0, one.stdout + one.stderr
    first_copy = _kept(one.stdout)
    assert first_copy.read_text() == first_edit
    assert config.read_text() != first_edit  # the snapshot's config replaced it

    second_edit = config.read_text() + "# second hand edit\n"
    config.write_text(second_edit)
    two = snap("server", "snapshot", "restore", sid, "--apply", "--yes", "--json")
    assert two.exit_code == 0, two.stdout + two.stderr
    second_copy = Path(two.data["result"]["previous_config"])
    assert second_copy.read_text() == second_edit

    assert len({planted, first_copy, second_copy}) == 3
    assert first_copy.read_text() == first_edit and planted.read_text() == "my own notes\n"
    kept = sorted(p.name for p in snap.cwd.glob("discord-server.yaml.before-*"))
    assert kept == sorted([planted.name, first_copy.name, second_copy.name])
    assert all(name.startswith(f"discord-server.yaml.before-{sid}.{stamp}") for name in kept)


def test_a_restore_without_apply_keeps_the_previous_config_under_a_new_name_too(snap: CliRunner,
                                                                                discord: Guild) -> None:
    config = snap.cwd / "discord-server.yaml"
    config.write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    sid = snap("server", "snapshot", "create", "--json").data["id"]
    copies = []
    for edit in ("# one\n", "# two\n"):
        config.write_text(CONFIG + edit)
        done = snap("server", "snapshot", "restore", sid, "--yes", "--force", "--json")
        assert done.exit_code == 0, done.stdout
        copies.append(Path(done.data["result"]["previous_config"]))
    assert [c.read_text() for c in copies] == [CONFIG + "# one\n", CONFIG + "# two\n"]
