"""The :class:`Emulator` object: its settings, lifecycle (bind, serve, stop) and the operations behind
the control routes (clock, caps, latency, faults, reset, request log and stats).

Requests are answered by :mod:`gaib.emulator.api` (Discord's routes: the order of checks and the
latency), :mod:`gaib.emulator.control` (``/_emulator``) and :mod:`gaib.emulator.cdn` (``/cdn/``),
over the HTTP plumbing of :mod:`gaib.emulator.handler`; :mod:`gaib.emulator.recorder` says what is
logged and recorded and how secrets are kept out. All of them hold :attr:`Emulator.lock` while they
read or change the emulator.

Time: every rate-limit window, reset header and snowflake runs on :class:`EmulatorClock`, which
``POST /_emulator/clock {"advance": seconds}`` moves forward (a 48-hour window passes in an instant).
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from gaib.discord import limits as L
from gaib.emulator.api import handle_api
from gaib.emulator.cdn import handle_cdn
from gaib.emulator.control import handle_control
from gaib.emulator.faults import FaultConfig, FaultInjector
from gaib.emulator.fields import parse_snowflake, shown
from gaib.emulator.guild import GuildState
from gaib.emulator.handler import EmulatorHTTPServer, RequestHandler
from gaib.emulator.outcome import Outcome
from gaib.emulator.persistence import DataFile
from gaib.emulator.ratelimit import CAP_BUCKETS, EmulatorClock, RateLimiter
from gaib.emulator.recorder import Recorder, Redactor, RequestLog
from gaib.emulator.routes import API_PREFIX
from gaib.emulator.snowflake import SnowflakeGenerator
from gaib.emulator.stores.records import DataFileError

DEFAULT_GUILD_ID = "1100000000000000001"
DEFAULT_GUILD_NAME = "Emulated Guild"
MAX_LATENCY_MS = 60_000
_TOKEN_OK = re.compile(r"[\x21-\x7e]{1,512}")

RateLimitMode = Literal["discord", "off"]


class EmulatorConfigError(ValueError):
    """An emulator setting (guild id, name, token, data file, ...) is invalid."""


class Emulator:
    """A Discord REST emulator for one guild, served over real HTTP on ``host:port``.

    ``start()`` binds (port 0 picks a free port), serves on a background thread and returns the base
    URL ``http://HOST:PORT/api/v10``; ``stop()`` shuts down. Usable as a context manager.
    Raises :class:`EmulatorConfigError` for invalid settings or an unreadable ``data`` file.
    """

    def __init__(
        self,
        *,
        guild_id: str = DEFAULT_GUILD_ID,
        guild_name: str = DEFAULT_GUILD_NAME,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: RateLimitMode = "discord",
        record: str | os.PathLike[str] | None = None,
        data: str | os.PathLike[str] | None = None,
        faults: FaultConfig | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        log_requests: Callable[[str], None] | None = None,
        latency_ms: int = 0,
        caps_used: Mapping[str, int] | None = None,
        members_intent: bool = True,
    ) -> None:
        if parse_snowflake(guild_id) is None or str(parse_snowflake(guild_id)) != guild_id:
            raise EmulatorConfigError(f"guild id {shown(guild_id)!r} is not a snowflake (digits only)")
        if not isinstance(guild_name, str) or not 2 <= len(guild_name.strip()) <= 100:
            raise EmulatorConfigError("guild name must be 2-100 characters")
        if not isinstance(token, str) or not _TOKEN_OK.fullmatch(token):
            raise EmulatorConfigError("token must be 1-512 printable characters without spaces")
        if rate_limits not in ("discord", "off"):
            raise EmulatorConfigError("rate_limits must be 'discord' or 'off'")
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or not 0 <= latency_ms <= MAX_LATENCY_MS:
            raise EmulatorConfigError(f"latency must be 0-{MAX_LATENCY_MS} ms")
        self.guild_id = guild_id
        self.token = token
        self.host = host
        self.port = port
        self.rate_limits = rate_limits
        self.lock = threading.RLock()
        self.clock = EmulatorClock(wall=clock)
        self.latency_ms = latency_ms
        self.state = GuildState(guild_id, guild_name, SnowflakeGenerator(self.clock.time), self.clock.time)
        self.state.members.intent = members_intent  # --no-members-intent: the member list answers 403 50001
        self.limiter = RateLimiter(enforce=rate_limits == "discord", clock=self.clock)
        self._caps_used = dict(caps_used or {})
        try:
            self._spend_caps(self._caps_used)
        except ValueError as exc:
            raise EmulatorConfigError(str(exc)) from None
        self.faults = FaultInjector(faults or FaultConfig(), seed)
        redactor = Redactor(token, self.state.webhooks.tokens)
        self.log = RequestLog(self.clock.time, redactor, log_requests)
        self.recorder = Recorder(Path(record), redactor, lambda: self.origin) if record is not None else None
        self._data = DataFile(Path(data)) if data is not None else None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if self._data is not None:
            self._load_data(self._data)

    # ---- lifecycle --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        port = self._server.server_address[1]
        return f"http://{self.host}:{port}{API_PREFIX}"

    @property
    def origin(self) -> str:
        return self.base_url[: -len(API_PREFIX)]

    def bind(self) -> str:
        """Bind the socket (without serving yet) and return the base URL. OSError if the port is taken."""
        if self._server is None:
            self._server = EmulatorHTTPServer((self.host, self.port), RequestHandler)
            self._server.emulator = self
            if self.recorder is not None:
                self.recorder.open()
        return self.base_url

    def start(self) -> str:
        """Serve on a daemon thread; returns the base URL (``http://127.0.0.1:PORT/api/v10``)."""
        url = self.bind()
        if self._thread is None:
            assert self._server is not None
            self._thread = threading.Thread(target=self._server.serve_forever, name="gaib-emulator",
                                            kwargs={"poll_interval": 0.1}, daemon=True)
            self._thread.start()
        return url

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` (or an interrupt)."""
        self.bind()
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
            self._server = None
            self._thread = None
        if self.recorder is not None:
            self.recorder.close()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- requests (called by the HTTP handler) ----------------------------------------------

    def handle_api(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Answer one request to a Discord route (:mod:`gaib.emulator.api`); logs and records it."""
        return handle_api(self, method, raw_path, headers, body)

    def handle_control(self, method: str, raw_path: str, body: bytes) -> Outcome:
        """Answer one ``/_emulator`` request (:mod:`gaib.emulator.control`)."""
        return handle_control(self, method, raw_path, body)

    def handle_cdn(self, method: str, raw_path: str) -> Outcome:
        """Answer one ``/cdn/`` request (:mod:`gaib.emulator.cdn`); logs it."""
        return handle_cdn(self, method, raw_path)

    # ---- inspection and settings (same data as the control routes) --------------------------

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return self.log.requests()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return self.log.stats()

    def reset(self) -> None:
        """Empty the guild (only @everyone left), the request log, stats, buckets, invalid-request count
        and request count; the caps spent at start (``caps_used``) are spent again. The clock stays."""
        with self.lock:
            self.state.reset()
            self.log.clear()
            self.limiter.reset()
            self._spend_caps(self._caps_used)
            self.save_if_changed()

    def _spend_caps(self, used: Mapping[str, int]) -> None:
        for cap, count in used.items():
            if isinstance(count, bool) or not isinstance(count, int):
                raise ValueError(f"{cap} takes a number of requests already used")
            self.limiter.spend(cap, self.guild_id, count)

    def spend_caps(self, used: Mapping[str, int]) -> dict[str, dict[str, float]]:
        """Start the guild's long windows with ``used`` requests already counted, e.g.
        ``{"role_creates": 240}``; returns every long window. ValueError for unknown caps or bad counts."""
        with self.lock:
            for cap in used:
                if cap not in CAP_BUCKETS:
                    raise ValueError(f"unknown cap {cap!r}; known: {', '.join(CAP_BUCKETS)}")
            self._spend_caps(used)
            return self.limiter.caps(self.guild_id)

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward; returns its time (Unix seconds). ValueError if negative."""
        with self.lock:
            self.clock.advance(seconds)
            return self.clock.time()

    def set_latency(self, latency_ms: int) -> None:
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or not 0 <= latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"latency must be 0-{MAX_LATENCY_MS} ms")
        with self.lock:
            self.latency_ms = latency_ms

    def limits(self) -> dict[str, Any]:
        """The guild's long windows, the invalid-request count of the current 10 minutes and any ban."""
        with self.lock:
            return {"caps": self.limiter.caps(self.guild_id),
                    "invalid_requests": {"count": self.limiter.invalid_in_window(),
                                         "limit": L.INVALID_REQUESTS.limit},
                    "banned_for": round(self.limiter.ban_remaining(), 3),
                    "clock": {"now": round(self.clock.time(), 3), "offset": self.clock.offset},
                    "latency_ms": self.latency_ms}

    def set_faults(self, config: FaultConfig) -> None:
        with self.lock:
            self.faults.config = config

    def webhook_messages(self, webhook_id: str) -> list[dict[str, Any]]:
        """What was posted to a webhook; raises ApiError (10015) for an unknown webhook."""
        with self.lock:
            return self.state.webhooks.sent_by(webhook_id)

    # ---- the data file ----------------------------------------------------------------------

    def _load_data(self, data: DataFile) -> None:
        try:
            data.load(self.state)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, DataFileError) as exc:
            raise EmulatorConfigError(f"cannot load emulator data file {data.path}: {exc}") from None
        data.save_if_changed(self.state)

    def save_if_changed(self) -> None:
        """Save the data file (if any) when the guild changed since the last save."""
        if self._data is not None:
            self._data.save_if_changed(self.state)
