"""The one place that resolves settings: flags > environment > gaib.yaml > defaults.

This module is the only reader of the process environment (:func:`process_environ`) and of
``gaib.yaml``; everything else receives a :class:`Settings` (or the mapping it was resolved from).

``gaib.yaml`` is found as ``gaib.yaml``, ``gaib.yml``, ``.gaib.yaml`` or ``.gaib.yml`` in the
current folder or the nearest parent folder that has one; that folder is the project folder, and
relative paths (``.gaib``, ``backend.path``, ``discord-server.yaml``) resolve against it. It holds
the original Gaib's keys (``version``, ``name``, ``discord``, ``server``, ``theme``, ``roles``,
``categories``, ``channels``, ``outputs``, ``backend``) and Gaib's own::

    guild_id: "123456789012345678"
    workspace: default           # used when no .gaib/.current-workspace names one
    backend:                     # where state lives
      type: s3                   # local (default) | s3
      bucket: my-tfstate
      key: servers/${workspace}/terraform.tfstate   # the default; ${guild_id} may be used too
      region: us-east-1          # the default
      dynamodb_table: gaib-locks # the default
      encrypt: true              # the default (SSE-S3, or SSE-KMS with kms_key_id)
      kms_key_id: alias/gaib
      profile: my-aws-profile
      endpoint: http://localhost:4566
      key_prefix: gaib/state/    # Gaib's older layout: {key_prefix}{guild_id}/{workspace}/terraform.tfstate
      path: .gaib                # local only
      lock_stale_after: 3600     # seconds
    backup:                      # where backups and snapshots live
      bucket: gaib-backups-123456789012
      table: gaib-backup-metadata
      kms_key: alias/gaib-backups
      path: .gaib/backups        # local only
      exclude: ["#mod-log", "Staff/private"]   # channels whose messages snapshots never save

Keys Gaib does not know are warnings (with a did-you-mean), never errors: the original ignores
them. Warnings are collected in :attr:`Settings.warnings` for the CLI to print. The bot token is
kept out of ``repr`` and never written anywhere.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gaib.errors import ConfigError, ConfigNotFound, MissingSetting
from gaib.names import check_name, check_snowflake

DEFAULT_API_URL = "https://discord.com/api/v10"
PROJECT_FILE = "gaib.yaml"
PROJECT_FILES = ("gaib.yaml", "gaib.yml", ".gaib.yaml", ".gaib.yml")
CONFIG_FILE = "discord-server.yaml"
CURRENT_WORKSPACE_FILE = ".current-workspace"
LEGACY_WORKSPACE_FILE = "workspace"
DEFAULT_LOCK_TABLE = "gaib-locks"
DEFAULT_REGION = "us-east-1"
MAX_LOCK_STALE_SECONDS = 10 * 365 * 86400

CONFIG_KEYS = ("server", "theme", "roles", "categories", "channels")
"""Keys of ``gaib.yaml`` that hold (part of) a server config, as in discord-server.yaml."""
_ITEM_KEYS = ("theme", "roles", "categories", "channels")
_TOP_KEYS = ("version", "name", "discord", *CONFIG_KEYS, "outputs", "backend", "guild_id", "workspace", "backup")
_BACKEND_KEYS = ("type", "path", "bucket", "key", "region", "dynamodb_table", "encrypt", "kms_key_id", "profile",
                 "endpoint", "key_prefix", "lock_stale_after")
_BACKUP_KEYS = ("bucket", "table", "kms_key", "path", "exclude")
_DISCORD_KEYS = ("bot_token",)
_OUTPUT_KEYS = ("value", "sensitive", "description")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def process_environ() -> dict[str, str]:
    """A copy of the process environment: the only place Gaib reads ``os.environ``."""
    return dict(os.environ)


def find_project_file(start: Path) -> tuple[Path | None, list[Path]]:
    """The ``gaib.yaml`` (any of its four names) in ``start`` or its nearest parent that has one,
    and the other names present in that same folder (ignored, so worth a warning)."""
    for folder in (start, *start.parents):
        present = [folder / name for name in PROJECT_FILES if (folder / name).is_file()]
        if present:
            return present[0], present[1:]
    return None, []


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
    backup_exclude: tuple[str, ...] = ()
    """Channels (id, name or Category/name) whose messages snapshots never save (``backup.exclude``,
    ``GAIB_BACKUP_EXCLUDE`` comma-separated)."""
    discord_api_url: str = DEFAULT_API_URL
    discord_record_path: Path | None = None
    discord_concurrency: int = 32  # requests in flight at once (GAIB_DISCORD_CONCURRENCY, 1-64; 1 = sequential)
    notify_topic_arn: str | None = None
    metrics_namespace: str = "Gaib/Backups"
    """CloudWatch namespace of the metrics scheduled runs print (``GAIB_METRICS_NAMESPACE``)."""
    secrets_backend: str = "env"
    """Where secrets named in schedules are read: ``aws`` (Secrets Manager) or ``env`` (``GAIB_SECRET_*``
    variables); ``GAIB_SECRETS``, else ``aws`` when backups are on S3."""
    actor: str | None = None
    os_user: str | None = None
    ci: bool = False
    home: Path | None = None
    debug: bool = False
    bot_token: str | None = field(default=None, repr=False)
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    cwd: Path | None = None
    project_file: Path | None = None
    project_name: str | None = None
    s3_key: str | None = None
    """The state key template (``${workspace}``, ``${guild_id}``); None: the original's default key."""
    s3_encrypt: bool = True
    s3_profile: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    project_outputs: Mapping[str, Any] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()

    @classmethod
    def resolve(cls, env: Any, *, workspace: str | None = None, guild_id: str | None = None,
                config_file: str | None = None, backend: str | None = None,
                state_path: str | None = None) -> Settings:
        environ: Mapping[str, str] = env.environ
        cwd = Path(env.cwd)
        warnings: list[str] = []
        project_file, ignored = find_project_file(cwd)
        for other in ignored:
            warnings.append(f"{other} is ignored: {project_file} is read (only one project file per folder)")
        project = _load_project_file(project_file, warnings) if project_file else {}
        project_dir = project_file.parent if project_file else cwd
        where = project_file.name if project_file else PROJECT_FILE
        be = _section(project, "backend", _BACKEND_KEYS, where, warnings)
        bk = _section(project, "backup", _BACKUP_KEYS, where, warnings)
        dc = _section(project, "discord", _DISCORD_KEYS, where, warnings)

        def pick(flag: Any, env_names: str | tuple[str, ...] | None, *file_values: Any, default: Any = None) -> Any:
            if flag not in (None, ""):
                return flag
            for name in (env_names,) if isinstance(env_names, str) else env_names or ():
                if environ.get(name):
                    return environ[name]
            for v in file_values:
                if v not in (None, ""):
                    return v
            return default

        state_dir = project_dir / _path_text(pick(state_path, "GAIB_STATE_PATH", be.get("path"), default=".gaib"),
                                             "the state path (GAIB_STATE_PATH, backend.path)")
        s3_bucket = pick(None, "GAIB_S3_BUCKET", be.get("bucket"))
        kind = pick(backend, ("GAIB_BACKEND", "GAIB_BACKEND_TYPE"), be.get("type"),
                    default="s3" if s3_bucket else "local")
        if kind not in ("local", "s3"):
            raise ConfigError(f"Unknown state backend type {kind!r}.", hint="Use 'local' or 's3'.")

        ws, ws_source = _workspace(workspace, environ, state_dir, project.get("workspace"), where)
        check_name(ws, "workspace name")

        cfg_path, cfg_from_project = _config_file(config_file or environ.get("GAIB_CONFIG"), cwd, project_dir,
                                                  project_file, project)
        if project_file and not cfg_from_project and any(project.get(k) for k in _ITEM_KEYS) \
                and cfg_path.is_file():
            keys = ", ".join(k for k in _ITEM_KEYS if project.get(k))
            warnings.append(f"{where}: {keys} ignored: the server config is read from {cfg_path.name}")
        gid = _guild(guild_id, environ, project, cfg_path if not cfg_from_project else None, where)

        stale_td = _stale_after(pick(None, "GAIB_LOCK_STALE_AFTER", be.get("lock_stale_after"), default=3600))
        record = environ.get("GAIB_DISCORD_RECORD") or None
        home = environ.get("HOME") or None
        key_template, prefix = _state_key(pick(None, "GAIB_S3_KEY", be.get("key")),
                                          pick(None, "GAIB_S3_PREFIX", be.get("key_prefix")))
        token = _bot_token(environ, dc.get("bot_token"), where, warnings)
        outputs = _outputs(project.get("outputs"), where, warnings)
        name = project.get("name")

        return cls(
            project_dir=project_dir,
            state_dir=state_dir,
            workspace=ws,
            workspace_source=ws_source,
            guild_id=gid,
            config_file=cfg_path,
            backend=kind,
            s3_bucket=s3_bucket,
            s3_table=pick(None, "GAIB_DYNAMODB_TABLE", be.get("dynamodb_table"), default=DEFAULT_LOCK_TABLE),
            s3_prefix=prefix,
            s3_kms_key_id=pick(None, ("GAIB_KMS_KEY_ID", "GAIB_S3_KMS_KEY"), be.get("kms_key_id")),
            aws_region=pick(None, "AWS_REGION", be.get("region"), environ.get("AWS_DEFAULT_REGION")),
            aws_endpoint_url=pick(None, "AWS_ENDPOINT_URL"),
            lock_stale_after=stale_td,
            backup_bucket=pick(None, "GAIB_BACKUP_BUCKET", bk.get("bucket")),
            backup_table=pick(None, "GAIB_BACKUP_TABLE", bk.get("table")),
            backup_kms_key=pick(None, "GAIB_BACKUP_KMS_KEY", bk.get("kms_key")),
            backup_dir=project_dir / _path_text(pick(None, "GAIB_BACKUP_PATH", bk.get("path"),
                                                     default=str(Path(state_dir.name) / "backups")),
                                                "the backup path (GAIB_BACKUP_PATH, backup.path)"),
            backup_exclude=_exclude(environ.get("GAIB_BACKUP_EXCLUDE"), bk.get("exclude"), where),
            discord_api_url=str(pick(None, "GAIB_DISCORD_API_URL", default=DEFAULT_API_URL)).rstrip("/"),
            discord_record_path=project_dir / _path_text(record, "GAIB_DISCORD_RECORD") if record else None,
            discord_concurrency=_concurrency(environ.get("GAIB_DISCORD_CONCURRENCY")),
            notify_topic_arn=environ.get("GAIB_NOTIFY_TOPIC_ARN") or environ.get("GAIB_BACKUP_TOPIC_ARN") or None,
            metrics_namespace=_namespace(environ.get("GAIB_METRICS_NAMESPACE")),
            secrets_backend=_secrets_backend(environ.get("GAIB_SECRETS"),
                                             pick(None, "GAIB_BACKUP_BUCKET", bk.get("bucket"))),
            actor=environ.get("GAIB_ACTOR") or None,
            os_user=environ.get("USER") or environ.get("LOGNAME") or environ.get("USERNAME") or _login_name(),
            ci=environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"),
            home=Path(home) if home else None,
            debug=bool(environ.get("GAIB_DEBUG")),
            bot_token=token,
            environ=environ,
            cwd=cwd,
            project_file=project_file,
            project_name=str(name) if isinstance(name, str | int) and not isinstance(name, bool) else None,
            s3_key=key_template,
            s3_encrypt=_flag(pick(None, "GAIB_S3_ENCRYPT", be.get("encrypt"), default=True), "encrypt", where),
            s3_profile=pick(None, None, be.get("profile")),
            s3_endpoint_url=pick(None, "GAIB_S3_ENDPOINT", be.get("endpoint"), environ.get("AWS_ENDPOINT_URL")),
            s3_region=str(pick(None, "GAIB_AWS_REGION", be.get("region"), environ.get("AWS_REGION"),
                               environ.get("AWS_DEFAULT_REGION"), default=DEFAULT_REGION)),
            project_outputs=outputs,
            warnings=tuple(warnings),
        )

    def require_guild(self) -> str:
        if not self.guild_id:
            raise MissingSetting("No Discord server (guild) id is set.",
                                 hint="Pass -g ID, set DISCORD_GUILD_ID, or give server.id in the config "
                                      "(or guild_id in gaib.yaml).")
        return self.guild_id

    def require_token(self) -> str:
        if not self.bot_token:
            raise MissingSetting("DISCORD_BOT_TOKEN is not set.",
                                 hint="Export DISCORD_BOT_TOKEN (or DISCORD_TOKEN) with the bot's token "
                                      "(it is never printed).")
        return self.bot_token


# --- pieces of resolve ---------------------------------------------------------------------------------


def _workspace(flag: str | None, environ: Mapping[str, str], state_dir: Path, from_file: Any,
               where: str) -> tuple[str, str]:
    """flag > GAIB_WORKSPACE > .gaib/.current-workspace (the original's) > .gaib/workspace (Gaib's
    earlier file) > gaib.yaml ``workspace`` > ``default``."""
    if flag:
        return flag, "flag"
    if environ.get("GAIB_WORKSPACE"):
        return environ["GAIB_WORKSPACE"], "GAIB_WORKSPACE"
    for name in (CURRENT_WORKSPACE_FILE, LEGACY_WORKSPACE_FILE):
        current = state_dir / name
        try:
            text = current.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read {current}: {exc}.") from None
        if text:
            return text, str(current)
    if isinstance(from_file, str) and from_file:
        return from_file, where
    return "default", "default"


def _config_file(given: str | None, cwd: Path, project_dir: Path, project_file: Path | None,
                 project: dict[str, Any]) -> tuple[Path, bool]:
    """The server config to read, and whether it is gaib.yaml itself.

    ``-f``/GAIB_CONFIG (relative to the current folder); else discord-server.yaml in the current
    folder, then in the project folder; else gaib.yaml when it holds roles, categories, channels
    or a theme (the original lets gaib.yaml hold the whole config).
    """
    if given:
        path = cwd / _path_text(given, "the config file (-f, GAIB_CONFIG)")
        return path, project_file is not None and _same(path, project_file)
    for folder in (cwd, project_dir):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE, False
    if project_file is not None and any(k in project for k in _ITEM_KEYS):
        return project_file, True
    return cwd / CONFIG_FILE, False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _guild(flag: str | None, environ: Mapping[str, str], project: dict[str, Any], config_path: Path | None,
           where: str) -> str | None:
    """-g > DISCORD_GUILD_ID > gaib.yaml guild_id > server.id (gaib.yaml, then the config file).

    A given id that differs from a ``server.id`` written in a file is a ConfigError naming both.
    """
    given: list[tuple[str, str]] = []
    if flag:
        given.append(("-g/--guild", str(flag)))
    if environ.get("DISCORD_GUILD_ID"):
        given.append(("DISCORD_GUILD_ID", environ["DISCORD_GUILD_ID"]))
    if project.get("guild_id") not in (None, ""):
        given.append((f"{where} guild_id", str(project["guild_id"])))
    for label, server in ((f"{where} server.id", project.get("server")),
                          (f"{config_path.name if config_path else ''} server.id", _config_server(config_path))):
        if isinstance(server, dict) and server.get("id") not in (None, ""):
            sid = str(server["id"])
            if "${" in sid:
                continue  # an environment reference: the config loader resolves (or warns about) it
            first = given[0] if given else None
            if first is not None and first[1] != sid:
                raise ConfigError(f"Two different servers are given: {first[0]} is {first[1]} but {label} is {sid}.",
                                  hint="Remove one of them, or make them name the same server.")
            given.append((label, sid))
    if not given:
        return None
    return check_snowflake(given[0][1], "guild id")


def _config_server(path: Path | None) -> Any:
    """``server`` of the config file, read leniently (the config loader reports its problems)."""
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            raw = fh.read(4 * 1024 * 1024)
        import yaml  # only once there is a file: a run without one never pays for the import

        doc = yaml.safe_load(raw)
    except Exception:  # unreadable or invalid: loading the config reports it properly
        return None
    return doc.get("server") if isinstance(doc, dict) else None


def _state_key(key: Any, prefix: Any) -> tuple[str | None, str]:
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


def _bot_token(environ: Mapping[str, str], from_file: Any, where: str, warnings: list[str]) -> str | None:
    """DISCORD_BOT_TOKEN > DISCORD_TOKEN (the original's name) > gaib.yaml ``discord.bot_token``."""
    for name in ("DISCORD_BOT_TOKEN", "DISCORD_TOKEN"):
        if environ.get(name):
            return environ[name]
    if from_file in (None, ""):
        return None
    if not isinstance(from_file, str):
        warnings.append(f"{where}: discord.bot_token is not text; ignored")
        return None
    ref = _ENV_REF.fullmatch(from_file.strip())
    if ref:
        value = environ.get(ref.group(1))
        if not value:
            warnings.append(f"{where}: discord.bot_token refers to {ref.group(1)}, which is not set")
        return value or None
    warnings.append(f"{where} holds the bot token (discord.bot_token); it is used but never printed. "
                    "Keep it in DISCORD_BOT_TOKEN instead, out of files")
    return from_file.strip()


def _outputs(value: Any, where: str, warnings: list[str]) -> dict[str, Any]:
    """``outputs: {name: {value, sensitive, description}}``, kept as written; odd entries warned and skipped."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        warnings.append(f"{where}: outputs must be a mapping of name -> {{value, sensitive, description}}; ignored")
        return {}
    out: dict[str, Any] = {}
    for name, spec in value.items():
        if not isinstance(spec, dict) or "value" not in spec:
            warnings.append(f"{where}: outputs.{name} needs a value; ignored")
            continue
        _unknown(spec, _OUTPUT_KEYS, f"{where}: outputs.{name}", warnings)
        out[str(name)] = {k: spec[k] for k in _OUTPUT_KEYS if k in spec}
    return out


def _exclude(from_env: str | None, from_file: Any, where: str) -> tuple[str, ...]:
    """``backup.exclude``: a list of channel ids or names (a single string is one channel)."""
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


def _flag(value: Any, name: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {str(value)[:40]!r}.",
                      hint=f"Set backend.{name} in {where} (or GAIB_S3_ENCRYPT) to true or false.")


def _concurrency(value: str | None) -> int:
    """``GAIB_DISCORD_CONCURRENCY``: a whole number 1-64 (default 32); ConfigError otherwise."""
    if value is None or not value.strip():
        return 32
    if not value.strip().isdigit() or not 1 <= int(value) <= 64:
        raise ConfigError(f"GAIB_DISCORD_CONCURRENCY must be a whole number from 1 to 64, not {value[:20]!r}.",
                          hint="Use 1 for strictly one request at a time.")
    return int(value)


def _namespace(value: str | None) -> str:
    """``GAIB_METRICS_NAMESPACE``: a CloudWatch namespace (default ``Gaib/Backups``); ConfigError otherwise."""
    if value is None or not value.strip():
        return "Gaib/Backups"
    text = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._/#:-]{0,254}", text) or text.startswith("AWS/"):
        raise ConfigError(f"GAIB_METRICS_NAMESPACE {text[:40]!r} is not a CloudWatch namespace.",
                          hint="Use e.g. Gaib/Backups (the Terraform's alarms watch that one).")
    return text


def _secrets_backend(value: str | None, backup_bucket: Any) -> str:
    """``GAIB_SECRETS`` (``aws`` or ``env``); unset: ``aws`` when backups are on S3, else ``env``."""
    if value is None or not value.strip():
        return "aws" if backup_bucket else "env"
    text = value.strip().lower()
    if text not in ("aws", "env"):
        raise ConfigError(f"GAIB_SECRETS must be 'aws' or 'env', not {value[:20]!r}.",
                          hint="'aws' reads secrets from Secrets Manager, 'env' from GAIB_SECRET_* variables.")
    return text


def _login_name() -> str | None:
    """The OS account running Gaib, when the environment does not name it (None if unknown)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or None
    except (ImportError, KeyError, AttributeError):
        return None


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


def _load_project_file(path: Path, warnings: list[str]) -> dict[str, Any]:
    """The settings of ``gaib.yaml`` ({} without one): the one reader of that file. Unreadable, not
    UTF-8, bad YAML, too large or too deep, or not a mapping is a ConfigError (exit 2) naming
    ``gaib.yaml:line``; keys Gaib does not know are warnings (the original Gaib's files carry many)."""
    from gaib.config.source import parse_yaml, read_file

    try:
        name, raw = read_file(path, display=str(path))
    except ConfigNotFound:
        return {}
    doc = parse_yaml(raw, name, allow_empty=True)
    _unknown(doc.data, _TOP_KEYS, path.name, warnings)
    return doc.data


def _scalar(doc: dict[str, Any], key: str, where: str, prefix: str = "") -> str | None:
    """A setting's value as text (None if unset); ConfigError for a list or mapping."""
    value = doc.get(key)
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{where}: '{prefix}{key}' must be a single value, not a "
                          f"{'mapping' if isinstance(value, dict) else 'list'}.")
    return None if value is None else str(value)

def _unknown(doc: dict[str, Any], known: tuple[str, ...], where: str, warnings: list[str]) -> None:
    for key in doc:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        more = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
        warnings.append(f"{where}: unknown setting '{key}' ignored{more}")


def _section(doc: dict[str, Any], name: str, known: tuple[str, ...], where: str,
             warnings: list[str]) -> dict[str, Any]:
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{name}' must be a mapping.")
    _unknown(value, known, f"{where}: {name}", warnings)
    return value
