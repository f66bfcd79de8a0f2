"""Every metric of a report row, declared once: what it is called, its unit, which way is
better, how a comparison puts an interval on it, whether it can be a target, whether
trends watch it, its CSV column and whether the tables show it.

JSON keys, CSV columns, target names, comparison directions and verdicts, trend metrics and
target labels are all derived from these two lists (as ``findings.py`` is for checks), so a
new metric is one line here plus the code that computes it; tests/test_catalogue.py checks
every metric reaches every output it claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# money: in the report's currency; rate: a ratio of counts (a share); ratio: a money ratio
# shown as a multiple (ROAS 3.4×); percent: a money ratio shown as a percentage (ROI).
Unit = Literal["count", "money", "rate", "ratio", "percent", "days"]
# How `--compare` judges a change (docs/metrics.md, "Comparisons"): a Poisson interval on a
# count; a cost (money ÷ a count's interval); a ratio of two counts (log-ratio delta
# method); revenue (its compound-Poisson interval, divided by the cost); the mean deal; the
# Wilson interval the row carries; or for days only a minimum sample.
Interval = Literal[
    "count", "cost", "ratio", "revenue", "mean", "rate_ci", "rate_from_lead_ci", "sample", "none"
]


@dataclass(frozen=True)
class Metric:
    name: str  # JSON key (a dotted path for nested ones: "days.median")
    label: str  # how a person reads it ("from lead", "days (median)")
    unit: Unit
    better: int  # +1 higher is better, -1 lower is better, 0 neither (spend)
    interval: Interval
    target: bool = False  # may be named in `targets:`
    trend: bool = False  # watched for worsening runs of periods
    csv: bool = True  # written as a CSV column
    shown: bool = True  # shown in the terminal, Markdown and HTML tables
    total: bool = False  # a money sum (written to the minor unit), not a ratio
    # The row values a cost or ratio interval is built from: (numerator, denominator).
    of: tuple[str, str] | None = None
    # What the inputs must carry for the metric to exist at all (docs/metrics.md): its CSV
    # column and its place in the tables depend on it, never on one window's values.
    needs: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def value(self, holder: Any) -> Any:
        """This metric's value on a row (group metrics) or a stage's metrics."""
        for part in self.path:
            holder = getattr(holder, part, None) if holder is not None else None
        return holder


# What a report's inputs can carry beyond leads, spend and stages (Report.features).
IMPRESSIONS, CLICKS, VISITS, REVENUE, SALES = "impressions", "clicks", "visits", "revenue", "sales"
MONEY = "money"  # revenue or sales cost: the full-cost metrics mean more than cost per stage

# Metrics of a row (a group, or the total).
GROUP_METRICS = (
    Metric("leads", "leads", "count", +1, "count"),
    Metric("spend", "spend", "money", 0, "none", total=True),
    Metric("cpl", "CPL", "money", -1, "cost", target=True, trend=True, of=("spend", "leads")),
    # The top of the funnel (docs/metrics.md, "Money and the top of the funnel").
    Metric("impressions", "impressions", "count", 0, "none", needs=(IMPRESSIONS,)),
    Metric("clicks", "clicks", "count", 0, "none", needs=(CLICKS,)),
    Metric(
        "ctr",
        "CTR",
        "rate",
        +1,
        "ratio",
        target=True,
        of=("clicks", "impressions"),
        needs=(IMPRESSIONS, CLICKS),
    ),
    Metric("cpc", "CPC", "money", -1, "cost", target=True, of=("spend", "clicks"), needs=(CLICKS,)),
    Metric(
        "click_to_lead",
        "click→lead",
        "rate",
        +1,
        "ratio",
        target=True,
        of=("leads", "clicks"),
        needs=(CLICKS,),
    ),
    Metric("visits", "visits", "count", 0, "none", needs=(VISITS,)),
    Metric(
        "visit_to_lead",
        "visit→lead",
        "rate",
        +1,
        "ratio",
        target=True,
        of=("leads", "visits"),
        needs=(VISITS,),
    ),
    # The money: revenue of the customers, what they cost in full, and the ratios of the two.
    Metric("sales_cost", "sales cost", "money", 0, "none", total=True, needs=(SALES,)),
    Metric("revenue", "revenue", "money", +1, "revenue", total=True, needs=(REVENUE,)),
    Metric("avg_deal", "avg deal", "money", +1, "mean", needs=(REVENUE,)),
    Metric(
        "roas",
        "ROAS",
        "ratio",
        +1,
        "revenue",
        target=True,
        trend=True,
        of=("revenue", "spend"),
        needs=(REVENUE,),
    ),
    Metric(
        "roi",
        "ROI",
        "percent",
        +1,
        "revenue",
        target=True,
        of=("revenue", "cost"),
        needs=(REVENUE,),
    ),
    Metric(
        "cac",
        "CAC",
        "money",
        -1,
        "cost",
        target=True,
        trend=True,
        of=("cost", "customers"),
        needs=(MONEY,),
    ),
    Metric(
        "ltv_cac",
        "LTV:CAC",
        "ratio",
        +1,
        "revenue",
        target=True,
        of=("revenue", "cost"),
        needs=(REVENUE,),
    ),
)

# Metrics of each stage after the first (the entry stage has only its count).
STAGE_METRICS = (
    Metric("count", "n", "count", +1, "count", target=True),
    Metric("rate", "rate", "rate", +1, "rate_ci", target=True, trend=True),
    Metric("rate_from_lead", "from lead", "rate", +1, "rate_from_lead_ci", target=True),
    Metric("cost_per", "cost", "money", -1, "cost", target=True, trend=True),
    Metric("days.median", "days (median)", "days", -1, "sample"),
    Metric("days.p90", "days (p90)", "days", -1, "sample"),
    Metric("days_from_lead.median", "days from lead (median)", "days", -1, "sample", csv=False),
    Metric(
        "days_from_lead.p90", "days from lead (p90)", "days", -1, "sample", csv=False, shown=False
    ),
)

GROUP = {m.name: m for m in GROUP_METRICS}
# Group metrics a target may name (`roas: {gte: 3}`), in catalogue order.
GROUP_TARGETS = tuple(m.name for m in GROUP_METRICS if m.target)
STAGE = {m.name: m for m in STAGE_METRICS}
# In the order messages list them.
TARGET_METRICS = ("rate", "rate_from_lead", "cost_per", "count")
assert set(TARGET_METRICS) == {m.name for m in STAGE_METRICS if m.target}


def features_of(ads: set[str], *, visits: bool, revenue: bool, sales: bool) -> frozenset[str]:
    """What the inputs carry, for ``has_data``: ``ads`` (those of impressions and clicks the
    spend holds a value of), visits, revenue, sales cost, and money with either of the two."""
    carried = {name for name, has in ((VISITS, visits), (REVENUE, revenue), (SALES, sales)) if has}
    found = set(ads) | carried
    return frozenset(found | {MONEY} if revenue or sales else found)


def has_data(metric: Metric, features: frozenset[str]) -> bool:
    """Whether the report's inputs carry what ``metric`` is computed from."""
    return all(need in features for need in metric.needs)


def metric_of(key: str) -> Metric:
    """The metric a flat key names: ``cpl``, or ``<stage>.<metric>`` (``mql.days.median``)."""
    if key in GROUP:
        return GROUP[key]
    return STAGE[key.split(".", 1)[1]]


def csv_column(stage: str, metric: Metric) -> str:
    """``mql_rate``, ``mql_days_median``: a stage metric's CSV column."""
    return f"{stage}_{metric.name.replace('.', '_')}"
