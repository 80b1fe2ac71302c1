"""A Discord-webhook-shaped HTTP endpoint on 127.0.0.1 for the notifier tests.

The tests talk to it only through ``WebhookSink`` (``url``, ``script``, ``received``), so pointing them at
another endpoint — e.g. the bundled Discord emulator's webhook route — means providing another object
with those three members from the ``webhook`` fixture (tests/support/fixtures/webhook.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

# Looks like a real webhook token so that a leak would be recognisable in captured output.
WEBHOOK_ID = "112233445566778899"
WEBHOOK_TOKEN = "tOkEn-Secret_9f8e7d6c5b4a39281706f5e4d3c2b1a0-doNotLog"


@dataclass(frozen=True)
class Reply:
    status: int = 204
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    at: float  # time.monotonic() on arrival


class WebhookSink(Protocol):
    url: str

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; afterwards 204."""

    def received(self) -> list[Received]:
        """Every request that reached the webhook path, in order."""


class LocalWebhookServer:
    """ThreadingHTTPServer implementing WebhookSink; unknown paths answer Discord's 404 Unknown Webhook."""

    def __init__(self) -> None:
        self._replies: deque[Reply] = deque()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.split("?")[0] != sink.path:
                    self._answer(Reply(404, {"message": "Unknown Webhook", "code": 10015}))
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with sink._lock:
                    sink._received.append(
                        Received("POST", self.path, dict(self.headers), body, time.monotonic())
                    )
                    reply = sink._replies.popleft() if sink._replies else Reply(204)
                self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if payload:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        self.path = f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"
        self.url = f"http://127.0.0.1:{port}{self.path}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def local_webhook() -> Iterator[LocalWebhookServer]:
    server = LocalWebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
