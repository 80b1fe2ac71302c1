"""No host's clock decides which deployment is current: the catalog's order of writes does, on both storages.

A theme applied on a host whose clock runs 400 days ahead, then another on a correct host: the second is
the registry's current deployment, the one ``rollback --steps 1`` starts from, and the head of
``registry.json``; rolling back returns to the future-dated one. Only the clock is injected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from gaib.cli.context import utc_now
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.storage.raw import Storage

BASIC = 'version: "1.0"\ntheme: basic\n'
SIETCH = 'version: "1.0"\ntheme: sietch\n'


def _apply(reg: CliRunner, text: str) -> str:
    (reg.cwd / "discord-server.yaml").write_text(text)
    done = reg("server", "apply", "--auto-approve", "--json")
    assert done.exit_code == 0, done.stdout + done.stderr
    return str(done.data["deployment"]["id"])


@pytest.mark.slow
def test_a_deployment_from_a_clock_400_days_ahead_never_stays_current(reg: CliRunner, discord: Guild) -> None:
    real = datetime.now(UTC)
    reg.clock = lambda: real + timedelta(days=400)
    future = _apply(reg, BASIC)
    reg.clock = utc_now
    newest = _apply(reg, SIETCH)
    assert future > newest  # by the ids' own dates, the future-dated one would be "current"

    shown = reg("server", "theme", "registry", "--json")
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    assert shown.data["current"]["id"] == newest
    assert [d["id"] for d in shown.data["recent"]] == [future]

    documents = [data for key, data in Storage(reg).objects().items() if key.endswith("/registry.json")]
    assert len(documents) == 1
    document = json.loads(documents[0])
    assert document["current"]["id"] == newest
    assert [e["id"] for e in document["history"]] == [newest, future]

    plan = reg("server", "theme", "rollback", "--steps", "1", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert plan.data["plan"]["current"]["id"] == newest
    assert plan.data["plan"]["target"]["id"] == future
