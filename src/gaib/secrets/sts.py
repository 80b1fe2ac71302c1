"""``StsIdentity``: the caller as AWS STS says (``GetCallerIdentity``), and role sessions per server.

boto3 is imported on first use (through ``gaib.aws``); a local run never builds this adapter.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Final

from gaib import aws
from gaib.secrets.identity import SESSION_TAG, Caller

SESSION_SECONDS: Final = 3600


class StsIdentity:
    """The identity port over STS, and the factory of the per-server role sessions a run acts through."""

    def __init__(self, *, region: str | None, endpoint_url: str | None) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._caller: Caller | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "StsIdentity()"

    @functools.cached_property
    def client(self) -> Any:
        """The STS client of the caller's own credentials (made on first use)."""
        return aws.client("sts", region=self._region, endpoint_url=self._endpoint_url)

    def caller(self) -> Caller:
        with self._lock:
            if self._caller is None:
                try:
                    arn = str(self.client.get_caller_identity()["Arn"])
                except Exception as exc:
                    raise aws.translate(exc, "Asking AWS STS who the caller is") from None
                self._caller = Caller(name=arn, arn=arn)
            return self._caller

    def server_session(self, role_arn: str, server_id: str) -> aws.RoleSession:
        """A role session of ``role_arn`` for one server: session tag ``ServerId=<server_id>`` (transitive),
        session name ``gaib-server-<server_id>``; nothing is asked of STS until its credentials are used."""
        return aws.RoleSession(self.client, role_arn, f"gaib-server-{server_id}", {SESSION_TAG: server_id},
                               duration=SESSION_SECONDS)
