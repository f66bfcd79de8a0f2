"""Cohort metrics per group (docs/metrics.md): counts, rates, costs and time in funnel."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import polars as pl

from funnelcli.catalogue import REVENUE as REVENUE_FEATURE
from funnelcli.columns import REVENUE
from funnelcli.errors import InputError, UsageError, listed
from funnelcli.findings import Finding
from funnelcli.inputs.parse import MICROS
from funnelcli.measure.prepared import Prepared
from funnelcli.measure.qualify import at_col, reached_col
from funnelcli.measure.stats import wilson
from funnelcli.model import Report, Row, Spread, StageMetrics
from funnelcli.policy.config import Policy

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
            columns = listed(usable)
            msg = f"cannot group by '{col}': the leads have no such column. Columns: {columns}."
            raise UsageError(msg)


def build_report(ready: Prepared, query: Query) -> Report:
    """The report for one query, measured by polars from the qualified leads.

    ``ready.qualified`` is every lead already qualified with the query's conversion window
    (none or ``--within``); qualification is per lead, so the cohort is cut from it.
    """
    rows, total = aggregate(ready, query)
    data = ready.data
    return assemble(
        ready.policy, query, rows, total, features=data.features, warnings=data.findings
    )


def aggregate(ready: Prepared, query: Query) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The sums, counts and quantiles each row's metrics are worked out from (one frame of
    rows, one of the total), one lazy query per side, collected together. A SQL engine
    (``funnelcli.engines``) computes the same columns where the data lives."""
    policy, data = ready.policy, ready.data
    every = ready.qualified.lazy()
    stages = policy.stage_ids
    if query.basis == "period":
        rows_lf, total_lf = _period_counts(every, stages, query)
    else:
        rows_lf, total_lf = _cohort_counts(every, stages, query)
    rows_lf, total_lf = _with_spend(rows_lf, total_lf, data.spend, query)
    rows_lf, total_lf = _with_sales(rows_lf, total_lf, data.sales, query)
    splits = SPEND_GROUPS if data.traffic_by_campaign else SPEND_GROUPS - {"campaign"}
    rows_lf, total_lf = _with_traffic(rows_lf, total_lf, data.traffic, query, splits)
    rows, total = pl.collect_all([rows_lf, total_lf])
    return rows, total


def assemble(
    policy: Policy,
    query: Query,
    rows_df: pl.DataFrame,
    total_df: pl.DataFrame,
    *,
    features: frozenset[str],
    warnings: list[Finding],
) -> Report:
    """The report from :func:`aggregate`'s columns: every ratio, cost and money metric of a
    row is worked out here, once, whichever engine summed the data."""
    cols = query.group_by
    rows_df = rows_df.sort(cols, nulls_last=True) if cols else rows_df
    stages = policy.stage_ids
    total_values = total_df.row(0, named=True)
    # Sales cost with no channel belongs to no group: a group's full cost is then unknown.
    side = _Side(policy.economics.gross_margin, features, not total_values["__unassigned"])
    whole = replace(side, full_cost=True)
    return Report(
        basis=query.basis,
        since=query.since,
        until=query.until,
        within_days=query.within_days,
        currency=policy.currency,
        group_by=cols,
        stages=[(s.id, s.label) for s in policy.stages],
        rows=[_row(r, cols, stages, side) for r in rows_df.iter_rows(named=True)],
        total=_row(total_values, [], stages, whole),
        warnings=warnings,
        policy_path=str(policy.source.path),
        as_of=query.as_of,
        maturity_cutoff=query.maturity_cutoff,
        immature_included=query.include_immature,
        features=features,
        every=query.every,
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
        *_revenue_aggs(funnel, pl.col(reached_col(stages[-1])) & in_base),
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
        if stage == stages[-1]:  # the revenue of the deals closed in the window
            aggs += _revenue_aggs(entered, pl.lit(True))
        per_stage_rows.append(entered.group_by(cols).agg(aggs))
        per_stage_total.append(entered.select(aggs))
    rows = per_stage_rows[0]
    for other in per_stage_rows[1:]:
        rows = rows.join(other, on=cols, how="full", coalesce=True, nulls_equal=True)
    return rows, pl.concat(per_stage_total, how="horizontal")


def _revenue_aggs(frame: pl.LazyFrame, customer: pl.Expr) -> list[pl.Expr]:
    """The customers' revenue (micro-units, summed in 128 bits) and the sum of its squares
    in currency units (the spread its comparison interval needs); null without revenue."""
    if REVENUE not in frame.collect_schema().names():
        return [pl.lit(None, pl.Int64).alias("__revenue"), pl.lit(None).alias("__revenue_sq")]
    value = pl.col(REVENUE).filter(customer)
    units = value.cast(pl.Float64) / MICROS
    return [
        value.cast(pl.Int128).sum().alias("__revenue"),
        (units * units).sum().alias("__revenue_sq"),
    ]


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
    micros, base = _money_sums(query)
    sums = [
        micros.alias("micros"),
        base.alias("__base_micros"),
        pl.len().alias("__spend_rows"),
        # A count is known for a group only when every spend row of it has one: a row
        # without clicks (another platform's export) would make CPC and CTR look better.
        *(
            agg
            for c in COUNTS
            for agg in (pl.col(c).sum(), pl.col(c).null_count().alias(f"__{c}_nulls"))
        ),
    ]
    nulls = [pl.lit(None, pl.Int64).alias(c) for c in ("micros", "__base_micros", *COUNTS)]
    nulls += [
        pl.lit(0, pl.UInt32).alias(n) for n in ("__spend_rows", *(f"__{c}_nulls" for c in COUNTS))
    ]
    # Groups come from leads and from spend: spend with no leads is money that bought nothing.
    return _joined(rows, total, side=(spend, spend), sums=sums, nulls=nulls, cols=cols, how="full")


COUNTS = ("impressions", "clicks")


def _money_sums(query: Query) -> tuple[pl.Expr, pl.Expr]:
    """The sum of a dated money column's micro-units, and that of the days whose leads are
    mature (with --within; else the same). Summed in 128 bits: Int64 micro-units wrap
    silently past 9.2e12 currency units, which IDR, VND or KRW totals reach (docs/inputs.md,
    "Amounts": never a wrong total)."""
    micros = pl.col("micros").cast(pl.Int128)
    cutoff = query.maturity_cutoff
    if cutoff is None or query.include_immature:
        return micros.sum(), micros.sum()
    return micros.sum(), micros.filter(pl.col("date") <= cutoff).sum()


def _with_sales(
    rows: pl.LazyFrame, total: pl.LazyFrame, sales_df: pl.DataFrame | None, query: Query
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Sales cost (``kind: sales``) of the window: a row's when it has the row's channel,
    the total's always; ``__unassigned`` counts the window's rows with no channel."""
    sales = _window_spend(sales_df, query)
    micros, base = _money_sums(query)
    sums = [
        micros.alias("__sales"),
        base.alias("__base_sales"),
        pl.len().alias("__sales_rows"),
    ]
    nulls = [pl.lit(None, pl.Int64).alias(n) for n in ("__sales", "__base_sales")]
    nulls.append(pl.lit(0, pl.UInt32).alias("__sales_rows"))
    assigned = None if sales is None else sales.filter(pl.col("channel").is_not_null())
    rows, total = _joined(
        rows, total, side=(assigned, sales), sums=sums, nulls=nulls, cols=query.group_by, how="left"
    )
    unassigned = pl.lit(0) if sales is None else pl.col("channel").is_null().sum()
    if sales is None:
        return rows, total.with_columns(unassigned.alias("__unassigned"))
    return rows, pl.concat(
        [total, sales.select(unassigned.alias("__unassigned"))], how="horizontal"
    )


def _with_traffic(
    rows: pl.LazyFrame,
    total: pl.LazyFrame,
    traffic_df: pl.DataFrame | None,
    query: Query,
    splits: set[str],
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Visits of the window matching each row (traffic alone does not make a group), when
    the grouping is one of ``splits``."""
    traffic = _window_spend(traffic_df, query)
    sums = [pl.col("visits").sum().alias("visits"), pl.len().alias("__traffic_rows")]
    nulls = [pl.lit(None, pl.Int64).alias("visits"), pl.lit(0, pl.UInt32).alias("__traffic_rows")]
    return _joined(
        rows,
        total,
        side=(traffic, traffic),
        sums=sums,
        nulls=nulls,
        cols=query.group_by,
        how="left",
        splits=splits,
    )


def _joined(
    rows: pl.LazyFrame,
    total: pl.LazyFrame,
    *,
    side: tuple[pl.LazyFrame | None, pl.LazyFrame | None],
    sums: list[pl.Expr],
    nulls: list[pl.Expr],
    cols: list[str],
    how: Literal["full", "left"],
    splits: set[str] = SPEND_GROUPS,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """``sums`` of a dated side table (spend, sales cost, traffic) joined to each row, when
    the grouping is one it can be split by, and to the total; ``nulls`` where it cannot.
    ``side``: the table for the rows and the one for the total."""
    for_rows, for_total = side
    if for_rows is not None and set(cols) <= splits:
        side = for_rows.group_by(cols).agg(sums)
        rows = rows.join(side, on=cols, how=how, coalesce=True, nulls_equal=True)
    else:
        rows = rows.with_columns(nulls)
    if for_total is None:
        return rows, total.with_columns(nulls)
    return rows, pl.concat([total, for_total.select(sums)], how="horizontal")


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


@dataclass(frozen=True)
class _Side:
    """What a row's money metrics need beyond its own values."""

    gross_margin: float
    features: frozenset[str]
    full_cost: bool  # False: sales cost with no channel exists, so a group's is unknown


def _row(values: dict[str, Any], cols: list[str], stages: list[str], side: _Side) -> Row:
    leads = values["leads"] or 0
    has_spend = bool(values["__spend_rows"])
    spend = _money(values, "micros", "spend amount") if has_spend else None
    base_spend = _money(values, "__base_micros", "spend amount") if has_spend else None
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
    top = _top_of_funnel(values, leads, spend)
    money = _money_metrics(values, counts[-1], base_spend, side)
    return Row(
        group={c: values[c] for c in cols},
        leads=leads,
        spend=spend,
        cpl=_ratio(spend, leads),
        stages=metrics,
        immature_leads=values["__immature"] or 0,
        **top,
        **money,
    )


def _top_of_funnel(values: dict[str, Any], leads: int, spend: float | None) -> dict[str, Any]:
    """Impressions, clicks and visits, and the ratios between them, spend and leads."""
    rows = values["__spend_rows"]
    impressions, clicks = (
        values[c] if rows and not values[f"__{c}_nulls"] else None for c in COUNTS
    )
    visits = values["visits"] if values["__traffic_rows"] else None
    return {
        "impressions": impressions,
        "clicks": clicks,
        "ctr": _ratio(clicks, impressions),
        "cpc": _ratio(spend, clicks),
        "click_to_lead": _ratio(leads, clicks),
        "visits": visits,
        "visit_to_lead": _ratio(leads, visits),
    }


def _money_metrics(
    values: dict[str, Any], customers: int, base_spend: float | None, side: _Side
) -> dict[str, Any]:
    """Revenue, full cost and their ratios (docs/metrics.md, "Money"). Costs are those of
    the row's base, like cost per stage: with --within, the spend of the mature days."""
    sales = _money(values, "__sales", "sales cost amount") if values["__sales_rows"] else None
    base_sales = (
        _money(values, "__base_sales", "sales cost amount") if values["__sales_rows"] else None
    )
    revenue = None
    if REVENUE_FEATURE in side.features:
        revenue = _money(values, "__revenue", "revenue") if values["__revenue"] else 0.0
    known = base_spend is not None or base_sales is not None
    cost = (base_spend or 0.0) + (base_sales or 0.0) if known and side.full_cost else None
    avg_deal = _ratio(revenue, customers)
    cac = _ratio(cost, customers)
    roi = None if revenue is None or not cost else (revenue - cost) / cost
    ltv = None if avg_deal is None else avg_deal * side.gross_margin
    return {
        "sales_cost": sales,
        "revenue": revenue,
        "avg_deal": avg_deal,
        "roas": _ratio(revenue, base_spend),
        "roi": roi,
        "cac": cac,
        "ltv_cac": _ratio(ltv, cac),
        "cost": cost,
        "revenue_sq": values["__revenue_sq"] if revenue is not None else None,
    }


def _money(values: dict[str, Any], key: str, what: str) -> float:
    """A money sum in currency units, refused when a float cannot hold it to the cent."""
    micros = values[key]
    if abs(micros) >= EXACT_LIMIT:
        msg = (
            f"{what}: the sum {micros // MICROS:,} is beyond what funnel adds to the cent "
            "(9e13 currency units). Check the amount column (a currency in minor units, or "
            "amounts multiplied by a wrong factor?)."
        )
        raise InputError(msg)
    return micros / MICROS


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
