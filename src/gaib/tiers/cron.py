"""The next run of an EventBridge schedule expression (UTC): ``cron(m h dom mon dow year)`` or ``rate(n unit)``.

Enough of EventBridge's syntax for the tier table and for what an operator may put in the Terraform's
schedule variables: ``*``, ``?``, numbers, ranges ``a-b``, lists ``a,b``, steps ``*/n`` and ``a/n``,
month names (JAN-DEC) and weekday names (SUN-SAT; numbers 1-7 mean SUN-SAT). ``L``, ``W`` and ``#``
are not supported (``next_run`` returns None). A ``rate(...)`` schedule has no fixed phase (it runs
``n`` units after it was enabled), so its next run is unknown and None is returned too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_CRON_RE = re.compile(r"cron\(([^)]*)\)")
_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"], start=1)}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_HORIZON = timedelta(days=8 * 366)  # long enough for a 29 February


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a cron field allows, or None when it uses syntax this module does not handle."""
    out: set[int] = set()
    for part in field.upper().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                return None
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a, names), _number(b, names)
            if first is None or last is None:
                return None
            start, end = first, last
        else:
            value = _number(part, names)
            if value is None:
                return None
            start, end = value, (high if step > 1 else value)
        if not low <= start <= high or not low <= end <= high or start > end:
            return None
        out.update(range(start, end + 1, step))
    return out


def _number(text: str, names: dict[str, int]) -> int | None:
    if text in names:
        return names[text]
    return int(text) if text.isdigit() else None


def next_run(expression: str, after: datetime) -> datetime | None:
    """The first time strictly after ``after`` at which ``expression`` fires (UTC), or None when that
    cannot be told (a ``rate`` schedule, unsupported syntax, nothing within eight years)."""
    m = _CRON_RE.fullmatch(expression.strip())
    if m is None:
        return None
    fields = m.group(1).split()
    if len(fields) != 6:
        return None
    minutes = _values(fields[0], 0, 59, {})
    hours = _values(fields[1], 0, 23, {})
    dom = _values(fields[2], 1, 31, {})
    months = _values(fields[3], 1, 12, _MONTHS)
    dow = _values(fields[4], 1, 7, _DAYS)
    years = _values(fields[5], 1970, 2199, {})
    if None in (minutes, hours, dom, months, dow, years):
        return None
    assert minutes is not None and hours is not None and dom is not None and months is not None
    assert dow is not None and years is not None
    dom_any, dow_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    start = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    while day - start < _HORIZON:
        weekday = (day.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
        day_ok = (dom_any or day.day in dom) and (dow_any or weekday in dow)
        if day_ok and day.month in months and day.year in years:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment >= start:
                        return moment
        day += timedelta(days=1)
    return None


def previous_run(expression: str, at: datetime) -> datetime | None:
    """The last time at or before ``at`` at which ``expression`` fired (UTC), or None when that cannot
    be told (a ``rate`` schedule, unsupported syntax, nothing within eight years before ``at``)."""
    m = _CRON_RE.fullmatch(expression.strip())
    if m is None:
        return None
    fields = m.group(1).split()
    if len(fields) != 6:
        return None
    parsed = [_values(fields[0], 0, 59, {}), _values(fields[1], 0, 23, {}), _values(fields[2], 1, 31, {}),
              _values(fields[3], 1, 12, _MONTHS), _values(fields[4], 1, 7, _DAYS), _values(fields[5], 1970, 2199, {})]
    if any(v is None for v in parsed):
        return None
    minutes, hours, dom, months, dow, years = (v or set() for v in parsed)
    dom_any, dow_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    end = at.astimezone(UTC).replace(second=0, microsecond=0)
    day = end.replace(hour=0, minute=0)
    while end - day < _HORIZON:
        weekday = (day.isoweekday() % 7) + 1
        day_ok = (dom_any or day.day in dom) and (dow_any or weekday in dow)
        if day_ok and day.month in months and day.year in years:
            for hour in sorted(hours, reverse=True):
                for minute in sorted(minutes, reverse=True):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment <= end:
                        return moment
        day -= timedelta(days=1)
    return None
