"""The composition root: Settings → adapters behind their ports, built once, on first use.

This is the only module that chooses and builds adapters (state backend, backup storage, Discord
client, notifier). The CLI and scheduled runs build one :class:`App` per run and hand it to services
as their :class:`gaib.ports.Ports`; tests build the same root over the local store, moto and the
emulator. Closing the app closes what it opened (the Discord client's connections).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from gaib.clock import Clock, utc_now
from gaib.errors import GaibError, MissingSetting
from gaib.guarded import GuardedCatalog, GuardedObjectStore, GuardedStateBackend, unguarded
from gaib.secretguard import SecretFinder, secrets_in
from gaib.settings import Settings
from gaib.storage.base import Catalog, ObjectStore

if TYPE_CHECKING:  # the Discord and notifier ports are built on first use; a local listing never loads them,
    # nor the state's types when it reads no state
    from gaib.aws import RoleSession
    from gaib.discord.port import DiscordPort
    from gaib.notify.base import Notifier
    from gaib.notify.events import Event
    from gaib.notify.webhook import WebhookSender
    from gaib.secrets.base import SecretSource
    from gaib.secrets.identity import Identity
    from gaib.secrets.mac import ManifestMac
    from gaib.state.backend import StateBackend
    from gaib.state.location import StateLocation


class App:
    """Every port of one run, built lazily from ``settings``.

    ``notice`` receives one-line notices adapters have for the user (a dead process's lock taken over).
    With ``GAIB_SERVER_ROLE_ARN`` set and backups on AWS, ``per_server`` (owner tools) makes this run's
    storage and secrets act through that role's session for the one server it works on; without it (a
    scheduled run's cross-server work, an operator's ``tier set``) they use the caller's own credentials,
    and :meth:`for_server` hands out each server's ports on its own role session.
    """

    def __init__(self, settings: Settings, *, clock: Clock = utc_now,
                 notice: Callable[[str], None] | None = None, per_server: bool = False) -> None:
        self._settings = settings
        self._clock = clock
        self._notice = notice
        self._per_server = per_server
        self._sessions: OrderedDict[str, _ServerSession] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._discord: DiscordPort | None = None
        self._clients: dict[str | None, tuple[Any, Any]] = {}
        self._clients_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def finder(self) -> SecretFinder:
        """The run's secrets, which its guarded ports refuse to store."""
        return self._finder

    @functools.cached_property
    def _finder(self) -> SecretFinder:
        """The secrets of this run (bot token, webhook tokens): the guarded ports refuse to store them."""
        s = self._settings
        return SecretFinder(secrets_in(s.environ, s.bot_token))

    @functools.cached_property
    def state(self) -> StateBackend:
        backend = self._state_adapter()
        return cast("StateBackend", GuardedStateBackend(backend, self._finder)) if self._finder else backend

    def _state_adapter(self) -> StateBackend:
        s = self._settings
        if s.backend == "s3":
            from gaib.state.s3 import S3Backend

            if not s.s3_bucket:
                raise MissingSetting("The S3 state backend needs a bucket.",
                                     hint="Set GAIB_S3_BUCKET or backend.bucket in gaib.yaml.")
            return S3Backend(bucket=s.s3_bucket, table=s.s3_table or "gaib-locks", guild_id=s.guild_id,
                             key=s.s3_key, region=s.s3_region, endpoint_url=s.s3_endpoint_url,
                             kms_key_id=s.s3_kms_key_id, encrypt=s.s3_encrypt, profile=s.s3_profile,
                             stale_after=s.lock_stale_after, notice=self._notice)
        from gaib.state.local import LocalBackend

        return LocalBackend(s.state_dir, stale_after=s.lock_stale_after, notice=self._notice)

    @functools.cached_property
    def identity(self) -> Identity:
        """Who runs this: STS's answer with backups on AWS, else the self-declared local actor."""
        s = self._settings
        if s.backup_bucket:
            from gaib.secrets.sts import StsIdentity

            return StsIdentity(region=s.aws_region, endpoint_url=s.aws_endpoint_url)
        from gaib.secrets.local_identity import LocalIdentity

        return LocalIdentity(s.actor)

    def server_session(self, server_id: str) -> _ServerSession | None:
        """The role session ports of one server (GAIB_SERVER_ROLE_ARN with backups on AWS; None otherwise):
        made on first use and kept for the run (the most recent ``SESSIONS_KEPT``), so the role is assumed
        once per server while its credentials last (botocore takes new ones before they expire)."""
        s = self._settings
        if not s.server_role_arn or not s.backup_bucket:
            return None
        with self._sessions_lock:
            session = self._sessions.get(server_id)
            if session is None:
                from gaib.secrets.sts import StsIdentity

                identity = self.identity
                assert isinstance(identity, StsIdentity)
                session = _ServerSession(self, identity.server_session(s.server_role_arn, server_id))
                self._sessions[server_id] = session
                while len(self._sessions) > SESSIONS_KEPT:
                    self._sessions.popitem(last=False)
            else:
                self._sessions.move_to_end(server_id)
            return session

    def _own_session(self) -> _ServerSession | None:
        """This run's server's role session, for owner tools (``per_server``); MissingSetting without a server."""
        if not self._per_server or not self._settings.server_role_arn or not self._settings.backup_bucket:
            return None
        if not self._settings.guild_id:
            raise MissingSetting("GAIB_SERVER_ROLE_ARN is set: Gaib acts on one server through that role, and "
                                 "no server is named.", hint="Pass -g ID or set DISCORD_GUILD_ID.")
        return self.server_session(self._settings.guild_id)

    @functools.cached_property
    def _storage(self) -> tuple[ObjectStore, Catalog]:
        from gaib.storage.open import open_storage

        s = self._settings
        own = self._own_session()
        store, catalog = open_storage(root=s.backup_dir, bucket=s.backup_bucket, table=s.backup_table,
                                      kms_key_id=s.backup_kms_key, region=s.aws_region,
                                      endpoint_url=s.aws_endpoint_url, clock=lambda: self._clock().timestamp(),
                                      role=own.role if own is not None else None)
        if not self._finder:
            return store, catalog
        return (cast(ObjectStore, GuardedObjectStore(store, self._finder)),
                cast(Catalog, GuardedCatalog(catalog, self._finder)))

    @property
    def store(self) -> ObjectStore:
        return self._storage[0]

    @property
    def catalog(self) -> Catalog:
        return self._storage[1]

    @functools.cached_property
    def _local_storage(self) -> tuple[ObjectStore, Catalog] | None:
        s = self._settings
        if not s.backup_bucket or not Path(s.backup_dir).is_dir():
            return None
        from gaib.storage.open import open_storage

        return open_storage(backend="local", root=s.backup_dir, clock=lambda: self._clock().timestamp())

    def local_storage(self) -> tuple[ObjectStore, Catalog] | None:
        return self._local_storage

    @functools.cached_property
    def mac(self) -> ManifestMac | None:
        """KMS (``GAIB_MAC_KEY_ID``) when backups are on S3, else the key file beside the local store
        (docs/format.md, "Manifest MAC"); None on S3 without a key id (each unsealed write says so)."""
        s = self._settings
        if s.backup_bucket:
            if not s.mac_key_id:
                return None
            from gaib.secrets.mac_kms import KmsMac

            return KmsMac(s.mac_key_id, region=s.aws_region, endpoint_url=s.aws_endpoint_url)
        return local_mac(s.backup_dir)

    def local_mac(self) -> ManifestMac:
        return local_mac(self._settings.backup_dir)

    @property
    def discord(self) -> DiscordPort:
        if self._discord is None:
            from gaib.discord.client import DiscordClient

            s = self._settings
            self._discord = DiscordClient(s.discord_api_url, token=s.require_token(), guild_id=s.require_guild(),
                                          record_path=s.discord_record_path, max_concurrency=s.discord_concurrency)
        return self._discord

    @functools.cached_property
    def notifier(self) -> Notifier:
        """SNS when a topic is configured, else JSON lines under the local backup store."""
        s = self._settings
        secrets = [s.bot_token] if s.bot_token else []
        if s.notify_topic_arn:
            from gaib.notify.sns import SnsNotifier

            return SnsNotifier(s.notify_topic_arn, region=s.aws_region, endpoint_url=s.aws_endpoint_url,
                               secrets=secrets)
        from gaib.notify.local import FileNotifier, events_path

        return FileNotifier(events_path(s.backup_dir), secrets=secrets)

    @functools.cached_property
    def secrets(self) -> SecretSource:
        """Secrets Manager when ``secrets_backend`` is ``aws``, else ``GAIB_SECRET_*`` variables."""
        s = self._settings
        if s.secrets_backend == "aws":
            from gaib.secrets.aws import SecretsManagerSource

            own = self._own_session()
            return SecretsManagerSource(region=s.aws_region, endpoint_url=s.aws_endpoint_url,
                                        role=own.role if own is not None else None)
        from gaib.secrets.env import EnvSecretSource

        return EnvSecretSource(s.environ)

    @functools.cached_property
    def webhooks(self) -> WebhookSender:
        """Posts to a server's own webhook with the standard library (one message, no retries)."""
        from gaib.notify.http import UrllibWebhookSender

        return UrllibWebhookSender()

    def state_location(self, workspace: str) -> StateLocation:
        """Where the configured backend keeps ``workspace``: the exact S3 key (as the backend resolves it),
        or the absolute local state folder."""
        from gaib.state.location import StateLocation

        s = self._settings
        if s.backend == "s3":
            from gaib.state.s3 import S3Backend

            backend = unguarded(self.state)
            assert isinstance(backend, S3Backend)
            return StateLocation(workspace=workspace, backend="s3", bucket=backend.bucket, key=backend.key(workspace),
                                 region=s.s3_region)
        return StateLocation(workspace=workspace, backend="local", path=str(Path(s.state_dir).resolve()))

    def state_for(self, location: StateLocation) -> StateBackend:
        """A backend reading one schedule's location; S3 clients are shared per region for the whole run."""
        return self.state_backend(location, self._state_clients)

    def state_backend(self, location: StateLocation, clients: Callable[[str | None], tuple[Any, Any]]) -> StateBackend:
        """A backend reading ``location``, its S3 clients from ``clients(region)``."""
        s = self._settings
        if location.backend == "s3":
            from gaib.state.s3 import S3Backend

            assert location.bucket is not None and location.key is not None
            return S3Backend(bucket=location.bucket, key=location.key, region=location.region or s.s3_region,
                             endpoint_url=s.s3_endpoint_url, stale_after=s.lock_stale_after,
                             clients=clients(location.region or s.s3_region))
        from gaib.state.local import LocalBackend

        assert location.path is not None
        return LocalBackend(Path(location.path), stale_after=s.lock_stale_after, notice=self._notice)

    def make_state_clients(self, region: str | None, role: RoleSession | None = None) -> tuple[Any, Any]:
        """New S3 and DynamoDB clients for state reads (on ``role``'s credentials, if given), counted with
        the run's requests."""
        from gaib import aws

        endpoint = self._settings.s3_endpoint_url
        clients = (aws.client("s3", region=region, endpoint_url=endpoint, role=role),
                   aws.client("dynamodb", region=region, endpoint_url=endpoint, role=role))
        counter = getattr(unguarded(self.store), "requests", None)  # the AWS storage's request counter
        if counter is not None:
            for client in clients:
                counter.attach(client)
        return clients

    def _state_clients(self, region: str | None) -> tuple[Any, Any]:
        with self._clients_lock:
            if region not in self._clients:
                clients = self.make_state_clients(region)
                self._clients[region] = clients
            return self._clients[region]

    def request_counts(self) -> dict[str, int] | None:
        counter = getattr(self.store, "requests", None)  # the AWS storage's RequestCounter
        if counter is None:
            return None
        counts: dict[str, int] = counter.by_operation()
        return counts

    def for_server(self, server_id: str, *, workspace: str, state: StateBackend | None = None,
                   bot_token: str | None = None) -> ServerApp:
        return ServerApp(self, server_id, workspace=workspace, state=state, bot_token=bot_token)

    def notice(self, message: str) -> None:
        if self._notice is not None:
            self._notice(message)

    def close(self) -> None:
        """Release what this run opened (idempotent)."""
        if self._discord is not None:
            self._discord.close()
            self._discord = None
        storage = self.__dict__.get("_storage")
        if storage is not None:
            self._check_clock(storage[1])
        for name in ("_storage", "_local_storage"):
            storage = self.__dict__.pop(name, None)
            close = getattr(storage[1], "close", None) if storage is not None else None
            if callable(close):
                close()  # the SQLite catalog: so a read leaves no -wal/-shm files behind

    def _check_clock(self, catalog: Catalog) -> None:
        """Warn when this host's clock and the backup storage's differ by more than 5 minutes; the storage's
        time comes from responses the run already got (no request of its own)."""
        from gaib.bundles.order import clock_warning

        try:
            warning = clock_warning(self._clock(), catalog.storage_time())
        except (GaibError, ValueError, OverflowError, OSError):  # it never fails a command that did its work
            return
        if warning is not None:
            self.notice(warning)

    def __enter__(self) -> App:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def local_mac(backup_dir: Path) -> ManifestMac:
    """The MAC key of the local store in ``backup_dir``: the file ``{backup_dir}.mac-key`` beside it."""
    from gaib.secrets.mac_local import LocalMacKey

    folder = Path(backup_dir).absolute()
    return LocalMacKey(folder.with_name(folder.name + ".mac-key"))

SESSIONS_KEPT = 256
"""Servers whose role session (credentials and clients) a run keeps at once; an older one is made again if needed."""


class _ServerSession:
    """One server's role session and the adapters on its credentials (storage, secrets, state clients),
    each made on first use. The storage shares the run's request counter."""

    def __init__(self, app: App, role: RoleSession) -> None:
        self._app = app
        self.role = role
        self._lock = threading.Lock()
        self._state_clients: dict[str | None, tuple[Any, Any]] = {}

    @functools.cached_property
    def storage(self) -> tuple[ObjectStore, Catalog]:
        from gaib.storage.open import open_storage

        s = self._app.settings
        return open_storage(bucket=s.backup_bucket, table=s.backup_table, kms_key_id=s.backup_kms_key,
                            region=s.aws_region, endpoint_url=s.aws_endpoint_url, role=self.role,
                            clock=lambda: self._app.clock().timestamp(),
                            counter=getattr(unguarded(self._app.store), "requests", None))

    def guarded_storage(self) -> tuple[ObjectStore, Catalog]:
        """The storage behind the run's guards (the run's own secrets are refused, as on the run's storage)."""
        store, catalog = self.storage
        finder = self._app.finder
        if not finder:
            return store, catalog
        return cast(ObjectStore, GuardedObjectStore(store, finder)), cast(Catalog, GuardedCatalog(catalog, finder))

    @functools.cached_property
    def secrets(self) -> SecretSource:
        s = self._app.settings
        if s.secrets_backend != "aws":
            return self._app.secrets
        from gaib.secrets.aws import SecretsManagerSource

        return SecretsManagerSource(region=s.aws_region, endpoint_url=s.aws_endpoint_url, role=self.role)

    @functools.cached_property
    def mac(self) -> ManifestMac | None:
        """The run's KMS MAC key on this session's credentials (the server's role may use it; the
        coordinator may not); the run's own adapter when it is not KMS."""
        s = self._app.settings
        if not (s.backup_bucket and s.mac_key_id):
            return self._app.mac
        from gaib.secrets.mac_kms import KmsMac

        return KmsMac(s.mac_key_id, region=s.aws_region, endpoint_url=s.aws_endpoint_url, role=self.role)

    def state_clients(self, region: str | None) -> tuple[Any, Any]:
        """S3 and DynamoDB clients for state reads: the storage's own when they reach the same region and
        endpoint (two clients per server, not four), else new ones, on this session's credentials."""
        s = self._app.settings
        with self._lock:
            if region not in self._state_clients:
                store, catalog = self.storage
                same = region == s.aws_region and s.s3_endpoint_url == s.aws_endpoint_url
                shared = (getattr(store, "client", None), getattr(catalog, "client", None)) if same else (None, None)
                self._state_clients[region] = cast("tuple[Any, Any]", shared) if None not in shared \
                    else self._app.make_state_clients(region, self.role)
            return self._state_clients[region]


class _Scrubbing:
    """A notifier that also removes ``secrets`` (a server's bot token) from every event it passes on."""

    def __init__(self, inner: Notifier, secrets: list[str]) -> None:
        self._inner = inner
        self._secrets = secrets

    def publish(self, event: Event) -> None:
        self._inner.publish(event.redacted(self._secrets))


class ServerApp:
    """The ports of one server inside a scheduled run (see ``gaib.ports.RunPorts.for_server``)."""

    def __init__(self, parent: App, server_id: str, *, workspace: str, state: StateBackend | None,
                 bot_token: str | None) -> None:
        self._parent = parent
        self._settings = dataclasses.replace(parent.settings, guild_id=server_id, workspace=workspace,
                                             bot_token=bot_token)
        self._discord: DiscordPort | None = None
        self._notifier: Notifier = _Scrubbing(parent.notifier, [bot_token]) if bot_token else parent.notifier
        # The server's bot token (read from its secret) is not in the run's environment, so the run's
        # guards do not know it: this server's writes pass a guard that does.
        finder = SecretFinder([bot_token] if bot_token else [])
        self._finder = finder
        self._state = state
        # With GAIB_SERVER_ROLE_ARN: this server's storage, secrets and state reads on its own role session.
        self._session = parent.server_session(server_id)
        store, catalog = self._session.guarded_storage() if self._session is not None else \
            (parent.store, parent.catalog)
        self._store = cast(ObjectStore, GuardedObjectStore(store, finder)) if finder else store
        self._catalog = cast(Catalog, GuardedCatalog(catalog, finder)) if finder else catalog

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def clock(self) -> Clock:
        return self._parent.clock

    @property
    def state(self) -> StateBackend:
        backend = self._state if self._state is not None else self._parent.state
        return cast("StateBackend", GuardedStateBackend(backend, self._finder)) if self._finder else backend

    @property
    def store(self) -> ObjectStore:
        return self._store

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def local_storage(self) -> tuple[ObjectStore, Catalog] | None:
        return None  # a scheduled run works on the configured store only

    @property
    def mac(self) -> ManifestMac | None:
        return self._session.mac if self._session is not None else self._parent.mac

    def local_mac(self) -> ManifestMac:
        return self._parent.local_mac()

    @property
    def secrets(self) -> SecretSource:
        return self._session.secrets if self._session is not None else self._parent.secrets

    @property
    def identity(self) -> Identity:
        return self._parent.identity

    def state_for(self, location: StateLocation) -> StateBackend:
        if self._session is None:
            return self._parent.state_for(location)
        return self._parent.state_backend(location, self._session.state_clients)

    @property
    def notifier(self) -> Notifier:
        return self._notifier

    @property
    def discord(self) -> DiscordPort:
        if self._discord is None:
            from gaib.discord.client import DiscordClient

            s = self._settings
            self._discord = DiscordClient(s.discord_api_url, token=s.require_token(), guild_id=s.require_guild(),
                                          max_concurrency=s.discord_concurrency)
        return self._discord

    def notice(self, message: str) -> None:
        self._parent.notice(message)

    def close(self) -> None:
        if self._discord is not None:
            self._discord.close()
            self._discord = None
