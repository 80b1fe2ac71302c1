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


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("cli/backup.py", "import gaib.storage.s3", "Only the composition root (gaib.wiring) imports adapters"),
    ("backups/service.py", "from gaib.storage.local import LocalObjectStore",
     "Only the composition root (gaib.wiring) imports adapters"),
    ("config/schema.py", "import gaib.themes.loader", "Layers: arrows point down only"),
    ("iac/diff.py", "import httpx", "Only adapters import the AWS and HTTP SDKs"),
    ("bundles/codec.py", "import click", "Only the CLI imports click and rich"),
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
