"""The one notification event: what Gaib tells people about backups, snapshots, restores and runs.

An ``Event`` serialises to the JSON object documented in docs/infrastructure.md ("SNS message format"),
which the Lambda ``gaib.aws_lambda.discord_notifier`` turns into a Discord embed. Contracts:

- The set of event names is closed (``EVENT_NAMES``); ``to_message()`` always has exactly the documented
  keys (``MESSAGE_KEYS``), absent values as ``null``.
- No event holds a secret: ``message`` and the error message pass through ``gaib.redact.redact``, whole
  webhook URLs and Discord-token-shaped strings are replaced by ``[redacted]``, control characters become
  spaces, and both texts are clipped. ``redacted(secrets)`` scrubs known secret values as well.
- Ids (server id, workspace, backup/snapshot/run id) are checked against ``gaib.names`` patterns.
- ``subject()`` is a valid SNS subject: printable ASCII, no newline, at most 100 characters.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from gaib.errors import GaibError, InternalError
from gaib.names import check_name, check_snowflake
from gaib.redact import REDACTED, redact

EventName = Literal[
    "backup.succeeded",
    "backup.failed",
    "snapshot.succeeded",
    "snapshot.failed",
    "restore.succeeded",
    "restore.failed",
    "rollback.succeeded",
    "rollback.failed",
    "verify.failed",
    "quota.reached",
    "tier.changed",
    "scheduled-run.summary",
]
Kind = Literal["backup", "snapshot", "restore", "rollback"]
Tier = Literal["free", "premium"]

EVENT_NAMES: frozenset[str] = frozenset(get_args(EventName))
KINDS: tuple[str, ...] = get_args(Kind)
TIERS: tuple[str, ...] = get_args(Tier)
MESSAGE_KEYS = ("event", "server_id", "workspace", "tier", "id", "message", "error", "sizes", "counts",
                "duration_ms", "at")

# Human titles (the Lambda keeps the same ones in KNOWN_EVENTS; a test holds them equal).
TITLES: dict[str, str] = {
    "backup.succeeded": "Backup succeeded",
    "backup.failed": "Backup failed",
    "snapshot.succeeded": "Snapshot succeeded",
    "snapshot.failed": "Snapshot failed",
    "restore.succeeded": "Restore succeeded",
    "restore.failed": "Restore failed",
    "rollback.succeeded": "Rollback succeeded",
    "rollback.failed": "Rollback failed",
    "verify.failed": "Verification failed",
    "quota.reached": "Quota reached",
    "tier.changed": "Tier changed",
    "scheduled-run.summary": "Scheduled run summary",
}
# Events that report a failure carry an ``error``; the others never do.
ERROR_EVENTS = frozenset({n for n in EVENT_NAMES if n.endswith(".failed")} | {"quota.reached"})

MESSAGE_LIMIT = 1000
SUBJECT_LIMIT = 100
_ERROR_CODE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_WEBHOOK_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*/webhooks/[^\s\"'<>]*", re.IGNORECASE)
# Discord bot tokens: base64url(user id) . 6 chars . 27+ chars.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
_SPACES_RE = re.compile(r"[ ]{2,}")


def clean_text(text: str, secrets: Iterable[str] = (), *, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` made safe to publish: secrets redacted, control characters replaced, clipped to ``limit``."""
    text = _WEBHOOK_URL_RE.sub(REDACTED, redact(text, secrets))
    text = _TOKEN_RE.sub(REDACTED, text)
    # Cc (newlines, escapes), Cf (bidi overrides, zero-width), Zl/Zp (line/paragraph separators), Cs.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in text)
    text = _SPACES_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _ascii(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


def format_at(at: datetime) -> str:
    """``2025-01-01T03:00:05Z``: the documented UTC timestamp (whole seconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bad(what: str) -> InternalError:
    return InternalError(f"Invalid notification event: {what}.")


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"{what} must be a non-negative integer")
    return value


@dataclass(frozen=True)
class ErrorInfo:
    """A GaibError's ``code`` and (cleaned) ``message``."""

    code: str
    message: str

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _ERROR_CODE_RE.fullmatch(self.code):
            raise _bad("error code must look like STORAGE_ERROR")
        object.__setattr__(self, "message", clean_text(self.message))

    @classmethod
    def of(cls, error: GaibError) -> ErrorInfo:
        """The error's code and message; never raises (an odd code is normalised, not refused)."""
        code = str(error.error_code)
        if not _ERROR_CODE_RE.fullmatch(code):
            code = re.sub(r"[^A-Z0-9_]", "_", code.upper())[:64].lstrip("_0123456789") or GaibError.code
        return cls(code, str(error.message))


@dataclass(frozen=True)
class Sizes:
    stored_bytes: int
    plain_bytes: int

    def __post_init__(self) -> None:
        _count(self.stored_bytes, "stored_bytes")
        _count(self.plain_bytes, "plain_bytes")


@dataclass(frozen=True)
class Counts:
    ok: int
    failed: int
    skipped: int

    def __post_init__(self) -> None:
        for name in ("ok", "failed", "skipped"):
            _count(getattr(self, name), name)


@dataclass(frozen=True)
class Event:
    """One notification. Build it with the class methods; the fields follow the documented format.

    Raises InternalError when fields contradict the format (unknown name, a failure without an error, a
    summary without counts, a naive ``at``) and InvalidName for a malformed id.
    """

    event: EventName
    tier: Tier
    at: datetime
    message: str
    server_id: str | None = None
    workspace: str | None = None
    id: str | None = None
    error: ErrorInfo | None = None
    sizes: Sizes | None = None
    counts: Counts | None = None
    duration_ms: int | None = None

    def __post_init__(self) -> None:
        if self.event not in EVENT_NAMES:
            raise _bad(f"unknown event name {str(self.event)[:40]!r}")
        if self.tier not in TIERS:
            raise _bad(f"tier must be one of {', '.join(TIERS)}")
        if not isinstance(self.at, datetime) or self.at.tzinfo is None:
            raise _bad("'at' must be a timezone-aware datetime")
        if self.server_id is not None:
            check_snowflake(self.server_id)
        if self.workspace is not None:
            check_name(self.workspace, "workspace")
        if self.id is not None:
            check_name(self.id, "id")
        if (self.error is not None) != (self.event in ERROR_EVENTS):
            raise _bad(f"{self.event} {'needs' if self.event in ERROR_EVENTS else 'takes no'} error")
        if self.event == "scheduled-run.summary" and self.counts is None:
            raise _bad("a scheduled-run summary needs counts")
        if self.duration_ms is not None:
            _count(self.duration_ms, "duration_ms")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "message", clean_text(self.message) or TITLES[self.event])

    # --- constructors ------------------------------------------------------------------------------

    @classmethod
    def succeeded(
        cls,
        kind: Kind,
        *,
        tier: Tier,
        at: datetime,
        server_id: str | None = None,
        workspace: str | None = None,
        id: str | None = None,
        message: str | None = None,
        sizes: Sizes | None = None,
        counts: Counts | None = None,
        duration_ms: int | None = None,
    ) -> Event:
        """``<kind>.succeeded``; ``id`` is the backup/snapshot id created, or the id restored/rolled back to."""
        name = _kind_event(kind, "succeeded")
        return cls(event=name, tier=tier, at=at, message=message or TITLES[name], server_id=server_id,
                   workspace=workspace, id=id, sizes=sizes, counts=counts, duration_ms=duration_ms)

    @classmethod
    def failed(
        cls,
        kind: Kind,
        error: GaibError,
        *,
        tier: Tier,
        at: datetime,
        server_id: str | None = None,
        workspace: str | None = None,
        id: str | None = None,
        message: str | None = None,
        sizes: Sizes | None = None,
        counts: Counts | None = None,
        duration_ms: int | None = None,
    ) -> Event:
        """``<kind>.failed`` carrying ``error``'s code and (redacted) message."""
        name = _kind_event(kind, "failed")
        return cls(event=name, tier=tier, at=at, message=message or TITLES[name], server_id=server_id,
                   workspace=workspace, id=id, error=ErrorInfo.of(error), sizes=sizes, counts=counts,
                   duration_ms=duration_ms)

    @classmethod
    def verify_failed(
        cls,
        error: GaibError,
        *,
        tier: Tier,
        at: datetime,
        server_id: str | None = None,
        workspace: str | None = None,
        id: str | None = None,
        message: str | None = None,
    ) -> Event:
        """``verify.failed``: the stored backup/snapshot ``id`` did not pass its checksums."""
        return cls(event="verify.failed", tier=tier, at=at, message=message or TITLES["verify.failed"],
                   server_id=server_id, workspace=workspace, id=id, error=ErrorInfo.of(error))

    @classmethod
    def quota_reached(
        cls,
        error: GaibError,
        *,
        tier: Tier,
        at: datetime,
        server_id: str | None = None,
        workspace: str | None = None,
        message: str | None = None,
    ) -> Event:
        """``quota.reached``: a tier quota refused an operation (``error`` is usually a TierLimit)."""
        return cls(event="quota.reached", tier=tier, at=at, message=message or TITLES["quota.reached"],
                   server_id=server_id, workspace=workspace, error=ErrorInfo.of(error))

    @classmethod
    def tier_changed(cls, *, tier: Tier, at: datetime, server_id: str, id: str | None = None,
                     message: str | None = None) -> Event:
        """``tier.changed``: an operator moved ``server_id`` to ``tier``; ``id`` is the audit record's."""
        return cls(event="tier.changed", tier=tier, at=at, message=message or TITLES["tier.changed"],
                   server_id=server_id, id=id)

    @classmethod
    def summary(
        cls,
        *,
        tier: Tier,
        at: datetime,
        ok: int,
        failed: int,
        skipped: int,
        run_id: str | None = None,
        message: str | None = None,
        duration_ms: int | None = None,
    ) -> Event:
        """``scheduled-run.summary``: one per scheduled run and tier."""
        return cls(event="scheduled-run.summary", tier=tier, at=at,
                   message=message or f"Scheduled {tier} run finished", id=run_id,
                   counts=Counts(ok, failed, skipped), duration_ms=duration_ms)

    # --- views ---------------------------------------------------------------------------------------

    def owner_server(self) -> str | None:
        """The server whose owner this event is for (its ``ServerId`` SNS attribute), or None for an
        operator event: one without a server, or about a whole scheduled run."""
        if self.event == "scheduled-run.summary":
            return None
        return self.server_id

    def redacted(self, secrets: Iterable[str]) -> Event:
        """This event with every value of ``secrets`` scrubbed from its texts (ids cannot hold secrets)."""
        values = [s for s in secrets if s]
        if not values:
            return self
        error = self.error
        if error is not None:
            error = ErrorInfo(error.code, clean_text(error.message, values))
        return dataclasses.replace(self, message=clean_text(self.message, values), error=error)

    def to_message(self) -> dict[str, Any]:
        """The JSON-ready object of the documented format: exactly ``MESSAGE_KEYS``, in that order."""
        return {
            "event": self.event,
            "server_id": self.server_id,
            "workspace": self.workspace,
            "tier": self.tier,
            "id": self.id,
            "message": self.message,
            "error": dataclasses.asdict(self.error) if self.error else None,
            "sizes": dataclasses.asdict(self.sizes) if self.sizes else None,
            "counts": dataclasses.asdict(self.counts) if self.counts else None,
            "duration_ms": self.duration_ms,
            "at": format_at(self.at),
        }

    def subject(self) -> str:
        """An SNS subject: printable ASCII, no newline, at most 100 characters."""
        if self.event == "scheduled-run.summary" and self.counts is not None:
            c = self.counts
            text = f"Gaib: {self.tier} scheduled run: {c.ok} ok, {c.failed} failed, {c.skipped} skipped"
        else:
            text = f"Gaib: {TITLES[self.event]}"
            if self.server_id:
                text += f" - server {self.server_id}"
                if self.workspace:
                    text += f" ({self.workspace})"
        text = _ascii(text)
        return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


_KIND_EVENTS: dict[tuple[str, str], EventName] = {
    ("backup", "succeeded"): "backup.succeeded",
    ("backup", "failed"): "backup.failed",
    ("snapshot", "succeeded"): "snapshot.succeeded",
    ("snapshot", "failed"): "snapshot.failed",
    ("restore", "succeeded"): "restore.succeeded",
    ("restore", "failed"): "restore.failed",
    ("rollback", "succeeded"): "rollback.succeeded",
    ("rollback", "failed"): "rollback.failed",
}


def _kind_event(kind: str, outcome: str) -> EventName:
    name = _KIND_EVENTS.get((kind, outcome))
    if name is None:
        raise _bad(f"kind must be one of {', '.join(KINDS)}")
    return name
