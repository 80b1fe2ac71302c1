"""The composition root: Settings → adapters behind their ports, built once, on first use.

This is the only module that chooses and builds adapters (state backend, backup storage, Discord
client, notifier). The CLI and scheduled runs build one :class:`App` per run and hand it to services
as their :class:`gaib.ports.Ports`; tests build the same root over the local store, moto and the
emulator. Closing the app closes what it opened (the Discord client's connections).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import cast

from gaib.clock import Clock, utc_now
from gaib.discord.port import DiscordPort
from gaib.errors import MissingSetting
from gaib.guarded import GuardedCatalog, GuardedObjectStore, GuardedStateBackend
from gaib.notify.base import Notifier
from gaib.secretguard import SecretFinder, secrets_in
from gaib.settings import Settings
from gaib.state.backend import StateBackend
from gaib.storage.base import Catalog, ObjectStore


class App:
    """Every port of one run, built lazily from ``settings``.

    ``notice`` receives one-line notices adapters have for the user (a dead process's lock taken over).
    """

    def __init__(self, settings: Settings, *, clock: Clock = utc_now,
                 notice: Callable[[str], None] | None = None) -> None:
        self._settings = settings
        self._clock = clock
        self._notice = notice
        self._discord: DiscordPort | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def clock(self) -> Clock:
        return self._clock

    @functools.cached_property
    def _finder(self) -> SecretFinder:
        """The secrets of this run (bot token, webhook tokens): the guarded ports refuse to store them."""
        s = self._settings
        return SecretFinder(secrets_in(s.environ, s.bot_token))

    @functools.cached_property
    def state(self) -> StateBackend:
        backend = self._state_adapter()
        return cast(StateBackend, GuardedStateBackend(backend, self._finder)) if self._finder else backend

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
    def _storage(self) -> tuple[ObjectStore, Catalog]:
        from gaib.storage.open import open_storage

        s = self._settings
        store, catalog = open_storage(root=s.backup_dir, bucket=s.backup_bucket, table=s.backup_table,
                                      kms_key_id=s.backup_kms_key, region=s.aws_region,
                                      endpoint_url=s.aws_endpoint_url, clock=lambda: self._clock().timestamp())
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

    def notice(self, message: str) -> None:
        if self._notice is not None:
            self._notice(message)

    def close(self) -> None:
        """Release what this run opened (idempotent)."""
        if self._discord is not None:
            self._discord.close()
            self._discord = None
        storage = self.__dict__.pop("_storage", None)
        close = getattr(storage[1], "close", None) if storage is not None else None
        if callable(close):
            close()  # the SQLite catalog: so a read leaves no -wal/-shm files behind

    def __enter__(self) -> App:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
