"""Report windows for cron jobs: ``--last 4w`` ending on ``--as-of``, and the windows a
report is compared with (``--compare previous|year``). Dates only; no data here."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_SPAN = re.compile(r"^\s*(\d+)\s*([dwmq])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    """``--last``: N days, weeks, months or quarters."""

    n: int
    unit: str  # d w m q


@dataclass(frozen=True)
class Window:
    since: dt.date | None
    until: dt.date | None

    @property
    def bounded(self) -> bool:
        return self.since is not None and self.until is not None

    @property
    def days(self) -> int:
        assert self.since is not None and self.until is not None
        return (self.until - self.since).days + 1


def parse_span(text: str) -> Span:
    match = _SPAN.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a span such as 7d, 4w, 1m or 1q")
    return Span(int(match.group(1)), match.group(2).lower())


def parse_as_of(text: str | None, today: dt.date) -> dt.date:
    """The as-of day: a date, or ``today``/``yesterday`` (in the business time zone), for
    cron; a ValueError for anything else."""
    if text is None or text.strip().lower() == "today":
        return today
    if text.strip().lower() == "yesterday":
        return today - dt.timedelta(days=1)
    return dt.date.fromisoformat(text.strip())  # ValueError for anything else


def last(span: Span, as_of: dt.date) -> Window:
    """The window of ``span`` that ends on ``as_of`` (inclusive). Months and quarters are
    calendar months: ``1m`` ending 2026-03-31 is March, ending 2026-03-15 is 02-16 → 03-15."""
    if span.unit in "dw":
        days = span.n * (7 if span.unit == "w" else 1)
        return Window(as_of - dt.timedelta(days=days - 1), as_of)
    months = span.n * (3 if span.unit == "q" else 1)
    return Window(add_months(as_of + dt.timedelta(days=1), -months), as_of)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the month's end (Mar 31 - 1 month = Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last_day))


def previous(window: Window, span: Span | None) -> Window:
    """The same-length window just before ``window`` (for ``--last Nm|Nq``: the previous N
    calendar months, so March is compared with February)."""
    assert window.since is not None
    if span is not None and span.unit in "mq":
        return last(span, window.since - dt.timedelta(days=1))
    length = dt.timedelta(days=window.days)
    return Window(window.since - length, window.since - dt.timedelta(days=1))


def year_before(window: Window) -> Window:
    """The same dates a year earlier (Feb 29 becomes Feb 28)."""
    assert window.since is not None and window.until is not None
    return Window(add_months(window.since, -12), add_months(window.until, -12))


def series_every(window: Window) -> str:
    """The bucket for a trend series over ``window``: days for two weeks or less, weeks up to
    half a year, months beyond."""
    if window.days <= 14:
        return "day"
    return "week" if window.days <= 183 else "month"
