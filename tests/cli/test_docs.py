"""docs/ stays true: every error code the code can raise is documented with its exit code."""

from __future__ import annotations

import re
from pathlib import Path

import gaib.errors as errors

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[str, int]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", (ROOT / "docs" / "exit-codes.md").read_text(), re.M)
    return {code: int(exit_code) for code, exit_code in rows}


def test_every_error_class_is_documented_with_its_exit_code() -> None:
    documented = _documented()
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.GaibError)]
    assert len(classes) > 20
    for cls in classes:
        if cls is errors.GaibError:
            continue
        assert documented.get(cls.code) == cls.exit_code, f"{cls.__name__} ({cls.code}) missing or wrong"


def test_every_explicit_code_in_the_source_is_documented() -> None:
    documented = _documented()
    used = set()
    for path in (ROOT / "src" / "gaib").rglob("*.py"):
        if "emulator" in path.parts:
            continue  # the emulator speaks Discord's codes, not Gaib's
        used |= set(re.findall(r'\bcode="([A-Z][A-Z_]+)"', path.read_text()))
    assert used, "no explicit codes found: the pattern is stale"
    assert sorted(used - set(documented)) == []
