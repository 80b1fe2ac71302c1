"""``SecretsManagerSource``: secrets read from AWS Secrets Manager (``GetSecretValue``), once per run.

boto3 is imported on first use (through ``gaib.aws``). Values live only in this object's memory.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gaib import aws
from gaib.errors import ConfigError, SecretUnavailable
from gaib.secrets.base import check_secret_name, token_from
from gaib.secrets.identity import SESSION_TAG


class SecretsManagerSource:
    """Reads secrets by name or ARN; each is fetched once and kept in memory for the run."""

    def __init__(self, *, region: str | None = None, endpoint_url: str | None = None,
                 role: aws.RoleSession | None = None) -> None:
        self._role = role
        self._region = region
        self._endpoint_url = endpoint_url
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "SecretsManagerSource()"

    @functools.cached_property
    def client(self) -> Any:
        try:
            return aws.client("secretsmanager", region=self._region, endpoint_url=self._endpoint_url,
                              role=self._role)
        except ImportError:
            raise ConfigError("Reading secrets from Secrets Manager needs boto3, which is not installed.",
                              hint="Install Gaib with the aws extra: pip install 'gaib[aws]'.") from None

    @property
    def binds_servers(self) -> bool:
        return True

    def bound_server(self, name: str) -> str | None:
        """``DescribeSecret``'s ``ServerId`` tag (never the value)."""
        return (self.tags(name) or {}).get(SESSION_TAG) or None

    @staticmethod
    def _unavailable(exc: BaseException, name: str, doing: str) -> SecretUnavailable:
        code = aws.error_code(exc)
        if code == "ResourceNotFoundException":
            return SecretUnavailable(f"Secret {name} does not exist.")
        if code in ("AccessDeniedException", "DecryptionFailure"):
            return SecretUnavailable(f"{doing} secret {name}: AWS refused the request ({code}).",
                                     details={"aws_error": code})
        translated = aws.translate(exc, f"{doing} secret {name}")
        return SecretUnavailable(translated.message, hint=translated.hint)

    def get(self, name: str) -> str:
        check_secret_name(name)
        with self._lock:
            cached = self._values.get(name)
            if cached is not None:
                return cached
            client = self.client
        value = token_from(self._fetch(client, name, "the bot token"), name)
        with self._lock:
            self._values[name] = value
        return value

    def get_text(self, name: str) -> str:
        check_secret_name(name)
        return self._fetch(self.client, name, "text")

    def tags(self, name: str) -> dict[str, str] | None:
        check_secret_name(name)
        try:
            response = self.client.describe_secret(SecretId=name)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            raise self._unavailable(exc, name, "Describing") from None
        found = response.get("Tags") or []
        return {str(t.get("Key")): str(t.get("Value")) for t in found if isinstance(t, dict)}

    @classmethod
    def _fetch(cls, client: Any, name: str, what: str) -> str:
        try:
            with _sdk_debug_logging_off():
                response = client.get_secret_value(SecretId=name)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            raise cls._unavailable(exc, name, "Reading") from None
        raw = response.get("SecretString")
        if not isinstance(raw, str):
            raise SecretUnavailable(f"Secret {name} holds binary data, not {what}.")
        return raw


@contextmanager
def _sdk_debug_logging_off() -> Iterator[None]:
    """botocore logs whole response bodies at DEBUG, and these hold the secret: while one is read, the SDK's
    loggers stay at INFO or above (when a host application turned DEBUG on)."""
    saved = []
    for name in ("botocore", "boto3", "urllib3"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
