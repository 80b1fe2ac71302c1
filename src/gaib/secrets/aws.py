"""``SecretsManagerSource``: secrets read from AWS Secrets Manager (``GetSecretValue``), once per run.

boto3 is imported on first use (through ``gaib.aws``). Values live only in this object's memory.
"""

from __future__ import annotations

import functools
import threading
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
        check_secret_name(name)
        try:
            tags = self.client.describe_secret(SecretId=name).get("Tags") or []
        except Exception as exc:
            raise self._unavailable(exc, name, "Describing") from None
        found = [t.get("Value") for t in tags if isinstance(t, dict) and t.get("Key") == SESSION_TAG]
        return str(found[0]) if found and found[0] else None

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
        try:
            response = client.get_secret_value(SecretId=name)
        except Exception as exc:  # botocore's ClientError and transport errors alike
            raise self._unavailable(exc, name, "Reading") from None
        raw = response.get("SecretString")
        if not isinstance(raw, str):
            raise SecretUnavailable(f"Secret {name} holds binary data, not the bot token as text.")
        value = token_from(raw, name)
        with self._lock:
            self._values[name] = value
        return value
