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


def _session(profile: str | None) -> Any:
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
        session = boto3.session.Session(profile_name=profile or None, botocore_session=core)
        paths = _loader.search_paths  # boto3 appends its own data folder to the loader of every session
        paths[:] = list(dict.fromkeys(paths))
        return session


def client(service: str, *, region: str | None, endpoint_url: str | None, profile: str | None = None) -> Any:
    """A boto3 client with standard retries and bounded timeouts (from the named AWS profile, if given)."""
    from botocore.config import Config

    # A pool large enough for the threads one client serves (scheduled runs work on many servers at once).
    cfg = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30,
                 region_name=region or None, max_pool_connections=64)
    return _session(profile).client(service, endpoint_url=endpoint_url or None, config=cfg)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def translate(exc: BaseException, what: str) -> GaibError:
    """Turn a botocore/boto3 failure into a GaibError that names ``what`` failed (no secrets)."""
    if isinstance(exc, GaibError):
        return exc
    code = error_code(exc)
    if code in ("NoSuchBucket", "ResourceNotFoundException"):
        return StorageError(f"{what}: {code} — the bucket or table does not exist.",
                            hint="Create it (see docs/infrastructure.md) or check the configured name.")
    if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
                "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"):
        return StorageError(f"{what}: AWS refused the request ({code}).",
                            hint="Check the AWS credentials and the IAM policy of this role.")
    name = type(exc).__name__
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return StorageError(f"{what}: AWS could not be reached ({name}).",
                            hint="Check the network, AWS_REGION and AWS_ENDPOINT_URL.")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return StorageError(f"{what}: no AWS credentials found.",
                            hint="Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.")
    return StorageError(f"{what}: {code or name}.")
