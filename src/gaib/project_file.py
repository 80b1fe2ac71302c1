"""The files settings come from: ``gaib.yaml`` (finding it, reading it, its sections and known keys),
and which server config a run reads (with the ``server.id`` written in it).

Only :meth:`gaib.settings.Settings.resolve` calls this module; everything else receives a
:class:`gaib.settings.Settings`. Nothing here reads the process environment.

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
      mac_key_id: alias/gaib-manifests   # the KMS HMAC key sealing manifests (S3 only)
      path: .gaib/backups        # local only
      exclude: ["#mod-log", "Staff/private"]   # channels whose messages snapshots never save
      max_bundle_bytes: 1GiB     # the most plain bytes a command reads of one bundle

Keys Gaib does not know are warnings (with a did-you-mean) appended to the caller's list, never
errors: the original ignores them. A file that cannot be read as settings is a ConfigError.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gaib.errors import ConfigError, ConfigNotFound
from gaib.setting_values import path_text

PROJECT_FILE = "gaib.yaml"
PROJECT_FILES = ("gaib.yaml", "gaib.yml", ".gaib.yaml", ".gaib.yml")
CONFIG_FILE = "discord-server.yaml"

CONFIG_KEYS = ("server", "theme", "roles", "categories", "channels")
"""Keys of ``gaib.yaml`` that hold (part of) a server config, as in discord-server.yaml."""
ITEM_KEYS = ("theme", "roles", "categories", "channels")
"""Keys whose presence makes ``gaib.yaml`` the server config when no discord-server.yaml is found."""
TOP_KEYS = ("version", "name", "discord", *CONFIG_KEYS, "outputs", "backend", "guild_id", "workspace", "backup")
BACKEND_KEYS = ("type", "path", "bucket", "key", "region", "dynamodb_table", "encrypt", "kms_key_id", "profile",
                "endpoint", "key_prefix", "lock_stale_after")
BACKUP_KEYS = ("bucket", "table", "kms_key", "mac_key_id", "path", "exclude", "max_bundle_bytes")
DISCORD_KEYS = ("bot_token",)
OUTPUT_KEYS = ("value", "sensitive", "description")


def find_project_file(start: Path) -> tuple[Path | None, list[Path]]:
    """The ``gaib.yaml`` (any of its four names) in ``start`` or its nearest parent that has one,
    and the other names present in that same folder (ignored, so worth a warning)."""
    for folder in (start, *start.parents):
        present = [folder / name for name in PROJECT_FILES if (folder / name).is_file()]
        if present:
            return present[0], present[1:]
    return None, []


def load_project_file(path: Path, warnings: list[str]) -> dict[str, Any]:
    """The settings of ``gaib.yaml`` ({} without one): the one reader of that file. Unreadable, not
    UTF-8, bad YAML, too large or too deep, or not a mapping is a ConfigError (exit 2) naming
    ``gaib.yaml:line``; keys Gaib does not know are warnings (the original Gaib's files carry many)."""
    from gaib.config.source import parse_yaml, read_file

    try:
        name, raw = read_file(path, display=str(path))
    except ConfigNotFound:
        return {}
    doc = parse_yaml(raw, name, allow_empty=True)
    unknown(doc.data, TOP_KEYS, path.name, warnings)
    return doc.data


def section(doc: dict[str, Any], name: str, known: tuple[str, ...], where: str,
            warnings: list[str]) -> dict[str, Any]:
    """The mapping under ``name`` ({} if unset), its unknown keys warned; ConfigError if not a mapping."""
    value = doc.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: '{name}' must be a mapping.")
    unknown(value, known, f"{where}: {name}", warnings)
    return value


def unknown(doc: dict[str, Any], known: tuple[str, ...], where: str, warnings: list[str]) -> None:
    """Warn about each key of ``doc`` not in ``known``, with the closest known one when there is one."""
    for key in doc:
        if key in known:
            continue
        import difflib  # only for a key Gaib does not know

        close = difflib.get_close_matches(str(key), known, n=1)
        more = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
        warnings.append(f"{where}: unknown setting '{key}' ignored{more}")


def outputs(value: Any, where: str, warnings: list[str]) -> dict[str, Any]:
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
        unknown(spec, OUTPUT_KEYS, f"{where}: outputs.{name}", warnings)
        out[str(name)] = {k: spec[k] for k in OUTPUT_KEYS if k in spec}
    return out


def config_file(given: str | None, cwd: Path, project_dir: Path, project_file: Path | None,
                project: dict[str, Any]) -> tuple[Path, bool]:
    """The server config to read, and whether it is gaib.yaml itself.

    ``-f``/GAIB_CONFIG (``given``, relative to the current folder); else discord-server.yaml in the
    current folder, then in the project folder; else gaib.yaml when it holds roles, categories,
    channels or a theme (the original lets gaib.yaml hold the whole config).
    """
    if given:
        path = cwd / path_text(given, "the config file (-f, GAIB_CONFIG)")
        return path, project_file is not None and _same(path, project_file)
    for folder in (cwd, project_dir):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE, False
    if project_file is not None and any(k in project for k in ITEM_KEYS):
        return project_file, True
    return cwd / CONFIG_FILE, False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


_ID_OR_ESCAPE = re.compile(rb"\bid\b|[\\\x00]")


def may_spell_id(raw: bytes) -> bool:
    """False only when no mapping key of the YAML document ``raw`` can be ``id``: the word ``id`` never
    appears, no backslash escape (``"\\x69d"``) could spell it and no NUL byte says the file is UTF-16
    or UTF-32 (where ``id`` is not these bytes). Anything else may hold the key and must be parsed."""
    return _ID_OR_ESCAPE.search(raw) is not None


def config_server(path: Path | None) -> Any:
    """``server`` of the config file, read leniently (the config loader reports its problems)."""
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            raw = fh.read(4 * 1024 * 1024)
        if not may_spell_id(raw):
            return None  # no key of it can be ``id``: parsing it (and importing yaml) would find none
        import yaml

        doc = yaml.safe_load(raw)
    except Exception:  # unreadable or invalid: loading the config reports it properly
        return None
    return doc.get("server") if isinstance(doc, dict) else None
