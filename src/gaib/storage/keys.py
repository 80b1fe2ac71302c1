"""The only place that builds object keys and catalog keys.

Every server id (``check_snowflake``), workspace (``check_name``) and id (``check_id``) is checked
before anything is built, so hostile input (``../x``, ``%2e%2e``, 10 kB, unicode) raises
``InvalidName`` (exit 6) and never reaches a path or a request.

Ids: ``YYYYMMDDTHHMMSSmmmZ-xxxxxxxx`` — the UTC creation time to the millisecond, then 8 random
hex digits, e.g. ``20261125T170312042Z-a1b2c3d4``. Ids sort by creation time, the catalog sort key
follows from the id (no scans), and the id itself is the ``{timestamp}`` part of object keys, so two
backups made in the same second (or millisecond) still get distinct keys.

Object keys (DESIGN.md)::

    state/{server_id}/{workspace}/backup.{id}.json.gz
    exports/{server_id}/config.{id}.yaml          exports/{server_id}/config.latest.yaml
    snapshots/{server_id}/{snapshot_id}/{manifest.json|state.json.gz|config.yaml.gz|theme-registry.json.gz|
                                        objects.json.gz|guild.json.gz|emojis.json.gz|stickers.json.gz|
                                        bans.json.gz|structure.json.gz|threads.json.gz|
                                        messages/{channel_or_thread_id}.jsonl.gz}
    media/{server_id}/{sha256}                    (images, content-addressed, shared by snapshots)
    themes/{server_id}/registry.json              themes/{server_id}/audit/{id}.json
    themes/{server_id}/deployments/config.{deployment_id}.yaml.gz
    metadata/{server_id}/backup-schedule.json
    metadata/{server_id}/journal/{workspace}/creates/{run_id}.{n}.json      (journaled creates)
    metadata/{server_id}/journal/replay/{snapshot_id}/{channel_id}.json     (a replay's progress)

Four of them are documents that change (``ObjectStore.replace``, ``update_document``): the theme
registry, ``config.latest.yaml``, the backup schedule and a replay's progress. Everything else is written
once (a journal of creates is deleted once settled).

Catalog keys: partition ``SERVER#{server_id}``; sort keys ``BACKUP#{ts}#{id}``,
``SNAPSHOT#{ts}#{id}``, ``DEPLOY#{ts}#{id}`` (a theme deployment), ``AUDIT#{ts}#{id}`` (ts = the id's
time part), ``TIER``, ``META``, ``SEQUENCE`` (the counter of the server's bundle writes: ``Catalog.put_sequenced``),
``QUOTA#{kind}#{yyyymmdd}`` (and ``SETTLED#{kind}#{yyyymmdd}``: how many
of those units' operations finished), ``SCHEDULE`` (the backup schedule and what
the scheduled runs last did), ``NOTIFY`` (the name of the secret holding the server's own Discord
webhook: :func:`notify_key`; never the URL) and ``RUN#{tier}#{window}`` (a scheduled run's claim of the server for one
window; ``RUN#{tier}#{window}#{operation}`` for operations other than state backups). Partition
``SCHEDULER#{tier}`` holds one item per tier and operation, ``HEARTBEAT#{operation}``: the last window a
scheduled run completed. (Deployments were once to be keyed
``THEME#``; none ever was, and ``DEPLOY#`` says what the item is: a deployment, with or without a theme.)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Final, Literal

from gaib.errors import InvalidName
from gaib.names import check_name, check_snowflake

ID_PATTERN: Final = r"(\d{8}T\d{9}Z)-([0-9a-f]{8})"
_ID_RE = re.compile(ID_PATTERN)
_TS_FORMAT = "%Y%m%dT%H%M%S"

SnapshotPart = Literal["manifest.json", "state.json.gz", "config.yaml.gz", "theme-registry.json.gz",
                       "objects.json.gz", "guild.json.gz", "emojis.json.gz", "stickers.json.gz", "bans.json.gz",
                       "structure.json.gz", "threads.json.gz", "members.json.gz",
                       "automod.json.gz", "onboarding.json.gz", "welcome.json.gz", "events.json.gz",
                       "soundboard.json.gz"]
SNAPSHOT_PARTS: Final[tuple[SnapshotPart, ...]] = (
    "manifest.json",
    "state.json.gz",
    "config.yaml.gz",
    "theme-registry.json.gz",
    "objects.json.gz",
)
#: Parts a snapshot holds since community snapshots (older snapshots lack them).
SNAPSHOT_COMMUNITY_PARTS: Final[tuple[SnapshotPart, ...]] = (
    "guild.json.gz",
    "emojis.json.gz",
    "stickers.json.gz",
    "bans.json.gz",
    "structure.json.gz",
    "threads.json.gz",
    "members.json.gz",
    "automod.json.gz",
    "onboarding.json.gz",
    "welcome.json.gz",
    "events.json.gz",
    "soundboard.json.gz",
)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")

BACKUP_SK_PREFIX: Final = "BACKUP#"
SNAPSHOT_SK_PREFIX: Final = "SNAPSHOT#"
DEPLOY_SK_PREFIX: Final = "DEPLOY#"
QUOTA_SK_PREFIX: Final = "QUOTA#"
SETTLED_SK_PREFIX: Final = "SETTLED#"
AUDIT_SK_PREFIX: Final = "AUDIT#"
TIER_SK: Final = "TIER"
META_SK: Final = "META"
SCHEDULE_SK: Final = "SCHEDULE"
NOTIFY_SK: Final = "NOTIFY"
"""The item naming the secret of the server's own webhook (``gaib server notify``); the notifier Lambda
reads it by this exact key (``discord_notifier.NOTIFY_SK``, held equal by a test)."""
SEQUENCE_SK: Final = "SEQUENCE"
"""The counter item whose ``count`` is the sequence of the server's last bundle write."""
RUN_SK_PREFIX: Final = "RUN#"
HEARTBEAT_SK_PREFIX: Final = "HEARTBEAT#"
RUN_BLOCK_SK_PREFIX: Final = "BLOCK#"
SERVER_PK_PREFIX: Final = "SERVER#"
SCHEDULER_PK_PREFIX: Final = "SCHEDULER#"
WINDOW_PATTERN: Final = r"\d{8}T\d{4}Z"
"""A scheduled run's window: the UTC minute its schedule fired, ``20261125T0300Z``."""
_WINDOW_RE = re.compile(WINDOW_PATTERN)


# --- ids ----------------------------------------------------------------------------------------


def new_id(now: datetime) -> str:
    """A fresh id for something created at ``now`` (timezone-aware; converted to UTC)."""
    if now.tzinfo is None:
        raise ValueError("new_id needs a timezone-aware datetime")
    import secrets  # only a command that creates something needs it (a listing does not)

    utc = now.astimezone(UTC)
    return f"{utc.strftime(_TS_FORMAT)}{utc.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def check_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a well-formed id with a real date; raise ``InvalidName`` otherwise."""
    text = check_name(value, what)
    if not _ID_RE.fullmatch(text):
        raise InvalidName(
            f"Invalid {what} {text!r}: ids look like 20261125T170312042Z-a1b2c3d4.",
            hint="Copy the id from the matching 'list' command.",
            details={"field": what},
        )
    _parse_ts(text[:19], what, text)
    return text


def _parse_ts(ts: str, what: str, shown: str) -> datetime:
    # ts matched ID_PATTERN (digits): the constructor checks the date as strptime would, without
    # importing _strptime or parsing a format for every id of a listing.
    try:
        base = datetime(int(ts[0:4]), int(ts[4:6]), int(ts[6:8]), int(ts[9:11]), int(ts[11:13]), int(ts[13:15]))
    except ValueError:
        raise InvalidName(f"Invalid {what} {shown!r}: its date is not a real date.",
                          details={"field": what}) from None
    return base.replace(microsecond=int(ts[15:18]) * 1000, tzinfo=UTC)


def parse_id(value: object, what: str = "id") -> datetime:
    """The UTC creation time carried by an id; raises ``InvalidName`` for a malformed id."""
    text = check_id(value, what)
    return _parse_ts(text[:19], what, text)


def id_timestamp(value: str) -> str:
    """The time part of a checked id (``20261125T170312042Z``)."""
    return check_id(value)[:19]


# --- object keys --------------------------------------------------------------------------------


def _server(server_id: str) -> str:
    return check_snowflake(server_id)


def backup_key(server_id: str, workspace: str, backup_id: str) -> str:
    return f"{backups_prefix(server_id, workspace)}backup.{check_id(backup_id, 'backup id')}.json.gz"


def backups_prefix(server_id: str, workspace: str | None = None) -> str:
    """Prefix of all state backups of a server, or of one workspace of it."""
    if workspace is None:
        return f"state/{_server(server_id)}/"
    return f"state/{_server(server_id)}/{check_name(workspace, 'workspace')}/"


def export_key(server_id: str, export_id: str) -> str:
    return f"exports/{_server(server_id)}/config.{check_id(export_id, 'export id')}.yaml"


def export_latest_key(server_id: str) -> str:
    return f"exports/{_server(server_id)}/config.latest.yaml"


def exports_prefix(server_id: str) -> str:
    return f"exports/{_server(server_id)}/"


def snapshot_key(server_id: str, snapshot_id: str, part: SnapshotPart) -> str:
    if part not in SNAPSHOT_PARTS and part not in SNAPSHOT_COMMUNITY_PARTS:
        raise InvalidName(f"Unknown snapshot part {str(part)[:40]!r}.", details={"field": "part"})
    return f"{snapshot_prefix(server_id, snapshot_id)}{part}"


def snapshot_messages_key(server_id: str, snapshot_id: str, channel_id: str) -> str:
    """The saved messages of one channel in a snapshot (JSON lines, compressed)."""
    return f"{snapshot_prefix(server_id, snapshot_id)}messages/{check_snowflake(channel_id, 'channel id')}.jsonl.gz"


def check_sha256(value: object, what: str = "checksum") -> str:
    """``value`` if it is a sha256 in lower-case hex; ``InvalidName`` otherwise."""
    if not isinstance(value, str) or not _SHA256_RE.fullmatch(value):
        raise InvalidName(f"Invalid {what} {str(value)[:70]!r}: expected 64 lower-case hex digits.",
                          details={"field": what})
    return value


def media_key(server_id: str, sha256: str) -> str:
    """An image (emoji, sticker, icon, banner) of a server, stored once under the sha256 of its bytes."""
    return f"{media_prefix(server_id)}{check_sha256(sha256, 'media checksum')}"


def media_prefix(server_id: str) -> str:
    return f"media/{_server(server_id)}/"


def snapshot_prefix(server_id: str, snapshot_id: str | None = None) -> str:
    """Prefix of all snapshots of a server, or of the parts of one snapshot."""
    if snapshot_id is None:
        return f"snapshots/{_server(server_id)}/"
    return f"snapshots/{_server(server_id)}/{check_id(snapshot_id, 'snapshot id')}/"


def theme_registry_key(server_id: str) -> str:
    return f"themes/{_server(server_id)}/registry.json"


def theme_audit_key(server_id: str, audit_id: str) -> str:
    return f"{theme_audit_prefix(server_id)}{check_id(audit_id, 'audit id')}.json"


def theme_audit_prefix(server_id: str) -> str:
    return f"themes/{_server(server_id)}/audit/"


def deployment_config_key(server_id: str, deployment_id: str) -> str:
    """The config part of a theme deployment (the effective config it deployed, compressed)."""
    return f"{deployments_prefix(server_id)}config.{check_id(deployment_id, 'deployment id')}.yaml.gz"


def deployments_prefix(server_id: str) -> str:
    return f"themes/{_server(server_id)}/deployments/"


def schedule_key(server_id: str) -> str:
    return f"metadata/{_server(server_id)}/backup-schedule.json"


def create_journal_prefix(server_id: str, workspace: str) -> str:
    """Where the journaled creates of a workspace's runs live (:mod:`gaib.iac.journal`)."""
    return f"metadata/{_server(server_id)}/journal/{check_name(workspace, 'workspace')}/creates/"


def create_journal_key(server_id: str, workspace: str, run_id: str, n: int) -> str:
    """The ``n``-th journal object of run ``run_id`` (an id as :func:`new_id` makes)."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1_000_000:
        raise InvalidName(f"Invalid journal part number {n!r}.", details={"field": "journal part"})
    return f"{create_journal_prefix(server_id, workspace)}{check_id(run_id, 'run id')}.{n}.json"


def replay_journal_key(server_id: str, snapshot_id: str, channel_id: str) -> str:
    """The progress of replaying a snapshot's messages of one channel (:mod:`gaib.snapshots.replay`)."""
    return (f"metadata/{_server(server_id)}/journal/replay/{check_id(snapshot_id, 'snapshot id')}/"
            f"{check_snowflake(channel_id, 'channel id')}.json")


def server_prefixes(server_id: str) -> dict[str, str]:
    """Every object of a server lives under one of these prefixes, by kind: ``backups`` (state
    backups), ``snapshots``, ``media`` (the images snapshots share), ``exports``, ``themes`` (registry
    and audit) and ``metadata``."""
    sid = _server(server_id)
    return {"backups": f"state/{sid}/", "snapshots": f"snapshots/{sid}/", "media": f"media/{sid}/",
            "exports": f"exports/{sid}/", "themes": f"themes/{sid}/", "metadata": f"metadata/{sid}/"}


# --- catalog keys -------------------------------------------------------------------------------


def server_pk(server_id: str) -> str:
    return f"{SERVER_PK_PREFIX}{_server(server_id)}"


def server_of_pk(pk: object) -> str:
    """The server id of a ``SERVER#{server_id}`` partition key; raises ``InvalidName`` for anything else."""
    if not isinstance(pk, str) or not pk.startswith(SERVER_PK_PREFIX):
        raise InvalidName(f"Not a server partition key: {str(pk)[:60]!r}.", details={"field": "partition key"})
    return check_snowflake(pk[len(SERVER_PK_PREFIX):], "server id")


def check_window(window: object) -> str:
    """``window`` if it is a scheduled run's window (``20261125T0300Z``, a real UTC minute); raises InvalidName."""
    if not isinstance(window, str) or not _WINDOW_RE.fullmatch(window):
        raise InvalidName(f"Invalid window {str(window)[:40]!r}: windows look like 20261125T0300Z.",
                          details={"field": "window"})
    try:
        datetime.strptime(window, "%Y%m%dT%H%MZ")
    except ValueError:
        raise InvalidName(f"Invalid window {window!r}: its date is not a real date.",
                          details={"field": "window"}) from None
    return window


def window_of(moment: datetime) -> str:
    """The window string of a (timezone-aware) moment, to the minute: ``20261125T0300Z``."""
    if moment.tzinfo is None:
        raise ValueError("window_of needs a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def parse_window(window: str) -> datetime:
    """The UTC moment a window string names; raises InvalidName."""
    return datetime.strptime(check_window(window), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def run_claim_sk(tier: str, window: str, operation: str = "backup") -> str:
    """Sort key of a scheduled run's claim of one server for one window: ``RUN#{tier}#{window}``
    for state backups, ``RUN#{tier}#{window}#{operation}`` for the others (snapshots)."""
    base = f"{RUN_SK_PREFIX}{check_name(tier, 'tier')}#{check_window(window)}"
    return base if operation == "backup" else f"{base}#{check_name(operation, 'operation')}"


def scheduler_pk(tier: str) -> str:
    """Partition of the tier-wide items of scheduled runs (the heartbeats)."""
    return f"{SCHEDULER_PK_PREFIX}{check_name(tier, 'tier')}"


def run_block_sk(window: str, operation: str, shard: str, first_server_id: str) -> str:
    """Sort key (in ``SCHEDULER#{tier}``) of a block of a window's listing that one task took first:
    ``BLOCK#{window}#{operation}#{shard}#{first server id}``; ``shard`` is ``all`` or ``{I}of{N}``."""
    if not re.fullmatch(r"all|[1-9]\d{0,3}of[1-9]\d{0,3}", shard):
        raise InvalidName(f"Invalid shard label {shard[:20]!r}.", details={"field": "shard"})
    return (f"{RUN_BLOCK_SK_PREFIX}{check_window(window)}#{check_name(operation, 'operation')}#{shard}#"
            f"{_server(first_server_id)}")


def notify_key(server_id: str) -> tuple[str, str]:
    """``(pk, sk)`` of the server's notification item: ``SERVER#{server_id}`` / ``NOTIFY``."""
    return server_pk(server_id), NOTIFY_SK


def heartbeat_sk(operation: str) -> str:
    """The heartbeat item of one scheduled operation (``backup``, ``snapshot``, ``verify``) of a tier."""
    return f"{HEARTBEAT_SK_PREFIX}{check_name(operation, 'operation')}"


def backup_sk(backup_id: str) -> str:
    checked = check_id(backup_id, "backup id")
    return f"{BACKUP_SK_PREFIX}{checked[:19]}#{checked}"


def snapshot_sk(snapshot_id: str) -> str:
    checked = check_id(snapshot_id, "snapshot id")
    return f"{SNAPSHOT_SK_PREFIX}{checked[:19]}#{checked}"


def deployment_sk(deployment_id: str) -> str:
    checked = check_id(deployment_id, "deployment id")
    return f"{DEPLOY_SK_PREFIX}{checked[:19]}#{checked}"


def audit_sk(audit_id: str) -> str:
    """Sort key of one audit record (a tier change...) of a server."""
    checked = check_id(audit_id, "audit id")
    return f"{AUDIT_SK_PREFIX}{checked[:19]}#{checked}"


def quota_sk(kind: str, day: date) -> str:
    """Counter key of one quota kind (``backup``, ``snapshot``...) for one UTC day."""
    if isinstance(day, datetime):
        if day.tzinfo is None:
            raise ValueError("quota_sk needs a timezone-aware datetime or a date")
        day = day.astimezone(UTC).date()
    return f"{QUOTA_SK_PREFIX}{check_name(kind, 'quota kind')}#{day.strftime('%Y%m%d')}"


def settled_sk(kind: str, day: date) -> str:
    """Counter key of the units of :func:`quota_sk` whose operation finished (its item was stored)."""
    return SETTLED_SK_PREFIX + quota_sk(kind, day).removeprefix(QUOTA_SK_PREFIX)


def id_from_sk(sk: str) -> str:
    """The id at the end of a ``KIND#{ts}#{id}`` sort key; raises ``InvalidName``."""
    if not isinstance(sk, str) or sk.count("#") != 2:
        raise InvalidName(f"Not an id-carrying sort key: {str(sk)[:60]!r}.")
    kind, ts, ident = sk.split("#")
    checked = check_id(ident)
    if ts != checked[:19] or f"{kind}#" not in (BACKUP_SK_PREFIX, SNAPSHOT_SK_PREFIX, DEPLOY_SK_PREFIX):
        raise InvalidName(f"Not an id-carrying sort key: {sk[:60]!r}.")
    return checked
