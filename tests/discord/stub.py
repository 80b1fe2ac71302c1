"""A tiny scripted HTTP server on 127.0.0.1 for the client's retry and error paths.

Each request is recorded, then answered by ``handler(request)`` which returns a :class:`Reply`, or
``DROP`` to close the connection without answering (a dropped connection), or ``("sleep", s, reply)``
to answer late (a read timeout). Tests that need Discord's behaviour use the bundled emulator; this
stub only exists to produce the failures the client must survive, on demand.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


DROP = "drop"


@dataclass
class Late:
    seconds: float
    reply: Reply


Handler = Callable[[Seen], "Reply | str | Late"]


class Stub:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[Seen] = []
        self.script: list[Reply | str | Late] = []
        self.handler: Handler | None = None
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/api/v10"

    def answer(self, seen: Seen) -> Reply | str | Late:
        with self.lock:
            self.requests.append(seen)
            if self.script:
                return self.script.pop(0)
        if self.handler is not None:
            return self.handler(seen)
        return Reply(200, {})


def _make_handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            seen = Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
            action = stub.answer(seen)
            if action == DROP:
                self.close_connection = True
                with suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if isinstance(action, Late):
                time.sleep(action.seconds)
                action = action.reply
            assert isinstance(action, Reply)
            data = action.raw if action.raw is not None else (
                b"" if action.body is None else json.dumps(action.body).encode())
            self.send_response(action.status)
            if data and action.raw is None:
                self.send_header("Content-Type", "application/json")
            for k, v in action.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return H


@contextmanager
def stub_server() -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(None))  # type: ignore[arg-type]
    stub = Stub(server)
    server.RequestHandlerClass = _make_handler(stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
