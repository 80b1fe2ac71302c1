"""boto3 clients for the storage adapters, with a request counter for benchmarks.

boto3 is imported lazily (through ``gaib.aws``); importing this module costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any

from gaib import aws
from gaib.errors import ConfigError


class RequestCounter:
    """Counts HTTP requests sent to AWS per ``service.Operation`` (retries count, as AWS bills them).

    Attach it to clients with :meth:`attach`; read ``total`` or ``by_operation()``; ``reset()``
    between measured steps.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._on_send)

    def _on_send(self, event_name: str = "", **_: Any) -> None:
        # event_name is "before-send.<service>.<Operation>". Returning None lets the request go.
        op = event_name.split(".", 1)[1] if "." in event_name else event_name
        with self._lock:
            self._counts[op] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def by_operation(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class ResponseClock:
    """The storage's own clock, read from the ``Date`` header of every response its clients receive (no
    request of its own). Attach it to clients with :meth:`attach`; :meth:`now` is the newest ``Date``
    seen, moved on by the monotonic time elapsed since (None before the first response)."""

    def __init__(self) -> None:
        self._seen: tuple[float, float] | None = None  # (the Date header, monotonic time it arrived)
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call", self._on_response)

    def _on_response(self, http_response: Any = None, **_: Any) -> None:
        headers = getattr(http_response, "headers", None)
        text = headers.get("Date") if headers is not None else None
        if not text:
            return
        try:
            stamp = parsedate_to_datetime(str(text)).timestamp() + 0.5  # the header's second, at its middle
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        with self._lock:
            self._seen = (stamp, time.monotonic())

    def now(self) -> float | None:
        with self._lock:
            seen = self._seen
        return None if seen is None else seen[0] + (time.monotonic() - seen[1])


def make_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    counter: RequestCounter | None,
    clock: ResponseClock | None = None,
    role: aws.RoleSession | None = None,
) -> Any:
    """A boto3 client (standard retries, bounded timeouts) with ``counter`` and ``clock`` attached (on the
    credentials of the role session ``role``, if given)."""
    try:
        client = aws.client(service, region=region, endpoint_url=endpoint_url, role=role)
    except ImportError:
        raise ConfigError("The AWS backend needs boto3, which is not installed.",
                          hint="Install Gaib with the aws extra: pip install 'gaib[aws]'.") from None
    except Exception as exc:  # botocore raises many unrelated classes while configuring a client
        raise aws.translate(exc, f"Connecting to {service}") from None
    if counter is not None:
        counter.attach(client)
    if clock is not None:
        clock.attach(client)
    return client
