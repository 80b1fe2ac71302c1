"""moto's server with each request applied atomically: ``python -m tests.support.moto_atomic -H HOST -p PORT``.

With ``-p 0`` the server binds a free port itself and prints its URL (``http://HOST:PORT``) as the
first line of stdout once it listens, so parallel test workers never race for a port.

DynamoDB applies a conditional write (``attribute_not_exists``, a counter with a ceiling) and S3 a
conditional put (``If-Match``, ``If-None-Match``) as one atomic step. moto's own server answers
requests on several threads, and its check and write are separate Python steps, so two racing
requests can both pass a condition that only one may pass — a race real AWS never has. This
launcher runs the same moto application behind one lock: connections stay concurrent, requests are
applied one at a time, as the real services serialise writes to one item or key. Nothing else of
moto is changed.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any


def _serialised(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                return list(result)  # the whole body, produced under the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return wrapped


def main() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(prog="python -m tests.support.moto_atomic")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True, help="0: a free port, its URL printed on stdout")
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    # A log line per request costs the server ~10% of its CPU; its output goes nowhere (the tests
    # start it with stderr to /dev/null). Errors still log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, _serialised(app), threaded=True, request_handler=MotoRequestHandler)
    if args.port == 0:
        os.environ["MOTO_PORT"] = str(server.port)  # moto writes it into URLs it returns (SQS queues)
        print(f"http://{args.host}:{server.port}", flush=True)
    else:
        os.environ.setdefault("MOTO_PORT", str(args.port))
    server.serve_forever()


if __name__ == "__main__":
    main()
