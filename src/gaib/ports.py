"""The ports a service may use, handed over as one typed object by the composition root.

Services take a :class:`Ports` and use only what they need; nothing is built until it is first used
(a command that never talks to Discord never makes a Discord client, a local run never imports
boto3). :class:`gaib.wiring.App` is the implementation; services never build adapters themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: importing the ports module costs a command nothing
    from gaib.clock import Clock
    from gaib.discord.port import DiscordPort
    from gaib.notify.base import Notifier
    from gaib.settings import Settings
    from gaib.state.backend import StateBackend
    from gaib.storage.base import Catalog, ObjectStore


class Ports(Protocol):
    """Settings, clock and the ports of one run."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def state(self) -> StateBackend:
        """The state backend of the configured workspace's storage (local folder or S3 + DynamoDB lock)."""
        ...

    @property
    def store(self) -> ObjectStore:
        """The backup object store (local folder or S3)."""
        ...

    @property
    def catalog(self) -> Catalog:
        """The backup catalog (SQLite beside the local store, or DynamoDB)."""
        ...

    @property
    def discord(self) -> DiscordPort:
        """The Discord guild of this run (raises MissingSetting without a token or guild id)."""
        ...

    @property
    def notifier(self) -> Notifier:
        """Where events go (SNS topic, or a JSON-lines file beside the local store)."""
        ...

    def notice(self, message: str) -> None:
        """Tell the person running the command something worth a line (stderr); never the result."""
        ...
