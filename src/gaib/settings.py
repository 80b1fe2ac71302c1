"""The one place that resolves settings: flags > environment > gaib.yaml > defaults.

This module is the only reader of the process environment (:func:`process_environ`) and of
``gaib.yaml``; everything else receives a :class:`Settings` (or the mapping it was resolved from).

``gaib.yaml`` (in the project folder) may hold::

    guild_id: "123456789012345678"
    backend:                 # where state lives
      type: s3               # local (default) | s3
      bucket: my-tfstate
      dynamodb_table: gaib-locks
      region: eu-west-1
      key_prefix: gaib/state/
      kms_key_id: alias/gaib
      path: .gaib            # local only
      lock_stale_after: 3600 # seconds
    backup:                  # where backups and snapshots live
      bucket: gaib-backups-123456789012
      table: gaib-backup-metadata
      kms_key: alias/gaib-backups
      path: .gaib/backups    # local only

The bot token is kept out of ``repr`` and never written anywhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gaib.errors import ConfigError, ConfigNotFound, MissingSetting
from gaib.names import check_name, check_snowflake

DEFAULT_API_URL = "https://discord.com/api/v10"
PROJECT_FILE = "gaib.yaml"
MAX_LOCK_STALE_SECONDS = 10 * 365 * 86400


def process_environ() -> dict[str, str]:
    """A copy of the process environment: the only place Gaib reads ``os.environ``."""
    return dict(os.environ)


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    state_dir: Path
    workspace: str
    workspace_source: str
    guild_id: str | None
    config_file: Path
    backend: str  # "local" | "s3"
    s3_bucket: str | None = None
    s3_table: str | None = None
    s3_prefix: str = "gaib/state/"
    s3_kms_key_id: str | None = None
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    lock_stale_after: timedelta = timedelta(hours=1)
    backup_bucket: str | None = None
    backup_table: str | None = None
    backup_kms_key: str | None = None
    backup_dir: Path = Path(".gaib/backups")
    discord_api_url: str = DEFAULT_API_URL
    discord_record_path: Path | None = None
    notify_topic_arn: str | None = None
    actor: str | None = None
    home: Path | None = None
    debug: bool = False
    bot_token: str | None = field(default=None, repr=False)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def resolve(cls, env: Any, *, workspace: str | None = None, guild_id: str | None = None,
                config_file: str | None = None, backend: str | None = None,
                state_path: str | None = None) -> Settings:
        environ: Mapping[str, str] = env.environ
        project_dir = Path(env.cwd)
        project = _load_project_file(project_dir / PROJECT_FILE)
        be = _section(project, "backend")
        bk = _section(project, "backup")

        def pick(flag: Any, env_name: str | None, *file_values: Any, default: Any = None) -> Any:
            if flag not in (None, ""):
                return flag
            if env_name and environ.get(env_name):
                return environ[env_name]
            for v in file_values:
                if v not in (None, ""):
                    return v
            return default

        state_dir = project_dir / _path_text(pick(state_path, "GAIB_STATE_PATH", be.get("path"), default=".gaib"),
                                             "the state path (GAIB_STATE_PATH, backend.path)")
        s3_bucket = pick(None, "GAIB_S3_BUCKET", be.get("bucket"))
        kind = pick(backend, "GAIB_BACKEND", be.get("type"), default="s3" if s3_bucket else "local")
        if kind not in ("local", "s3"):
            raise ConfigError(f"Unknown state backend type {kind!r}.", hint="Use 'local' or 's3'.")

        ws_source = "flag"
        ws = workspace
        if not ws and environ.get("GAIB_WORKSPACE"):
            ws, ws_source = environ["GAIB_WORKSPACE"], "GAIB_WORKSPACE"
        if not ws:
            current = state_dir / "workspace"
            try:
                ws = current.read_text(encoding="utf-8").strip() or None
                ws_source = str(current)
            except (FileNotFoundError, NotADirectoryError):
                ws = None
            except OSError as exc:
                raise ConfigError(f"Cannot read {current}: {exc.strerror}.") from None
            except UnicodeDecodeError:
                raise ConfigError(f"{current} is damaged: it is not text.",
                                  hint="Choose the workspace again with 'gaib server workspace use NAME'.") from None
        if not ws:
            ws, ws_source = "default", "default"
        check_name(ws, "workspace name")

        gid = pick(guild_id, "DISCORD_GUILD_ID", project.get("guild_id"))
        if gid is not None:
            gid = check_snowflake(str(gid), "guild id")

        stale_td = _stale_after(pick(None, "GAIB_LOCK_STALE_AFTER", be.get("lock_stale_after"), default=3600))
        record = environ.get("GAIB_DISCORD_RECORD") or None
        home = environ.get("HOME") or None

        return cls(
            project_dir=project_dir,
            state_dir=state_dir,
            workspace=ws,
            workspace_source=ws_source,
            guild_id=gid,
            config_file=project_dir / _path_text(config_file or environ.get("GAIB_CONFIG") or "discord-server.yaml",
                                                 "the config file (-f, GAIB_CONFIG)"),
            backend=kind,
            s3_bucket=s3_bucket,
            s3_table=pick(None, "GAIB_DYNAMODB_TABLE", be.get("dynamodb_table")),
            s3_prefix=str(pick(None, "GAIB_S3_PREFIX", be.get("key_prefix"), default="gaib/state/")),
            s3_kms_key_id=pick(None, "GAIB_S3_KMS_KEY", be.get("kms_key_id")),
            aws_region=pick(None, "AWS_REGION", be.get("region"), environ.get("AWS_DEFAULT_REGION")),
            aws_endpoint_url=pick(None, "AWS_ENDPOINT_URL"),
            lock_stale_after=stale_td,
            backup_bucket=pick(None, "GAIB_BACKUP_BUCKET", bk.get("bucket")),
            backup_table=pick(None, "GAIB_BACKUP_TABLE", bk.get("table")),
            backup_kms_key=pick(None, "GAIB_BACKUP_KMS_KEY", bk.get("kms_key")),
            backup_dir=project_dir / _path_text(pick(None, "GAIB_BACKUP_PATH", bk.get("path"),
                                                     default=str(Path(state_dir.name) / "backups")),
                                                "the backup path (GAIB_BACKUP_PATH, backup.path)"),
            discord_api_url=str(pick(None, "GAIB_DISCORD_API_URL", default=DEFAULT_API_URL)).rstrip("/"),
            discord_record_path=project_dir / _path_text(record, "GAIB_DISCORD_RECORD") if record else None,
            notify_topic_arn=environ.get("GAIB_NOTIFY_TOPIC_ARN") or environ.get("GAIB_BACKUP_TOPIC_ARN") or None,
            actor=environ.get("GAIB_ACTOR") or None,
            home=Path(home) if home else None,
            debug=bool(environ.get("GAIB_DEBUG")),
            bot_token=environ.get("DISCORD_BOT_TOKEN") or None,
            environ=environ,
        )

    def require_guild(self) -> str:
        if not self.guild_id:
            raise MissingSetting("No Discord server (guild) id is set.",
                                 hint="Pass -g ID, set DISCORD_GUILD_ID, or add guild_id to gaib.yaml.")
        return self.guild_id

    def require_token(self) -> str:
        if not self.bot_token:
            raise MissingSetting("DISCORD_BOT_TOKEN is not set.",
                                 hint="Export DISCORD_BOT_TOKEN with the bot's token (it is never printed).")
        return self.bot_token


def _path_text(value: Any, what: str) -> str:
    """A path setting as text; ConfigError for one no file system accepts (a NUL byte, over 4096 bytes)."""
    text = str(value)
    if "\x00" in text or len(text.encode("utf-8", "surrogatepass")) > 4096:
        raise ConfigError(f"Invalid path for {what}: {text[:40]!r}.", hint="Use an ordinary relative or absolute path.")
    return text


def _stale_after(value: Any) -> timedelta:
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


def _load_project_file(path: Path) -> dict[str, Any]:
    """The settings of ``gaib.yaml`` ({} without one): the one reader of that file. Any problem —
    unreadable, not UTF-8, bad YAML, too large or deep, unknown keys, a value of the wrong kind — is
    a ConfigError (exit 2) naming ``gaib.yaml:line``."""
    from gaib.config.source import parse_yaml, read_file

    try:
        name, raw = read_file(path, display=str(path))
    except ConfigNotFound:
        return {}
    doc = parse_yaml(raw, name, allow_empty=True)
    known = {"guild_id", "backend", "backup", "workspace"}
    unknown = sorted(set(doc.data) - known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        raise ConfigError(f"{doc.where((unknown[0],))}: unknown setting '{unknown[0][:40]}'.",
                          hint=f"Did you mean '{close[0]}'?" if close
                          else f"Known settings: {', '.join(sorted(known))}.")
    for key in ("guild_id", "workspace"):
        _scalar(doc.data, key, doc.where((key,)))
    for section in ("backend", "backup"):
        values = doc.data.get(section)
        if isinstance(values, dict):
            for key in values:
                values[key] = _scalar(values, key, doc.where((section, key)), f"{section}.")
    return doc.data


def _scalar(doc: dict[str, Any], key: str, where: str, prefix: str = "") -> str | None:
    """A setting's value as text (None if unset); ConfigError for a list or mapping."""
    value = doc.get(key)
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{where}: '{prefix}{key}' must be a single value, not a "
                          f"{'mapping' if isinstance(value, dict) else 'list'}.")
    return None if value is None else str(value)


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{PROJECT_FILE}: '{name}' must be a mapping.")
    return value
