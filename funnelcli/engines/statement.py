"""``funnel sql``: the whole report as one SQL statement for a warehouse funnel cannot reach
(a scheduled query in BigQuery, Snowflake, Databricks, Redshift, Trino…).

The statement ends with the report's own columns — those of ``--format csv``, one row per
group then a ``total`` row — worked out from the same sums the engines return
(``engines.report``), by the definitions of docs/metrics.md. Without ``--as-of`` its days
count from the warehouse's current date, so the scheduled query stays current.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from sqlglot import exp

from funnelcli.catalogue import (
    CLICKS,
    GROUP_METRICS,
    IMPRESSIONS,
    STAGE_METRICS,
    csv_column,
)
from funnelcli.engines.conditions import compile_sql
from funnelcli.engines.report import (
    DAY_US,
    Bounds,
    Inputs,
    Plan,
    build,
    col,
    day_number,
    days_since_epoch,
    num,
    when,
)
from funnelcli.engines.tables import table_sources
from funnelcli.errors import UsageError
from funnelcli.measure.metrics import PERIOD, Query
from funnelcli.measure.windows import Span
from funnelcli.policy.config import Policy, input_specs, uses_tables
from funnelcli.policy.rules import referenced_fields


def report_sql(
    policy: Policy,
    query: Query,
    dialect: str,
    *,
    span: Span | None,
    as_of: dt.date | None,
) -> str:
    """The report of ``query`` over the policy's tables as one statement in ``dialect``.
    ``span``: ``--last``; ``as_of``: an explicit ``--as-of`` (None: the current date)."""
    if not uses_tables(policy):
        msg = (
            f"{policy.source.path}: funnel sql writes SQL over tables; name each input as a "
            "table of the warehouse (inputs.leads: {table: crm.leads, columns: {…}})."
        )
        raise UsageError(msg)
    extras = referenced_fields(policy) | {c for c in query.by if c != PERIOD}
    tables = table_sources(policy, None, dialect, as_of, extras)
    rules = compile_sql(policy, None, dialect)
    bounds = Bounds.of(query) if as_of is not None else _from_today(query, span)
    built = build(Plan(policy, query, tables.inputs, dialect, bounds), rules, tables.sources)
    ctes = dict(built.ctes)
    ctes["agg_rows"] = built.rows
    ctes["agg_total"] = built.total
    money, final = _final(policy, query, tables.inputs)
    ctes.update(money)
    final = built.with_ctes(final, ctes)
    return _header(policy, dialect, as_of) + final.sql(dialect=dialect, pretty=True) + ";\n"


def _header(policy: Policy, dialect: str, as_of: dt.date | None) -> str:
    """What the statement reads and as of when, for whoever schedules it."""
    lines = [
        f"funnel report as one {dialect} statement, from {policy.source.path.name}.",
        f"As of: {as_of.isoformat() if as_of else 'the warehouse current date (CURRENT_DATE)'}.",
        "Tables, and the columns read (optional ones only when mapped under columns:):",
    ]
    for _, kind, spec in input_specs(policy):
        mapped = ", ".join(f"{k} = {v}" for k, v in spec.columns.items()) or "default names"
        label = f"{kind} (sales cost)" if spec.kind == "sales" else kind
        lines.append(f"  {spec.table}: {label}; {mapped}")
    lines.append("One row per group (row_type 'row'), then the total (row_type 'total').")
    return "".join(f"-- {line}\n" for line in lines)


def _from_today(query: Query, span: Span | None) -> Bounds:
    """The window's days counted from the warehouse's current date (the as-of day)."""
    today = days_since_epoch(exp.CurrentDate())

    def back(days: int) -> exp.Expression:
        return exp.Sub(this=today.copy(), expression=num(days)) if days else today.copy()

    since, until = query.since, query.until
    since_sql = day_number(since) if since else None
    until_sql = day_number(until) if until else None
    if span is not None:
        until_sql = today.copy()
        if span.unit in "dw":
            since_sql = back(span.n * (7 if span.unit == "w" else 1) - 1)
        else:  # calendar months: the day after today, N months back
            months = span.n * (3 if span.unit == "q" else 1)
            tomorrow = exp.DateAdd(this=exp.CurrentDate(), expression=num(1), unit=exp.var("DAY"))
            start = exp.DateAdd(this=tomorrow, expression=num(-months), unit=exp.var("MONTH"))
            since_sql = days_since_epoch(exp.cast(start, "DATE"))
    cutoff = None
    if query.basis == "cohort" and query.within_days is not None:
        cutoff = back(math.ceil(query.within_days))
    return Bounds(since_sql, until_sql, cutoff)


def _final(
    policy: Policy, query: Query, inputs: Inputs
) -> tuple[dict[str, exp.Select], exp.Select]:
    """The CTEs of each row's money (``rows_money``, ``total_money``), and the report's
    columns for every row then the total; rows by their group values."""
    cols = query.group_by
    # The tables are not looked at: impressions and clicks are taken to be there with spend.
    features = inputs.features({IMPRESSIONS, CLICKS})
    assigned = exp.select(exp.alias_(col("__unassigned"), "__u", quoted=True)).from_("agg_total")
    full = when(exp.EQ(this=col("__u"), expression=num(0)), num(1), num(0))
    rows_money = exp.select(exp.Star(), *_money(policy, inputs, full)).from_("agg_rows", copy=False)
    rows_money = rows_money.join(
        exp.alias_(exp.paren(assigned, copy=False), "u", copy=False), join_type="cross", copy=False
    )
    total_money = exp.select(exp.Star(), *_money(policy, inputs, num(1))).from_("agg_total")
    rows = exp.select(
        exp.alias_(exp.Literal.string("row"), "row_type", quoted=True),
        *(col(c) for c in cols),
        *_metrics(policy, features),
    ).from_("rows_money", copy=False)
    total = exp.select(
        exp.alias_(exp.Literal.string("total"), "row_type", quoted=True),
        *(exp.alias_(exp.null(), c, quoted=True) for c in cols),
        *_metrics(policy, features),
    ).from_("total_money", copy=False)
    union = exp.union(rows, total, distinct=False, copy=False)
    order = [exp.Ordered(this=col("row_type"), desc=False)]
    order += [exp.Ordered(this=col(c), nulls_first=False) for c in cols]
    report = exp.select(exp.Star()).from_(exp.alias_(exp.paren(union), "report"), copy=False)
    ctes = {"rows_money": rows_money, "total_money": total_money}
    return ctes, report.order_by(*order, copy=False)


def _div(num_: exp.Expression, den: exp.Expression) -> exp.Expression:
    """num / den, null when either is missing or den is zero (never inf or NaN)."""
    return exp.Div(
        this=exp.cast(num_, "DOUBLE"),
        expression=exp.Nullif(this=exp.cast(den, "DOUBLE"), expression=num(0)),
    )


def _zero(name: str) -> exp.Expression:
    return exp.Coalesce(this=col(name), expressions=[num(0)])


def _units(micros: str, rows: str) -> exp.Expression:
    """A money sum in currency units when the side table has rows for the row, else null."""
    value = exp.Div(this=exp.cast(col(micros), "DOUBLE"), expression=num(1e6))
    return when(exp.GT(this=_zero(rows), expression=num(0)), value)


def _money(policy: Policy, inputs: Inputs, full: exp.Expression) -> list[exp.Expression]:
    """A row's money and counts in currency units (docs/metrics.md): ``full`` is 1 when
    its full cost is known (no sales cost without a channel, or the total)."""
    base_spend = _units("__base_micros", "__spend_rows")
    base_sales = _units("__base_sales", "__sales_rows")
    revenue = exp.Div(this=exp.cast(_zero("__revenue"), "DOUBLE"), expression=num(1e6))
    known = exp.or_(
        exp.not_(exp.Is(this=base_spend.copy(), expression=exp.null())),
        exp.not_(exp.Is(this=base_sales.copy(), expression=exp.null())),
    )
    summed = exp.Add(
        this=exp.Coalesce(this=base_spend.copy(), expressions=[num(0)]),
        expression=exp.Coalesce(this=base_sales.copy(), expressions=[num(0)]),
    )
    cost = when(exp.and_(exp.paren(known), exp.EQ(this=full, expression=num(1))), summed)
    values = {
        "m_spend": _units("micros", "__spend_rows"),
        "m_base_spend": base_spend,
        "m_sales": _units("__sales", "__sales_rows"),
        "m_revenue": revenue if inputs.revenue else exp.cast(exp.null(), "DOUBLE"),
        "m_cost": cost,
        "m_customers": _zero(f"{policy.stage_ids[-1]}__count"),
    }
    return [exp.alias_(v, k, quoted=True) for k, v in values.items()]


class _Row:
    """The names a row's metrics are worked out from."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.leads = _zero("leads")
        self.base = _zero("__base")
        self.spend, self.base_spend = col("m_spend"), col("m_base_spend")
        self.sales, self.revenue = col("m_sales"), col("m_revenue")
        self.cost, self.customers = col("m_cost"), col("m_customers")

    def count(self, i: int) -> exp.Expression:
        return self.base.copy() if i == 0 else _zero(f"{self.policy.stage_ids[i]}__count")

    def counted(self, name: str) -> exp.Expression:
        """Impressions or clicks, known only when every spend row of the group has one."""
        known = exp.and_(
            exp.GT(this=_zero("__spend_rows"), expression=num(0)),
            exp.EQ(this=_zero(f"__{name}_nulls"), expression=num(0)),
        )
        return when(known, col(name))

    def visits(self) -> exp.Expression:
        return when(exp.GT(this=_zero("__traffic_rows"), expression=num(0)), col("visits"))

    def avg_deal(self) -> exp.Expression:
        return _div(self.revenue.copy(), self.customers.copy())

    def cac(self) -> exp.Expression:
        return _div(self.cost.copy(), self.customers.copy())


# Each CSV metric of the catalogue as SQL (tests/test_engines.py checks none is missing).
GROUP_SQL: dict[str, Callable[[_Row], exp.Expression]] = {
    "leads": lambda r: r.leads.copy(),
    "spend": lambda r: r.spend.copy(),
    "cpl": lambda r: _div(r.spend.copy(), r.leads.copy()),
    "impressions": lambda r: r.counted("impressions"),
    "clicks": lambda r: r.counted("clicks"),
    "ctr": lambda r: _div(r.counted("clicks"), r.counted("impressions")),
    "cpc": lambda r: _div(r.spend.copy(), r.counted("clicks")),
    "click_to_lead": lambda r: _div(r.leads.copy(), r.counted("clicks")),
    "visits": lambda r: r.visits(),
    "visit_to_lead": lambda r: _div(r.leads.copy(), r.visits()),
    "sales_cost": lambda r: r.sales.copy(),
    "revenue": lambda r: r.revenue.copy(),
    "avg_deal": lambda r: r.avg_deal(),
    "roas": lambda r: _div(r.revenue.copy(), r.base_spend.copy()),
    "roi": lambda r: _div(exp.Sub(this=r.revenue.copy(), expression=r.cost.copy()), r.cost.copy()),
    "cac": lambda r: r.cac(),
    "ltv_cac": lambda r: _div(
        exp.Mul(this=r.avg_deal(), expression=num(r.policy.economics.gross_margin)), r.cac()
    ),
}


def _days(stage: str, name: str) -> exp.Expression:
    days = exp.Div(this=col(f"{stage}__{name}"), expression=num(float(DAY_US)))
    return exp.Round(this=days, decimals=num(9))


STAGE_SQL: dict[str, Callable[[_Row, int], exp.Expression]] = {
    "count": lambda r, i: r.count(i),
    "rate": lambda r, i: _div(r.count(i), r.count(i - 1)),
    "rate_from_lead": lambda r, i: _div(r.count(i), r.base.copy()),
    "cost_per": lambda r, i: _div(r.base_spend.copy(), r.count(i)),
    "days.median": lambda r, i: _days(r.policy.stage_ids[i], "days__median"),
    "days.p90": lambda r, i: _days(r.policy.stage_ids[i], "days__p90"),
}


def _metrics(policy: Policy, features: set[str]) -> list[exp.Expression]:
    """The catalogue's CSV metrics of one row, in the CSV's order: leads, spend and CPL, the
    stages, then the top of the funnel and money — those whose inputs exist."""
    row = _Row(policy)
    written = [m for m in GROUP_METRICS if m.csv and set(m.needs) <= features]
    first = [m for m in written if not m.needs]
    out = [exp.alias_(GROUP_SQL[m.name](row), m.name, quoted=True) for m in first]
    for i, stage in enumerate(policy.stages):
        metrics = [m for m in STAGE_METRICS if m.csv and (i or m.name == "count")]
        for j, m in enumerate(metrics):
            value = exp.alias_(STAGE_SQL[m.name](row, i), csv_column(stage.id, m), quoted=True)
            if j == 0:  # each stage's columns start with its name, for the reader
                value.add_comments([f" stage {stage.id}: {stage.label} "])
            out.append(value)
    out += [exp.alias_(GROUP_SQL[m.name](row), m.name, quoted=True) for m in written if m.needs]
    return out
