"""export -o: any path a user types (absolute, ~, relative with ..), an existing file only with --force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from gaib.cli.context import Env
from gaib.settings import Settings
from gaib.storage.base import NotFound
from gaib.storage.keys import export_latest_key
from gaib.wiring import App
from tests.support.cli import CliRunner
from tests.support.discord.guild import Guild


def _roles(path: Path) -> list[str]:
    return [r["name"] for r in yaml.safe_load(path.read_text())["roles"]]


@pytest.mark.parametrize("form", ["absolute", "tilde", "dotdot-inside", "dotdot-outside"])
def test_export_writes_wherever_the_user_says(gaib: CliRunner, discord: Guild,
                                              tmp_path_factory: pytest.TempPathFactory, form: str) -> None:
    discord.create_role({"name": "Fremen"})
    elsewhere, home = tmp_path_factory.mktemp("elsewhere"), tmp_path_factory.mktemp("home")
    arg, where = {
        "absolute": (str(elsewhere / "exports" / "server.yaml"), elsewhere / "exports" / "server.yaml"),
        "tilde": ("~/exports/server.yaml", home / "exports" / "server.yaml"),  # quoted: no shell expanded it
        "dotdot-inside": (f"../{gaib.cwd.name}/server.yaml", gaib.cwd / "server.yaml"),
        "dotdot-outside": (f"../{elsewhere.name}/server.yaml", elsewhere / "server.yaml"),
    }[form]
    r = gaib("server", "export", "-o", arg, "--json", env={"HOME": str(home)})
    assert r.exit_code == 0, r.stdout
    assert Path(r.data["output"]) == Path(os.path.realpath(where))
    assert "Fremen" in _roles(where)
    assert not (gaib.cwd / "~").exists()


def test_export_refuses_an_existing_file_without_force(gaib: CliRunner, discord: Guild, store: dict[str, str],
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    gaib.environ.update(store)
    discord.create_role({"name": "Fremen"})
    mine = tmp_path_factory.mktemp("out") / "server.yaml"
    mine.write_text("my notes\n")
    for args in (("-o", str(mine)), ("-o", str(mine), "--backup")):
        r = gaib("server", "export", *args, "--json")
        assert r.exit_code == 6 and r.error["code"] == "ALREADY_EXISTS", r.stdout
        assert "--force" in r.error["suggestion"]
    assert mine.read_text() == "my notes\n"
    # Nothing was stored either: the refusal comes before Discord is read.
    app = App(Settings.resolve(Env(environ=gaib.environ, cwd=gaib.cwd)))
    with pytest.raises(NotFound):
        app.store.get(export_latest_key(gaib.environ["DISCORD_GUILD_ID"]))
    folder = gaib("server", "export", "-o", str(mine.parent), "--json")
    assert folder.exit_code == 6 and folder.error["code"] == "INVALID_INPUT"
    forced = gaib("server", "export", "-o", str(mine), "--force", "--json")
    assert forced.exit_code == 0, forced.stdout
    assert "Fremen" in _roles(mine)
