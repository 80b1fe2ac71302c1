"""What a command loads before it answers: ``gaib --help`` and a local ``backup list`` stay quick
because they import only what they use (bench/startup.py times them; these tests pin the modules).

Each check runs in a fresh interpreter: the test process has everything imported already."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaib.project_file import config_server, may_spell_id

GUILD = "1100000000000000001"
SIETCH = 'version: "1.0"\ntheme:\n  name: sietch\n'


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GAIB_", "DISCORD_", "AWS_"))}


def _loaded(code: str, cwd: Path, **environ: str) -> set[str]:
    """The modules loaded after running ``code`` (which must leave ``sys.modules`` alone) in ``cwd``."""
    env = _clean_env()
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, env={**env, **environ}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_loads_neither_the_settings_nor_pathlib(tmp_path: Path) -> None:
    click_only = _loaded("import click", tmp_path)
    shown = _loaded("from gaib.cli.app import main\nassert main(['--help']) == 0", tmp_path)
    added = shown - click_only
    assert not {"gaib.settings", "gaib.project_file", "gaib.wiring", "pathlib", "json", "dataclasses",
                "difflib", "yaml"} & added, sorted(added)
    # No thread pool (concurrent.futures brings logging and traceback) and no shutil (bz2, lzma) for
    # click's terminal width: gaib.cli.app.help_width.
    assert not {"concurrent.futures", "logging", "traceback", "shutil", "bz2", "lzma"} & added, sorted(added)


def test_help_is_wrapped_as_click_would(tmp_path: Path) -> None:
    from gaib.cli.app import help_width

    assert help_width(io.StringIO()) == 78  # no terminal: 80 columns, as shutil's fallback
    shown = _loaded("from gaib.cli.app import main\nassert main(['server', '--help']) == 0", tmp_path)
    assert "shutil" not in shown
    lines = subprocess.run([sys.executable, "-m", "gaib", "server", "--help"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env=_clean_env()).stdout.splitlines()
    assert max(len(line) for line in lines) <= 78
    assert any(len(line) > 70 for line in lines)  # wrapped at the width, not narrower


def test_a_local_backup_listing_loads_no_yaml_tier_or_writer(tmp_path: Path) -> None:
    (tmp_path / "discord-server.yaml").write_text(SIETCH)  # a config without server.id: nothing to parse
    listed = _loaded("from gaib.cli.app import main\nassert main(['server', 'backup', 'list', '-q']) == 0",
                     tmp_path, DISCORD_GUILD_ID=GUILD)
    unused = {"yaml", "gaib.tiers.quota", "gaib.tiers.table", "gaib.bundles.retention", "gaib.state.model",
              "secrets", "tempfile", "socket", "getpass", "_strptime", "boto3", "httpx", "gaib.discord.client"}
    assert not unused & listed, sorted(unused & listed)
    # The default workspace always exists: its check builds no state backend. No thread pool, no
    # scheduled commands. (This listing finds nothing, so it does count the local history.)
    leaner = {"gaib.state.backend", "gaib.state.local", "concurrent.futures", "logging", "traceback",
              "gaib.cli.scheduled", "shutil"}
    assert not leaner & listed, sorted(leaner & listed)


def test_another_workspace_is_still_checked(tmp_path: Path) -> None:
    (tmp_path / "discord-server.yaml").write_text(SIETCH)
    done = subprocess.run([sys.executable, "-m", "gaib", "server", "backup", "list", "-w", "stagign"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**_clean_env(), "DISCORD_GUILD_ID": GUILD})
    assert done.returncode == 6, done.stdout + done.stderr
    assert "Workspace 'stagign'" in done.stderr and "does not exist" in done.stderr


@pytest.mark.parametrize(("text", "may"), [
    (SIETCH, False),
    ("server:\n  name: Sandriders\n", False),
    ("server:\n  id: 1100000000000000001\n", True),
    ('server: {"id": 7}\n', True),
    ('server:\n  "\\x69d": 7\n', True),  # an escape could spell the key
    ("roles:\n  - name: Squid id\n", True),  # a mere word is enough to parse
    (SIETCH.encode("utf-16").decode("latin-1"), True),  # UTF-16: NUL bytes, the word is not these bytes
])
def test_only_a_file_that_may_hold_an_id_key_is_parsed(text: str, may: bool) -> None:
    assert may_spell_id(text.encode("latin-1")) is may


def test_a_server_id_in_the_config_file_is_still_read(tmp_path: Path) -> None:
    config = tmp_path / "discord-server.yaml"
    config.write_text(f"server:\n  name: Sietch\n  id: '{GUILD}'\n")
    assert config_server(config) == {"name": "Sietch", "id": GUILD}
    config.write_text("server:\n  name: Sietch\n")
    assert config_server(config) is None  # no id key: the server section is not needed
