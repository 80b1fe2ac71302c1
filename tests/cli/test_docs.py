"""docs/ stays true: every error code the code can raise is documented, with the one exit code it has."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import gaib.errors as errors

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> dict[str, int]:
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d+) \|", (ROOT / "docs" / "exit-codes.md").read_text(), re.M)
    return {code: int(exit_code) for code, exit_code in rows}


def _error_classes() -> dict[str, type[errors.GaibError]]:
    found: dict[str, type[errors.GaibError]] = {}
    for module_path in (ROOT / "src" / "gaib").rglob("*.py"):
        rel = module_path.relative_to(ROOT / "src").with_suffix("").as_posix().replace("/", ".")
        if ".emulator" in rel or rel.endswith("__main__"):
            continue
        module = __import__(rel, fromlist=["_"])
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, errors.GaibError):
                found[value.__name__] = value
    return found


def _explicit_codes() -> list[tuple[str, str, str, int]]:
    """(file:line, class name, code) of every ``SomeError(..., code="CODE")`` in the source."""
    used = []
    for path in (ROOT / "src" / "gaib").rglob("*.py"):
        if "emulator" in path.parts:
            continue  # the emulator speaks Discord's codes, not Gaib's
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "?")
                    used.append((f"{path.relative_to(ROOT)}:{node.lineno}", name, kw.value.value, node.lineno))
    return used


def test_every_error_class_is_documented_with_its_exit_code() -> None:
    documented = _documented()
    classes = _error_classes()
    assert len(classes) > 20
    for cls in classes.values():
        if cls is errors.GaibError:
            continue
        assert documented.get(cls.code) == cls.exit_code, f"{cls.__name__} ({cls.code}) missing or wrong"


def test_every_explicit_code_has_one_exit_code_and_it_is_the_documented_one() -> None:
    """``InvalidInput(code="STATE_NOT_FOUND")`` would exit 6 where the docs promise 3: refused here."""
    documented = _documented()
    classes = _error_classes()
    used = _explicit_codes()
    assert len(used) > 10, "no explicit codes found: the scan is stale"
    exits: dict[str, set[int]] = defaultdict(set)
    problems = []
    for where, name, code, _ in used:
        cls = classes.get(name)
        if cls is None:
            problems.append(f"{where}: code={code!r} passed to {name}, which is not a GaibError class")
            continue
        exits[code].add(cls.exit_code)
        if documented.get(code) != cls.exit_code:
            problems.append(f"{where}: {name}(code={code!r}) exits {cls.exit_code}, docs say {documented.get(code)}")
    for cls in classes.values():
        exits[cls.code].add(cls.exit_code)
    problems += [f"{code} exits with {sorted(codes)}" for code, codes in exits.items() if len(codes) > 1]
    assert problems == []


def test_the_readme_lists_each_setting_once() -> None:
    """Issue 25: the README listed GAIB_ACTOR twice, with different defaults."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (.+?) \|", table, re.M)
    named = [name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)]
    assert "GAIB_ACTOR" in named and len(named) > 10
    assert sorted(n for n in set(named) if named.count(n) > 1) == []
