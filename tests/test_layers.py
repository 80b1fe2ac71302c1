"""The layer rules are contracts: lint-imports holds them, and breaking one makes it fail.

Also: no module reads the process environment but ``gaib.settings`` (and the standalone Lambda).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "gaib"
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), str(ROOT / ".importlinter")], cwd=src.parent, capture_output=True, text=True,
                          env={"PYTHONPATH": str(src.parent), "PATH": "/usr/bin:/bin", "COLUMNS": "250"}, timeout=120)


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "src" / "gaib"
    shutil.copytree(SRC, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_tree_keeps_every_layer_contract() -> None:
    result = _lint(SRC)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


LAYERS = "Layers: cli -> wiring -> capabilities"
ADAPTERS = "Only the composition root (gaib.wiring) imports adapters"
FLOOR = "Floor: ports above state"
FLOOR_BELOW = "The floor never imports the CLI, wiring"


@pytest.mark.parametrize(("module", "line", "contract"), [
    # one injected import per contract, and one per boundary between capability layers
    ("cli/backup.py", "import gaib.storage.s3", ADAPTERS),
    ("backups/service.py", "from gaib.storage.local import LocalObjectStore", ADAPTERS),
    ("iac/diff.py", "import httpx", "Only adapters import the AWS and HTTP SDKs"),
    ("bundles/codec.py", "import click", "Only the CLI imports click and rich"),
    ("config/schema.py", "import gaib.themes.loader", LAYERS),
    ("scheduled/claims.py", "import gaib.cli.output", LAYERS),
    ("prune/service.py", "import gaib.scheduled.claims", LAYERS),
    ("snapshots/capture.py", "import gaib.prune.service", LAYERS),
    ("deployments/audit.py", "import gaib.snapshots.store", LAYERS),
    ("backups/statediff.py", "import gaib.deployments.store", LAYERS),
    ("tiers/cron.py", "import gaib.backups.store", LAYERS),
    ("bundles/retention.py", "import gaib.tiers.table", LAYERS),
    ("iac/caps.py", "import gaib.bundles.manifest", LAYERS),
    ("themes/manifest.py", "import gaib.iac.plan", LAYERS),
    ("state/model.py", "import gaib.ports", FLOOR),
    ("storage/keys.py", "import gaib.state.model", FLOOR),
    ("notify/events.py", "import gaib.discord.models", FLOOR),
    ("secrets/base.py", "import gaib.notify.base", FLOOR),
    ("discord/models.py", "import gaib.bundles.manifest", FLOOR_BELOW),
    ("storage/items.py", "import gaib.tiers.table", FLOOR_BELOW),
])
def test_breaking_a_layer_fails_lint_imports(tmp_path: Path, module: str, line: str, contract: str) -> None:
    src = _copy(tmp_path)
    target = src / module
    target.write_text(target.read_text() + f"\n{line}  # injected by the test\n")
    result = _lint(src)
    assert result.returncode != 0, result.stdout[-2000:]
    broken = [ln for ln in result.stdout.splitlines() if " BROKEN" in ln]
    assert any(ln.startswith(contract) for ln in broken), result.stdout[-3000:]


def test_only_settings_reads_the_process_environment() -> None:
    readers = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel == "settings.py" or rel.startswith("aws_lambda/"):
            continue
        code = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith(("#", "``")))
        code = re.sub(r'""".*?"""', "", code, flags=re.S)
        if re.search(r"\bos\.(environ|getenv|putenv)\b|\bgetenv\(", code):
            readers.append(rel)
    assert readers == []


def _named_exceptions() -> dict[str, str]:
    """The modules docs/architecture.md allows over 500 lines, each with its reason."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("## Modules over 500 lines", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(src/gaib/[\w/]+\.py)` \| (.+?) \|$", section, flags=re.M)
    return {path: reason.strip() for path, reason in rows}


def test_no_module_over_500_lines_unless_named_with_its_reason() -> None:
    exceptions = _named_exceptions()
    over = {path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in SRC.rglob("*.py")}
    over = {rel: n for rel, n in over.items() if n > 500}
    assert sorted(set(over) - set(exceptions)) == [], over
    assert all(reason for reason in exceptions.values())
    assert sorted(set(exceptions) - set(over)) == [], "docs/architecture.md names a module no longer over 500 lines"


def test_no_package_holds_more_than_20_modules() -> None:
    crowded = {}
    for package in [SRC, *(p for p in SRC.rglob("*") if (p / "__init__.py").is_file())]:
        modules = list(package.glob("*.py"))
        if len(modules) > 20:
            crowded[package.relative_to(ROOT).as_posix()] = len(modules)
    assert crowded == {}
