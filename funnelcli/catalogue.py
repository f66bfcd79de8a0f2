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

Unit = Literal["count", "money", "rate", "days"]
# How `--compare` judges a change: a Poisson interval on a count, one on a cost (spend ÷ a
# count), the Wilson interval the row carries, or for days only a minimum sample.
Interval = Literal["count", "cost", "rate_ci", "rate_from_lead_ci", "sample", "none"]


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

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def value(self, holder: Any) -> Any:
        """This metric's value on a row (group metrics) or a stage's metrics."""
        for part in self.path:
            holder = getattr(holder, part, None) if holder is not None else None
        return holder


# Metrics of a row (a group, or the total).
GROUP_METRICS = (
    Metric("leads", "leads", "count", +1, "count"),
    Metric("spend", "spend", "money", 0, "none", total=True),
    Metric("cpl", "CPL", "money", -1, "cost", trend=True),
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
STAGE = {m.name: m for m in STAGE_METRICS}
# In the order messages list them.
TARGET_METRICS = ("rate", "rate_from_lead", "cost_per", "count")
assert set(TARGET_METRICS) == {m.name for m in STAGE_METRICS if m.target}


def metric_of(key: str) -> Metric:
    """The metric a flat key names: ``cpl``, or ``<stage>.<metric>`` (``mql.days.median``)."""
    if key in GROUP:
        return GROUP[key]
    return STAGE[key.split(".", 1)[1]]


def csv_column(stage: str, metric: Metric) -> str:
    """``mql_rate``, ``mql_days_median``: a stage metric's CSV column."""
    return f"{stage}_{metric.name.replace('.', '_')}"
