"""boto3 clients for the storage adapters, with a request counter for benchmarks.

boto3 is imported lazily (through ``gaib.aws``); importing this module costs nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
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


def make_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    counter: RequestCounter | None,
) -> Any:
    """A boto3 client (standard retries, bounded timeouts) with ``counter`` attached."""
    try:
        client = aws.client(service, region=region, endpoint_url=endpoint_url)
    except ImportError:
        raise ConfigError("The AWS backend needs boto3, which is not installed.",
                          hint="Install Gaib with the aws extra: pip install 'gaib[aws]'.") from None
    except Exception as exc:  # botocore raises many unrelated classes while configuring a client
        raise aws.translate(exc, f"Connecting to {service}") from None
    if counter is not None:
        counter.attach(client)
    return client
