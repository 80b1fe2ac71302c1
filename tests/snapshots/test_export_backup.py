"""gaib server export --backup: every export kept under its id, and the latest one replaced in place."""

from __future__ import annotations

import yaml

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild
from tests.support.raid_config import CONFIG


def test_export_backup_keeps_each_export_and_the_latest(snap: CliRunner, discord: Guild) -> None:
    (snap.cwd / "discord-server.yaml").write_text(CONFIG)
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    plain = snap("server", "export", "-o", "plain.yaml", "--json")
    assert plain.exit_code == 0 and "backup" not in plain.data  # plain export stores nothing
    first = snap("server", "export", "--backup", "-o", "exported.yaml", "--json")
    assert first.exit_code == 0, first.stdout
    stored = first.data["backup"]
    guild = snap.environ["DISCORD_GUILD_ID"]
    assert stored["key"] == f"exports/{guild}/config.{stored['id']}.yaml"
    assert stored["latest_key"] == f"exports/{guild}/config.latest.yaml"
    app = App(Settings.resolve(Env(environ=snap.environ, cwd=snap.cwd)), clock=snap.clock)
    text = (snap.cwd / "exported.yaml").read_text()
    assert app.store.get(stored["key"]).decode() == text == (snap.cwd / "plain.yaml").read_text()
    latest = app.store.get_document(stored["latest_key"])
    assert latest.data.decode().endswith(text) and yaml.safe_load(latest.data) == yaml.safe_load(text)

    discord.create_role({"name": "Later"})
    second = snap("server", "export", "--backup", "-o", "second.yaml", "--json").data["backup"]
    assert second["id"] > stored["id"]
    assert "name: Later" in app.store.get(second["key"]).decode()
    newer = app.store.get_document(stored["latest_key"])
    assert "name: Later" in newer.data.decode() and newer.generation != latest.generation
    assert app.store.get(stored["key"]).decode() == text  # earlier exports are never changed
    # The stored export re-applies with zero changes to Discord (the new role is only adopted).
    (snap.cwd / "discord-server.yaml").write_text(app.store.get(second["key"]).decode())
    plan = snap("server", "plan", "--json").data
    assert [(c["action"], c["changes"]) for c in plan["changes"]] == [("adopt", [])], plan
    mark = discord.mark()
    assert snap("server", "apply", "--auto-approve").exit_code == 0
    assert discord.writes_since(mark) == []
    assert snap("server", "plan", "--json").data["empty"] is True
