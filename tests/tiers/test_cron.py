"""Next runs of EventBridge schedule expressions (what ``gaib server tier show`` prints)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gaib.tiers.cron import next_run
from gaib.tiers.table import POLICIES

WED = datetime(2026, 11, 25, 17, 20, 31, tzinfo=UTC)  # a Wednesday


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "after", "expected"), [
    (POLICIES["free"].backup_schedule, WED, at(2026, 11, 26, 3, 0)),
    (POLICIES["free"].backup_schedule, at(2026, 11, 26, 2, 59, 59), at(2026, 11, 26, 3, 0)),
    (POLICIES["free"].backup_schedule, at(2026, 11, 26, 3, 0), at(2026, 11, 27, 3, 0)),  # strictly after
    (POLICIES["premium"].backup_schedule, WED, at(2026, 11, 25, 18, 0)),
    (POLICIES["premium"].backup_schedule, at(2026, 12, 31, 23, 30), at(2027, 1, 1, 0, 0)),
    (str(POLICIES["premium"].snapshot_schedule), WED, at(2026, 11, 29, 4, 0)),
    (str(POLICIES["premium"].snapshot_schedule), at(2026, 11, 29, 4, 0), at(2026, 12, 6, 4, 0)),
    ("cron(15 10 ? * MON-FRI *)", at(2026, 11, 28, 0, 0), at(2026, 11, 30, 10, 15)),  # Saturday -> Monday
    ("cron(0/15 * * * ? *)", WED, at(2026, 11, 25, 17, 30)),
    ("cron(0 12 1 JAN,JUL ? *)", WED, at(2027, 1, 1, 12, 0)),
    ("cron(0 8 ? * 2 *)", WED, at(2026, 11, 30, 8, 0)),  # 2 = Monday in EventBridge
    ("cron(0 0 29 FEB ? 2028)", WED, at(2028, 2, 29, 0, 0)),
])
def test_next_run(expression: str, after: datetime, expected: datetime) -> None:
    assert next_run(expression, after) == expected


@pytest.mark.parametrize("expression", [
    "rate(1 hour)",  # no fixed phase: unknown
    "cron(0 3 L * ? *)", "cron(0 3 ? * 6#3 *)", "cron(0 3 * * ?)", "cron(61 3 * * ? *)", "cron(0 3 * * ? 1900)",
    "", "cron()", "cron(0 0 31 2 ? *)",  # never
    "cron(0 3 * * ? *) junk",
])
def test_unknown_or_unsupported_expressions_give_none(expression: str) -> None:
    assert next_run(expression, WED) is None
