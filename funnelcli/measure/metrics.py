"""Cohort metrics per group (docs/metrics.md): counts, rates, costs and time in funnel."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from funnelcli.errors import InputError, UsageError
from funnelcli.inputs.parse import MICROS
from funnelcli.measure.prepared import Prepared
from funnelcli.measure.qualify import at_col, reached_col
from funnelcli.measure.stats import wilson
from funnelcli.model import Report, Row, Spread, StageMetrics

EVERY = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q"}
SPEND_GROUPS = {"channel", "campaign", "period"}
PERIOD = "period"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Query:
    """What the user asked for: window, grouping, buckets, basis and conversion window."""

    since: dt.date | None = None
    until: dt.date | None = None
    by: list[str] = field(default_factory=lambda: ["channel"])
    every: str | None = None
    within_days: float | None = None
    basis: str = "cohort"  # cohort | period (docs/metrics.md)
    as_of: dt.date | None = None  # the day the report is "as of": maturity is judged on it
    include_immature: bool = False

    @property
    def group_by(self) -> list[str]:
        return [PERIOD, *[c for c in self.by if c != PERIOD]] if self.every else list(self.by)

    @property
    def maturity_cutoff(self) -> dt.date | None:
        """With --within D on the cohort basis: the last creation day whose leads have had D
        whole days by the end of the as-of day. Later leads are immature."""
        if self.basis != "cohort" or self.within_days is None or self.as_of is None:
            return None
        return self.as_of - dt.timedelta(days=math.ceil(self.within_days))


def check_groups(query: Query, leads_columns: list[str]) -> None:
    """Refuse groupings the data cannot answer."""
    usable = [c for c in leads_columns if not c.startswith("__")]
    for col in query.by:
        if col != PERIOD and col not in usable:
            columns = ", ".join(usable)
            msg = f"cannot group by '{col}': the leads have no such column. Columns: {columns}."
            raise UsageError(msg)


def build_report(ready: Prepared, query: Query) -> Report:
    """The report for one query: one lazy query per side, collected together.

    ``ready.qualified`` is every lead already qualified with the query's conversion window
    (none or ``--within``); qualification is per lead, so the cohort is cut from it.
    """
    policy, data, qualified = ready.policy, ready.data, ready.qualified
    every = qualified.lazy()
    stages = policy.stage_ids
    if query.basis == "period":
        rows_lf, total_lf = _period_counts(every, stages, query)
    else:
        rows_lf, total_lf = _cohort_counts(every, stages, query)
    rows_lf, total_lf = _with_spend(rows_lf, total_lf, data.spend, query)
    rows_df, total_df = pl.collect_all([rows_lf, total_lf])
    cols = query.group_by
    return Report(
        basis=query.basis,
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
        as_of=query.as_of,
        maturity_cutoff=query.maturity_cutoff,
        immature_included=query.include_immature,
    )


def _cohort_counts(
    every: pl.LazyFrame, stages: list[str], query: Query
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Cohort basis: the leads created in the window, followed to wherever they got.

    ``__base`` is the leads the stage metrics are over: all of them, or with --within only
    the mature ones (unless --include-immature)."""
    created = pl.col("created_at").dt.date()
    funnel = _with_period(_in_window(every, created, query), created, query.every)
    cutoff = query.maturity_cutoff
    immature = (created > cutoff) if cutoff else pl.lit(False)
    base = pl.lit(True) if query.include_immature else ~immature
    funnel = funnel.with_columns(base.alias("__in_base"), immature.alias("__immature"))
    in_base = pl.col("__in_base")
    counts = [
        pl.len().alias("leads"),
        in_base.sum().alias("__base"),
        pl.col("__immature").sum().alias("__immature"),
        *((pl.col(reached_col(s)) & in_base).sum().alias(f"{s}__count") for s in stages[1:]),
    ]
    cols = query.group_by
    rows, total = funnel.group_by(cols).agg(counts), funnel.select(counts)
    # Time in funnel from each stage's own narrow frame: the leads that reached it (often a
    # few percent) and two durations. Quantiles over a filter inside the grouped query cost
    # three times as much: every quantile gathered its group's rows from all leads.
    for prev, stage in itertools.pairwise(stages):
        reached = funnel.filter(pl.col(reached_col(stage)) & in_base)
        narrow = reached.select(*cols, *_durations(prev, stage, stages[0]))
        days = _days_aggs(stage)
        rows = rows.join(narrow.group_by(cols).agg(days), on=cols, how="left", nulls_equal=True)
        total = pl.concat([total, narrow.select(days)], how="horizontal")
    return rows, total


def _period_counts(
    every: pl.LazyFrame, stages: list[str], query: Query
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Period basis: per stage, the leads whose ``at[s]`` falls in the window (entries),
    bucketed by that date, whatever their creation date."""
    cols = query.group_by
    per_stage_rows, per_stage_total = [], []
    for i, stage in enumerate(stages):
        day = pl.col(at_col(stage)).dt.date()
        entered = _in_window(every.filter(pl.col(reached_col(stage))), day, query)
        entered = _with_period(entered, day, query.every)
        if i == 0:
            aggs = [pl.len().alias("leads"), pl.len().alias("__base"), _zero("__immature")]
        else:
            entered = entered.with_columns(_durations(stages[i - 1], stage, stages[0]))
            aggs = [pl.len().alias(f"{stage}__count"), *_days_aggs(stage)]
        per_stage_rows.append(entered.group_by(cols).agg(aggs))
        per_stage_total.append(entered.select(aggs))
    rows = per_stage_rows[0]
    for other in per_stage_rows[1:]:
        rows = rows.join(other, on=cols, how="full", coalesce=True, nulls_equal=True)
    return rows, pl.concat(per_stage_total, how="horizontal")


def _zero(name: str) -> pl.Expr:
    return pl.lit(0, pl.UInt32).alias(name)


def _durations(prev: str, stage: str, first: str) -> list[pl.Expr]:
    """Whole microseconds from the previous stage and from the first one to ``stage``
    (cheaper to order than floats; turned into days in _spread)."""
    end = pl.col(at_col(stage))
    return [
        (end - pl.col(at_col(start))).dt.total_microseconds().alias(name)
        for name, start in (("days", prev), ("days_from_lead", first))
    ]


def _days_aggs(stage: str) -> list[pl.Expr]:
    """Median and p90 of the ``_durations`` columns."""
    return [
        pl.col(name).quantile(q, interpolation="linear").alias(f"{stage}__{name}__{label}")
        for name in ("days", "days_from_lead")
        for q, label in ((0.5, "median"), (0.9, "p90"))
    ]


def _with_spend(
    rows: pl.LazyFrame, total: pl.LazyFrame, spend_df: pl.DataFrame | None, query: Query
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Join window spend to the rows (when the grouping is one spend can be split by) and to
    the total. ``__base_micros``: the spend of the days whose leads are mature."""
    cols = query.group_by
    spend = _window_spend(spend_df, query)
    cutoff = query.maturity_cutoff
    # Summed in 128 bits: Int64 micro-units wrap silently past 9.2e12 currency units, which
    # IDR, VND or KRW totals reach (docs/inputs.md, "Amounts": never a wrong total).
    micros = pl.col("micros").cast(pl.Int128)
    if cutoff is None or query.include_immature:
        base = micros.sum()
    else:
        base = micros.filter(pl.col("date") <= cutoff).sum()
    sums = [
        micros.sum().alias("micros"),
        base.alias("__base_micros"),
        pl.len().alias("__spend_rows"),
    ]
    if spend is not None and set(cols) <= SPEND_GROUPS:
        spent = spend.group_by(cols).agg(sums)
        rows = rows.join(spent, on=cols, how="full", coalesce=True, nulls_equal=True)
    else:
        rows = rows.with_columns(_null_spend())
    if spend is None:
        total = total.with_columns(_null_spend())
    else:
        total = pl.concat([total, spend.select(sums)], how="horizontal")
    return rows.sort(cols, nulls_last=True), total


def _null_spend() -> list[pl.Expr]:
    return [
        pl.lit(None, pl.Int64).alias("micros"),
        pl.lit(None, pl.Int64).alias("__base_micros"),
        pl.lit(0, pl.UInt32).alias("__spend_rows"),
    ]


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


# A float (the JSON number) holds every cent only below about 9e13: a larger sum is an error
# naming the column, not a total off by some cents.
EXACT_LIMIT = 9 * 10**13 * MICROS


def _row(values: dict[str, Any], cols: list[str], stages: list[str]) -> Row:
    leads = values["leads"] or 0
    has_spend = bool(values["__spend_rows"])
    if has_spend and abs(values["micros"]) >= EXACT_LIMIT:
        msg = (
            f"spend amount: the sum {values['micros'] // MICROS:,} is beyond what funnel adds "
            "to the cent (9e13 currency units). Check the amount column (a currency in "
            "minor units, or amounts multiplied by a wrong factor?)."
        )
        raise InputError(msg)
    spend = values["micros"] / MICROS if has_spend else None
    base_spend = values["__base_micros"] / MICROS if has_spend else None
    base = values["__base"] or 0
    counts = [base] + [values[f"{s}__count"] or 0 for s in stages[1:]]
    # The entry stage's cost is over the same base as the later stages': with --within, the
    # mature leads and the spend of their days (without it, CPL itself).
    metrics = {stages[0]: StageMetrics(count=base, cost_per=_ratio(base_spend, base))}
    for i, stage in enumerate(stages[1:], start=1):
        metrics[stage] = StageMetrics(
            count=counts[i],
            rate=_ratio(counts[i], counts[i - 1]),
            rate_from_lead=_ratio(counts[i], base),
            cost_per=_ratio(base_spend, counts[i]),
            days=_spread(values, stage, "days"),
            days_from_lead=_spread(values, stage, "days_from_lead"),
            rate_ci=wilson(counts[i], counts[i - 1]),
            rate_from_lead_ci=wilson(counts[i], base),
        )
    return Row(
        group={c: values[c] for c in cols},
        leads=leads,
        spend=spend,
        cpl=_ratio(spend, leads),
        stages=metrics,
        immature_leads=values["__immature"] or 0,
    )


def _spread(values: dict[str, Any], stage: str, name: str) -> Spread:
    # Interpolated quantiles can differ in the last bit with row order; 1e-9 days is 86 µs.
    median, p90 = values[f"{stage}__{name}__median"], values[f"{stage}__{name}__p90"]
    return Spread(_round(median), _round(p90))


def _round(micros: float | None) -> float | None:
    return None if micros is None else round(micros / DAY_US, 9)


def _ratio(num: float | None, den: float | None) -> float | None:
    """num / den, or None when either is missing or den is zero (never inf or NaN)."""
    if num is None or not den:
        return None
    return num / den
