"""The cohort and period report as SQL (sqlglot trees), for any dialect.

It reads five prepared relations — ``in_leads``, ``in_entries``, ``in_spend``, ``in_sales``,
``in_traffic`` (staged files, ``engines.staged``, or warehouse tables, ``engines.tables``) —
and gives the columns ``measure.metrics.aggregate`` gives: counts, money sums in micro-units
and the time-in-funnel quantiles, for each group and for the total. The ratios are worked out from
them by ``measure.metrics.assemble``, as for the embedded engine.

Instants are whole microseconds since 1970 (BIGINT) and days whole days since 1970, so
ordering, differences and windows are integer arithmetic every engine does alike; only the
business time zone's calendar needs the dialect's time-zone functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from funnelcli import catalogue
from funnelcli.columns import (
    REVENUE,
    SCORE_COL,
    at_col,
    crm_col,
    dim_col,
    ok_col,
    reached_col,
)
from funnelcli.engines.conditions import SqlPolicy, ok_columns, score_expr
from funnelcli.measure.metrics import COUNTS, PERIOD, SPEND_GROUPS, Query
from funnelcli.policy.config import Policy

DAY_US = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)
Q = {"median": 0.5, "p90": 0.9}
# Exact quantiles with linear interpolation, as the embedded engine's. BigQuery and Trino
# have no exact aggregate one: the interpolation is written out (``quantile_by_rank``).
_NATIVE_QUANTILE = {"duckdb", "postgres", "spark", "databricks", "snowflake", "redshift"}


@dataclass(frozen=True)
class Inputs:
    """Which prepared relations exist and what they carry."""

    spend: bool
    sales: bool
    traffic: bool
    traffic_by_campaign: bool
    revenue: bool  # in_leads has a __revenue column
    timezone: str

    def features(self, ads: set[str]) -> frozenset[str]:
        """What the inputs carry (``Dataset.features`` for files): ``ads`` are those of the
        spend columns impressions and clicks that hold a value."""
        return catalogue.features_of(
            ads if self.spend else set(),
            visits=self.traffic,
            revenue=self.revenue,
            sales=self.sales,
        )


@dataclass(frozen=True)
class Bounds:
    """The query's days as SQL: the window's ends and the last mature creation day (with
    --within), each a day number — literal, or counted from the warehouse's current date
    (``funnel sql`` without ``--as-of``)."""

    since: exp.Expression | None
    until: exp.Expression | None
    cutoff: exp.Expression | None

    @classmethod
    def of(cls, query: Query) -> Bounds:
        cutoff = query.maturity_cutoff
        return cls(
            day_number(query.since) if query.since else None,
            day_number(query.until) if query.until else None,
            day_number(cutoff) if cutoff else None,
        )


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def when(
    this: exp.Expression, then: exp.Expression, otherwise: exp.Expression | None = None
) -> exp.Expression:
    """CASE WHEN this THEN then [ELSE otherwise] END (sqlglot's IF drops a missing ELSE
    in Spark, whose IF needs three arguments)."""
    case = exp.Case().when(this, then)
    return case.else_(otherwise) if otherwise is not None else case


def num(value: int | float) -> exp.Expression:
    return exp.Literal.number(value)


def day_number(day: dt.date) -> exp.Expression:
    return num((day - EPOCH).days)


@dataclass(frozen=True)
class Plan:
    """What one report query is measured from, and in which dialect."""

    policy: Policy
    query: Query
    inputs: Inputs
    dialect: str
    bounds: Bounds


@dataclass(frozen=True)
class Built:
    """The report's SQL: the common table expressions, then the rows and the total (one
    row) over them — the columns ``measure.metrics.aggregate`` gives."""

    ctes: dict[str, exp.Expression]
    rows: exp.Select
    total: exp.Select
    materialized: frozenset[str] = frozenset()  # CTEs to compute once (see MATERIALIZED)

    def statements(self) -> tuple[exp.Select, exp.Select]:
        """The rows query and the total query, each one statement."""
        return self.with_ctes(self.rows), self.with_ctes(self.total)

    def with_ctes(
        self, select: exp.Select, ctes: dict[str, exp.Expression] | None = None
    ) -> exp.Select:
        """``select`` under the common table expressions (``ctes``, default the report's)."""
        for name, body in (self.ctes if ctes is None else ctes).items():
            select = select.with_(
                name, as_=body.copy(), materialized=name in self.materialized or None, copy=False
            )
        return select


# PostgreSQL inlines a CTE read once into the query reading it, and evaluates an inlined
# expression wherever a later column repeats it: the score's rules (a regex, say) ran once
# for each of the two dozen stage figures that read it. Computed once instead, a 1M-lead
# report took 2.5-3.1 s a query instead of 13.5-15 s. Other engines share the work
# themselves (and Spark, BigQuery, Snowflake do not accept the keyword).
MATERIALIZED = {"postgres": frozenset({"scored"})}


def build(plan: Plan, rules: SqlPolicy, sources: dict[str, exp.Select]) -> Built:
    """The report SQL of ``plan`` over ``sources``: the SELECT of each prepared relation
    (``in_leads``…) it reads."""
    ctes: dict[str, exp.Expression] = dict(sources)
    ctes.update(_qualified(plan.policy, rules, plan.query, plan.inputs, plan.dialect))
    build_parts = _period_parts if plan.query.basis == "period" else _cohort_parts
    parts, totals = build_parts(plan, ctes)
    side_parts, side_totals, absent = _side_parts(plan.query, plan.inputs, plan.bounds)
    rows = _union_rows(plan.query.group_by, parts + side_parts, absent)
    once = MATERIALIZED.get(plan.dialect, frozenset())
    return Built(ctes, rows, _cross(totals + side_totals), once)


# --- qualification: score, requires, CRM evidence, reached and at -------------------------


def _qualified(
    policy: Policy, rules: SqlPolicy, query: Query, inputs: Inputs, dialect: str
) -> dict[str, exp.Expression]:
    """CTEs up to ``reach``: one row per lead with its group columns, created day,
    ``__reached_<s>`` and ``__at_<s>`` (microseconds)."""
    ids = policy.stage_ids
    dims = [exp.alias_(e, dim_col(d), quoted=True) for d, e in rules.dimensions.items()]
    scored = exp.select(exp.Star(), *dims).from_("in_leads", copy=False)
    with_score = exp.select(exp.Star(), exp.alias_(score_expr(policy), SCORE_COL, quoted=True))
    decided = exp.select(exp.Star(), *ok_columns(rules, ids)).from_("scored2", copy=False)
    crm = exp.select(
        col("lead_id"),
        *(
            exp.alias_(
                exp.Min(this=when(_stage_in(ids[i:]), then=col("entered_us"))),
                crm_col(s),
                quoted=True,
            )
            for i, s in enumerate(ids)
            if i > 0
        ),
    ).from_("in_entries", copy=False)
    crm = crm.group_by(col("lead_id"), copy=False)
    keep = [c for c in dict.fromkeys(["channel", "campaign", *query.by]) if c != PERIOD]
    if inputs.revenue:
        keep.append(REVENUE)
    reach = exp.select(
        col("lead_id", "d"),
        col("created_us", "d"),
        *(col(c, "d") for c in keep),
        exp.alias_(
            local_day(col("created_us", "d"), inputs.timezone, dialect), "__day", quoted=True
        ),
        *_reach_columns(policy, query.within_days),
    )
    reach = reach.from_(exp.alias_(exp.to_table("decided"), "d"), copy=False).join(
        exp.alias_(exp.to_table("crm"), "c"),
        on=exp.EQ(this=col("lead_id", "d"), expression=col("lead_id", "c")),
        join_type="left",
        copy=False,
    )
    return {
        "scored": scored,
        "scored2": with_score.from_("scored", copy=False),
        "decided": decided,
        "crm": crm,
        "reach": reach,
    }


def _stage_in(ids: list[str]) -> exp.Expression:
    return exp.In(this=col("stage"), expressions=[exp.Literal.string(s) for s in ids])


def _reach_columns(policy: Policy, within_days: float | None) -> list[exp.Expression]:
    """``reached[s]`` = every stage up to s has ``ok`` and (crm evidence) a record; ``at[s]``
    the latest of ``created_at`` and those records — the chain of docs/metrics.md unrolled,
    since ``at`` never decreases along the funnel. With --within, also at[s] − created ≤ D."""
    created = col("created_us", "d")
    out: list[exp.Expression] = [
        exp.alias_(exp.true(), reached_col(policy.stage_ids[0]), quoted=True),
        exp.alias_(created.copy(), at_col(policy.stage_ids[0]), quoted=True),
    ]
    needs: list[exp.Expression] = []
    records: list[exp.Expression] = [created.copy()]
    for stage in policy.stages[1:]:
        needs.append(exp.EQ(this=col(ok_col(stage.id), "d"), expression=exp.true()))
        if stage.evidence != "policy":
            record = col(crm_col(stage.id), "c")
            needs.append(exp.not_(exp.Is(this=record, expression=exp.null())))
            records.append(record)
        at = (
            records[0].copy()
            if len(records) == 1
            else exp.Greatest(this=records[0].copy(), expressions=[r.copy() for r in records[1:]])
        )
        tests = [n.copy() for n in needs]
        if within_days is not None:
            limit = num(int(within_days * 86_400e6))
            tests.append(
                exp.LTE(this=exp.Sub(this=at.copy(), expression=created.copy()), expression=limit)
            )
        reached = exp.Coalesce(this=exp.paren(exp.and_(*tests)), expressions=[exp.false()])
        out.append(exp.alias_(reached, reached_col(stage.id), quoted=True))
        out.append(exp.alias_(when(reached.copy(), then=at), at_col(stage.id), quoted=True))
    return out


UTC_NAMES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Etc/Universal", "Universal", "Zulu"})


def local_day(us: exp.Expression, timezone: str, dialect: str) -> exp.Expression:
    """The business-time-zone day (days since 1970) of an instant in microseconds: plain
    arithmetic in UTC, the dialect's time-zone conversion elsewhere (daylight saving)."""
    if timezone in UTC_NAMES:
        days = exp.Div(this=exp.cast(us, "DOUBLE"), expression=num(float(DAY_US)))
        return exp.cast(exp.Floor(this=days), "BIGINT")
    stamp = exp.UnixToTime(this=us, scale=exp.UnixToTime.MICROS)
    local = exp.ConvertTimezone(
        source_tz=exp.Literal.string("UTC"),
        target_tz=exp.Literal.string(timezone),
        timestamp=stamp,
    )
    return days_since_epoch(exp.cast(local, "DATE"))


def days_since_epoch(day: exp.Expression) -> exp.Expression:
    epoch = exp.cast(exp.Literal.string(EPOCH.isoformat()), "DATE")
    return exp.DateDiff(this=day, expression=epoch, unit=exp.var("DAY"))


def date_of(day: exp.Expression) -> exp.Expression:
    """Days since 1970 back to a DATE."""
    epoch = exp.cast(exp.Literal.string(EPOCH.isoformat()), "DATE")
    days = exp.cast(day, "INT")  # Spark's DATE_ADD takes no BIGINT
    return exp.cast(exp.DateAdd(this=epoch, expression=days, unit=exp.var("DAY")), "DATE")


# --- cohort and period counts ---------------------------------------------------------------


def _window(day: exp.Expression, bounds: Bounds) -> list[exp.Expression]:
    tests: list[exp.Expression] = []
    if bounds.since is not None:
        tests.append(exp.GTE(this=day.copy(), expression=bounds.since.copy()))
    if bounds.until is not None:
        tests.append(exp.LTE(this=day.copy(), expression=bounds.until.copy()))
    return tests


def _period(day: exp.Expression, every: str | None) -> exp.Expression | None:
    """The bucket's first day as a DATE (weeks start on Monday: 1970-01-01 was a Thursday)."""
    if every is None:
        return None
    if every == "day":
        return date_of(day)
    if every == "week":
        weekday = exp.Mod(
            this=exp.paren(exp.Add(this=day.copy(), expression=num(3))), expression=num(7)
        )
        return date_of(exp.Sub(this=day.copy(), expression=weekday))
    unit = {"month": "MONTH", "quarter": "QUARTER"}[every]
    return exp.cast(exp.DateTrunc(this=date_of(day), unit=exp.var(unit)), "DATE")


@dataclass(frozen=True)
class Part:
    """One aggregated relation contributing columns to the rows: ``keep`` marks the parts
    whose groups make a row (leads, spend), not those only joined to them."""

    select: exp.Select
    columns: list[str]
    keep: bool


def _grouped(
    source: str,
    where: list[exp.Expression],
    day: exp.Expression,
    query: Query,
    aggs: list[exp.Expression],
) -> tuple[exp.Select, exp.Select]:
    """``aggs`` per group of ``query`` and in all, over ``source`` rows passing ``where``."""
    period = _period(day, query.every)
    groups = [
        exp.alias_(period, PERIOD, quoted=True) if c == PERIOD else col(c) for c in query.group_by
    ]
    base = exp.select(*groups, *aggs).from_(source, copy=False)
    total = exp.select(*[a.copy() for a in aggs]).from_(source, copy=False)
    if where:
        base = base.where(exp.and_(*[w.copy() for w in where]), copy=False)
        total = total.where(exp.and_(*[w.copy() for w in where]), copy=False)
    keys = [period.copy() if c == PERIOD and period is not None else col(c) for c in query.group_by]
    return base.group_by(*keys, copy=False), total


def _count_if(test: exp.Expression, name: str) -> exp.Expression:
    summed = exp.Sum(this=when(test, then=num(1), otherwise=num(0)))
    return exp.alias_(
        exp.cast(exp.Coalesce(this=summed, expressions=[num(0)]), "BIGINT"), name, quoted=True
    )


def _reached(stage: str) -> exp.Expression:
    return exp.EQ(this=col(reached_col(stage)), expression=exp.true())


def _durations(prev: str, stage: str, first: str) -> dict[str, exp.Expression]:
    end = col(at_col(stage))
    return {
        "days": exp.Sub(this=end, expression=col(at_col(prev))),
        "days_from_lead": exp.Sub(this=end.copy(), expression=col(at_col(first))),
    }


def _quantiles(
    stage: str, values: dict[str, exp.Expression], test: exp.Expression, dialect: str
) -> list[exp.Expression]:
    out = []
    for name, value in values.items():
        for label, q in Q.items():
            chosen = when(test.copy(), then=exp.cast(value.copy(), "DOUBLE"))
            out.append(
                exp.alias_(quantile(chosen, q, dialect), f"{stage}__{name}__{label}", quoted=True)
            )
    return out


def quantile(value: exp.Expression, q: float, dialect: str) -> exp.Expression:
    """The exact quantile with linear interpolation of ``value`` (nulls left out)."""
    if dialect == "duckdb":
        return exp.Anonymous(this="QUANTILE_CONT", expressions=[value, num(q)])
    if dialect in ("spark", "databricks"):
        return exp.Anonymous(this="PERCENTILE", expressions=[value, num(q)])
    if dialect in _NATIVE_QUANTILE:
        return exp.PercentileCont(this=value, expression=num(q))
    return quantile_by_rank(value, q, dialect)


# BigQuery's PERCENTILE_CONT is only a window function and Trino has approximate ones only:
# there the sorted values are gathered and the two around (n − 1)·q interpolated, as the
# embedded engine does. Written per dialect (sqlglot does not carry array indexing across
# them); "duckdb" is there for the test that checks the arithmetic against QUANTILE_CONT.
_SORTED = {
    "bigquery": "ARRAY_AGG(v IGNORE NULLS ORDER BY v)",
    "trino": "ARRAY_SORT(ARRAY_AGG(v) FILTER (WHERE v IS NOT NULL))",
    "duckdb": "LIST_SORT(LIST(v) FILTER (WHERE v IS NOT NULL))",
}
_LENGTH = {"bigquery": "ARRAY_LENGTH(a)", "trino": "CARDINALITY(a)", "duckdb": "LEN(a)"}
_AT = {  # the element at 0-based position k, null when there is none
    "bigquery": "a[SAFE_OFFSET(k)]",
    "trino": "ELEMENT_AT(a, k + 1)",
    "duckdb": "LIST_EXTRACT(a, k + 1)",
}


def _template(text: str, dialect: str, **parts: exp.Expression) -> exp.Expression:
    """A small expression of ``dialect`` with its one-letter columns replaced by trees."""
    tree = sqlglot.parse_one(text, read=dialect)

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name in parts and not node.table:
            return parts[node.name].copy()
        return node

    return tree.transform(put)


def quantile_by_rank(value: exp.Expression, q: float, dialect: str) -> exp.Expression:
    """``value``'s quantile q with linear interpolation, from its sorted non-null values."""
    ordered = _template(_SORTED[dialect], dialect, v=value)
    n = _template(_LENGTH[dialect], dialect, a=ordered)
    h = exp.Mul(this=exp.paren(exp.Sub(this=n, expression=num(1))), expression=num(q))
    lo = exp.cast(exp.Floor(this=h.copy()), "BIGINT")
    hi = exp.cast(exp.Ceil(this=h.copy()), "BIGINT")
    low = _template(_AT[dialect], dialect, a=ordered, k=lo)
    high = _template(_AT[dialect], dialect, a=ordered, k=hi)
    step = exp.Mul(
        this=exp.paren(exp.Sub(this=h.copy(), expression=lo.copy())),
        expression=exp.paren(exp.Sub(this=high, expression=low.copy())),
    )
    return exp.Add(this=low, expression=step)


def _revenue(test: exp.Expression, inputs: Inputs) -> list[exp.Expression]:
    if not inputs.revenue:
        return [
            exp.alias_(exp.cast(exp.null(), "BIGINT"), "__revenue", quoted=True),
            exp.alias_(exp.cast(exp.null(), "DOUBLE"), "__revenue_sq", quoted=True),
        ]
    value = when(test.copy(), then=exp.cast(col(REVENUE), "DECIMAL(38, 0)"))
    units = exp.Div(this=exp.cast(col(REVENUE), "DOUBLE"), expression=num(1e6))
    square = when(test.copy(), then=exp.Mul(this=units, expression=units.copy()))
    return [
        exp.alias_(
            exp.Coalesce(this=exp.Sum(this=value), expressions=[num(0)]), "__revenue", quoted=True
        ),
        exp.alias_(
            exp.Coalesce(this=exp.Sum(this=square), expressions=[num(0.0)]),
            "__revenue_sq",
            quoted=True,
        ),
    ]


def _cohort_parts(
    plan: Plan, ctes: dict[str, exp.Expression]
) -> tuple[list[Part], list[exp.Select]]:
    query, inputs, dialect, bounds = plan.query, plan.inputs, plan.dialect, plan.bounds
    stages = plan.policy.stage_ids
    day = col("__day")
    immature: exp.Expression = exp.false()
    if bounds.cutoff is not None:
        immature = exp.GT(this=day.copy(), expression=bounds.cutoff.copy())
    base = exp.true() if query.include_immature else exp.not_(exp.paren(immature.copy()))
    ctes["cohort"] = _add(exp.select(exp.Star()).from_("reach", copy=False), _window(day, bounds))
    in_base = exp.paren(base)
    aggs = [
        exp.alias_(exp.cast(exp.Count(this=exp.Star()), "BIGINT"), "leads", quoted=True),
        _count_if(in_base.copy(), "__base"),
        _count_if(exp.paren(immature), "__immature"),
        *(_count_if(exp.and_(_reached(s), in_base.copy()), f"{s}__count") for s in stages[1:]),
        *_revenue(exp.and_(_reached(stages[-1]), in_base.copy()), inputs),
    ]
    for i in range(1, len(stages)):
        test = exp.and_(_reached(stages[i]), in_base.copy())
        aggs += _quantiles(
            stages[i], _durations(stages[i - 1], stages[i], stages[0]), test, dialect
        )
    rows, total = _grouped("cohort", [], day, query, aggs)
    return [Part(rows, _names(aggs), keep=True)], [total]


def _period_parts(
    plan: Plan, ctes: dict[str, exp.Expression]
) -> tuple[list[Part], list[exp.Select]]:
    """Per stage, the leads whose ``at[s]`` falls in the window, bucketed by that day."""
    query, inputs, dialect, bounds = plan.query, plan.inputs, plan.dialect, plan.bounds
    stages = plan.policy.stage_ids
    parts, totals = [], []
    for i, stage in enumerate(stages):
        name = f"entered_{i}"
        day = local_day(col(at_col(stage)), inputs.timezone, dialect)
        ctes[name] = (
            exp.select(exp.Star(), exp.alias_(day, "__eday", quoted=True))
            .from_("reach", copy=False)
            .where(_reached(stage), copy=False)
        )
        eday = col("__eday")
        count = exp.cast(exp.Count(this=exp.Star()), "BIGINT")
        if i == 0:
            aggs = [
                exp.alias_(count, "leads", quoted=True),
                exp.alias_(count.copy(), "__base", quoted=True),
                exp.alias_(num(0), "__immature", quoted=True),
            ]
        else:
            aggs = [exp.alias_(count, f"{stage}__count", quoted=True)]
            durations = _durations(stages[i - 1], stage, stages[0])
            aggs += _quantiles(stage, durations, exp.true(), dialect)
        if stage == stages[-1]:
            aggs += _revenue(exp.true(), inputs)
        rows, total = _grouped(name, _window(eday, bounds), eday, query, aggs)
        parts.append(Part(rows, _names(aggs), keep=True))
        totals.append(total)
    return parts, totals


def _names(aggs: list[exp.Expression]) -> list[str]:
    return [a.alias for a in aggs]


def _add(select: exp.Select, where: list[exp.Expression]) -> exp.Select:
    return select.where(exp.and_(*where), copy=False) if where else select


# --- spend, sales cost and traffic ------------------------------------------------------------


def _money_sums(query: Query, bounds: Bounds, prefix: str) -> list[exp.Expression]:
    micros = exp.cast(col("micros"), "DECIMAL(38, 0)")
    base: exp.Expression = micros.copy()
    if bounds.cutoff is not None and not query.include_immature:
        mature = exp.LTE(this=col("day"), expression=bounds.cutoff.copy())
        base = when(mature, then=micros.copy())
    names = ("micros", "__base_micros") if prefix == "spend" else ("__sales", "__base_sales")
    return [
        exp.alias_(exp.Sum(this=micros), names[0], quoted=True),
        exp.alias_(
            exp.Coalesce(this=exp.Sum(this=base), expressions=[num(0)]), names[1], quoted=True
        ),
    ]


# What a row holds for a side table it cannot be split by, or that is not there at all.
_SPEND_ABSENT = {
    "micros": None,
    "__base_micros": None,
    "__spend_rows": 0,
    **dict.fromkeys(COUNTS),
    **{f"__{c}_nulls": 0 for c in COUNTS},
}
_SALES_ABSENT = {"__sales": None, "__base_sales": None, "__sales_rows": 0}
_TRAFFIC_ABSENT = {"visits": None, "__traffic_rows": 0}


def _constants(values: dict[str, int | None]) -> list[exp.Expression]:
    return [
        exp.alias_(exp.cast(exp.null(), "BIGINT") if v is None else num(v), k, quoted=True)
        for k, v in values.items()
    ]


@dataclass(frozen=True)
class _Side:
    """A dated side table: where it is, its sums per row (``row_where`` narrows the rows'
    source) and in the total, and what a row holds without it."""

    source: str
    aggs: list[exp.Expression]
    total_aggs: list[exp.Expression]
    absent: dict[str, int | None]
    splits: set[str]
    keep: bool  # its groups make rows (spend), or it is only joined to them
    row_where: list[exp.Expression]


def _sides(query: Query, inputs: Inputs, bounds: Bounds) -> list[tuple[_Side, bool]]:
    """Spend, sales cost and traffic, each with whether the inputs carry it."""
    count = exp.cast(exp.Count(this=exp.Star()), "BIGINT")
    spend = [*_money_sums(query, bounds, "spend"), exp.alias_(count, "__spend_rows", quoted=True)]
    for c in COUNTS:
        spend.append(exp.alias_(exp.cast(exp.Sum(this=col(c)), "BIGINT"), c, quoted=True))
        nulls = exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=col(c)))
        spend.append(exp.alias_(exp.cast(nulls, "BIGINT"), f"__{c}_nulls", quoted=True))
    sales = [
        *_money_sums(query, bounds, "sales"),
        exp.alias_(count.copy(), "__sales_rows", quoted=True),
    ]
    no_channel = exp.Is(this=col("channel"), expression=exp.null())
    visits = [
        exp.alias_(exp.cast(exp.Sum(this=col("visits")), "BIGINT"), "visits", quoted=True),
        exp.alias_(count.copy(), "__traffic_rows", quoted=True),
    ]
    by_campaign = SPEND_GROUPS if inputs.traffic_by_campaign else SPEND_GROUPS - {"campaign"}
    return [
        (_Side("in_spend", spend, spend, _SPEND_ABSENT, SPEND_GROUPS, True, []), inputs.spend),
        (
            _Side(
                "in_sales",
                sales,
                [*sales, _count_if(no_channel, "__unassigned")],
                _SALES_ABSENT,
                SPEND_GROUPS,
                False,
                # Sales cost without a channel belongs to the total only.
                [exp.not_(no_channel.copy())],
            ),
            inputs.sales,
        ),
        (
            _Side("in_traffic", visits, visits, _TRAFFIC_ABSENT, by_campaign, False, []),
            inputs.traffic,
        ),
    ]


def _side_parts(
    query: Query, inputs: Inputs, bounds: Bounds
) -> tuple[list[Part], list[exp.Select], list[exp.Expression]]:
    """Spend (its groups make rows), sales cost and traffic (joined to existing rows), and
    the constant columns of those a row cannot have."""
    parts: list[Part] = []
    totals: list[exp.Select] = []
    absent: dict[str, int | None] = {}
    day = col("day")
    window = _window(day, bounds)
    for side, present in _sides(query, inputs, bounds):
        if not present:
            absent.update(side.absent)
            extra = (
                []
                if side.source != "in_sales"
                else [exp.alias_(num(0), "__unassigned", quoted=True)]
            )
            totals.append(exp.select(*_constants(side.absent), *extra))
            continue
        rows, _ = _grouped(side.source, window + side.row_where, day, query, side.aggs)
        _, total = _grouped(side.source, window, day, query, side.total_aggs)
        totals.append(total)
        if set(query.group_by) <= side.splits:
            parts.append(Part(rows, _names(side.aggs), keep=side.keep))
        else:
            absent.update(side.absent)
    return parts, totals, _constants(absent)


# --- putting the parts together -----------------------------------------------------------------


def _union_rows(cols: list[str], parts: list[Part], constants: list[exp.Expression]) -> exp.Select:
    """The parts' columns side by side per group: a UNION ALL of the parts (each with nulls
    for the others' columns), grouped again. Group values match as GROUP BY matches them,
    nulls included; no engine-specific null-safe join is needed."""
    every = [c for p in parts for c in p.columns]
    unions: list[exp.Select] = []
    for p in parts:
        own = set(p.columns)
        values = [col(c) for c in cols]
        values += [col(c) if c in own else _typed_null(c) for c in every]
        values.append(exp.alias_(num(1 if p.keep else 0), "__keep", quoted=True))
        unions.append(
            exp.select(*values).from_(
                exp.alias_(exp.paren(p.select, copy=False), f"p{len(unions)}", copy=False),
                copy=False,
            )
        )
    union: exp.Expression = unions[0]
    for u in unions[1:]:
        union = exp.union(union, u, distinct=False, copy=False)
    merged = exp.select(
        *(col(c) for c in cols),
        *(exp.alias_(exp.Max(this=col(c)), c, quoted=True) for c in every),
        *constants,
    ).from_(exp.alias_(exp.paren(union, copy=False), "parts", copy=False), copy=False)
    merged = merged.group_by(*(col(c) for c in cols), copy=False)
    return merged.having(exp.EQ(this=exp.Max(this=col("__keep")), expression=num(1)), copy=False)


_MONEY = {"micros", "__base_micros", "__sales", "__base_sales", "__revenue"}


def _typed_null(name: str) -> exp.Expression:
    """A null of the column's type: an untyped one makes PostgreSQL call the column text."""
    if name in _MONEY:
        kind = "DECIMAL(38, 0)"
    elif name.endswith(("__median", "__p90", "_sq")):
        kind = "DOUBLE"
    else:
        kind = "BIGINT"
    return exp.alias_(exp.cast(exp.null(), kind), name, quoted=True)


def _cross(totals: list[exp.Select]) -> exp.Select:
    """The total: each part's one row, side by side."""
    select = exp.select(exp.Star()).from_(
        exp.alias_(exp.paren(totals[0], copy=False), "t0", copy=False), copy=False
    )
    for i, t in enumerate(totals[1:], start=1):
        select = select.join(
            exp.alias_(exp.paren(t, copy=False), f"t{i}", copy=False), join_type="cross", copy=False
        )
    return select
