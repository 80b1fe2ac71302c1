"""The Event type against the documented SNS message format, and what it refuses to carry."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaib.aws_lambda import discord_notifier as dn
from gaib.errors import IntegrityError, InternalError, InvalidName, StorageError, TierLimit
from gaib.notify.events import EVENT_NAMES, MESSAGE_KEYS, TITLES, Counts, Event, Sizes, clean_text
from tests.support.clocks import AT
from tests.support.webhook import WEBHOOK_ID, WEBHOOK_TOKEN

DOC = Path(__file__).resolve().parents[2] / "docs" / "infrastructure.md"
SERVER = "123456789012345678"
BOT_TOKEN = "MTEyMjMzNDQ1NTY2Nzc4ODk5.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"
WEBHOOK_URL = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"


def doc_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## SNS message format")
    return text[start: text.index("\n## ", start + 1)]


def first_column(table_header: str, section: str) -> list[str]:
    """The backquoted names in the first column of the table whose header starts with ``table_header``."""
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(table_header))
    names: list[str] = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


def test_message_keys_and_event_names_are_exactly_the_documented_ones() -> None:
    section = doc_section()

    assert first_column("| key |", section) == list(MESSAGE_KEYS)
    assert set(first_column("| event |", section)) == EVENT_NAMES
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    assert list(example) == list(MESSAGE_KEYS)


def test_every_event_name_has_the_same_title_in_the_lambda() -> None:
    assert {name: dn.KNOWN_EVENTS[name][0] for name in EVENT_NAMES} == TITLES


def test_failed_event_takes_code_and_message_from_the_gaib_error() -> None:
    error = StorageError("S3 PutObject returned 503")
    event = Event.failed("backup", error, tier="premium", at=AT, server_id=SERVER, workspace="default",
                         id="20250101T030000Z-abc123", message="Scheduled backup failed", duration_ms=1840)

    assert event.to_message() == {
        "event": "backup.failed",
        "server_id": SERVER,
        "workspace": "default",
        "tier": "premium",
        "id": "20250101T030000Z-abc123",
        "message": "Scheduled backup failed",
        "error": {"code": "STORAGE_ERROR", "message": "S3 PutObject returned 503"},
        "sizes": None,
        "counts": None,
        "duration_ms": 1840,
        "at": "2025-01-01T03:00:05Z",
    }
    assert json.loads(json.dumps(event.to_message())) == event.to_message()


def test_succeeded_event_with_sizes_and_counts() -> None:
    event = Event.succeeded("restore", tier="free", at=AT, server_id=SERVER, workspace="default",
                            id="20250101T030000Z-abc123", sizes=Sizes(2048, 1572864), counts=Counts(12, 0, 3))

    msg = event.to_message()
    assert msg["event"] == "restore.succeeded"
    assert msg["message"] == "Restore succeeded"  # the default sentence
    assert msg["error"] is None
    assert msg["sizes"] == {"stored_bytes": 2048, "plain_bytes": 1572864}
    assert msg["counts"] == {"ok": 12, "failed": 0, "skipped": 3}


def test_summary_verify_and_quota_constructors() -> None:
    summary = Event.summary(tier="free", at=AT, ok=8, failed=2, skipped=1, run_id="run-20250101T0300Z")
    verify = Event.verify_failed(IntegrityError("part state.json.gz: sha256 mismatch"), tier="premium", at=AT,
                                 server_id=SERVER, id="20250101T030000Z-abc123")
    quota = Event.quota_reached(TierLimit("The free tier allows 1 snapshot a week."), tier="free", at=AT,
                                server_id=SERVER)

    assert summary.to_message()["counts"] == {"ok": 8, "failed": 2, "skipped": 1}
    assert summary.to_message()["id"] == "run-20250101T0300Z"
    assert summary.to_message()["server_id"] is None
    assert summary.subject() == "Gaib: free scheduled run: 8 ok, 2 failed, 1 skipped"
    assert verify.to_message()["error"] == {"code": "INTEGRITY_ERROR", "message": "part state.json.gz: sha256 mismatch"}
    assert quota.to_message()["event"] == "quota.reached"
    assert quota.to_message()["error"]["code"] == "TIER_LIMIT"  # type: ignore[index]


def test_at_is_stored_in_utc() -> None:
    local = datetime(2025, 1, 1, 5, 0, 5, tzinfo=timezone(timedelta(hours=2)))

    assert Event.succeeded("backup", tier="free", at=local).to_message()["at"] == "2025-01-01T03:00:05Z"


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Event(event="backup.exploded", tier="free", at=AT, message="x"), InternalError),  # type: ignore[arg-type]
        (lambda: Event(event="backup.failed", tier="free", at=AT, message="x"), InternalError),
        (lambda: Event(event="backup.succeeded", tier="gold", at=AT, message="x"), InternalError),  # type: ignore[arg-type]
        (lambda: Event(event="scheduled-run.summary", tier="free", at=AT, message="x"), InternalError),
        (lambda: Event.succeeded("backup", tier="free", at=datetime(2025, 1, 1)), InternalError),
        (lambda: Event.succeeded("theme", tier="free", at=AT), InternalError),  # type: ignore[arg-type]
        (lambda: Event.succeeded("backup", tier="free", at=AT, duration_ms=-1), InternalError),
        (lambda: Event.summary(tier="free", at=AT, ok=1, failed=-1, skipped=0), InternalError),
        (lambda: Event.succeeded("backup", tier="free", at=AT, server_id="../etc"), InvalidName),
        (lambda: Event.succeeded("backup", tier="free", at=AT, workspace="a b"), InvalidName),
        (lambda: Event.succeeded("backup", tier="free", at=AT, id="x\ny"), InvalidName),
    ],
    ids=["unknown-name", "failure-without-error", "unknown-tier", "summary-without-counts", "naive-at",
         "unknown-kind", "negative-duration", "negative-count", "bad-server-id", "bad-workspace", "bad-id"],
)
def test_events_that_contradict_the_format_are_refused(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


def assert_no_secret(text: str) -> None:
    assert WEBHOOK_TOKEN not in text
    assert f"/webhooks/{WEBHOOK_ID}" not in text
    assert BOT_TOKEN not in text
    assert "supersecret-value" not in text


def test_no_token_or_webhook_url_survives_in_message_or_error() -> None:
    leaky = (f"posting to {WEBHOOK_URL} failed; header Authorization: Bot {BOT_TOKEN}; raw {BOT_TOKEN}; "
             f"escaped \"{WEBHOOK_URL}\" end")
    event = Event.failed("snapshot", StorageError(leaky), tier="premium", at=AT, message=leaky)

    text = json.dumps(event.to_message())
    assert_no_secret(text)
    assert "[redacted]" in event.message and "[redacted]" in event.to_message()["error"]["message"]
    assert event.message.startswith("posting to [redacted] failed")


def test_known_secret_values_are_scrubbed_by_redacted() -> None:
    event = Event.failed("backup", StorageError("key supersecret-value rejected"), tier="free", at=AT,
                         message="token supersecret-value")

    clean = event.redacted(["supersecret-value"])
    assert_no_secret(json.dumps(clean.to_message()))
    assert clean.message == "token [redacted]"
    assert clean.event == event.event and clean.at == event.at


def test_control_characters_are_replaced_and_message_clipped() -> None:
    event = Event.succeeded("backup", tier="free", at=AT,
                            message="line one\nline two\r\n\x1b[31mred\x1b[0m \u202eevil\u2028end\x00" + "x" * 5000)

    assert event.message.startswith("line one line two [31mred [0m evil end ")
    assert not any(ord(ch) < 32 or ch in "\u202e\u2028\x7f" for ch in event.message)
    assert len(event.message) == 1000 and event.message.endswith("…")


def test_empty_or_blank_message_falls_back_to_the_title() -> None:
    assert Event.succeeded("snapshot", tier="free", at=AT, message=" \n\t ").message == "Snapshot succeeded"


def test_clean_text_keeps_ordinary_text() -> None:
    text = "Backup 20250101T030000Z-abc123 of server 123 (workspace default) stored 1.5 MiB — ok ü 🎉"
    assert clean_text(text) == text


_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(sorted(EVENT_NAMES)),
    workspace=st.none() | _names,
    server_id=st.none() | st.from_regex(r"[1-9][0-9]{0,19}", fullmatch=True),
    message=st.text(max_size=300),
    counts=st.tuples(*(st.integers(0, 10**12) for _ in range(3))),
)
def test_subject_is_always_a_valid_sns_subject(
    name: str, workspace: str | None, server_id: str | None, message: str, counts: tuple[int, int, int]
) -> None:
    error = StorageError(message) if name.endswith(".failed") or name == "quota.reached" else None
    event = Event(event=name, tier="premium", at=AT, message=message,  # type: ignore[arg-type]
                  server_id=server_id, workspace=workspace, counts=Counts(*counts),
                  error=None if error is None else Event.failed("backup", error, tier="free", at=AT).error)

    subject = event.subject()
    assert 0 < len(subject) <= 100
    assert all(" " <= ch <= "~" for ch in subject)
    assert subject.startswith("Gaib: ")


def test_long_subject_is_clipped_with_an_ellipsis() -> None:
    event = Event.verify_failed(IntegrityError("x"), tier="premium", at=AT, server_id="1" * 20, workspace="w" * 64)

    assert len(event.subject()) == 100 and event.subject().endswith("...")
    assert event.subject().startswith("Gaib: Verification failed - server 11111111111111111111 (www")


def test_an_odd_error_code_is_normalised_so_a_failure_can_always_be_reported() -> None:
    odd = StorageError("boom", code="s3-put.failed")
    empty = StorageError("boom", code="--")

    assert Event.failed("backup", odd, tier="free", at=AT).to_message()["error"]["code"] == "S3_PUT_FAILED"
    assert Event.failed("backup", empty, tier="free", at=AT).to_message()["error"]["code"] == "GAIB_ERROR"
