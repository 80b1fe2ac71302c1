"""Backup schedules: which workspaces of a server scheduled runs back up, where their state lives, and
whether they also export the config and take snapshots.

A schedule is stored twice (docs/format.md, "Backup schedules"):

* the document ``metadata/{server_id}/backup-schedule.json`` (the seed's path), replaced by
  compare-and-swap (:func:`gaib.storage.documents.update_document`) — the readable setting;
* the catalog item ``SERVER#{server_id} / SCHEDULE`` holding the same document under ``schedule`` —
  what scheduled runs read (one ``BatchGetItem`` per page of servers), so **the item wins** when the two
  disagree. Runs keep what they last did under the item's ``status`` (see :mod:`gaib.scheduled.jobs`).

Nothing secret is stored: the bot token a run needs for exports and snapshots is named by its Secrets
Manager secret (``bot_token_secret``) and read at run time through the ``SecretSource`` port.

A stored schedule is never trusted: :func:`parse_schedule` checks every field (types, names, server id,
bucket, key, region, secret name, sizes) and raises ``ScheduleInvalid`` (exit 3) naming the first
problem, so a damaged or hostile schedule fails its own server and nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from gaib import safejson
from gaib.errors import (
    Conflict,
    GaibError,
    InvalidInput,
    NotFound,
    ScheduleInvalid,
    SecretNotBound,
    SecretUnavailable,
)
from gaib.names import check_name, check_snowflake
from gaib.ports import Ports, RunPorts, server_id_of
from gaib.secretguard import check_text
from gaib.secrets.base import SecretSource, check_secret_name, looks_like_token
from gaib.state.location import StateLocation
from gaib.storage.base import Item, damaged_reason
from gaib.storage.documents import update_document
from gaib.storage.keys import SCHEDULE_SK, heartbeat_sk, schedule_key, scheduler_pk, server_pk
from gaib.tiers.cron import next_run
from gaib.tiers.manager import default_actor
from gaib.tiers.table import TierPolicy, policy_for, tier_of

FORMAT_VERSION: Final = 1
MAX_WORKSPACES: Final = 20
MAX_DOCUMENT_BYTES: Final = 64 * 1024
CONTENT_TYPE: Final = "application/json"
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_KEYS = ("format_version", "server_id", "enabled", "workspaces", "export_config", "snapshots", "bot_token_secret",
         "tier", "cadence", "updated_at", "updated_by")


@dataclass(frozen=True)
class Schedule:
    """One server's schedule, checked. ``workspaces`` in the order they are backed up."""

    server_id: str
    enabled: bool
    workspaces: tuple[StateLocation, ...]
    export_config: bool = False
    snapshots: bool = False
    bot_token_secret: str | None = None
    tier: str | None = None
    cadence: dict[str, Any] = field(default_factory=dict)
    updated_at: str | None = None
    updated_by: str | None = None

    @property
    def needs_token(self) -> bool:
        """Exports and snapshots read the guild, which takes the bot token."""
        return self.export_config or self.snapshots

    def to_document(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "server_id": self.server_id, "enabled": self.enabled,
                "workspaces": {loc.workspace: loc.to_dict() for loc in self.workspaces},
                "export_config": self.export_config, "snapshots": self.snapshots,
                "bot_token_secret": self.bot_token_secret, "tier": self.tier, "cadence": dict(self.cadence),
                "updated_at": self.updated_at, "updated_by": self.updated_by}

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_document(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _bad(server_id: str, where: str, problem: str) -> ScheduleInvalid:
    return ScheduleInvalid(f"The backup schedule of server {server_id} ({where}) is invalid: {problem}.",
                           details={"server_id": server_id, "where": where})


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _location(server_id: str, where: str, workspace: str, raw: object) -> StateLocation:
    if not isinstance(raw, dict):
        raise _bad(server_id, where, f"workspace {workspace}: the state location must be an object")
    backend = raw.get("backend")
    unknown = set(raw) - {"backend", "bucket", "key", "region", "path"}
    if unknown:
        raise _bad(server_id, where, f"workspace {workspace}: unknown field {_shown(sorted(unknown)[0])}")
    if backend == "s3":
        bucket, key, region = raw.get("bucket"), raw.get("key"), raw.get("region")
        if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
            raise _bad(server_id, where, f"workspace {workspace}: {_shown(bucket)} is not an S3 bucket name")
        if (not isinstance(key, str) or not 0 < len(key.encode("utf-8")) <= 1024 or not key.isprintable()
                or "$" in key or key.startswith("/")):
            raise _bad(server_id, where, f"workspace {workspace}: {_shown(key)} is not an S3 object key")
        if region is not None and (not isinstance(region, str) or not _REGION_RE.fullmatch(region)):
            raise _bad(server_id, where, f"workspace {workspace}: {_shown(region)} is not an AWS region")
        return StateLocation(workspace=workspace, backend="s3", bucket=bucket, key=key, region=region)
    if backend == "local":
        path = raw.get("path")
        if not isinstance(path, str) or not path.isprintable() or not 0 < len(path) <= 4096 \
                or not Path(path).is_absolute():
            raise _bad(server_id, where, f"workspace {workspace}: {_shown(path)} is not an absolute folder")
        return StateLocation(workspace=workspace, backend="local", path=path)
    raise _bad(server_id, where, f"workspace {workspace}: backend {_shown(backend)} is not 's3' or 'local'")


def _flag(server_id: str, where: str, doc: dict[str, Any], name: str, default: bool) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise _bad(server_id, where, f"{name} must be true or false, not {_shown(value)}")
    return value


def _text(value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return "".join(ch if ch.isprintable() else " " for ch in value)[:limit]


def parse_schedule(raw: object, server_id: str, where: str) -> Schedule:
    """The checked schedule of ``server_id`` from a stored document (bytes, JSON text or a parsed object).

    Raises ``ScheduleInvalid`` (exit 3) for bad JSON, wrong types, unknown fields, a schedule of another
    server, bad workspace names, state locations or secret names, or a document over 64 KiB.
    """
    check_snowflake(server_id, "server id")
    doc: object = raw
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise _bad(server_id, where, f"it is {len(raw)} bytes; at most {MAX_DOCUMENT_BYTES} are read")
        try:
            doc = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(server_id, where, "it is not UTF-8 text") from None
    if isinstance(doc, str):
        if len(doc) > MAX_DOCUMENT_BYTES:
            raise _bad(server_id, where, f"it is {len(doc)} characters; at most {MAX_DOCUMENT_BYTES} are read")
        try:
            doc = safejson.loads(doc)
        except safejson.JsonProblem as exc:
            raise _bad(server_id, where, f"it is not an acceptable JSON document ({str(exc)[:80]})") from None
    if not isinstance(doc, dict):
        raise _bad(server_id, where, f"it must be a JSON object, not {type(doc).__name__}")
    unknown = set(doc) - set(_KEYS)
    if unknown:
        raise _bad(server_id, where, f"unknown field {_shown(sorted(map(str, unknown))[0])}")
    version = doc.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise _bad(server_id, where, f"format_version {_shown(version)} is not {FORMAT_VERSION}")
    if doc.get("server_id") != server_id:
        raise _bad(server_id, where, f"it names server {_shown(doc.get('server_id'))}, not {server_id}")
    enabled = _flag(server_id, where, doc, "enabled", True)
    export_config = _flag(server_id, where, doc, "export_config", False)
    snapshots = _flag(server_id, where, doc, "snapshots", False)
    raw_ws = doc.get("workspaces")
    if not isinstance(raw_ws, dict) or not raw_ws:
        raise _bad(server_id, where, "workspaces must be an object naming at least one workspace")
    if len(raw_ws) > MAX_WORKSPACES:
        raise _bad(server_id, where, f"it names {len(raw_ws)} workspaces; at most {MAX_WORKSPACES} are allowed")
    locations = []
    for name, location in raw_ws.items():
        try:
            check_name(name, "workspace name")
        except GaibError:
            raise _bad(server_id, where, f"{_shown(name)} is not a workspace name") from None
        locations.append(_location(server_id, where, name, location))
    secret = doc.get("bot_token_secret")
    if secret is not None:
        try:
            check_secret_name(secret, "bot_token_secret")
        except GaibError:
            shown = "(a value shaped like a bot token)" if looks_like_token(secret) else _shown(secret)
            raise _bad(server_id, where, f"bot_token_secret {shown} is not a Secrets Manager name") from None
    if (export_config or snapshots) and secret is None:
        raise _bad(server_id, where, "exports and snapshots need bot_token_secret (the bot token's secret)")
    cadence = doc.get("cadence")
    return Schedule(server_id=server_id, enabled=enabled, workspaces=tuple(locations), export_config=export_config,
                    snapshots=snapshots, bot_token_secret=secret, tier=_text(doc.get("tier"), 20),
                    cadence=cadence if isinstance(cadence, dict) else {},
                    updated_at=_text(doc.get("updated_at"), 40), updated_by=_text(doc.get("updated_by"), 200))


def schedule_of_item(item: Item | None, server_id: str) -> Schedule | None:
    """The schedule held by a ``SCHEDULE`` catalog item (None: no item); raises ``ScheduleInvalid``."""
    if item is None:
        return None
    reason = damaged_reason(item)
    if reason is not None:
        raise _bad(server_id, "catalog item", f"it cannot be decoded ({reason[:80]})")
    if item.get("server_id") != server_id:
        raise _bad(server_id, "catalog item", f"it names server {_shown(item.get('server_id'))}, not {server_id}")
    if "schedule" not in item:
        raise _bad(server_id, "catalog item", "it holds no schedule")
    return parse_schedule(item["schedule"], server_id, "catalog item")


def check_local_path(schedule: Schedule, project_dir: Path) -> None:
    """Local state folders must lie inside ``project_dir`` (a stored schedule cannot send a run to read
    files elsewhere on the machine); raises ``ScheduleInvalid``."""
    root = project_dir.resolve()
    for loc in schedule.workspaces:
        if loc.backend != "local":
            continue
        assert loc.path is not None
        folder = Path(loc.path).resolve()
        if folder != root and root not in folder.parents:
            raise _bad(schedule.server_id, "catalog item",
                       f"workspace {loc.workspace}: the local state folder is outside the project folder {root}")


def cadence(policy: TierPolicy) -> dict[str, Any]:
    """The tier's cadence as a schedule records it (the tier table decides; this is for people)."""
    return {"backups": policy.scheduled_cadence, "backup_schedule": policy.backup_schedule,
            "snapshots": policy.snapshots, "snapshot_schedule": policy.snapshot_schedule,
            "retention_days": policy.retention_days}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- use cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleView:
    """What ``schedule show`` prints: the document and the item (either may be missing or damaged)."""

    server_id: str
    tier: TierPolicy
    schedule: Schedule | None
    document: Schedule | None
    document_error: str | None
    item_error: str | None
    status: dict[str, Any]
    next_backup: str | None
    next_snapshot: str | None
    last_windows: dict[str, str | None] = field(default_factory=dict)
    """The tier's last completed window per operation (the heartbeat items), for every server of the tier."""

    @property
    def agree(self) -> bool:
        return self.schedule is not None and self.document is not None and \
            self.schedule.to_document() == self.document.to_document()

    def to_dict(self) -> dict[str, Any]:
        return {"server_id": self.server_id, "tier": self.tier.name,
                "schedule": self.schedule.to_document() if self.schedule else None,
                "document": self.document.to_document() if self.document else None,
                "document_error": self.document_error, "item_error": self.item_error,
                "document_matches_item": self.agree, "status": self.status,
                "next_scheduled_run": {"backup": self.next_backup, "snapshot": self.next_snapshot},
                "last_completed_window": dict(self.last_windows)}


def _server(ports: Ports) -> str:
    return server_id_of(ports)


def show(ports: Ports) -> ScheduleView:
    """The server's schedule as stored (item and document, each checked), its tier and the next runs."""
    sid = _server(ports)
    policy = tier_of(ports.catalog, sid)
    item = ports.catalog.get(server_pk(sid), SCHEDULE_SK)
    schedule = item_error = None
    try:
        schedule = schedule_of_item(item, sid)
    except ScheduleInvalid as exc:
        item_error = exc.message
    document = document_error = None
    try:
        document = parse_schedule(ports.store.get(schedule_key(sid)), sid, schedule_key(sid))
    except NotFound:
        pass
    except ScheduleInvalid as exc:
        document_error = exc.message
    now = ports.clock()
    backup_next = next_run(policy.backup_schedule, now)
    snapshot_next = next_run(policy.snapshot_schedule, now) if policy.snapshot_schedule else None
    raw_status = item.get("status") if item is not None else None
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    active = schedule is not None and schedule.enabled
    operations = ["backup", "snapshot"] if policy.snapshot_schedule else ["backup"]
    beats = ports.catalog.get_many([(scheduler_pk(policy.name), heartbeat_sk(op)) for op in operations])
    last = {op: _text(beats.get((scheduler_pk(policy.name), heartbeat_sk(op)), {}).get("window"), 20)
            for op in operations}
    return ScheduleView(server_id=sid, tier=policy, schedule=schedule, document=document,
                        document_error=document_error, item_error=item_error, status=status,
                        next_backup=_iso(backup_next) if backup_next and active else None,
                        next_snapshot=_iso(snapshot_next) if snapshot_next and active and schedule is not None
                        and schedule.snapshots else None, last_windows=last)


@dataclass(frozen=True)
class Written:
    schedule: Schedule
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"schedule": self.schedule.to_document(), "notes": list(self.notes)}


def enable(ports: RunPorts, *, all_workspaces: bool, export_config: bool, snapshots: bool,
           bot_token_secret: str | None) -> Written:
    """Register the server for scheduled runs: the document, then the item (and a tier item, free when
    the server has none, so the tier index lists it).

    The workspaces are the current one, or every workspace of the state backend; each is recorded with
    where its state lives as the configured backend resolves it. Raises InvalidInput (exit 6) when
    exports or snapshots are asked for without a bot token secret, or a workspace list is empty.
    """
    sid = _server(ports)
    if bot_token_secret is not None:
        check_secret_name(bot_token_secret, "bot token secret")
        # A token pasted as the name is refused before the name is sent anywhere (DescribeSecret).
        check_text(ports.settings.environ, ports.settings.bot_token, bot_token_secret, "the bot token secret name")
        check_secret_bound(ports.secrets, bot_token_secret, sid)
    if (export_config or snapshots) and bot_token_secret is None:
        raise InvalidInput("Config exports and snapshots read the guild, which needs the bot token: name the "
                           "Secrets Manager secret holding it.",
                           hint="Pass --bot-token-secret NAME (e.g. gaib/discord-bot-token); the token itself "
                                "is never stored.")
    names = ports.state.list_workspaces() if all_workspaces else [ports.settings.workspace]
    if not names:
        raise InvalidInput("The state backend has no workspace to schedule.",
                           hint="Create state first ('gaib server apply'), or leave out --all-workspaces.")
    if len(names) > MAX_WORKSPACES:
        raise InvalidInput(f"{len(names)} workspaces; a schedule holds at most {MAX_WORKSPACES}.")
    policy = tier_of(ports.catalog, sid, register=True)
    notes = []
    for name in names:
        if ports.state.get(name) is None:
            # As the runs read a location: a workspace made by 'workspace new' is skipped, nothing at all fails.
            fate = "skip it" if ports.state.workspace_exists(name) else "report it as failed"
            notes.append(f"workspace {name} has no state yet: scheduled runs {fate} until it has one")
    if snapshots and policy.snapshot_schedule is None:
        notes.append(f"the {policy.name} tier takes no automatic snapshots; they start once the server is premium")
    schedule = Schedule(server_id=sid, enabled=True, workspaces=tuple(ports.state_location(n) for n in names),
                        export_config=export_config, snapshots=snapshots, bot_token_secret=bot_token_secret,
                        tier=policy.name, cadence=cadence(policy), updated_at=_iso(ports.clock()),
                        updated_by=ports.settings.actor or default_actor())
    _write(ports, schedule)
    return Written(schedule, notes)


def check_secret_bound(secrets: SecretSource, name: str, server_id: str) -> None:
    """Refuse (``SECRET_NOT_BOUND``, exit 6) a bot token secret whose ``ServerId`` tag does not name
    ``server_id``: another server's, or untagged. A source without tags (local ``GAIB_SECRET_*`` variables,
    the caller's own) is not checked. ``SecretUnavailable`` (exit 2) when the secret cannot be described."""
    if not secrets.binds_servers:
        return
    tag = (f"aws secretsmanager tag-resource --secret-id {name} --tags Key=ServerId,Value={server_id} "
           "(tags are changed by the operator role)")
    try:
        bound = secrets.bound_server(name)
    except SecretUnavailable as exc:
        if exc.details.get("aws_error") != "AccessDeniedException":
            raise
        # A server's role session may describe only secrets tagged with its server (the policy's condition).
        raise SecretNotBound(f"AWS refused to describe secret {name} for server {server_id}: a server's session "
                             "may use only secrets tagged ServerId with its server. Nothing was written.",
                             hint=f"Tag the secret with this server: {tag}.",
                             details={"secret": name, "server_id": server_id, "bound_to": None}) from None
    if bound == server_id:
        return
    if bound is None:
        raise SecretNotBound(f"Secret {name} carries no ServerId tag, so nothing says it belongs to server "
                             f"{server_id}; it was not accepted and nothing was written.",
                             hint=f"Tag the secret with this server: {tag}.",
                             details={"secret": name, "server_id": server_id, "bound_to": None})
    shown = bound[:40] if bound.isprintable() else "(unprintable)"
    raise SecretNotBound(f"Secret {name} belongs to server {shown} (its ServerId tag), not {server_id}; a "
                         "schedule may name only its own server's bot token. Nothing was written.",
                         hint=f"Name a secret holding this server's bot token, tagged ServerId={server_id}: {tag}.",
                         details={"secret": name, "server_id": server_id, "bound_to": shown})


def disable(ports: Ports) -> Written:
    """Stop scheduled runs for the server (the schedule stays, ``enabled: false``); NotFound without one."""
    sid = _server(ports)
    current = schedule_of_item(ports.catalog.get(server_pk(sid), SCHEDULE_SK), sid)
    if current is None:
        try:
            current = parse_schedule(ports.store.get(schedule_key(sid)), sid, schedule_key(sid))
        except NotFound:
            raise NotFound(f"Server {sid} has no backup schedule.",
                           hint="Register it with 'gaib server schedule enable'.") from None
    from dataclasses import replace

    schedule = replace(current, enabled=False, updated_at=_iso(ports.clock()),
                       updated_by=ports.settings.actor or default_actor())
    _write(ports, schedule)
    return Written(schedule, [])


def _write(ports: Ports, schedule: Schedule) -> None:
    """The document (compare-and-swap), then the catalog item (its ``status`` kept)."""
    sid = schedule.server_id
    data = schedule.to_bytes()
    tags = {"Tier": policy_for(schedule.tier).name, "ServerId": sid}
    update_document(ports.store, schedule_key(sid), lambda _old: data, tags=tags, content_type=CONTENT_TYPE)
    fields = {"kind": "schedule", "server_id": sid, "schedule": schedule.to_document()}
    pk = server_pk(sid)
    for _ in range(5):
        try:
            if ports.catalog.get(pk, SCHEDULE_SK) is None:
                ports.catalog.put_if_absent(pk, SCHEDULE_SK, fields)
            else:
                ports.catalog.update(pk, SCHEDULE_SK, fields)
            return
        except (Conflict, NotFound):
            continue  # created or removed meanwhile: read again
    raise Conflict(f"The schedule item of server {sid} kept changing while it was written.",
                   hint="Run the command again.")
