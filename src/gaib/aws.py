"""boto3 plumbing shared by the AWS adapters: lazy clients and one mapping of AWS failures.

boto3 is imported here, inside functions, and only when an AWS adapter is used, so a local run
never pays for it.
"""

from __future__ import annotations

import threading
from typing import Any

from gaib.errors import GaibError, StorageError

_lock = threading.Lock()
_loader: Any = None


def _session(profile: str | None, role: RoleSession | None = None) -> Any:
    """A new boto3 session (its own credentials and profile) on the process's one botocore data loader.

    Each session would otherwise parse botocore's service models (JSON files of up to megabytes) again;
    the loader only reads files and caches what it parsed, so sharing it changes nothing else."""
    import boto3
    import botocore.loaders
    import botocore.session

    global _loader
    with _lock:
        if _loader is None:
            _loader = botocore.loaders.create_loader()
        core = botocore.session.Session()
        core.register_component("data_loader", _loader)
        if role is not None:  # the role session's credentials come first, before the environment's
            core.get_component("credential_provider").insert_before("env", role.provider())
        session = boto3.session.Session(profile_name=profile or None, botocore_session=core)
        paths = _loader.search_paths  # boto3 appends its own data folder to the loader of every session
        paths[:] = list(dict.fromkeys(paths))
        return session


def client(service: str, *, region: str | None, endpoint_url: str | None, profile: str | None = None,
           role: RoleSession | None = None) -> Any:
    """A boto3 client with standard retries and bounded timeouts (from the named AWS profile, if given;
    with ``role``, on that role session's credentials)."""
    from botocore.config import Config

    # A pool large enough for the threads one client serves (scheduled runs work on many servers at once).
    cfg = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30,
                 region_name=region or None, max_pool_connections=64)
    if role is not None:
        return role.client(service, endpoint_url=endpoint_url or None, config=cfg)
    return _session(profile).client(service, endpoint_url=endpoint_url or None, config=cfg)


class RoleSession:
    """Credentials of one role session: ``sts:AssumeRole`` on ``role_arn`` with the session ``tags`` (also
    transitive, so a chained session keeps them), taken on first use and again shortly before they expire
    (botocore refreshes them). ``sts`` is the STS client of the caller's own credentials. Thread-safe: the
    clients of one server's work share one instance, so the role is assumed once per session's life."""

    def __init__(self, sts: Any, role_arn: str, name: str, tags: dict[str, str], *, duration: int = 3600) -> None:
        self.role_arn = role_arn
        self.name = name
        self.tags = dict(tags)
        self._sts = sts
        self._duration = duration
        self._lock = threading.RLock()  # a client made under it asks for the credentials
        self._credentials: Any = None
        self._session: Any = None
        self.assumed = 0
        """How many times the role was assumed (a test's and a benchmark's figure)."""

    def _assume(self) -> dict[str, str]:
        try:
            answer = self._sts.assume_role(
                RoleArn=self.role_arn, RoleSessionName=self.name, DurationSeconds=self._duration,
                Tags=[{"Key": k, "Value": v} for k, v in self.tags.items()], TransitiveTagKeys=list(self.tags))
        except Exception as exc:
            raise translate(exc, f"Assuming role {self.role_arn} for session {self.name}") from None
        self.assumed += 1
        creds = answer["Credentials"]
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    def credentials(self) -> Any:
        """botocore's refreshable credentials of this session (the role is assumed on the first call)."""
        from botocore.credentials import RefreshableCredentials

        with self._lock:
            if self._credentials is None:
                self._credentials = RefreshableCredentials.create_from_metadata(
                    metadata=self._assume(), refresh_using=self._assume, method="assume-role")
            return self._credentials

    def client(self, service: str, *, endpoint_url: str | None, config: Any) -> Any:
        """A client on this session's credentials; the clients of one role session share one boto3 session
        (its models and endpoint data are built once), made under the lock (boto3 sessions are not
        thread-safe)."""
        with self._lock:
            if self._session is None:
                self._session = _session(None, self)
            return self._session.client(service, endpoint_url=endpoint_url, config=config)

    def provider(self) -> Any:
        """A botocore credential provider handing out this session's credentials."""
        from botocore.credentials import CredentialProvider

        session = self

        class _Provider(CredentialProvider):
            METHOD = "assume-role"
            CANONICAL_NAME = "gaib-role-session"

            def load(self) -> Any:
                return session.credentials()

        return _Provider()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def translate(exc: BaseException, what: str) -> GaibError:
    """Turn a botocore/boto3 failure into a GaibError that names ``what`` failed (no secrets); a refused
    request's StorageError carries the AWS code in ``details["aws_error"]``."""
    if isinstance(exc, GaibError):
        return exc
    code = error_code(exc)
    if code in ("NoSuchBucket", "ResourceNotFoundException"):
        return StorageError(f"{what}: {code} — the bucket or table does not exist.",
                            hint="Create it (see docs/infrastructure.md) or check the configured name.")
    if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
        return StorageError(f"{what}: AWS refused the request ({code}).",
                            hint="Check the AWS credentials and the IAM policy of this role.",
                            details={"aws_error": code})
    name = type(exc).__name__
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return StorageError(f"{what}: AWS could not be reached ({name}).",
                            hint="Check the network, AWS_REGION and AWS_ENDPOINT_URL.")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return StorageError(f"{what}: no AWS credentials found.",
                            hint="Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.")
    return StorageError(f"{what}: {code or name}.")
