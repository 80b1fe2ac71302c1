"""Deploy basic, then sietch, then a variant; roll back step by step and to an id; Discord follows."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild, fingerprint

BASIC = 'version: "1.0"\ntheme: basic\n'
SIETCH = 'version: "1.0"\ntheme: sietch\n'
VARIANT = textwrap.dedent("""
    version: "1.0"
    theme:
      name: sietch
      variables:
        community_name: Arrakis
        memes_nsfw: true
        general_slowmode: 30
      exclude:
        categories: [Council Chamber]
""")


def ten_minutes_later(reg: CliRunner) -> None:
    """Move the runner's clock 11 minutes on. Discord lets a channel's name or topic change twice per 10
    minutes, and Gaib waits for that (its limits cache remembers the edits of earlier runs); a person
    rolling back and forth would wait too. The emulator has no clock of its own here (limits off)."""
    offset = getattr(reg, "_offset", timedelta(0)) + timedelta(minutes=11)
    object.__setattr__(reg, "_offset", offset)
    reg.clock = lambda: datetime.now(UTC) + offset


def deploy(reg: CliRunner, text: str) -> str:
    ten_minutes_later(reg)
    (reg.cwd / "discord-server.yaml").write_text(text)
    done = reg("server", "apply", "--auto-approve", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    assert done.data["deployment"] is not None, done.stdout
    return str(done.data["deployment"]["id"])


def rollback(reg: CliRunner, *args: str) -> dict[str, Any]:
    ten_minutes_later(reg)
    done = reg("server", "theme", "rollback", *args, "--yes", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    result: dict[str, Any] = done.data["result"]
    return result


@pytest.mark.slow
def test_rollback_walks_back_through_history_and_never_toggles(reg: CliRunner, discord: Guild) -> None:
    basic = deploy(reg, BASIC)
    at_basic = fingerprint(discord)
    sietch = deploy(reg, SIETCH)
    at_sietch = fingerprint(discord)
    variant = deploy(reg, VARIANT)
    at_variant = fingerprint(discord)
    variant_ids = discord.ids()
    assert len({frozenset(at_basic), frozenset(at_sietch), frozenset(at_variant)}) == 3

    dry = reg("server", "theme", "rollback", "--steps", "1", "--dry-run", "--json")
    assert dry.exit_code == 0 and dry.data["plan"]["target"]["id"] == sietch, dry.stdout
    assert fingerprint(discord) == at_variant  # a dry run changes nothing

    first = rollback(reg, "--steps", "1")
    assert (first["target_id"], first["from_id"]) == (sietch, variant)
    assert fingerprint(discord) == at_sietch
    assert reg("server", "plan", "--json").data["empty"] is True
    # Objects both deployments hold kept their Discord ids (updated in place, not re-created).
    after = discord.ids()
    for name in ("Naib", "Fremen", "general", "welcome"):
        assert after[name] == variant_ids[name], name
    # The config file is the target's config; the previous one is kept beside it.
    rollback_id = first["deployment"]["id"]
    kept = Path(first["previous_config"])
    assert kept.parent == reg.cwd and kept.name.startswith(f"discord-server.yaml.before-{rollback_id}.")
    assert kept.read_text() == VARIANT
    assert first["pre_restore_backup_id"] is not None

    second = rollback(reg, "--steps", "1")
    assert second["target_id"] == basic, "a rollback counts as the deployment it returned to"
    assert fingerprint(discord) == at_basic
    assert reg("server", "plan", "--json").data["empty"] is True

    third = rollback(reg, "--to", variant)
    assert third["target_id"] == variant
    assert fingerprint(discord) == at_variant
    fourth = rollback(reg, "--steps", "1")  # back from the variant's place in history
    assert fourth["target_id"] == sietch
    assert fingerprint(discord) == at_sietch

    # The free tier keeps the last 5 deployments: the basic and sietch applies are pruned.
    history = reg("server", "theme", "history", "--json").data["deployments"]
    assert [(d["kind"], d["rolled_back_to"]) for d in history] == [
        ("rollback", sietch), ("rollback", variant), ("rollback", basic), ("rollback", sietch), ("apply", None)]
    assert history[-1]["id"] == variant and history[-1]["theme"]["variables"]["community_name"] == "Arrakis"
    assert all(d["actor"] == "tester" and d["via"] == "cli" for d in history)
    assert history[2]["theme"]["name"] == "basic"

    # A pruned deployment is still reachable through a kept rollback that returned to it.
    back = rollback(reg, "--to", basic)
    assert back["target_id"] == history[2]["id"]
    assert fingerprint(discord) == at_basic
    # Past the oldest: basic has nothing before it; the error lists what is available.
    past = reg("server", "theme", "rollback", "--steps", "1", "--yes", "--json")
    assert past.exit_code == 6, past.stdout
    assert past.error["code"] == "NOT_FOUND" and "nothing was deployed before that" in past.error["message"]
    assert "Other kept deployments (with --to ID):" in past.error["message"]
    assert past.error["details"]["reachable_steps"] == 0
    assert past.error["details"]["available"][0]["id"] == back["deployment"]["id"]
    assert fingerprint(discord) == at_basic
