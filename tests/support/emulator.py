"""Run the bundled Discord emulator as a subprocess for tests (stable API; other suites import it).

    from tests.support.emulator import running_emulator

    with running_emulator(args=("--rate-limits", "off")) as emu:
        client = DiscordClient(emu.base_url, token=emu.token)   # real HTTP to 127.0.0.1
        ...
        assert [r["status"] for r in emu.requests()] == [200, 201]

``running_emulator`` starts ``python -m gaib.emulator --port 0`` (token passed through the
environment, never on the command line), reads the first stdout line as the base URL and stops the
process on exit. ``args`` are extra CLI options, e.g. ``("--record", str(path))``, ``("--data", f)``,
``("--fault-on", "3", "--seed", "1")``. Control helpers use only the standard library.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

DEFAULT_GUILD_ID = "1100000000000000001"
USER_AGENT = "DiscordBot (https://github.com/gaib/gaib, 0.1.0)"
STARTUP_TIMEOUT = 20.0


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control request failed."""


@dataclass
class EmulatorHandle:
    """A running emulator: where it is, which token/guild it accepts, and its control endpoints."""

    base_url: str  # http://127.0.0.1:PORT/api/v10
    token: str
    guild_id: str
    process: subprocess.Popen[bytes]

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (the base URL without ``/api/v10``)."""
        return self.base_url.removesuffix("/api/v10")

    def auth_headers(self) -> dict[str, str]:
        """Headers a well-behaved bot sends: ``Authorization: Bot <token>`` and a DiscordBot User-Agent."""
        return {"Authorization": f"Bot {self.token}", "User-Agent": USER_AGENT}

    def bot_environ(self) -> dict[str, str]:
        """The variables that point Gaib at this emulated guild: its bot token, guild id and API URL."""
        return {"DISCORD_BOT_TOKEN": self.token, "DISCORD_GUILD_ID": self.guild_id,
                "GAIB_DISCORD_API_URL": self.base_url}

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the emulator's control API (``/_emulator{path}``); raises EmulatorError on an HTTP error."""
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.origin + "/_emulator" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} /_emulator{path} -> {exc.code}: {exc.read()[:300]!r}") from None

    def requests(self) -> list[dict[str, Any]]:
        """The request log: ``[{seq, time, method, path, route, status, fault, duration_ms}]``, oldest first.

        Webhook tokens in paths read ``redacted``; the bot token never appears.
        """
        result: list[dict[str, Any]] = self.control("GET", "/requests")
        return result

    def reset(self) -> None:
        """Empty the guild (only @everyone left), the request log, stats and rate-limit buckets."""
        self.control("POST", "/reset")

    def webhook_messages(self, webhook_id: str) -> list[dict[str, Any]]:
        """Messages posted to a webhook: the JSON bodies sent, plus ``id``, ``timestamp``,
        ``webhook_id`` and ``channel_id``. Raises EmulatorError (404) for an unknown webhook."""
        result: list[dict[str, Any]] = self.control("GET", f"/webhooks/{webhook_id}/messages")
        return result

    def set_faults(self, *, rate: float = 0.0, kinds: Iterable[str] = ("5xx",),
                   on_requests: Iterable[int] = (), latency_ms: int | None = None) -> dict[str, Any]:
        """Replace fault injection at run time; request numbers count Discord requests since start or
        the last reset (1-based). Kinds: ``5xx``, ``latency``, ``drop``, ``drop-after``, ``429``.
        Returns the active config."""
        payload: dict[str, Any] = {"rate": rate, "kinds": list(kinds), "on_requests": list(on_requests)}
        if latency_ms is not None:
            payload["latency_ms"] = latency_ms
        result: dict[str, Any] = self.control("POST", "/faults", payload)
        return result

    def stats(self) -> dict[str, Any]:
        """Counts: ``requests``, ``rate_limited`` (429s), ``global_rate_limited``, ``faults``,
        ``by_route`` ({"POST /guilds/{guild_id}/roles": n}) and ``by_status`` ({"200": n})."""
        result: dict[str, Any] = self.control("GET", "/stats")
        return result


def _read_first_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buf = b""
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise EmulatorError("the emulator did not print its base URL in time")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise EmulatorError("the emulator exited before printing its base URL")
            buf += chunk
    finally:
        sel.close()
    return buf.split(b"\n", 1)[0].decode().strip()


@contextmanager
def running_emulator(
    *,
    guild_id: str = DEFAULT_GUILD_ID,
    guild_name: str = "Test Guild",
    token: str = "test-token",
    args: Sequence[str] = (),
) -> Iterator[EmulatorHandle]:
    """Start ``python -m gaib.emulator`` on a free port of 127.0.0.1; stop it (SIGTERM, then kill) on exit.

    Raises EmulatorError (with the emulator's stderr) if it does not come up.
    """
    env = {**os.environ, "DISCORD_BOT_TOKEN": token}
    cmd = [sys.executable, "-m", "gaib.emulator", "--host", "127.0.0.1", "--port", "0",
           "--guild-id", guild_id, "--guild-name", guild_name, *args]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        try:
            try:
                base_url = _read_first_line(proc, STARTUP_TIMEOUT)
            except EmulatorError as exc:
                proc.kill()
                proc.wait(timeout=5)
                stderr.seek(0)
                raise EmulatorError(f"{exc}: {stderr.read().decode(errors='replace')[-2000:]}") from None
            yield EmulatorHandle(base_url=base_url, token=token, guild_id=guild_id, process=proc)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
