"""Read the build inputs the way their tools do, for static tests: the Dockerfile (instructions per stage),
the pip-compile locks (pins and hashes) and pyproject.toml's requirements. No docker engine needed."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "requirements"
LOCKS = {name: REQUIREMENTS / f"{name}.txt" for name in ("runtime", "dev", "checkov")}


# --- Dockerfile ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    """Upper case, e.g. ``RUN``."""
    args: str
    """Everything after the keyword, continuation lines joined with a space."""
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/VOLUME, None for the shell form."""
        if not self.args.startswith("["):
            return None
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.args
        return value

    def flags(self) -> dict[str, str]:
        """The leading ``--name=value`` options (``COPY --from=build ...`` → ``{"from": "build"}``)."""
        out: dict[str, str] = {}
        for word in self.args.split():
            if not word.startswith("--"):
                break
            key, _, value = word[2:].partition("=")
            out[key] = value
        return out

    def operands(self) -> list[str]:
        """The arguments after the leading ``--options`` (shell words)."""
        words = shlex.split(self.args)
        while words and words[0].startswith("--"):
            words.pop(0)
        return words


@dataclass
class Stage:
    base: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        """ENV key=value pairs of this stage (later ones win)."""
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for word in shlex.split(ins.args):
                key, _, value = word.partition("=")
                out[key] = value
        return out


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions: comments and blank lines dropped, ``\\`` continuations joined."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        joined = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = joined.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return out


def stages(text: str) -> list[Stage]:
    """The build stages in order; instructions before the first FROM (ARG) are not kept."""
    out: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = ins.operands()
            alias = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            out.append(Stage(base=words[0], alias=alias))
        elif out:
            out[-1].instructions.append(ins)
    return out


def load_dockerfile() -> list[Stage]:
    return stages(DOCKERFILE.read_text(encoding="utf-8"))


# --- locks and pyproject -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str
    """Canonical (PEP 503) name."""
    version: str
    hashes: frozenset[str]
    via: tuple[str, ...]
    """pip-compile's annotation: what requires the package."""


_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<rest>(?:\s*\\\n\s+--hash=\S+)*)"
                  r"(?P<via>(?:\n\s+#.*)*)", re.M)


def requirement_lines(text: str) -> list[str]:
    """Every line of a lock that pip reads as a requirement or an option (comments, hashes and blank lines
    removed, continuations joined)."""
    lines: list[str] = []
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return lines


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a pip-compile lock by canonical name."""
    text = path.read_text(encoding="utf-8")
    pins: dict[str, Pin] = {}
    for match in _PIN.finditer(text):
        via = tuple(re.sub(r"^#\s*(via)?\s*", "", line.strip()) for line in match.group("via").splitlines()
                    if line.strip())
        name = canonicalize_name(match.group("name"))
        pins[name] = Pin(name, match.group("version"), frozenset(re.findall(r"--hash=(\S+)", match.group("rest"))),
                         tuple(v for v in via if v))
    return pins


def compiled_with_python(path: Path) -> str:
    """The Python minor a lock was compiled with (pip-compile's header), e.g. ``3.11``."""
    match = re.search(r"autogenerated by pip-compile with Python (\d+\.\d+)", path.read_text(encoding="utf-8"))
    assert match, f"{path.name} has no pip-compile header"
    return match.group(1)


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def requirements(*, extras: tuple[str, ...] = ()) -> list[Requirement]:
    """pyproject.toml's requirements with the given extras, a self-reference (``gaib[aws]``) expanded."""
    project = pyproject()["project"]
    name = canonicalize_name(project["name"])
    out = [Requirement(r) for r in project["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == name:
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


def build_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["build-system"]["requires"]]
