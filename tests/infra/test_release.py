"""scripts/release.sh, run for real in a scratch git repository. There is no docker engine and no AWS here
or in CI, so `docker` and `aws` are small stand-ins on the PATH that keep an ECR repository's tags and
digests in a JSON file and record what they were asked; git, the script and its files are the real ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.build import ROOT

REPO_URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/gaib"
TFVARS = Path("infrastructure/terraform/release.auto.tfvars.json")

# One program for both commands: `docker` (login, build from a tar on stdin, push) and `aws ecr`
# (get-login-password, describe-images by tag). A push gives the tag the digest of the built context.
STANDIN = r'''
import fcntl, hashlib, io, json, os, sys, tarfile
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
# stdin first: in `aws ecr get-login-password | docker login` docker must not hold the lock while it waits.
data = sys.stdin.buffer.read() if tool == "docker" and args[0] in ("login", "build") else b""
state_path = os.environ["STANDIN_STATE"]
lock = open(state_path + ".lock", "w")
fcntl.flock(lock, fcntl.LOCK_EX)
state = json.load(open(state_path)) if os.path.exists(state_path) else {"images": {}, "built": {}, "calls": []}
state["calls"].append([tool, *args])
def save():
    with open(state_path + ".tmp", "w") as fh:
        json.dump(state, fh)
    os.replace(state_path + ".tmp", state_path)
def opt(name):
    return args[args.index(name) + 1] if name in args else None
if tool == "aws" and args[:2] == ["ecr", "get-login-password"]:
    print("password")
elif tool == "aws" and args[:2] == ["ecr", "describe-images"]:
    tag = opt("--image-ids").split("=", 1)[1]
    if tag not in state["images"]:
        save(); print(f"ImageNotFoundException: tag {tag}", file=sys.stderr); sys.exit(254)
    print(state["images"][tag])
elif tool == "docker" and args[0] == "login":
    print("Login Succeeded")
elif tool == "docker" and args[0] == "build":
    names = sorted(m.name for m in tarfile.open(fileobj=io.BytesIO(data)) if m.isfile())
    state["built"][opt("--tag")] = {"files": names, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                                    "platform": opt("--platform")}
elif tool == "docker" and args[0] == "push":
    ref = args[1]
    state["images"][ref.rsplit(":", 1)[1]] = state["built"][ref]["digest"]
else:
    save(); print(f"stand-in: unexpected {tool} {args}", file=sys.stderr); sys.exit(2)
save()
'''


@dataclass
class Checkout:
    path: Path
    env: dict[str, str]
    state: Path

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True,
                             check=True, timeout=60)
        return out.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def release(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "scripts/release.sh", *args], cwd=self.path, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def standin(self) -> dict[str, object]:
        if not self.state.exists():
            return {"images": {}, "built": {}, "calls": []}
        loaded: dict[str, object] = json.loads(self.state.read_text())
        return loaded

    def calls(self, tool: str) -> list[list[str]]:
        return [c[1:] for c in self.standin()["calls"] if c[0] == tool]  # type: ignore[attr-defined]

    def deployed(self) -> str:
        value: str = json.loads((self.path / TFVARS).read_text())["container_image"]
        return value


@pytest.fixture
def checkout(tmp_path: Path) -> Checkout:
    repo = tmp_path / "repo"
    for rel in ("scripts/release.sh", "Dockerfile", ".dockerignore", ".gitignore", "requirements/runtime.txt"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    (repo / "infrastructure/terraform").mkdir(parents=True)
    (repo / "infrastructure/terraform/main.tf").write_text("# stack\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("docker", "aws"):
        (bin_dir / tool).write_text(f"#!{sys.executable}\n{STANDIN}")
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "GAIB_ECR_REPOSITORY": REPO_URL,
           "STANDIN_STATE": str(tmp_path / "ecr.json"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "LANG": "C.UTF-8"}
    co = Checkout(repo, env, tmp_path / "ecr.json")
    co.git("init", "-q")
    co.commit("first")
    return co


@pytest.mark.parametrize("change", ["edit", "untracked"])
def test_release_refuses_a_tree_with_uncommitted_changes(checkout: Checkout, change: str) -> None:
    if change == "edit":
        with (checkout.path / "Dockerfile").open("a") as fh:
            fh.write("# local edit\n")
    else:
        (checkout.path / "notes.txt").write_text("not committed\n")
    result = checkout.release()
    assert result.returncode == 1
    assert "uncommitted changes" in result.stderr and result.stdout == ""
    assert checkout.standin()["calls"] == []  # nothing built, nothing pushed
    assert not (checkout.path / TFVARS).exists()


def test_release_builds_the_commit_tags_pushes_and_writes_the_digest(checkout: Checkout) -> None:
    head = checkout.git("rev-parse", "HEAD")
    (checkout.path / ".venv").mkdir()  # git-ignored: neither dirty nor part of the image
    (checkout.path / ".venv" / "junk").write_text("x")
    result = checkout.release()
    assert result.returncode == 0, result.stderr
    digest = result.stdout.strip()
    assert result.stdout == digest + "\n" and digest.startswith("sha256:") and len(digest) == 71
    built = checkout.standin()["built"][f"{REPO_URL}:{head}"]  # type: ignore[index]
    # The context is the commit itself: every tracked file, nothing else.
    assert built["files"] == sorted(checkout.git("ls-files").splitlines())
    assert built["platform"] == "linux/amd64"
    assert [c[:2] for c in checkout.calls("docker")] == [["login", "--username"], ["build", "--platform"],
                                                        ["push", f"{REPO_URL}:{head}"]]
    assert checkout.deployed() == f"{REPO_URL}@{digest}"
    assert checkout.git("status", "--porcelain") == ""  # the tfvars file is git-ignored


def test_a_second_release_of_a_commit_reuses_its_image(checkout: Checkout) -> None:
    first = checkout.release()
    again = checkout.release()
    assert first.returncode == again.returncode == 0
    assert again.stdout == first.stdout
    assert "already pushed" in again.stderr
    assert [c[0] for c in checkout.calls("docker")].count("build") == 1


def test_rollback_points_terraform_at_an_earlier_image(checkout: Checkout) -> None:
    old_commit = checkout.git("rev-parse", "HEAD")
    old = checkout.release().stdout.strip()
    (checkout.path / "infrastructure/terraform/main.tf").write_text("# stack, changed\n")
    checkout.commit("second")
    second = checkout.release()
    assert second.returncode == 0, second.stderr
    new = second.stdout.strip()
    assert new != old and checkout.deployed() == f"{REPO_URL}@{new}"
    builds = len(checkout.standin()["built"])  # type: ignore[arg-type]

    rollback = checkout.release("--use", old_commit)
    assert rollback.returncode == 0, rollback.stderr
    assert rollback.stdout.strip() == old and checkout.deployed() == f"{REPO_URL}@{old}"
    assert f"was: {REPO_URL}@{new}" in rollback.stderr
    assert len(checkout.standin()["built"]) == builds  # type: ignore[arg-type]

    unknown = checkout.release("--use", "0" * 40)
    assert unknown.returncode == 1 and "no image tagged" in unknown.stderr
    assert checkout.deployed() == f"{REPO_URL}@{old}"  # unchanged


def test_release_rejects_a_repository_that_is_not_ecr(checkout: Checkout) -> None:
    checkout.env["GAIB_ECR_REPOSITORY"] = "docker.io/gaib"
    result = checkout.release()
    assert result.returncode == 1 and "is not an ECR repository URL" in result.stderr
    assert checkout.standin()["calls"] == []

