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
    from gaib.notify.webhook import WebhookSender
    from gaib.secrets.base import SecretSource
    from gaib.secrets.identity import Identity
    from gaib.secrets.mac import ManifestMac
    from gaib.settings import Settings
    from gaib.state.backend import StateBackend
    from gaib.state.location import StateLocation
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
    def mac(self) -> ManifestMac | None:
        """The key that seals and checks bundle manifests: a key file beside the local store, or the KMS
        HMAC key ``GAIB_MAC_KEY_ID`` on S3 (None on S3 without it: bundles are written unsealed)."""
        ...

    def local_mac(self) -> ManifestMac:
        """The key file of the local store (whatever storage is configured): what sealed the bundles
        ``backup migrate`` copies from there. Reading it creates nothing."""
        ...

    def local_storage(self) -> tuple[ObjectStore, Catalog] | None:
        """The local backup store (folder and SQLite catalog) when the configured one is S3 and the
        local folder exists: the history kept before S3 was configured, for ``backup migrate`` and
        for the listings that say it is there. None on the local store, or when there is no folder.
        Reading it creates nothing."""
        ...

    @property
    def discord(self) -> DiscordPort:
        """The Discord guild of this run (raises MissingSetting without a token or guild id)."""
        ...

    @property
    def notifier(self) -> Notifier:
        """Where events go (SNS topic, or a JSON-lines file beside the local store)."""
        ...

    @property
    def identity(self) -> Identity:
        """Who runs this (STS's answer on AWS, the self-declared actor locally)."""
        ...

    def notice(self, message: str) -> None:
        """Tell the person running the command something worth a line (stderr); never the result."""
        ...


class ServerPorts(Ports, Protocol):
    """The ports of one server inside a scheduled run (its guild, workspace, state and bot token). With
    ``GAIB_SERVER_ROLE_ARN`` its storage, secrets and state reads act through the server's role session."""

    @property
    def secrets(self) -> SecretSource:
        """The secrets this server's work may read (on its role session when there is one)."""
        ...

    def state_for(self, location: StateLocation) -> StateBackend:
        """A state backend reading ``location`` for this server (on its role session when there is one)."""
        ...

    def close(self) -> None:
        """Release what was opened for this server (its Discord client); idempotent."""
        ...


class RunPorts(Ports, Protocol):
    """What a scheduled run needs besides :class:`Ports`: it works on many servers, each with its own
    state location, guild and bot token, all named by the server's stored schedule."""

    @property
    def secrets(self) -> SecretSource:
        """Where the secrets a schedule names are read (Secrets Manager, or ``GAIB_SECRET_*`` locally)."""
        ...

    @property
    def webhooks(self) -> WebhookSender:
        """Posts to a server's own Discord webhook (``gaib server notify test``)."""
        ...

    def state_location(self, workspace: str) -> StateLocation:
        """Where the configured state backend keeps ``workspace``'s state (what a schedule records)."""
        ...

    def state_for(self, location: StateLocation) -> StateBackend:
        """A state backend reading ``location`` (its workspace is ``location.backend_workspace``)."""
        ...

    def request_counts(self) -> dict[str, int] | None:
        """AWS requests sent so far by this run's storage and state clients, by ``service.Operation``
        (None on the local store)."""
        ...

    def for_server(self, server_id: str, *, workspace: str, state: StateBackend | None = None,
                   bot_token: str | None = None) -> ServerPorts:
        """Ports for one server: the same store, catalog, clock and notifier (which also scrubs
        ``bot_token``), settings naming this server and workspace, ``state`` as its state backend, and a
        Discord client for the guild made on first use with ``bot_token``. Close it after use."""
        ...


def server_id_of(ports: Ports) -> str:
    """The server a command works on: -g / DISCORD_GUILD_ID / gaib.yaml, else the guild id in the
    workspace's state. Raises MissingSetting (exit 2) when neither names one."""
    from gaib.errors import MissingSetting

    settings = ports.settings
    if settings.guild_id:
        return settings.guild_id
    state = ports.state.get(settings.workspace)
    if state is not None and state.guild_id:
        return state.guild_id
    raise MissingSetting("No Discord server id is known for these backups.",
                         hint="Pass -g ID or set DISCORD_GUILD_ID.")
