"""``gaib server theme ls|info`` through the in-process CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaib.cli.app import server
from tests.support.cli import CliRunner
from tests.support.themes import make_theme


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # Registers the group for these tests whether or not app.py already does.
    monkeypatch.setitem(server.lazy, "theme", ("gaib.cli.theme:theme", "List and inspect themes."))
    return cli


def test_ls_lists_builtin_and_project_themes(cli: CliRunner, tmp_path: Path) -> None:
    make_theme(cli.cwd / "themes", name="basic", version="3.0.0")
    r = cli("server", "theme", "ls", "--json", env={"HOME": str(tmp_path / "nohome")})
    assert r.exit_code == 0, r.stdout + r.stderr
    rows = [(t["name"], t["version"], t["origin"], t["shadowed_by"]) for t in r.data["themes"]]
    assert rows == [("basic", "1.0.0", "builtin", None), ("sietch", "1.0.0", "builtin", None),
                    ("basic", "3.0.0", "project", "builtin")]


def test_ls_text_output(cli: CliRunner) -> None:
    r = cli("server", "theme", "ls")
    assert r.exit_code == 0
    assert "sietch" in r.stdout and "basic" in r.stdout and "VERSION" in r.stdout


def test_info_shows_variables_and_counts(cli: CliRunner) -> None:
    r = cli("server", "theme", "info", "sietch", "--json")
    assert r.exit_code == 0, r.stderr
    data = r.data
    assert data["counts"] == {"roles": 15, "categories": 9, "channels": 23}
    assert data["variables"]["naib_color"] == {"type": "color", "required": False, "default": "#c8a04a",
                                               "pattern": None, "description": "Colour of the Naib (leader) role"}
    assert data["roles"][0] == "Naib"
    r = cli("server", "theme", "info", "basic")
    assert "Creates 3 roles, 3 categories, 5 channels." in r.stdout


def test_info_with_required_variables_has_no_counts(cli: CliRunner) -> None:
    make_theme(cli.cwd / "themes")
    data = cli("server", "theme", "info", "town", "--json").data
    assert data["counts"] is None and "guild" in data["note"]


def test_info_errors(cli: CliRunner) -> None:
    r = cli("server", "theme", "info", "seitch", "--json")
    assert r.exit_code == 2
    assert r.error["code"] == "CONFIG_INVALID" and "did you mean 'sietch'" in r.error["message"]
    r = cli("server", "theme", "info", "../etc", "--json")
    assert r.exit_code == 6 and r.error["code"] == "INVALID_NAME"
    r = cli("server", "theme", "info", "sietch", "--version", "^2", "--json")
    assert r.exit_code == 2 and "found 1.0.0 (builtin)" in r.error["message"]
    r = cli("server", "theme", "info", "sietch", "--version", "newest", "--json")
    assert r.exit_code == 6
    r = cli("server", "theme", "lss", "--json")
    assert r.exit_code == 6 and "Did you mean 'gaib server theme ls'" in r.error["suggestion"]
