"""SNS → Discord webhook notifier (AWS Lambda handler ``gaib.aws_lambda.discord_notifier.handler``).

Contracts:

- Runs in the Lambda Python runtime with the standard library and the runtime's boto3 only; boto3 is
  imported inside the functions that need it.
- Routing: a record whose SNS message attribute ``ServerId`` names a server is that server's owner's
  event and goes only to the server's own webhook; a record without it (an operator event: no server,
  or a whole scheduled run) goes only to the operator's webhook. An owner never receives another
  server's events: a ``ServerId`` that is malformed or that disagrees with the message's ``server_id``
  is dropped, and so is a server event of a server without a webhook (never sent to the operator).
- The operator's webhook URL is read from Secrets Manager (env ``GAIB_DISCORD_WEBHOOK_SECRET_ARN``) or
  from an SSM SecureString parameter (env ``GAIB_DISCORD_WEBHOOK_PARAMETER``). A server's webhook is
  named by its catalog item ``SERVER#{id}/NOTIFY`` (table: env ``GAIB_CATALOG_TABLE``; field
  ``webhook_secret``): a secret named ``gaib/webhooks/...`` whose ``ServerId`` tag names that same
  server and which holds a Discord webhook URL (``gaib server notify set`` checks the same). No URL
  ever appears in a log line, an exception message or the handler's return value.
- Records come from SNS (``Records[].Sns``) or from an SQS queue subscribed to the topic
  (``Records[].body``: the SNS envelope, or the raw message with ``messageAttributes``).
- Every SNS record becomes one Discord embed. Messages follow the format of docs/infrastructure.md
  ("SNS message format"); anything else (unknown keys, wrong types, non-JSON text, CloudWatch alarm JSON)
  is rendered leniently and never crashes the handler. Embeds respect Discord's limits.
- Delivery retries 429 (waiting ``retry_after`` / ``Retry-After``) and 5xx/network errors with capped
  exponential backoff. Other 4xx are permanent: the record is given up; a 404 (webhook deleted) also stops
  the remaining records of the invocation bound for that webhook. Transient failures of the operator's
  webhook that outlast the retries raise ``WebhookUnavailable`` so Lambda's own retries and the
  dead-letter queue take over; those of a server's webhook fail that record only (a retry would repeat
  every other destination's messages).

Over 500 lines on purpose (a named exception to the module size rule): the Lambda is deployed as this one
file plus empty package markers (``archive_file.discord_notifier`` in infrastructure/terraform/gaib-backups.tf,
pinned by tests/infra), so it cannot import a sibling module; its parts are the webhook secret, the embed
and the delivery, in that order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

LOG = logging.getLogger(__name__)

ENV_SECRET_ARN = "GAIB_DISCORD_WEBHOOK_SECRET_ARN"
ENV_PARAMETER = "GAIB_DISCORD_WEBHOOK_PARAMETER"
ENV_CATALOG_TABLE = "GAIB_CATALOG_TABLE"

# Owner routing. These mirror gaib.storage.keys (NOTIFY_SK, SERVER_PK_PREFIX), gaib.secrets.base
# (WEBHOOK_SECRET_PREFIX and the name pattern) and gaib.notify.webhook (the URL rule); this file cannot
# import them (it is deployed alone), so tests/aws_lambda holds each pair equal.
SERVER_ATTRIBUTE = "ServerId"
SERVER_TAG = "ServerId"
SERVER_PK_PREFIX = "SERVER#"
NOTIFY_SK = "NOTIFY"
WEBHOOK_SECRET_FIELD = "webhook_secret"
WEBHOOK_SECRET_PREFIX = "gaib/webhooks/"
SNOWFLAKE_PATTERN = r"(0|[1-9][0-9]{0,19})"
WEBHOOK_NAME_PATTERN = (r"gaib/webhooks/[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,127}"
                        r"(?:/[A-Za-z0-9_+=@-][A-Za-z0-9_+=.@-]{0,127}){0,7}")
SECRET_ARN_PREFIX_PATTERN = r"arn:aws(?:-[a-z]+)*:secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:secret:"
DISCORD_URL_PATTERN = (r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9.-]+|\[::1\])(?::(?P<port>\d{1,5}))?"
                       r"/api(?:/v\d{1,2})?/webhooks/(?P<id>\d{1,20})/(?P<token>[A-Za-z0-9_-]{1,128})")
DISCORD_HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})

# Discord embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000

COLOR_SUCCESS = 0x2ECC71
COLOR_FAILURE = 0xE74C3C
COLOR_WARNING = 0xE67E22
COLOR_NEUTRAL = 0x95A5A6

KNOWN_EVENTS = {
    "backup.succeeded": ("Backup succeeded", "Backup ID"),
    "backup.failed": ("Backup failed", "Backup ID"),
    "snapshot.succeeded": ("Snapshot succeeded", "Snapshot ID"),
    "snapshot.failed": ("Snapshot failed", "Snapshot ID"),
    "restore.succeeded": ("Restore succeeded", "Restored from"),
    "restore.failed": ("Restore failed", "Restored from"),
    "rollback.succeeded": ("Rollback succeeded", "Rolled back to"),
    "rollback.failed": ("Rollback failed", "Rolled back to"),
    "verify.failed": ("Verification failed", "Checked ID"),
    "quota.reached": ("Quota reached", "ID"),
    "tier.changed": ("Tier changed", "Audit ID"),
    "scheduled-run.summary": ("Scheduled run summary", "Run ID"),
}

SECRET_CACHE_SECONDS = 300.0
USER_AGENT = "gaib-discord-notifier (https://github.com/gaib, 1.0)"


class NotifierError(Exception):
    """Base of the notifier's failures; messages never contain the webhook URL."""


class NotifierConfigError(NotifierError):
    """The webhook secret is not configured, cannot be read, or does not hold a usable URL."""


class OwnerRouteError(NotifierConfigError):
    """A server's own webhook cannot be used (no catalog table, unreadable item or secret, a secret not
    bound to the server, not a Discord webhook URL): that server's records are dropped, no one else's."""


class WebhookUnavailable(NotifierError):
    """Discord kept failing transiently (5xx, 429, network) after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one webhook POST."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A retry_after above this is not waited out in the function; the record fails as transient instead.
    max_retry_after: float = 30.0
    timeout: float = 10.0


@dataclass(frozen=True)
class Delivery:
    """Outcome of posting one embed."""

    ok: bool
    status: int | None
    attempts: int
    permanent: bool = False


@dataclass
class InvocationResult:
    """What ``handler`` returns (and logs): counts only, no URL and no message content."""

    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    stopped: str | None = None
    statuses: list[int | None] = field(default_factory=list)
    unrouted: int = 0
    """Server events dropped because the server has no usable webhook of its own."""
    owners: int = 0
    """Of ``delivered``, the events that reached a server's own webhook."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "skipped": self.skipped,
            "stopped": self.stopped,
            "statuses": list(self.statuses),
            "unrouted": self.unrouted,
            "owners": self.owners,
        }


# The clock: tests may replace these two (they are the only things that may be mocked).
_sleep: Callable[[float], None] = time.sleep
_monotonic: Callable[[], float] = time.monotonic

_cache: dict[str, tuple[float, str]] = {}


# --------------------------------------------------------------------------------------------------
# Secret lookup
# --------------------------------------------------------------------------------------------------


def webhook_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Read the webhook URL named by the environment (Secrets Manager ARN or SSM parameter name).

    Cached for a few minutes per warm container so rotation is picked up. Raises NotifierConfigError.
    """
    env = os.environ if environ is None else environ
    secret_arn = env.get(ENV_SECRET_ARN, "").strip()
    parameter = env.get(ENV_PARAMETER, "").strip()
    if secret_arn and parameter:
        raise NotifierConfigError(f"set only one of {ENV_SECRET_ARN} and {ENV_PARAMETER}")
    if not secret_arn and not parameter:
        raise NotifierConfigError(f"neither {ENV_SECRET_ARN} nor {ENV_PARAMETER} is set")
    cache_key = f"secret:{secret_arn}" if secret_arn else f"ssm:{parameter}"
    cached = _cache.get(cache_key)
    if cached is not None and _monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1]
    raw = _read_secret(secret_arn) if secret_arn else _read_parameter(parameter)
    url = parse_webhook_secret(raw)
    _cache[cache_key] = (_monotonic(), url)
    return url


def clear_cache() -> None:
    """Forget cached webhook URLs (the next invocation reads the secret again)."""
    _cache.clear()


# botocore logs whole response bodies at DEBUG, and these bodies hold the webhook URL.
_SDK_LOGGERS = ("botocore", "boto3", "urllib3")


@contextmanager
def _sdk_debug_logging_off() -> Iterator[None]:
    """Raise the AWS SDK loggers to INFO (if lower) for the duration; restores them afterwards."""
    saved = []
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _read_secret(secret_arn: str) -> str:
    with _sdk_debug_logging_off():
        return _fetch_secret(secret_arn)


def _read_parameter(name: str) -> str:
    with _sdk_debug_logging_off():
        return _fetch_parameter(name)


def _fetch_secret(secret_arn: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        raise NotifierConfigError(f"cannot read the webhook secret from Secrets Manager ({code})") from None
    except BotoCoreError as exc:
        raise NotifierConfigError(
            f"cannot reach Secrets Manager for the webhook secret ({type(exc).__name__})"
        ) from None
    value = response.get("SecretString")
    if not isinstance(value, str):
        raise NotifierConfigError("the webhook secret has no SecretString")
    return value


def _fetch_parameter(name: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        raise NotifierConfigError(f"cannot read the webhook parameter from SSM ({code})") from None
    except BotoCoreError as exc:
        raise NotifierConfigError(
            f"cannot reach SSM for the webhook parameter ({type(exc).__name__})"
        ) from None
    value = response.get("Parameter", {}).get("Value")
    if not isinstance(value, str):
        raise NotifierConfigError("the webhook parameter has no value")
    return value


def parse_webhook_secret(raw: str) -> str:
    """The webhook URL from a secret value: the URL itself, or JSON with a ``url``/``webhook_url`` key.

    Only https URLs are accepted, except http to a loopback host (local testing). Raises
    NotifierConfigError without echoing the value.
    """
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise NotifierConfigError("the webhook secret is neither a URL nor valid JSON") from None
        candidate = data.get("url", data.get("webhook_url")) if isinstance(data, dict) else None
        if not isinstance(candidate, str):
            raise NotifierConfigError("the webhook secret JSON has no string 'url' or 'webhook_url' key")
        text = candidate.strip()
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        raise NotifierConfigError("the webhook secret does not hold a valid URL") from None
    host = (parts.hostname or "").lower()
    loopback = host in {"127.0.0.1", "localhost", "::1"}
    allowed = (parts.scheme == "https" and bool(host)) or (parts.scheme == "http" and loopback)
    if not allowed:
        raise NotifierConfigError(
            "the webhook secret must hold an https:// URL (http:// only to a loopback test host)"
        )
    if any(ch in text for ch in ("\r", "\n", " ", "\t")):
        raise NotifierConfigError("the webhook secret URL contains whitespace")
    return text


# --------------------------------------------------------------------------------------------------
# A server's own webhook
# --------------------------------------------------------------------------------------------------

_SNOWFLAKE_RE = re.compile(SNOWFLAKE_PATTERN)
_WEBHOOK_NAME_RE = re.compile(WEBHOOK_NAME_PATTERN)
_SECRET_ARN_PREFIX_RE = re.compile(SECRET_ARN_PREFIX_PATTERN)
_DISCORD_URL_RE = re.compile(DISCORD_URL_PATTERN)


def parse_owner_webhook(raw: str) -> str:
    """A server's webhook URL from its secret's text: stricter than the operator's, only a Discord webhook
    URL (``https://discord.com/api/webhooks/ID/TOKEN``; http only to a loopback test host), as
    ``gaib.notify.webhook.parse_webhook_url`` accepts. Raises OwnerRouteError without echoing the value."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        found = [data.get(k) for k in ("url", "webhook_url")] if isinstance(data, dict) else []
        candidates = [c for c in found if isinstance(c, str)]
        if not candidates:
            raise OwnerRouteError("the server's webhook secret JSON has no string 'url' or 'webhook_url' key")
        text = candidates[0].strip()
    match = _DISCORD_URL_RE.fullmatch(text)
    if match is None:
        raise OwnerRouteError("the server's webhook secret does not hold a Discord webhook URL")
    host = match["host"].lower()
    port = match["port"]
    if not ((match["scheme"] == "https" and host in DISCORD_HOSTS and port is None)
            or (host in LOOPBACK_HOSTS and (port is None or 0 < int(port) < 65536))):
        raise OwnerRouteError("the server's webhook secret holds a URL on a host that is not Discord's")
    return text


def owner_webhook_url(server_id: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The webhook URL of ``server_id``'s owner, or None when the server registered none.

    Reads the catalog item ``SERVER#{id}/NOTIFY`` (table ``GAIB_CATALOG_TABLE``), checks the secret it names
    (``gaib/webhooks/...``, its ``ServerId`` tag naming this same server) and the URL in it. Cached per
    server like the operator's. Raises OwnerRouteError (never with the URL) when something is unusable.
    """
    if not _SNOWFLAKE_RE.fullmatch(server_id):
        raise OwnerRouteError("malformed server id")
    env = os.environ if environ is None else environ
    table = env.get(ENV_CATALOG_TABLE, "").strip()
    if not table:
        raise OwnerRouteError(f"{ENV_CATALOG_TABLE} is not set: server events cannot be routed")
    cache_key = f"owner:{server_id}"
    cached = _cache.get(cache_key)
    if cached is not None and _monotonic() - cached[0] < SECRET_CACHE_SECONDS:
        return cached[1] or None
    with _sdk_debug_logging_off():
        secret = _fetch_owner_secret_name(table, server_id)
        url = _fetch_owner_url(secret, server_id) if secret is not None else ""
    _cache[cache_key] = (_monotonic(), url)
    return url or None


def _aws_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "Unknown"))
    return type(exc).__name__


def _fetch_owner_secret_name(table: str, server_id: str) -> str | None:
    import boto3

    try:
        item = boto3.client("dynamodb").get_item(
            TableName=table,
            Key={"PK": {"S": f"{SERVER_PK_PREFIX}{server_id}"}, "SK": {"S": NOTIFY_SK}},
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": WEBHOOK_SECRET_FIELD},
        ).get("Item")
    except Exception as exc:  # botocore's ClientError and transport errors alike
        raise OwnerRouteError(f"cannot read the server's notification item ({_aws_code(exc)})") from None
    if not item:
        return None
    name = item.get(WEBHOOK_SECRET_FIELD, {}).get("S")
    if not isinstance(name, str) or not _WEBHOOK_NAME_RE.fullmatch(_SECRET_ARN_PREFIX_RE.sub("", name, count=1)):
        raise OwnerRouteError("the server's notification item does not name a gaib/webhooks/ secret")
    return name


def _fetch_owner_url(secret: str, server_id: str) -> str:
    import boto3

    client = boto3.client("secretsmanager")
    try:
        tags = client.describe_secret(SecretId=secret).get("Tags") or []
        tagged = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)}
        if tagged.get(SERVER_TAG) != server_id:
            raise OwnerRouteError(f"the secret {secret} is not tagged {SERVER_TAG}={server_id}")
        raw = client.get_secret_value(SecretId=secret).get("SecretString")
    except OwnerRouteError:
        raise
    except Exception as exc:  # botocore's ClientError and transport errors alike
        raise OwnerRouteError(f"cannot read the server's webhook secret {secret} ({_aws_code(exc)})") from None
    if not isinstance(raw, str):
        raise OwnerRouteError(f"the server's webhook secret {secret} has no SecretString")
    return parse_owner_webhook(raw)


# --------------------------------------------------------------------------------------------------
# Message → embed
# --------------------------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def _text(value: Any) -> str | None:
    """A display string for any JSON value, or None when there is nothing to show."""
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    if isinstance(value, bool | int | float):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def format_bytes(value: Any) -> str | None:
    """``1.5 MiB (1,572,864 bytes)``; None for a missing value; non-numbers shown as text."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _text(value)
    if not math.isfinite(value) or value < 0:
        return _text(value)
    amount = float(value)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(value):,} bytes"
            return f"{amount:.1f} {unit} ({int(value):,} bytes)"
        amount /= 1024
    return None  # pragma: no cover - the loop always returns


def format_duration(value: Any) -> str | None:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min`` for milliseconds; non-numbers shown as text."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return _text(value)
    if value < 1000:
        return f"{int(value)} ms"
    seconds = value / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _timestamp(value: Any) -> str | None:
    """The ISO-8601 UTC timestamp Discord wants, or None when ``value`` is not a datetime string."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


class _EmbedBuilder:
    def __init__(self, title: str, color: int) -> None:
        self.title = _clip(title, TITLE_LIMIT)
        self.color = color
        self.description: str | None = None
        self.fields: list[dict[str, Any]] = []
        self.footer: str | None = None
        self.timestamp: str | None = None

    def describe(self, text: str | None) -> None:
        if text:
            self.description = _clip(text, DESCRIPTION_LIMIT)

    def add(self, name: str, value: str | None, *, inline: bool = True) -> None:
        if value is None or len(self.fields) >= FIELDS_LIMIT:
            return
        self.fields.append(
            {
                "name": _clip(name, FIELD_NAME_LIMIT) or "-",
                "value": _clip(value, FIELD_VALUE_LIMIT) or "-",
                "inline": inline,
            }
        )

    def build(self) -> dict[str, Any]:
        embed: dict[str, Any] = {"title": self.title, "color": self.color}
        description = self.description
        fields = list(self.fields)
        footer = _clip(self.footer, FOOTER_LIMIT) if self.footer else None

        def total() -> int:
            n = len(self.title) + len(description or "") + len(footer or "")
            return n + sum(len(f["name"]) + len(f["value"]) for f in fields)

        # Over the 6000-character total: shorten the description first, then drop trailing fields.
        excess = total() - TOTAL_LIMIT
        if excess > 0 and description:
            keep = max(len(description) - excess, 0)
            description = _clip(description, keep) if keep > 1 else None
        while total() > TOTAL_LIMIT and fields:
            fields.pop()
        if description:
            embed["description"] = description
        if fields:
            embed["fields"] = fields
        if footer:
            embed["footer"] = {"text": footer}
        if self.timestamp:
            embed["timestamp"] = self.timestamp
        return embed


def _summary_color(counts: Any) -> int:
    if not isinstance(counts, dict):
        return COLOR_NEUTRAL
    failed = counts.get("failed")
    ok = counts.get("ok")
    if isinstance(failed, int) and not isinstance(failed, bool) and failed > 0:
        return COLOR_FAILURE if not (isinstance(ok, int) and ok > 0) else COLOR_WARNING
    return COLOR_SUCCESS


def _gaib_embed(message: dict[str, Any], subject: str | None) -> dict[str, Any]:
    event = message.get("event")
    event_name = event if isinstance(event, str) else None
    title, id_label = KNOWN_EVENTS.get(event_name or "", (None, "ID"))
    tier = _text(message.get("tier"))
    if title is None:
        title = subject or (f"Gaib: {event_name}" if event_name else "Gaib notification")
    elif tier and event_name == "scheduled-run.summary":
        title = f"{title} ({tier})"

    if event_name and event_name.endswith(".succeeded"):
        color = COLOR_SUCCESS
    elif event_name and event_name.endswith(".failed"):
        color = COLOR_FAILURE
    elif event_name == "scheduled-run.summary":
        color = _summary_color(message.get("counts"))
    elif event_name == "quota.reached":
        color = COLOR_WARNING
    else:
        color = COLOR_NEUTRAL

    embed = _EmbedBuilder(title, color)
    embed.describe(_text(message.get("message")))
    embed.add("Server", _text(message.get("server_id")))
    embed.add("Workspace", _text(message.get("workspace")))
    embed.add("Tier", tier)
    embed.add(id_label, _text(message.get("id")))

    sizes = message.get("sizes")
    if isinstance(sizes, dict):
        embed.add("Stored size", format_bytes(sizes.get("stored_bytes")))
        embed.add("Plain size", format_bytes(sizes.get("plain_bytes")))
    elif sizes is not None:
        embed.add("Sizes", _text(sizes))

    counts = message.get("counts")
    if isinstance(counts, dict):
        for key, label in (("ok", "OK"), ("failed", "Failed"), ("skipped", "Skipped")):
            embed.add(label, _text(counts.get(key)))
    elif counts is not None:
        embed.add("Counts", _text(counts))

    embed.add("Duration", format_duration(message.get("duration_ms")))

    error = message.get("error")
    if isinstance(error, dict):
        code = _text(error.get("code"))
        text = _text(error.get("message"))
        joined = f"{code}: {text}" if code and text else (code or text)
        embed.add("Error", joined or _text(error), inline=False)
    elif error is not None:
        embed.add("Error", _text(error), inline=False)

    embed.footer = f"gaib · {event_name}" if event_name else "gaib"
    embed.timestamp = _timestamp(message.get("at"))
    return embed.build()


def _alarm_embed(message: dict[str, Any]) -> dict[str, Any]:
    state = _text(message.get("NewStateValue")) or "UNKNOWN"
    name = _text(message.get("AlarmName")) or "alarm"
    color = {"ALARM": COLOR_FAILURE, "OK": COLOR_SUCCESS}.get(state, COLOR_WARNING)
    embed = _EmbedBuilder(f"Alarm {name} is {state}", color)
    embed.describe(_text(message.get("NewStateReason")) or _text(message.get("AlarmDescription")))
    trigger = message.get("Trigger")
    if isinstance(trigger, dict):
        embed.add("Metric", _text(trigger.get("MetricName")))
        embed.add("Namespace", _text(trigger.get("Namespace")))
        dims = trigger.get("Dimensions")
        if isinstance(dims, list):
            pairs = [f"{d.get('name')}={d.get('value')}" for d in dims if isinstance(d, dict)]
            embed.add("Dimensions", ", ".join(pairs) or None)
    embed.add("Previous state", _text(message.get("OldStateValue")))
    embed.footer = "gaib · cloudwatch-alarm"
    embed.timestamp = _timestamp(message.get("StateChangeTime"))
    return embed.build()


def _text_embed(text: str, subject: str | None) -> dict[str, Any]:
    embed = _EmbedBuilder(subject or "Gaib notification", COLOR_NEUTRAL)
    embed.describe(text.strip() or None)
    embed.footer = "gaib"
    return embed.build()


def build_embed(raw_message: str, subject: str | None = None) -> dict[str, Any]:
    """One Discord embed for an SNS message body; never raises, whatever the body holds."""
    subject_text = _text(subject)
    try:
        parsed = json.loads(raw_message)
    except (ValueError, TypeError, RecursionError):
        return _text_embed(str(raw_message), subject_text)
    try:
        if isinstance(parsed, dict):
            if "AlarmName" in parsed and "NewStateValue" in parsed:
                return _alarm_embed(parsed)
            return _gaib_embed(parsed, subject_text)
    except Exception:  # lenient by contract: a surprising body still produces a message
        LOG.warning("could not render a structured embed; sending the raw text")
    return _text_embed(str(raw_message), subject_text)


def build_payload(embed: dict[str, Any]) -> dict[str, Any]:
    """The webhook request body: one embed, and no mentions are ever parsed from message text."""
    return {"username": "Gaib backups", "embeds": [embed], "allowed_mentions": {"parse": []}}


# --------------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------------


class _Headers(Protocol):
    def get(self, name: str, /) -> str | None: ...


def _retry_after(headers: _Headers, body: bytes) -> float | None:
    try:
        data = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        value = data.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    header = headers.get("Retry-After")  # email.message lookups are case-insensitive
    if header is not None:
        try:
            seconds = float(header)
        except ValueError:
            return None
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _backoff(attempt: int, policy: RetryPolicy) -> float:
    return float(min(policy.base_delay * (2 ** (attempt - 1)), policy.max_delay))


def post_webhook(url: str, payload: Mapping[str, Any], policy: RetryPolicy | None = None) -> Delivery:
    """POST ``payload`` to the webhook, retrying 429/5xx/network errors as described in the module doc.

    Returns a Delivery for success and for permanent failures (4xx other than 429); raises
    WebhookUnavailable when transient failures outlast ``policy.max_attempts``.
    """
    policy = policy or RetryPolicy()
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    last_status: int | None = None
    for attempt in range(1, policy.max_attempts + 1):
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        wait: float
        try:
            with urllib.request.urlopen(request, timeout=policy.timeout) as response:
                status = int(response.status)
                LOG.info("webhook answered %d on attempt %d", status, attempt)
                return Delivery(ok=True, status=status, attempts=attempt)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
            last_status = status
            error_body = exc.read() if exc.fp is not None else b""
            if status == 429:
                retry_after = _retry_after(exc.headers, error_body)
                wait = retry_after if retry_after is not None else _backoff(attempt, policy)
                if wait > policy.max_retry_after:
                    LOG.warning("webhook rate limited for %.1fs, longer than this function waits", wait)
                    break
                LOG.warning("webhook rate limited (429); retrying in %.2fs", wait)
            elif status >= 500:
                wait = _backoff(attempt, policy)
                LOG.warning("webhook server error %d; retrying in %.2fs", status, wait)
            else:
                LOG.error("webhook refused the message with %d; not retrying", status)
                return Delivery(ok=False, status=status, attempts=attempt, permanent=True)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            # Deliberately only the exception type: reasons can carry host names.
            last_status = None
            wait = _backoff(attempt, policy)
            LOG.warning("webhook unreachable (%s); retrying in %.2fs", type(exc).__name__, wait)
        if attempt < policy.max_attempts:
            _sleep(wait)
    raise WebhookUnavailable(
        f"Discord webhook still failing after {policy.max_attempts} attempts (last status {last_status})"
    )


# --------------------------------------------------------------------------------------------------
# Lambda entry point
# --------------------------------------------------------------------------------------------------


def _records(event: Any) -> list[dict[str, Any]]:
    if not isinstance(event, dict):
        return []
    records = event.get("Records")
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict)]


def _sns_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The SNS notification of a record: SNS's own (``Sns``), or what an SQS queue subscribed to the topic
    received (the envelope as ``body``, or with raw delivery the message and ``messageAttributes``)."""
    sns = record.get("Sns")
    if isinstance(sns, dict):
        return sns
    body = record.get("body")
    if record.get("eventSource") != "aws:sqs" or not isinstance(body, str):
        return None
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        envelope = None
    if isinstance(envelope, dict) and envelope.get("Type") == "Notification" and "Message" in envelope:
        return envelope
    attributes = record.get("messageAttributes")
    converted = {}
    if isinstance(attributes, dict):
        for name, value in attributes.items():
            if isinstance(value, dict):
                converted[name] = {"Type": value.get("dataType"), "Value": value.get("stringValue")}
    return {"Message": body, "MessageAttributes": converted}


_OPERATOR = ""


def _destination(sns: dict[str, Any]) -> str | None:
    """``""`` (the operator) for a record without ``ServerId``, the server id for a server's event, None
    for a record that must go nowhere (a malformed ``ServerId``, or one the message contradicts)."""
    attributes = sns.get("MessageAttributes")
    attribute = attributes.get(SERVER_ATTRIBUTE) if isinstance(attributes, dict) else None
    if attribute is None:
        return _OPERATOR
    value = attribute.get("Value") if isinstance(attribute, dict) else None
    if not isinstance(value, str) or not _SNOWFLAKE_RE.fullmatch(value):
        LOG.warning("dropping a record with a malformed %s attribute", SERVER_ATTRIBUTE)
        return None
    try:
        body = json.loads(sns["Message"])
    except (ValueError, TypeError, RecursionError):
        body = None
    named = body.get("server_id") if isinstance(body, dict) else None
    if named is not None and named != value:
        LOG.warning("dropping a record whose %s attribute (%s) and message disagree", SERVER_ATTRIBUTE, value)
        return None
    return value


def handler(event: Any, context: Any = None, *, policy: RetryPolicy | None = None) -> dict[str, Any]:
    """Lambda entry point: post one Discord embed per record, to the webhook its ``ServerId`` routes to.

    Returns counts (``delivered``, ``failed``, ``skipped``, ``stopped``, ``statuses``, ``unrouted``,
    ``owners``). Raises NotifierConfigError when the operator's webhook secret is unusable and an operator
    event needs it, and WebhookUnavailable when the operator's webhook keeps failing transiently, so
    Lambda retries the invocation and finally dead-letters it. A server's unusable webhook drops that
    server's records (``unrouted``), logged with the server id and the reason, never the URL.
    """
    level = os.environ.get("LOG_LEVEL", "").upper()
    if level in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        LOG.setLevel(level)
    result = InvocationResult()
    records = _records(event)
    if not records:
        LOG.info("no SNS records in the event")
        return result.as_dict()
    urls: dict[str, str | None] = {}
    dead: set[str] = set()
    for record in records:
        sns = _sns_of(record)
        if sns is None or not isinstance(sns.get("Message"), str):
            LOG.warning("skipping a record without an SNS message")
            result.skipped += 1
            continue
        destination = _destination(sns)
        if destination is None or destination in dead:
            result.skipped += 1
            continue
        if destination not in urls:
            if destination == _OPERATOR:
                urls[destination] = webhook_url_from_env()
            else:
                try:
                    urls[destination] = owner_webhook_url(destination)
                except OwnerRouteError as exc:
                    LOG.warning("server %s: not delivered: %s", destination, exc)
                    urls[destination] = None
                if urls[destination] is None:
                    LOG.info("server %s has no webhook of its own; its events are not delivered", destination)
        url = urls[destination]
        if url is None:
            result.unrouted += 1
            continue
        subject = sns.get("Subject") if isinstance(sns.get("Subject"), str) else None
        embed = build_embed(sns["Message"], subject)
        try:
            delivery = post_webhook(url, build_payload(embed), policy)
        except WebhookUnavailable:
            if destination == _OPERATOR:
                raise
            LOG.warning("server %s: its webhook kept failing; this record is given up", destination)
            delivery = Delivery(ok=False, status=None, attempts=(policy or RetryPolicy()).max_attempts)
        result.statuses.append(delivery.status)
        if delivery.ok:
            result.delivered += 1
            result.owners += destination != _OPERATOR
        else:
            result.failed += 1
            if delivery.status == 404:
                whose = "the operator's webhook" if destination == _OPERATOR else f"the webhook of server {destination}"
                dead.add(destination)
                result.stopped = result.stopped or f"{whose} was not found (404): it was deleted or the secret is stale"
                LOG.error("stopping deliveries to %s: not found (404)", whose)
    LOG.info(
        "notifications: %d delivered (%d to owners), %d failed, %d skipped, %d unrouted",
        result.delivered,
        result.owners,
        result.failed,
        result.skipped,
        result.unrouted,
    )
    return result.as_dict()
