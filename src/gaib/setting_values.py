"""Parsing and checking single setting values, whichever source gave them (flag, environment, gaib.yaml).

Each function takes the value already picked by :meth:`gaib.settings.Settings.resolve` (None or "" when
unset) and returns it typed, or raises ConfigError naming the setting and how to fix it. Pure: no I/O,
and nothing here reads the process environment.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from gaib.errors import ConfigError

MAX_LOCK_STALE_SECONDS = 10 * 365 * 86400
DEFAULT_MAX_BUNDLE_BYTES = 1024**3
"""The default ceiling on the plain (decompressed) bytes of one bundle a command reads (1 GiB)."""
MIN_MAX_BUNDLE_BYTES = 1024
MAX_MAX_BUNDLE_BYTES = 1024**4
"""The highest ceiling that can be set (1 TiB); a manifest claiming more is damaged whatever the setting."""
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024**2
"""Per file: the most bytes of one message attachment a snapshot stores (10 MiB, the size Discord lets a
server without boosts upload, so a stored file can be uploaded again on replay); larger files stay links."""
MAX_MAX_ATTACHMENT_BYTES = 64 * 1024**2
"""The highest per-file setting (64 MiB, the media store's largest object)."""
DEFAULT_MAX_SNAPSHOT_ATTACHMENT_BYTES = 256 * 1024**2
"""Per snapshot: the most bytes of attachments one snapshot stores (256 MiB); past it files stay links."""
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "t": 1000**4, "tb": 1000**4, "tib": 1024**4}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def state_key(key: Any, prefix: Any) -> tuple[str | None, str]:
    """(key template or None for the default, key prefix); ``key_prefix`` keeps Gaib's older layout."""
    if key not in (None, ""):
        text = str(key).lstrip("/")
        if not text or text.endswith("/"):
            raise ConfigError(f"backend.key {str(key)[:80]!r} must name an object, not a folder.",
                              hint="e.g. servers/${workspace}/terraform.tfstate")
        return text, "gaib/state/"
    if prefix not in (None, ""):
        text = str(prefix)
        text = text if text.endswith("/") else text + "/"
        return text + "${guild_id}/${workspace}/terraform.tfstate", text
    return None, "gaib/state/"


def exclude(from_env: str | None, from_file: Any, where: str) -> tuple[str, ...]:
    """``backup.exclude``: a list of channel ids or names (a single string is one channel);
    ``GAIB_BACKUP_EXCLUDE`` (comma-separated) wins over it."""
    if from_env:
        return tuple(p.strip() for p in from_env.split(",") if p.strip())
    if from_file is None:
        return ()
    items = [from_file] if isinstance(from_file, str | int) and not isinstance(from_file, bool) else from_file
    if not isinstance(items, list) or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
        raise ConfigError(f"{where}: backup.exclude must be a list of channel ids or names.")
    out = tuple(str(i).strip() for i in items if str(i).strip())
    if any(len(i) > 200 for i in out):
        raise ConfigError(f"{where}: backup.exclude holds a name longer than 200 characters.")
    return out


def flag(value: Any, name: str, where: str) -> bool:
    """A yes/no setting (``backend.<name>``): a bool, or 1/true/yes/on, 0/false/no/off in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {str(value)[:40]!r}.",
                      hint=f"Set backend.{name} in {where} (or GAIB_S3_ENCRYPT) to true or false.")


def concurrency(value: str | None) -> int:
    """``GAIB_DISCORD_CONCURRENCY``: a whole number 1-64 (default 32); ConfigError otherwise."""
    if value is None or not value.strip():
        return 32
    if not value.strip().isdigit() or not 1 <= int(value) <= 64:
        raise ConfigError(f"GAIB_DISCORD_CONCURRENCY must be a whole number from 1 to 64, not {value[:20]!r}.",
                          hint="Use 1 for strictly one request at a time.")
    return int(value)


def namespace(value: str | None) -> str:
    """``GAIB_METRICS_NAMESPACE``: a CloudWatch namespace (default ``Gaib/Backups``); ConfigError otherwise."""
    if value is None or not value.strip():
        return "Gaib/Backups"
    text = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._/#:-]{0,254}", text) or text.startswith("AWS/"):
        raise ConfigError(f"GAIB_METRICS_NAMESPACE {text[:40]!r} is not a CloudWatch namespace.",
                          hint="Use e.g. Gaib/Backups (the Terraform's alarms watch that one).")
    return text


def secrets_backend(value: str | None, backup_bucket: Any) -> str:
    """``GAIB_SECRETS`` (``aws`` or ``env``); unset: ``aws`` when backups are on S3, else ``env``."""
    if value is None or not value.strip():
        return "aws" if backup_bucket else "env"
    text = value.strip().lower()
    if text not in ("aws", "env"):
        raise ConfigError(f"GAIB_SECRETS must be 'aws' or 'env', not {value[:20]!r}.",
                          hint="'aws' reads secrets from Secrets Manager, 'env' from GAIB_SECRET_* variables.")
    return text


def path_text(value: Any, what: str) -> str:
    """A path setting as text; ConfigError for one no file system accepts (a NUL byte, over 4096 bytes)."""
    text = str(value)
    if "\x00" in text or len(text.encode("utf-8", "surrogatepass")) > 4096:
        raise ConfigError(f"Invalid path for {what}: {text[:40]!r}.", hint="Use an ordinary relative or absolute path.")
    return text


def stale_after(value: Any) -> timedelta:
    """``lock_stale_after`` in seconds: a finite number, at least 1 and at most ten years (ConfigError)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or not 1 <= seconds <= MAX_LOCK_STALE_SECONDS:
        raise ConfigError(f"lock_stale_after must be a number of seconds, at least 1 and at most "
                          f"{MAX_LOCK_STALE_SECONDS} (ten years), not {str(value)[:40]!r}.",
                          hint="Set GAIB_LOCK_STALE_AFTER (or backend.lock_stale_after in gaib.yaml) to e.g. 3600.")
    return timedelta(seconds=seconds)


def size_setting(value: Any, name: str, default: int, highest: int) -> int:
    """A byte size setting such as ``GAIB_MAX_ATTACHMENT_BYTES``: a number with an optional unit (``8MiB``),
    from 1 KiB to ``highest``; unset: ``default``. ConfigError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    match = re.fullmatch(r"\s*(\d{1,16})\s*([A-Za-z]{0,3})\s*", str(value)) if not isinstance(value, bool) else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    count = int(match.group(1)) * unit if match and unit else 0
    if not MIN_MAX_BUNDLE_BYTES <= count <= highest:
        raise ConfigError(f"{name} must be a size from 1 KiB to {highest // 1024**2} MiB or more precisely "
                          f"{highest} bytes (e.g. 8MiB), not {str(value)[:40]!r}.", hint=f"Set {name} to e.g. 8MiB.")
    return count


def bundle_bytes(value: Any, where: str) -> int:
    """``GAIB_MAX_BUNDLE_BYTES`` / ``backup.max_bundle_bytes``: a number of bytes, optionally with a unit
    (``512MiB``, ``4 GiB``, ``2GB``), from 1 KiB to 1 TiB; unset: 1 GiB. ConfigError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_MAX_BUNDLE_BYTES
    match = re.fullmatch(r"\s*(\d{1,16})\s*([A-Za-z]{0,3})\s*", str(value)) if not isinstance(value, bool) else None
    unit = _UNITS.get(match.group(2).lower()) if match else None
    count = int(match.group(1)) * unit if match and unit else 0
    if not MIN_MAX_BUNDLE_BYTES <= count <= MAX_MAX_BUNDLE_BYTES:
        raise ConfigError(f"max_bundle_bytes must be a size from 1 KiB to 1 TiB (e.g. 1GiB), not {str(value)[:40]!r}.",
                          hint=f"Set GAIB_MAX_BUNDLE_BYTES (or backup.max_bundle_bytes in {where}) to e.g. 2GiB.")
    return count


_ROLE_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}")


def role_arn(value: str | None, name: str) -> str | None:
    """An IAM role ARN (``arn:aws:iam::123456789012:role/NAME``, a path allowed) or None when unset;
    ConfigError (exit 2) naming the setting for anything else."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not _ROLE_ARN_RE.fullmatch(text):
        shown = repr(text[:80]) if text.isprintable() else "(unprintable)"
        raise ConfigError(f"{name} {shown} is not an IAM role ARN.",
                          hint="Give the role's ARN, e.g. arn:aws:iam::123456789012:role/gaib-server-task.")
    return text
