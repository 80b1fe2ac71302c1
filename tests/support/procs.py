"""Start moto's server as a subprocess for tests and benchmarks (each caller its own, on a free port of
127.0.0.1), and the AWS variables that point boto3 at it (``AWS_TEST_ENV`` plus ``AWS_ENDPOINT_URL``)."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except Exception as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not come up: {last}")


ROOT = Path(__file__).resolve().parents[2]
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def _first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process prints on stdout; RuntimeError if it exits or stays silent."""
    assert proc.stdout is not None
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise RuntimeError("moto's server did not print its URL in time")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("moto's server exited before printing its URL")
            buf += chunk
    return buf.split(b"\n", 1)[0].decode().strip()


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1, each request applied atomically as AWS does
    (tests/support/moto_atomic.py); yields its endpoint URL.

    The server binds a free port itself (``-p 0``) and says which, so the server answering is always
    this caller's own, even with parallel test workers each starting one.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.moto_atomic", "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])},
        cwd=ROOT,
    )
    try:
        url = _first_line(proc, 30.0)
        wait_http(url + "/moto-api/")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
