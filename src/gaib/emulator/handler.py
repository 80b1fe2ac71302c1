"""The emulator's HTTP plumbing: a threading server and the handler that reads requests and writes answers.

Every HTTP method (even TRACE or made-up ones) reaches :meth:`RequestHandler._dispatch`, which sends
``/_emulator…`` to the control routes, ``/cdn/…`` to the CDN and everything else to the Discord
routes. Bodies over 8 MiB answer 413 (40005); http.server's own errors (a bad request line, 501 …)
are answered as Discord-style JSON (501 as 405); answers are JSON unless an :class:`Outcome` says
otherwise; a dropped request closes the connection without an answer.
"""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gaib.emulator import apierrors as E
from gaib.emulator.cdn import CDN_PREFIX
from gaib.emulator.control import CONTROL_PREFIX
from gaib.emulator.outcome import Outcome

if TYPE_CHECKING:
    from gaib.emulator.server import Emulator

MAX_BODY_BYTES = 8 * 1024 * 1024


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # concurrent clients open many connections at once
    emulator: Emulator


class _BodyTooLarge(Exception):
    pass


class RequestHandler(BaseHTTPRequestHandler):
    """Routes every HTTP method to the emulator; JSON answers only."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; avoid the 40 ms delayed-ACK stall
    server: EmulatorHTTPServer
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
