"""Cohort metrics per group (DESIGN.md §4): counts, rates, costs and time in funnel."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from funnelcli.config import Policy
from funnelcli.dataset import Dataset
from funnelcli.errors import UsageError
from funnelcli.model import Report, Row, Spread, StageMetrics
from funnelcli.parse import MICROS
from funnelcli.qualify import at_col, qualify, reached_col
from funnelcli.rules import CompiledPolicy

EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}
SPEND_GROUPS = {"channel", "campaign", "period"}
PERIOD = "period"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Query:
    """What the user asked for: window, grouping, buckets and conversion window."""

    since: dt.date | None = None
    until: dt.date | None = None
    by: list[str] = field(default_factory=lambda: ["channel"])
    every: str | None = None
    within_days: float | None = None

    @property
    def group_by(self) -> list[str]:
        return [PERIOD, *[c for c in self.by if c != PERIOD]] if self.every else list(self.by)


def check_window(query: Query) -> None:
    """Refuse an empty window before any file is read."""
    if query.since and query.until and query.since > query.until:
        msg = f"--since {query.since} is after --until {query.until}; swap them."
        raise UsageError(msg)


def check_groups(query: Query, leads_columns: list[str]) -> None:
    """Refuse groupings the data cannot answer."""
    if PERIOD in query.by and not query.every:
        raise UsageError("--by period needs --every day|week|month|quarter.")
    usable = [c for c in leads_columns if not c.startswith("__")]
    for col in query.by:
        if col != PERIOD and col not in usable:
            msg = f"--by {col}: the leads have no such column. Columns: {', '.join(usable)}."
            raise UsageError(msg)


def build_report(
    policy: Policy,
    data: Dataset,
    compiled: CompiledPolicy,
    query: Query,
    *,
    qualified: pl.DataFrame | None = None,
) -> Report:
    """The whole cohort report: one lazy query per side, collected together.

    ``qualified`` is every lead already qualified without a conversion window; qualification
    is per lead, so the cohort can be cut from it instead of qualifying again.
    """
    cols = query.group_by
    if qualified is None or query.within_days is not None:
        leads, transitions = data.leads.lazy(), data.transitions.lazy()
        every = qualify(leads, transitions, policy, compiled, within_days=query.within_days)
    else:
        every = qualified.lazy()
    funnel = _in_window(every, pl.col("created_at").dt.date(), query)
    funnel = _with_period(funnel, pl.col("created_at").dt.date(), query.every)
    aggs = _lead_aggs(policy.stage_ids)
    spend = _window_spend(data.spend, query)
    spendable = spend is not None and set(cols) <= SPEND_GROUPS
    by_group = funnel.group_by(cols).agg(aggs)
    if spendable:
        spent = spend.group_by(cols).agg(pl.col("micros").sum().alias("micros"))  # type: ignore[union-attr]
        by_group = by_group.join(spent, on=cols, how="full", coalesce=True, nulls_equal=True)
    else:
        by_group = by_group.with_columns(pl.lit(None, pl.Int64).alias("micros"))
    spend_sum = spend if spend is not None else pl.LazyFrame({"micros": []}, {"micros": pl.Int64})
    spend_sum = spend_sum.select(pl.col("micros").sum(), pl.len().alias("n"))
    rows_df, total_df, spend_df = pl.collect_all(
        [by_group.sort(cols, nulls_last=True), funnel.select(aggs), spend_sum]
    )
    micros, n = spend_df.row(0)
    total_df = total_df.with_columns(pl.lit(micros if n else None, pl.Int64).alias("micros"))
    stages = policy.stage_ids
    return Report(
        basis="cohort",
        since=query.since,
        until=query.until,
        within_days=query.within_days,
        currency=policy.currency,
        group_by=cols,
        stages=[(s.id, s.label) for s in policy.stages],
        rows=[_row(r, cols, stages) for r in rows_df.iter_rows(named=True)],
        total=_row(total_df.row(0, named=True), [], stages),
        warnings=data.findings,
        policy_path=str(policy.source.path),
    )


def _in_window(frame: pl.LazyFrame, day: pl.Expr, query: Query) -> pl.LazyFrame:
    if query.since:
        frame = frame.filter(day >= query.since)
    if query.until:
        frame = frame.filter(day <= query.until)
    return frame


def _with_period(frame: pl.LazyFrame, day: pl.Expr, every: str | None) -> pl.LazyFrame:
    if not every:
        return frame
    return frame.with_columns(day.dt.truncate(EVERY[every]).alias(PERIOD))


def _window_spend(spend: pl.DataFrame | None, query: Query) -> pl.LazyFrame | None:
    if spend is None:
        return None
    frame = _in_window(spend.lazy(), pl.col("date"), query)
    return _with_period(frame, pl.col("date"), query.every)


def _lead_aggs(stage_ids: list[str]) -> list[pl.Expr]:
    aggs = [pl.len().alias("leads")]
    created = pl.col(at_col(stage_ids[0]))
    for prev, stage in itertools.pairwise(stage_ids):
        reached = pl.col(reached_col(stage))
        aggs.append(reached.sum().alias(f"{stage}__count"))
        for name, start in (("days", pl.col(at_col(prev))), ("days_from_lead", created)):
            days = ((pl.col(at_col(stage)) - start).dt.total_microseconds() / DAY_US).filter(
                reached
            )
            aggs.append(
                days.quantile(0.5, interpolation="linear").alias(f"{stage}__{name}__median")
            )
            aggs.append(days.quantile(0.9, interpolation="linear").alias(f"{stage}__{name}__p90"))
    return aggs


def _row(values: dict[str, Any], cols: list[str], stages: list[str]) -> Row:
    leads = values["leads"] or 0
    spend = values["micros"] / MICROS if values["micros"] is not None else None
    counts = [leads] + [values[f"{s}__count"] or 0 for s in stages[1:]]
    metrics = {stages[0]: StageMetrics(count=leads)}
    for i, stage in enumerate(stages[1:], start=1):
        metrics[stage] = StageMetrics(
            count=counts[i],
            rate=_ratio(counts[i], counts[i - 1]),
            rate_from_lead=_ratio(counts[i], leads),
            cost_per=_ratio(spend, counts[i]),
            days=_spread(values, stage, "days"),
            days_from_lead=_spread(values, stage, "days_from_lead"),
        )
    group = {c: values[c] for c in cols}
    return Row(group=group, leads=leads, spend=spend, cpl=_ratio(spend, leads), stages=metrics)


def _spread(values: dict[str, Any], stage: str, name: str) -> Spread:
    # Interpolated quantiles can differ in the last bit with row order; 1e-9 days is 86 µs.
    median, p90 = values[f"{stage}__{name}__median"], values[f"{stage}__{name}__p90"]
    return Spread(_round(median), _round(p90))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def _ratio(num: float | None, den: float | None) -> float | None:
    """num / den, or None when either is missing or den is zero (never inf or NaN)."""
    if num is None or not den:
        return None
    return num / den
