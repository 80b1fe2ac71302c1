"""The one place that resolves settings: flags > environment > gaib.yaml > defaults.

This module is the only reader of the process environment (:func:`process_environ`); ``gaib.yaml``
is read through :mod:`gaib.project_file` (its location, format and known keys are described there)
and single values are parsed and checked by :mod:`gaib.setting_values`, both called only from
:meth:`Settings.resolve`. Everything else receives a :class:`Settings` (or the mapping it was
resolved from).

Keys Gaib does not know are warnings (with a did-you-mean), never errors: the original ignores
them. Warnings are collected in :attr:`Settings.warnings` for the CLI to print. The bot token is
kept out of ``repr`` and never written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gaib import project_file as pf
from gaib import setting_values as sv
from gaib.errors import ConfigError, MissingSetting
from gaib.names import check_name, check_snowflake

DEFAULT_API_URL = "https://discord.com/api/v10"
CURRENT_WORKSPACE_FILE = ".current-workspace"
LEGACY_WORKSPACE_FILE = "workspace"
DEFAULT_LOCK_TABLE = "gaib-locks"
DEFAULT_REGION = "us-east-1"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def process_environ() -> dict[str, str]:
    """A copy of the process environment: the only place Gaib reads ``os.environ``."""
    return dict(os.environ)


@dataclass(frozen=True, eq=False)  # never compared; generating __eq__/__hash__ for 44 fields slows every start
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
    mac_key_id: str | None = None
    """The KMS HMAC key that seals bundle manifests on S3 storage (``GAIB_MAC_KEY_ID``, ``backup.mac_key_id``);
    the local store uses a key file beside its folder (docs/format.md, "Manifest MAC")."""
    backup_exclude: tuple[str, ...] = ()
    """Channels (id, name or Category/name) whose messages snapshots never save (``backup.exclude``,
    ``GAIB_BACKUP_EXCLUDE`` comma-separated)."""
    max_bundle_bytes: int = sv.DEFAULT_MAX_BUNDLE_BYTES
    """The most plain (decompressed) bytes one backup, snapshot or deployment may hold for a command to read
    it (``GAIB_MAX_BUNDLE_BYTES``, ``backup.max_bundle_bytes``; default 1 GiB)."""
    max_attachment_bytes: int = sv.DEFAULT_MAX_ATTACHMENT_BYTES
    """Per file: the largest message attachment a snapshot with ``--messages`` stores as a file
    (``GAIB_MAX_ATTACHMENT_BYTES``; default 10 MiB, at most 64 MiB); larger ones stay links."""
    max_snapshot_attachment_bytes: int = sv.DEFAULT_MAX_SNAPSHOT_ATTACHMENT_BYTES
    """Per snapshot: the most attachment bytes one snapshot stores (``GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES``;
    default 256 MiB); files past it stay links."""
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
    server_role_arn: str | None = None
    """The role a run assumes per server, with the session tag ``ServerId`` (``GAIB_SERVER_ROLE_ARN``):
    scheduled runs do each server's work through it, owner tools act on their one server through it."""
    operator_role_arn: str | None = None
    """The operator role (``GAIB_OPERATOR_ROLE_ARN``): a caller whose STS identity is a session of it reads
    personal snapshot parts without the server's bot token."""
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
        project_file, ignored = pf.find_project_file(cwd)
        for other in ignored:
            warnings.append(f"{other} is ignored: {project_file} is read (only one project file per folder)")
        project = pf.load_project_file(project_file, warnings) if project_file else {}
        project_dir = project_file.parent if project_file else cwd
        where = project_file.name if project_file else pf.PROJECT_FILE
        be = pf.section(project, "backend", pf.BACKEND_KEYS, where, warnings)
        bk = pf.section(project, "backup", pf.BACKUP_KEYS, where, warnings)
        dc = pf.section(project, "discord", pf.DISCORD_KEYS, where, warnings)

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

        state_dir = project_dir / sv.path_text(pick(state_path, "GAIB_STATE_PATH", be.get("path"), default=".gaib"),
                                               "the state path (GAIB_STATE_PATH, backend.path)")
        s3_bucket = pick(None, "GAIB_S3_BUCKET", be.get("bucket"))
        kind = pick(backend, ("GAIB_BACKEND", "GAIB_BACKEND_TYPE"), be.get("type"),
                    default="s3" if s3_bucket else "local")
        if kind not in ("local", "s3"):
            raise ConfigError(f"Unknown state backend type {kind!r}.", hint="Use 'local' or 's3'.")

        ws, ws_source = _workspace(workspace, environ, state_dir, project.get("workspace"), where)
        check_name(ws, "workspace name")

        cfg_path, cfg_from_project = pf.config_file(config_file or environ.get("GAIB_CONFIG"), cwd, project_dir,
                                                    project_file, project)
        if project_file and not cfg_from_project and any(project.get(k) for k in pf.ITEM_KEYS) \
                and cfg_path.is_file():
            keys = ", ".join(k for k in pf.ITEM_KEYS if project.get(k))
            warnings.append(f"{where}: {keys} ignored: the server config is read from {cfg_path.name}")
        gid = _guild(guild_id, environ, project, cfg_path if not cfg_from_project else None, where)

        stale_td = sv.stale_after(pick(None, "GAIB_LOCK_STALE_AFTER", be.get("lock_stale_after"), default=3600))
        record = environ.get("GAIB_DISCORD_RECORD") or None
        home = environ.get("HOME") or None
        key_template, prefix = sv.state_key(pick(None, "GAIB_S3_KEY", be.get("key")),
                                             pick(None, "GAIB_S3_PREFIX", be.get("key_prefix")))
        token = _bot_token(environ, dc.get("bot_token"), where, warnings)
        outputs = pf.outputs(project.get("outputs"), where, warnings)
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
            mac_key_id=pick(None, "GAIB_MAC_KEY_ID", bk.get("mac_key_id")),
            backup_dir=project_dir / sv.path_text(pick(None, "GAIB_BACKUP_PATH", bk.get("path"),
                                                        default=str(Path(state_dir.name) / "backups")),
                                                  "the backup path (GAIB_BACKUP_PATH, backup.path)"),
            backup_exclude=sv.exclude(environ.get("GAIB_BACKUP_EXCLUDE"), bk.get("exclude"), where),
            max_bundle_bytes=sv.bundle_bytes(pick(None, "GAIB_MAX_BUNDLE_BYTES", bk.get("max_bundle_bytes")), where),
            max_attachment_bytes=sv.size_setting(environ.get("GAIB_MAX_ATTACHMENT_BYTES"), "GAIB_MAX_ATTACHMENT_BYTES",
                                                 sv.DEFAULT_MAX_ATTACHMENT_BYTES, sv.MAX_MAX_ATTACHMENT_BYTES),
            max_snapshot_attachment_bytes=sv.size_setting(
                environ.get("GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES"), "GAIB_MAX_SNAPSHOT_ATTACHMENT_BYTES",
                sv.DEFAULT_MAX_SNAPSHOT_ATTACHMENT_BYTES, sv.MAX_MAX_BUNDLE_BYTES),
            discord_api_url=str(pick(None, "GAIB_DISCORD_API_URL", default=DEFAULT_API_URL)).rstrip("/"),
            discord_record_path=project_dir / sv.path_text(record, "GAIB_DISCORD_RECORD") if record else None,
            discord_concurrency=sv.concurrency(environ.get("GAIB_DISCORD_CONCURRENCY")),
            notify_topic_arn=environ.get("GAIB_NOTIFY_TOPIC_ARN") or environ.get("GAIB_BACKUP_TOPIC_ARN") or None,
            metrics_namespace=sv.namespace(environ.get("GAIB_METRICS_NAMESPACE")),
            secrets_backend=sv.secrets_backend(environ.get("GAIB_SECRETS"),
                                               pick(None, "GAIB_BACKUP_BUCKET", bk.get("bucket"))),
            actor=environ.get("GAIB_ACTOR") or None,
            server_role_arn=sv.role_arn(environ.get("GAIB_SERVER_ROLE_ARN"), "GAIB_SERVER_ROLE_ARN"),
            operator_role_arn=sv.role_arn(environ.get("GAIB_OPERATOR_ROLE_ARN"), "GAIB_OPERATOR_ROLE_ARN"),
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
            s3_encrypt=sv.flag(pick(None, "GAIB_S3_ENCRYPT", be.get("encrypt"), default=True), "encrypt", where),
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


# --- pieces of resolve that read the environment -------------------------------------------------------


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
                          (f"{config_path.name if config_path else ''} server.id", pf.config_server(config_path))):
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

def _login_name() -> str | None:
    """The OS account running Gaib, when the environment does not name it (None if unknown)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or None
    except (ImportError, KeyError, AttributeError):
        return None
