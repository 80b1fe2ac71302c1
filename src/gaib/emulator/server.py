"""The emulator's HTTP server: Discord's REST routes under /api/v10 plus /_emulator control routes.

Order of checks for a Discord route (each may end the request): the Cloudflare ban (429, text) →
fault injection → route (404) → method (405) → Authorization ``Bot <token>`` (401, not for webhook
execution) → rate limits (429) → path ids (50035) → guild id (10004) → Content-Type and JSON body
(50035 / 50109) → the handler. Answers 401, 403 and 429 (except scope ``shared``) count as invalid
requests (:mod:`gaib.emulator.ratelimit`).

Latency: ``latency_ms`` (``--latency-ms``, default 0) delays every Discord request, half before it is
processed and half before it is answered, like a network round trip; requests are served
concurrently, so concurrent clients overlap their waits as they would against Discord.

Secrets: the bot token is never logged or recorded (``Authorization`` becomes ``Bot [redacted]``),
and webhook tokens are replaced by ``redacted`` in logged and recorded URLs and bodies.

Recording (``record=PATH``) appends one JSON line per Discord-route exchange in the format of
``validate_pairs.py``. Exchanges answered by an injected 5xx or drop are *not* recorded (Discord's
spec declares no 5xx, so they would read as spec violations); they still appear in the request log
with their ``fault`` kind. A ``drop-after`` request was processed (its effect is kept) but never
answered: it is not recorded either, and its log entry has ``status`` None and ``route`` set.
Injected latency is recorded normally. Ban answers are not recorded either: they come from
Cloudflare, not from the API the spec describes.

Time: every rate-limit window, reset header and snowflake runs on :class:`EmulatorClock`, which
``POST /_emulator/clock {"advance": seconds}`` moves forward (a 48-hour window passes in an instant).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from gaib.discord import limits as L
from gaib.emulator import apierrors as E
from gaib.emulator.apierrors import ApiError
from gaib.emulator.faults import SERVER_ERRORS, FaultConfig, FaultConfigError, FaultInjector
from gaib.emulator.fields import parse_snowflake, shown
from gaib.emulator.guild import GuildState
from gaib.emulator.multipart import MultipartError, parse_multipart
from gaib.emulator.ratelimit import CAP_BUCKETS, NAME_TOPIC_ROUTE, EmulatorClock, RateLimiter
from gaib.emulator.records import DataFileError
from gaib.emulator.routes import ROUTES, WEBHOOK_EXECUTE, Call, major_id, match
from gaib.emulator.snowflake import SnowflakeGenerator

API_PREFIX = "/api/v10"
CONTROL_PREFIX = "/_emulator"
CDN_PREFIX = "/cdn/"
DEFAULT_GUILD_ID = "1100000000000000001"
DEFAULT_GUILD_NAME = "Emulated Guild"
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_LATENCY_MS = 60_000
REDACTED = "[redacted]"
URL_REDACTED = "redacted"
_WEBHOOK_PATH = re.compile(r"^((?:/api/v10)?/webhooks/[^/?]+/)([^/?]+)")
_TOKEN_OK = re.compile(r"[\x21-\x7e]{1,512}")

RateLimitMode = Literal["discord", "off"]


class EmulatorConfigError(ValueError):
    """An emulator setting (guild id, name, token, data file, ...) is invalid."""


@dataclass
class Outcome:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    route: str | None = None
    fault: str | None = None
    drop: bool = False
    record: bool = True
    delay: float = 0.0
    content_type: str = "application/json"


def redact_path(path: str) -> str:
    """``/api/v10/webhooks/1/SECRET?wait=true`` → ``/api/v10/webhooks/1/redacted?wait=true``."""
    return _WEBHOOK_PATH.sub(lambda m: m.group(1) + URL_REDACTED, path)


def redact_authorization(value: str) -> str:
    return f"Bot {REDACTED}" if value.startswith("Bot ") else REDACTED


def _error(exc: ApiError) -> Outcome:
    return Outcome(exc.status, exc.body())


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
        self._lock = threading.RLock()
        self.clock = EmulatorClock(wall=clock)
        self.latency_ms = latency_ms
        self.state = GuildState(guild_id, guild_name, SnowflakeGenerator(self.clock.time), self.clock.time)
        self.limiter = RateLimiter(enforce=rate_limits == "discord", clock=self.clock)
        self._caps_used = dict(caps_used or {})
        try:
            self._spend_caps(self._caps_used)
        except ValueError as exc:
            raise EmulatorConfigError(str(exc)) from None
        self.faults = FaultInjector(faults or FaultConfig(), seed)
        self._record_path = Path(record) if record is not None else None
        self._record_file: Any = None
        self._data_path = Path(data) if data is not None else None
        self._saved_revision = -1
        self._log: list[dict[str, Any]] = []
        self._stats: Counter[str] = Counter()
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._number = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_requests = log_requests
        if self._data_path is not None:
            self._load_data(self._data_path)

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
            self._server = _Server((self.host, self.port), _Handler)
            self._server.emulator = self
            if self._record_path is not None:
                self._record_file = self._record_path.open("a", encoding="utf-8")
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
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- inspection (same data as the control routes) ---------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._log]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._stats["requests"], "rate_limited": self._stats["rate_limited"],
                "global_rate_limited": self._stats["global_rate_limited"],
                "faults": self._stats["faults"], "invalid_requests": self._stats["invalid_requests"],
                "banned": self._stats["banned"], "by_route": dict(self._by_route),
                "by_status": dict(self._by_status),
            }

    def reset(self) -> None:
        """Empty the guild (only @everyone left), the request log, stats, buckets, invalid-request count
        and request count; the caps spent at start (``caps_used``) are spent again. The clock stays."""
        with self._lock:
            self.state.reset()
            self._log.clear()
            self._stats.clear()
            self._by_route.clear()
            self._by_status.clear()
            self._number = 0
            self.limiter.reset()
            self._spend_caps(self._caps_used)
            self._save_if_changed()

    def _spend_caps(self, used: Mapping[str, int]) -> None:
        for cap, count in used.items():
            if isinstance(count, bool) or not isinstance(count, int):
                raise ValueError(f"{cap} takes a number of requests already used")
            self.limiter.spend(cap, self.guild_id, count)

    def spend_caps(self, used: Mapping[str, int]) -> dict[str, dict[str, float]]:
        """Start the guild's long windows with ``used`` requests already counted, e.g.
        ``{"role_creates": 240}``; returns every long window. ValueError for unknown caps or bad counts."""
        with self._lock:
            for cap in used:
                if cap not in CAP_BUCKETS:
                    raise ValueError(f"unknown cap {cap!r}; known: {', '.join(CAP_BUCKETS)}")
            self._spend_caps(used)
            return self.limiter.caps(self.guild_id)

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward; returns its time (Unix seconds). ValueError if negative."""
        with self._lock:
            self.clock.advance(seconds)
            return self.clock.time()

    def set_latency(self, latency_ms: int) -> None:
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or not 0 <= latency_ms <= MAX_LATENCY_MS:
            raise ValueError(f"latency must be 0-{MAX_LATENCY_MS} ms")
        with self._lock:
            self.latency_ms = latency_ms

    def limits(self) -> dict[str, Any]:
        """The guild's long windows, the invalid-request count of the current 10 minutes and any ban."""
        with self._lock:
            return {"caps": self.limiter.caps(self.guild_id),
                    "invalid_requests": {"count": self.limiter.invalid_in_window(),
                                         "limit": L.INVALID_REQUESTS.limit},
                    "banned_for": round(self.limiter.ban_remaining(), 3),
                    "clock": {"now": round(self.clock.time(), 3), "offset": self.clock.offset},
                    "latency_ms": self.latency_ms}

    def set_faults(self, config: FaultConfig) -> None:
        with self._lock:
            self.faults.config = config

    def webhook_messages(self, webhook_id: str) -> list[dict[str, Any]]:
        """What was posted to a webhook; raises ApiError (10015) for an unknown webhook."""
        with self._lock:
            return self.state.webhook_messages(webhook_id)

    # ---- persistence ------------------------------------------------------------------------

    def _load_data(self, path: Path) -> None:
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.state.load_json(data)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, DataFileError) as exc:
                raise EmulatorConfigError(f"cannot load emulator data file {path}: {exc}") from None
        self._saved_revision = -1
        self._save_if_changed()

    def _save_if_changed(self) -> None:
        """Atomically rewrite the data file (temp file + rename) if the guild changed since the last save."""
        if self._data_path is None or self.state.revision == self._saved_revision:
            return
        target = self._data_path
        fd, tmp = tempfile.mkstemp(prefix=".emulator-", suffix=".tmp", dir=target.parent or Path("."))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.state.to_json(), handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._saved_revision = self.state.revision

    # ---- request processing -----------------------------------------------------------------

    def handle_api(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Outcome:
        """Answer one request to a non-control path (faults included); logs and records it."""
        started = time.monotonic()
        network = self.latency_ms / 2000.0
        if network:
            time.sleep(network)  # the request travelling
        with self._lock:
            self._number += 1
            number = self._number
            banned = self.limiter.ban_remaining()
            fault = None if banned else self.faults.decide(number)
            latency = self.faults.config.latency_ms / 1000.0
            status_if_5xx = self.faults.server_error_status() if fault == "5xx" else 0
            retry_after = self.faults.retry_after() if fault == "429" else 0.0
        if fault == "latency":
            time.sleep(latency)
        if banned:
            out = Outcome(429, L.BAN_BODY, {"Retry-After": str(math.ceil(banned))}, fault="ban", record=False,
                          content_type="text/plain; charset=UTF-8")
        elif fault == "5xx":
            out = Outcome(status_if_5xx, {"message": SERVER_ERRORS[status_if_5xx], "code": 0},
                          fault=fault, record=False)
        elif fault == "drop":
            out = Outcome(0, None, fault=fault, drop=True, record=False)
        elif fault == "429":
            out = Outcome(429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                          {"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": "shared"},
                          fault=fault)
        else:
            with self._lock:
                out = self._answer(method, raw_path, headers, body)
            out.fault = fault
            if fault == "drop-after":
                # Processed and kept; the client just never hears about it.
                out.drop, out.record = True, False
        if network:
            time.sleep(network)  # the answer travelling
        with self._lock:
            if out.fault in (None, "latency", "drop-after"):
                before = self.limiter.invalid_total
                self.limiter.count_answer(out.status, out.headers.get("X-RateLimit-Scope"))
                self._stats["invalid_requests"] += self.limiter.invalid_total - before
            elif out.fault == "ban":
                self._stats["banned"] += 1
            self._account(number, method, raw_path, out, started)
            multipart = headers.get("content-type", "").lower().startswith("multipart/")
            if out.record and not multipart and self._record_file is not None and raw_path.startswith(API_PREFIX + "/"):
                self._record(method, raw_path, headers, body, out)
        return out

    def _answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Outcome:
        split = urlsplit(raw_path)
        if not split.path.startswith(API_PREFIX + "/"):
            return _error(E.route_not_found())
        found = match(split.path[len(API_PREFIX):])
        if found is None:
            return _error(E.route_not_found())
        template, params = found
        handler = ROUTES[template].get(method)
        if handler is None:
            out = _error(E.method_not_allowed())
            out.route = template
            return out
        out = self._answer_route(method, template, params, split.query, headers, body, handler)
        out.route = template
        return out

    def _answer_route(self, method: str, template: str, params: dict[str, str], query: str,
                      headers: dict[str, str], body: bytes, handler: Callable[[Call], Any]) -> Outcome:
        token_key: str | None = None
        if template != WEBHOOK_EXECUTE:
            if headers.get("authorization") != f"Bot {self.token}":
                return _error(E.unauthorized())
            token_key = "bot"
        fields = _body_fields(body) if (method, template) == NAME_TOPIC_ROUTE else ()
        hook = self.state.webhooks.get(params.get("webhook_id", "")) if template == WEBHOOK_EXECUTE else None
        decision = self.limiter.check(method, template, major_id(template, params), token_key, fields,
                                      channel=hook.channel_id if hook is not None and method == "POST" else None)
        if not decision.allowed:
            self._stats["rate_limited"] += 1
            if decision.is_global:
                self._stats["global_rate_limited"] += 1
            return Outcome(429, {"message": "You are being rate limited.", "retry_after": decision.retry_after,
                                 "global": decision.is_global}, dict(decision.headers))
        rl_headers = dict(decision.headers)
        try:
            for name, value in params.items():
                if name.endswith("_id"):
                    number = parse_snowflake(value)
                    if number is None or str(number) != value:
                        raise E.form_error((name,), "NUMBER_TYPE_COERCE", f'Value "{shown(value)}" is not snowflake.')
            if "guild_id" in params and params["guild_id"] != self.guild_id:
                raise E.unknown(E.UNKNOWN_GUILD)
            parsed = self._parse_body(method, headers, body)
            query_args = dict(parse_qsl(query, keep_blank_values=True))
            reply = handler(Call(self.state, params, query_args, parsed, self.base_url, headers))
        except ApiError as exc:
            out = _error(exc)
        else:
            out = Outcome(reply.status, reply.body)
        finally:
            self._save_if_changed()
        out.headers.update(rl_headers)
        return out

    @staticmethod
    def _parse_body(method: str, headers: dict[str, str], body: bytes) -> Any:
        if method not in ("POST", "PATCH", "PUT") or not body.strip():
            return None
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            try:
                return parse_multipart(headers.get("content-type", ""), body)
            except MultipartError as exc:
                raise E.form_error((), "CONTENT_TYPE_INVALID", str(exc)) from None
        if ctype != "application/json":
            raise E.form_error((), "CONTENT_TYPE_INVALID", 'Expected "Content-Type" header to be "application/json".')
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.") from None

    def _account(self, number: int, method: str, raw_path: str, out: Outcome, started: float) -> None:
        status = None if out.drop else out.status
        entry = {
            "seq": number, "time": round(self.clock.time(), 3), "method": method,
            "path": self._scrub(redact_path(raw_path)),
            "route": out.route, "status": status, "fault": out.fault,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        self._log.append(entry)
        self._stats["requests"] += 1
        if out.fault in ("5xx", "drop", "drop-after", "429"):
            self._stats["faults"] += 1
        self._by_route[f"{method} {out.route or '<unknown>'}"] += 1
        self._by_status["dropped" if status is None else str(status)] += 1
        if self._log_requests is not None:
            self._log_requests(f"{method} {entry['path']} -> {status if status is not None else 'dropped'}"
                               + (f" [fault {out.fault}]" if out.fault else ""))

    def _record(self, method: str, raw_path: str, headers: dict[str, str], body: bytes, out: Outcome) -> None:
        try:
            req_body: Any = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            req_body = body.decode("utf-8", "replace")
        req_headers = {k: (redact_authorization(v) if k.lower() == "authorization" else v)
                       for k, v in headers.items()}
        resp_body = out.body
        if out.route == "/channels/{channel_id}/webhooks" and isinstance(resp_body, dict) and "token" in resp_body:
            resp_body = {**resp_body, "token": REDACTED, "url": redact_path(str(resp_body.get("url", "")))}
        resp_headers = dict(out.headers)
        if resp_body is not None:
            resp_headers["Content-Type"] = "application/json"
        line = json.dumps({
            "request": {"method": method, "url": self.origin + redact_path(raw_path), "headers": req_headers,
                        "body": req_body},
            "response": {"status": out.status, "headers": resp_headers, "body": resp_body},
        })
        line = self._scrub(line)
        self._record_file.write(line + "\n")
        self._record_file.flush()

    def _scrub(self, text: str) -> str:
        """Last line of defence: no known secret may leave in a log line or recording."""
        for secret in [self.token, *(h.token for h in self.state.webhooks.values())]:
            encoded = json.dumps(secret)[1:-1]
            if encoded:
                text = text.replace(encoded, REDACTED)
        return text

    # ---- the CDN ----------------------------------------------------------------------------

    def handle_cdn(self, method: str, raw_path: str) -> Outcome:
        """Discord's CDN for this guild's images (no auth, no rate limits); logged with route ``/cdn``."""
        started = time.monotonic()
        path = urlsplit(raw_path).path[len(CDN_PREFIX):]
        with self._lock:
            self._number += 1
            number = self._number
            found = self.state.cdn_object(path) if method in ("GET", "HEAD") else None
            if found is None:
                out = Outcome(404, "404: Not Found", content_type="text/plain; charset=UTF-8", route="/cdn")
            else:
                out = Outcome(200, found[0], content_type=found[1], route="/cdn")
            self._account(number, method, raw_path, out, started)
        return out

    # ---- control routes ---------------------------------------------------------------------

    def handle_control(self, method: str, raw_path: str, body: bytes) -> Outcome:
        path = urlsplit(raw_path).path[len(CONTROL_PREFIX):]
        with self._lock:
            try:
                return self._control(method, path, body)
            except ApiError as exc:
                return _error(exc)

    def _control(self, method: str, path: str, body: bytes) -> Outcome:
        def only(*allowed: str) -> None:
            if method not in allowed:
                raise E.method_not_allowed()

        def payload() -> Any:
            try:
                return json.loads(body.decode("utf-8")) if body.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.") from None

        def invalid(message: str) -> ApiError:
            return ApiError(400, E.INVALID_FORM_BODY, message, errors={"_errors": [
                {"code": "EMULATOR_SETTING_INVALID", "message": message}]})

        if path in ("", "/", "/info"):
            only("GET")
            return Outcome(200, {"base_url": self.base_url, "guild_id": self.guild_id,
                                 "guild_name": self.state.guild_name, "rate_limits": self.rate_limits,
                                 "latency_ms": self.latency_ms})
        if path == "/limits":
            only("GET")
            return Outcome(200, self.limits())
        if path == "/clock":
            only("GET", "POST")
            if method == "POST":
                data = payload()
                seconds = data.get("advance") if isinstance(data, dict) else None
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise invalid("expected {\"advance\": seconds}")
                try:
                    self.advance_clock(float(seconds))
                except ValueError as exc:
                    raise invalid(str(exc)) from None
            return Outcome(200, self.limits()["clock"])
        if path == "/caps":
            only("GET", "POST")
            if method == "POST":
                data = payload()
                if not isinstance(data, dict):
                    raise invalid("expected {\"role_creates\": n, \"channel_creates\": n, \"role_edits\": n}")
                try:
                    self.spend_caps(data)
                except ValueError as exc:
                    raise invalid(str(exc)) from None
            return Outcome(200, self.limiter.caps(self.guild_id))
        if path == "/latency":
            only("GET", "POST")
            if method == "POST":
                data = payload()
                try:
                    self.set_latency(data.get("latency_ms") if isinstance(data, dict) else None)  # type: ignore[arg-type]
                except ValueError as exc:
                    raise invalid(str(exc)) from None
            return Outcome(200, {"latency_ms": self.latency_ms})
        if path == "/requests":
            only("GET")
            return Outcome(200, self.requests())
        if path == "/stats":
            only("GET")
            return Outcome(200, self.stats())
        if path == "/reset":
            only("POST")
            self.reset()
            return Outcome(200, {"reset": True})
        if path == "/faults":
            only("GET", "POST")
            if method == "POST":
                try:
                    data = json.loads(body.decode("utf-8")) if body.strip() else {}
                    self.set_faults(FaultConfig.from_json(data, self.faults.config))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise ApiError(400, E.INVALID_JSON, "The request body contains invalid JSON.") from None
                except FaultConfigError as exc:
                    raise ApiError(400, E.INVALID_FORM_BODY, str(exc), errors={"_errors": [
                        {"code": "FAULT_CONFIG_INVALID", "message": str(exc)}]}) from None
            return Outcome(200, self.faults.config.to_json())
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "webhooks" and parts[2] == "messages":
            only("GET")
            return Outcome(200, self.webhook_messages(parts[1]))
        community = self._community_control(method, parts, payload)
        if community is not None:
            return community
        raise E.route_not_found()


    def _community_control(self, method: str, parts: list[str], payload: Callable[[], Any]) -> Outcome | None:
        """``/guild`` (boost level), ``/emojis`` and ``/bans`` (seed without rate limits), and
        ``/channels/{id}/messages`` (seed a channel's history; GET: what webhooks posted into it)."""
        state = self.state
        if parts == ["guild"] and method in ("GET", "POST"):
            if method == "POST":
                data = payload()
                state.set_premium_tier(data.get("premium_tier") if isinstance(data, dict) else None)
            return Outcome(200, {"premium_tier": state.premium_tier, "features": state.features})
        if parts == ["emojis"] and method == "POST":
            data = payload()
            out = []
            for item in data if isinstance(data, list) else []:
                image = base64.b64decode(str(item.get("image", "")))
                out.append(state.seed_emoji(str(item.get("name")), image, [str(r) for r in item.get("roles", [])]))
            self._save_if_changed()
            return Outcome(200, out)
        if parts == ["bans"] and method == "POST":
            count = state.seed_bans(payload())
            self._save_if_changed()
            return Outcome(200, {"seeded": count})
        if len(parts) == 3 and parts[0] == "channels" and parts[2] == "messages":
            if method == "GET":
                return Outcome(200, list(state.posted.get(parts[1], [])))
            if method == "POST":
                created = state.seed_messages(parts[1], payload())
                self._save_if_changed()
                return Outcome(200, created)
            raise E.method_not_allowed()
        return None


def _body_fields(body: bytes) -> tuple[str, ...]:
    """Top-level keys of a JSON object body (empty for anything else); never raises."""
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return ()
    return tuple(data) if isinstance(data, dict) else ()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # concurrent clients open many connections at once
    emulator: Emulator


class _BodyTooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    """Routes every HTTP method (even TRACE or made-up ones) to the emulator; JSON answers only."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; avoid the 40 ms delayed-ACK stall
    server: _Server
    error_content_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the emulator keeps its own log (never the token)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, 501 …) as Discord-style JSON."""
        status = 405 if code == 501 else code
        phrase = self.responses.get(status, ("Error",))[0]
        self.close_connection = True
        self._write(Outcome(status, {"message": f"{status}: {phrase}", "code": 0}))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        try:
            body = self._read_body()
        except (_BodyTooLarge, ValueError):
            self.close_connection = True
            self._write(Outcome(413, {"message": "413: Request Entity Too Large", "code": E.REQUEST_TOO_LARGE}))
            return
        method = self.command.upper()
        if urlsplit(self.path).path.startswith(CONTROL_PREFIX):
            self._write(emulator.handle_control(method, self.path, body))
            return
        if urlsplit(self.path).path.startswith(CDN_PREFIX):
            self._write(emulator.handle_cdn(method, self.path))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        out = emulator.handle_api(method, self.path, headers, body)
        if out.drop:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._write(out)

    def _write(self, out: Outcome) -> None:
        if out.body is None:
            payload = b""
        elif isinstance(out.body, bytes):
            payload = out.body
        elif out.content_type.startswith("application/json"):
            payload = json.dumps(out.body).encode("utf-8")
        else:
            payload = str(out.body).encode("utf-8")
        try:
            self.send_response(out.status)
            for key, value in out.headers.items():
                self.send_header(key, value)
            if out.body is not None:
                self.send_header("Content-Type", out.content_type)
            if out.status != 204:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
