"""Seeded fault injection: answer some requests with a 5xx, a delay, or a dropped connection.

Kinds:

* ``5xx`` -- answer 500/502/503 without processing the request (nothing changes);
* ``latency`` -- wait ``latency_ms``, then process and answer normally;
* ``drop`` -- close the connection without processing the request or answering (nothing changes);
* ``drop-after`` -- process the request fully and keep its effect (a POST creates its object), then
  close the connection without an answer. The client cannot tell this from ``drop``: a blind retry
  of a create makes a duplicate, so it is the case a deduplicating client must survive.
* ``429`` -- answer 429 without processing, as a limit shared with other bots would (scope
  ``shared``, ``retry_after`` between 0.05 and 0.3 s): it tests a client's retry path even when the
  client never overruns a bucket itself. Recorded, since it is a valid Discord exchange.

A request is faulted when its 1-based number (counted over Discord API requests since start or the
last reset) is in ``on_requests``, or with probability ``rate``. The kind is drawn from ``kinds``
with a ``random.Random(seed)``, so a sequential client sees the same faults on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("5xx", "latency", "drop", "drop-after", "429")
SERVER_ERRORS = {500: "500: Internal Server Error", 502: "502: Bad Gateway", 503: "503: Service Unavailable"}
DEFAULT_LATENCY_MS = 250
MAX_LATENCY_MS = 60_000


class FaultConfigError(ValueError):
    """A fault setting is out of range or names an unknown kind."""


@dataclass(frozen=True)
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = ("5xx",)
    on_requests: frozenset[int] = field(default_factory=frozenset)
    latency_ms: int = DEFAULT_LATENCY_MS

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultConfigError("fault rate must be between 0 and 1")
        if not self.kinds or any(k not in FAULT_KINDS for k in self.kinds):
            raise FaultConfigError(f"fault kinds must be a non-empty subset of {', '.join(FAULT_KINDS)}")
        if any(n < 1 for n in self.on_requests):
            raise FaultConfigError("request numbers in on_requests start at 1")
        if not 0 <= self.latency_ms <= MAX_LATENCY_MS:
            raise FaultConfigError(f"latency must be 0-{MAX_LATENCY_MS} ms")

    @classmethod
    def from_json(cls, data: Any, current: FaultConfig) -> FaultConfig:
        """Build from the control endpoint's JSON; absent keys keep ``current``'s values."""
        if not isinstance(data, dict):
            raise FaultConfigError("expected a JSON object {rate, kinds, on_requests, latency_ms}")
        rate = data.get("rate", current.rate)
        kinds = data.get("kinds", list(current.kinds))
        on = data.get("on_requests", sorted(current.on_requests))
        latency = data.get("latency_ms", current.latency_ms)
        if isinstance(kinds, str):
            kinds = [k.strip() for k in kinds.split(",") if k.strip()]
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise FaultConfigError("rate must be a number")
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise FaultConfigError("kinds must be a list of strings")
        if not isinstance(on, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in on):
            raise FaultConfigError("on_requests must be a list of integers")
        if isinstance(latency, bool) or not isinstance(latency, int):
            raise FaultConfigError("latency_ms must be an integer")
        return cls(rate=float(rate), kinds=tuple(kinds), on_requests=frozenset(on), latency_ms=latency)

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "kinds": list(self.kinds), "on_requests": sorted(self.on_requests),
                "latency_ms": self.latency_ms}


class FaultInjector:
    """Decides, per request number, whether and how to fault. Callers serialise calls."""

    def __init__(self, config: FaultConfig, seed: int | None = None) -> None:
        self.config = config
        self._rng = random.Random(seed)

    def decide(self, number: int) -> str | None:
        """The fault kind for request ``number`` (1-based), or None."""
        cfg = self.config
        hit = number in cfg.on_requests
        if not hit and cfg.rate > 0.0:
            hit = self._rng.random() < cfg.rate
        if not hit:
            return None
        return cfg.kinds[0] if len(cfg.kinds) == 1 else self._rng.choice(cfg.kinds)

    def server_error_status(self) -> int:
        return self._rng.choice(sorted(SERVER_ERRORS))

    def retry_after(self) -> float:
        """A short ``retry_after`` (seconds) for an injected 429."""
        return round(0.05 + self._rng.random() * 0.25, 3)
