"""What the user asked for on the command line, checked in one place.

The CLI builds a ``ReportRequest`` (or a check's ``as_of``) from its flags; ``resolve``
refuses a bad flag or a combination that cannot apply with a message naming the flag, and
hands the pipeline typed values. Nothing below the CLI knows a flag's name."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from funnelcli.engines.spec import parse_engine
from funnelcli.errors import UsageError
from funnelcli.measure.metrics import PERIOD, Query
from funnelcli.measure.windows import parse_as_of, parse_span
from funnelcli.pipeline import Summary
from funnelcli.scaffold import preset_problem


@dataclass(frozen=True)
class ReportRequest:
    since: str | None = None
    until: str | None = None
    last: str | None = None
    as_of: str | None = None
    by: str = "channel"
    every: str | None = None
    within: float | None = None
    basis: str = "cohort"
    compare: str | None = None
    include_immature: bool = False
    trend_periods: int = 3
    engine: str | None = None

    def resolve(self) -> tuple[Query, Summary]:
        """The typed query and summary, or a UsageError (exit 2) naming the flag."""
        since, until = date_flag(self.since, "--since"), date_flag(self.until, "--until")
        if since and until and since > until:
            raise UsageError(f"--since {since} is after --until {until}; swap them.")
        if self.include_immature and self.within is None:
            raise UsageError("--include-immature only applies with --within DAYS.")
        groups = [c.strip() for c in self.by.split(",") if c.strip()]
        if not groups:
            raise UsageError("--by needs at least one column, e.g. --by channel.")
        twice = sorted({c for c in groups if groups.count(c) > 1})
        if twice:
            raise UsageError(
                f"--by names {', '.join(twice)} more than once; name each column once."
            )
        if PERIOD in groups and not self.every:
            raise UsageError("--by period needs --every day|week|month|quarter.")
        if self.last and (since or until):
            raise UsageError("--last sets the window itself; drop --since/--until, or --last.")
        if self.last:
            span_flag(self.last)
        as_of_flag(self.as_of)
        if self.compare and not (self.last or (since and until)):
            msg = (
                f"--compare {self.compare} needs a closed window: --last 4w, or both --since "
                "and --until."
            )
            raise UsageError(msg)
        within = within_flag(self.within)
        days = int(within) if within is not None and within.is_integer() else within
        query = Query(
            since,
            until,
            groups,
            self.every,
            days,
            basis=self.basis,
            include_immature=self.include_immature,
        )
        summary = Summary(
            self.last, self.as_of, self.compare, self.trend_periods, parse_engine(self.engine)
        )
        return query, summary


MAX_DAYS = 36_600  # --last and --within: a century at most


def date_flag(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date; use YYYY-MM-DD.") from None


def span_flag(value: str) -> None:
    try:
        span = parse_span(value)
    except ValueError:
        msg = f"--last {value!r}: use a count and a unit, e.g. 7d, 4w, 1m or 1q."
        raise UsageError(msg) from None
    days = span.n * {"d": 1, "w": 7, "m": 31, "q": 92}[span.unit]
    if days > MAX_DAYS:
        raise UsageError(f"--last {value}: a window of at most a century (e.g. 100m, 1200w).")


def within_flag(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value <= MAX_DAYS):
        raise UsageError(f"--within {value}: give a number of days up to {MAX_DAYS:,}.")
    return value


def as_of_flag(value: str | None) -> None:
    """``--as-of``: a date, ``today`` or ``yesterday`` (resolved later in the policy's zone)."""
    try:
        parse_as_of(value, dt.date(2000, 1, 1))
    except ValueError:
        msg = f"--as-of {value!r} is not a date; use YYYY-MM-DD, today or yesterday."
        raise UsageError(msg) from None


def preset_flag(value: str | None) -> tuple[str, ...]:
    """``--preset a,b``: known names, at most one CRM export."""
    names = tuple(p.strip() for p in (value or "").split(",") if p.strip())
    problem = preset_problem(names)
    if problem:
        raise UsageError(f"--preset {problem}")
    return names
