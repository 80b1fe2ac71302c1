"""The container image (root Dockerfile, checked statically: no docker engine here or in CI) against what the
Terraform runs it with: command, user, working folder and the writable volume; its ECR repository; and
the wheel the image installs, built here from exactly the files the Dockerfile copies."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.support.build import ROOT, Stage, build_requirements, load_dockerfile, pyproject, stages
from tests.support.cli import CliRunner
from tests.support.terraform import Stack, one


@pytest.fixture(scope="module")
def image() -> list[Stage]:
    return load_dockerfile()


def final(image: list[Stage]) -> Stage:
    return image[-1]


def task_commands(stack: Stack) -> list[list[str]]:
    """Every command the task definitions and schedules give the container."""
    commands = [run["command"] for run in stack.locals["scheduled_runs"].values()]
    restore = stack.resource("aws_ecs_task_definition", "restore")["container_definitions"]
    commands.append(json.loads(re.search(r"command = (\[[^\]]*\])", restore).group(1)))  # type: ignore[union-attr]
    return commands


# --- the base and the stages ---------------------------------------------------------------------


def test_base_is_pinned_by_digest_and_every_stage_builds_on_it(image: list[Stage]) -> None:
    first = image[0]
    assert re.fullmatch(r"python:3\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", first.base), first.base
    aliases = [s.alias for s in image]
    assert len(aliases) == len(set(aliases)) and None not in aliases
    for i, stage in enumerate(image[1:], 1):
        assert stage.base in aliases[:i], f"stage {stage.alias} starts from {stage.base}, not an earlier stage"
    assert final(image).alias == "runtime" and len(image) >= 3  # multi-stage: build apart from runtime


def test_build_installs_the_lock_with_hashes_then_gaibs_wheel_alone(image: list[Stage]) -> None:
    build = next(s for s in image if s.alias == "build")
    runs = " && ".join(i.args for i in build.all("RUN"))
    assert "--require-hashes -r requirements/runtime.txt" in runs
    # gaib's own wheel: built with the locked setuptools (no isolated build env downloading one), installed
    # without resolving anything, from the wheel folder only.
    assert re.search(r"pip wheel [^&]*--no-deps --no-build-isolation", runs)
    assert re.search(r"pip install [^&]*--no-deps --no-index /wheels/gaib-\*\.whl", runs)
    copied = [op for i in build.all("COPY") for op in i.operands()[:-1]]
    assert copied == ["requirements/runtime.txt", "pyproject.toml", "README.md", "src"]


def test_runtime_stage_has_no_compiler_package_manager_or_cache(image: list[Stage]) -> None:
    runtime = final(image)
    runs = " ".join(i.args for i in runtime.all("RUN"))
    for tool in ("apt-get", "apt ", "gcc", "pip install", "build-essential", "curl", "wget"):
        assert tool not in runs, tool
    assert re.search(r"pip uninstall [^&]*--yes pip setuptools wheel", runs)  # no installer left behind
    build = next(s for s in image if s.alias == "build")
    assert any("uninstall --yes setuptools pip" in i.args for i in build.all("RUN"))  # nor in the venv
    assert [i.flags() for i in runtime.all("COPY")] == [{"from": "build"}]
    assert [i.operands() for i in runtime.all("COPY")] == [["/opt/gaib", "/opt/gaib"]]
    env = image[0].env()
    assert env["PIP_NO_CACHE_DIR"] == "1" and env["PYTHONDONTWRITEBYTECODE"] == "1"
    for stage in image:
        for run in stage.all("RUN"):
            assert "--no-cache-dir" in run.args or "pip" not in run.args, run.args


# --- what the task definitions expect ------------------------------------------------------------


def test_cmd_runs_gaib_with_no_entrypoint_like_every_task_command(image: list[Stage], stack: Stack,
                                                                   tmp_path: Path) -> None:
    assert not any(s.all("ENTRYPOINT") for s in image), "the task command starts with gaib: no ENTRYPOINT"
    cmd = final(image).last("CMD")
    assert cmd is not None
    argv = cmd.exec_form()
    assert argv is not None, "CMD must be the exec form (no shell in between)"
    program = argv[0]
    assert program in pyproject()["project"]["scripts"], f"{program} is not a console script of the wheel"
    assert "/opt/gaib/bin" in final(image).env()["PATH"].split(":")
    for command in task_commands(stack):
        assert command[0] == program, command
    # The default command works (an operator's `docker run IMAGE`), and every task's command names a real
    # subcommand of that program (click answers --help only for one that exists).
    run = CliRunner(cwd=tmp_path)
    result = run(*argv[1:])
    assert result.exit_code == 0 and "server" in result.stdout
    for command in task_commands(stack):
        assert run(*command[1:], "--help").exit_code == 0, command
    assert run("server", "backup", "no-such-command", "--help").exit_code != 0


def test_user_is_the_task_definitions_non_root_user(image: list[Stage], stack: Stack) -> None:
    runtime = final(image)
    user = runtime.last("USER")
    assert user is not None
    container = stack.locals["backup_container"]
    assert user.args == container["user"] == "1000:1000"
    uid, gid = user.args.split(":")
    assert uid != "0" and gid != "0"
    runs = " ".join(i.args for i in runtime.all("RUN"))
    assert f"groupadd --gid {gid} gaib" in runs and f"useradd --uid {uid} --gid {gid}" in runs
    assert runtime.instructions.index(user) > max(runtime.instructions.index(i) for i in runtime.all("RUN"))


def test_workdir_is_the_writable_volume_on_a_read_only_root(image: list[Stage], stack: Stack) -> None:
    runtime = final(image)
    workdir, volume = runtime.last("WORKDIR"), runtime.last("VOLUME")
    assert workdir is not None and volume is not None
    volumes = volume.exec_form()
    assert volumes is not None
    container = stack.locals["backup_container"]
    assert container["readonlyRootFilesystem"] is True
    mounts = {m["containerPath"]: m for m in container["mountPoints"]}
    # Gaib writes only where the task mounts its scratch volume: the image's declared volume, its working
    # folder (a relative .gaib lands there), TMPDIR and HOME.
    assert set(mounts) == set(volumes) == {"/tmp"}
    assert all(m["readOnly"] is False and m["sourceVolume"] == "scratch" for m in mounts.values())
    assert workdir.args == container["workingDirectory"] in volumes
    env = runtime.env()
    assert env["TMPDIR"] == "/tmp" and env["HOME"] == "/tmp"
    assert re.search(r"\{\s*name = \"TMPDIR\", value = \"/tmp\"\s*\}", container["environment"])  # in concat()
    for task in ("backup", "restore"):
        definition = stack.resource("aws_ecs_task_definition", task)
        assert one(definition["volume"])["name"] == "scratch"
        assert one(definition["runtime_platform"])["cpu_architecture"] == "X86_64"
    release = (ROOT / "scripts" / "release.sh").read_text(encoding="utf-8")
    assert "linux/amd64" in release  # the platform release.sh builds for


def test_static_checks_reject_a_root_user_or_an_entrypoint() -> None:
    # The parser the tests above rely on, on a Dockerfile with the mistakes they exist for.
    bad = stages('FROM python:3.11-slim AS base\nFROM base AS runtime\n# comment\nUSER root\n'
                 'ENTRYPOINT ["python", "-m", "gaib"]\nCMD gaib \\\n  --help\n')
    runtime = bad[-1]
    assert runtime.last("USER").args == "root"  # type: ignore[union-attr]
    assert runtime.all("ENTRYPOINT")
    cmd = runtime.last("CMD")
    assert cmd is not None and cmd.exec_form() is None and cmd.args == "gaib --help"


# --- build context -------------------------------------------------------------------------------


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` out of the context (last matching pattern wins; a pattern matching a
    parent folder matches its contents)."""
    excluded = False
    parts = path.split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if pat.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pat[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(c, pat) and c.count("/") == pat.count("/") for c in candidates)
        if hit:
            excluded = not negate
    return excluded


def test_dockerignore_lets_through_exactly_what_the_build_copies(image: list[Stage]) -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    sources = [op for s in image for i in s.all("COPY") if "from" not in i.flags() for op in i.operands()[:-1]]
    assert sources
    for source in sources:
        assert not dockerignored(source, patterns), source
    assert not dockerignored("src/gaib/cli/app.py", patterns)
    for left_out in (".git/HEAD", ".venv/bin/python", "tests/conftest.py", "demo/discord-server.yaml",
                     "requirements/dev.txt", "src/gaib/__pycache__/x.pyc", "infrastructure/terraform/x.tf"):
        assert dockerignored(left_out, patterns), left_out


@pytest.mark.slow
def test_the_copied_files_build_the_wheel_the_image_runs(image: list[Stage], tmp_path: Path) -> None:
    # The build stage's COPY sources, alone in a folder, build gaib's wheel with the locked setuptools and
    # no network (pip wheel --no-build-isolation --no-index, as in the Dockerfile): it carries the `gaib`
    # console script, every module and the package data the CLI reads at run time.
    for req in build_requirements():
        here = metadata.version(req.name)
        assert req.specifier.contains(here), f"{req.name} {here} here, {req} needed: run scripts/bootstrap.sh dev"
    build = next(s for s in image if s.alias == "build")
    context = tmp_path / "context"
    for ins in build.all("COPY"):
        for source in ins.operands()[:-1]:
            src, dest = ROOT / source, context / source
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy2(src, dest)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                          "--no-cache-dir", "--wheel-dir", str(tmp_path / "wheels"), str(context)],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    wheel = one([{"path": p} for p in (tmp_path / "wheels").glob("gaib-*.whl")])["path"]
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert re.search(r"^gaib = gaib\.cli\.app:main$", entry_points, re.M)
    # Every file of the package (modules, built-in themes, py.typed) is in the wheel.
    files = {str(p.relative_to(ROOT / "src")) for p in (ROOT / "src" / "gaib").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    assert files <= names, sorted(files - names)[:5]
    assert {"gaib/py.typed", "gaib/themes/builtin/sietch/theme.yaml"} <= names


# --- the repository and the image reference ------------------------------------------------------


def test_ecr_repository_is_immutable_scanned_and_encrypted(stack: Stack) -> None:
    repo = stack.resource("aws_ecr_repository", "gaib")
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert one(repo["image_scanning_configuration"])["scan_on_push"] is True
    assert one(repo["encryption_configuration"]) == {"encryption_type": "KMS", "kms_key": "${aws_kms_key.backups.arn}"}
    assert repo["force_delete"] is False
    # ECR encrypts with the backup key through a grant it creates when the repository is made.
    grants = [s for s in stack.statements("backups_key") if s.get("actions") == ["kms:CreateGrant"]]
    via = [c for c in one(grants)["condition"] if c["variable"] == "kms:ViaService"]
    assert "ecr.${local.region}.amazonaws.com" in one(via)["values"]


def test_lifecycle_keeps_the_last_n_images(stack: Stack) -> None:
    policy = stack.resource("aws_ecr_lifecycle_policy", "gaib")
    assert policy["repository"] == "${aws_ecr_repository.gaib.name}"
    rules = policy["policy"]
    keep = r'tagStatus = "any", countType = "imageCountMoreThan", countNumber = var\.ecr_keep_images\}'
    assert re.search(keep, rules), rules
    assert 'tagStatus = "untagged", countType = "sinceImagePushed"' in rules
    # ECR evaluates rules by priority; the "any" rule must come last.
    priorities = [int(p) for p in re.findall(r"rulePriority = (\d+)", rules)]
    assert priorities == sorted(priorities) and rules.index('tagStatus = "any"') > rules.index("untagged")
    keep_images = stack.variables["ecr_keep_images"]
    assert keep_images["default"] >= 10 and keep_images.get("validation")


def test_execution_role_pulls_only_from_the_stacks_repository(stack: Stack) -> None:
    pull = [s for s in stack.statements("ecs_task_execution") if s.get("sid") == "EcrPullGaibImage"]
    assert one(pull)["resources"] == ["${aws_ecr_repository.gaib.arn}"]


@pytest.mark.parametrize("task", ["backup", "restore"])
def test_task_definitions_run_the_released_image_only(stack: Stack, task: str) -> None:
    # The image is var.container_image, which release.sh writes to the auto-loaded tfvars file: no plan
    # goes through without a release, or with an image from another repository.
    assert stack.locals["backup_container"]["image"] == "${var.container_image}"
    lifecycle = one(stack.resource("aws_ecs_task_definition", task)["lifecycle"])
    conditions = [p["condition"] for p in lifecycle["precondition"]]
    assert "${var.container_image != null}" in conditions
    assert any('startswith(var.container_image, "${aws_ecr_repository.gaib.repository_url}@")' in c
               for c in conditions)
    assert stack.variables["container_image"]["default"] is None


def test_release_writes_the_variable_terraform_loads(stack: Stack) -> None:
    release = (ROOT / "scripts" / "release.sh").read_text(encoding="utf-8")
    tfvars = stack.locals["release_tfvars_file"]
    assert tfvars.endswith(".auto.tfvars.json")  # Terraform loads *.auto.tfvars.json beside the .tf files
    assert f'tfvars="$tfdir/{tfvars}"' in release and 'tfdir=infrastructure/terraform' in release
    assert '"container_image": "%s"' in release and "container_image" in stack.variables
    # (test_release.py: the written file leaves the tree clean, i.e. .gitignore covers it)
    assert stack.outputs["ecr_repository_url"]["value"] == "${aws_ecr_repository.gaib.repository_url}"
