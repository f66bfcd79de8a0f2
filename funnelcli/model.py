"""The report result: one object, rendered many ways (renderers never compute)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from funnelcli.catalogue import GROUP_METRICS, STAGE_METRICS
from funnelcli.findings import Finding

SCHEMA = "funnel.report/1"
CHECK_SCHEMA = "funnel.check/1"


@dataclass(frozen=True)
class Spread:
    """Days between two stages over the leads that made the step."""

    median: float | None
    p90: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"median": self.median, "p90": self.p90}


Interval = tuple[float, float]


@dataclass(frozen=True)
class StageMetrics:
    count: int
    rate: float | None = None
    rate_from_lead: float | None = None
    cost_per: float | None = None
    days: Spread | None = None
    days_from_lead: Spread | None = None
    rate_ci: Interval | None = None  # 95% Wilson interval of rate
    rate_from_lead_ci: Interval | None = None

    def as_dict(self, *, entry: bool) -> dict[str, Any]:
        if entry:
            return {"count": self.count}
        return {
            "count": self.count,
            "rate": self.rate,
            "rate_ci": _interval(self.rate_ci),
            "rate_from_lead": self.rate_from_lead,
            "rate_from_lead_ci": _interval(self.rate_from_lead_ci),
            "cost_per": self.cost_per,
            "days": (self.days or Spread(None, None)).as_dict(),
            "days_from_lead": (self.days_from_lead or Spread(None, None)).as_dict(),
        }


@dataclass(frozen=True)
class Change:
    """One metric against the comparison window. ``verdict``: better / worse / same, unclear
    when the 95% intervals overlap, None for a metric with no better direction (spend)."""

    previous: float | None
    abs: float | None
    rel: float | None
    verdict: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"abs": self.abs, "rel": self.rel, "verdict": self.verdict}


@dataclass(frozen=True)
class Row:
    group: dict[str, Any]
    leads: int
    spend: float | None
    cpl: float | None
    stages: dict[str, StageMetrics]
    immature_leads: int = 0  # cohort leads younger than --within days, left out of stages
    # The top of the funnel and the money (docs/metrics.md); None when the data is absent.
    impressions: int | None = None
    clicks: int | None = None
    ctr: float | None = None
    cpc: float | None = None
    click_to_lead: float | None = None
    visits: int | None = None
    visit_to_lead: float | None = None
    sales_cost: float | None = None
    revenue: float | None = None
    avg_deal: float | None = None
    roas: float | None = None
    roi: float | None = None
    cac: float | None = None
    ltv_cac: float | None = None
    cost: float | None = None  # marketing spend + sales cost, when both are known for the row
    revenue_sq: float | None = None  # sum of squared customer revenues: its interval's spread
    previous: Row | None = None  # the same group in the comparison window
    changes: dict[str, Change] | None = None  # metric key ("mql.rate") → change

    @property
    def customers(self) -> int:
        """Leads that reached the last stage (the count CAC and the average deal are over)."""
        return list(self.stages.values())[-1].count

    def as_dict(self, entry_stage: str) -> dict[str, Any]:
        group = {k: _jsonable(v) for k, v in self.group.items()}
        return {"group": group, **self._metrics(entry_stage)}

    def _metrics(self, entry_stage: str, *, compared: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"leads": self.leads, "immature_leads": self.immature_leads}
        out |= {m.name: m.value(self) for m in GROUP_METRICS if m.name != "leads"}
        out["stages"] = {s: m.as_dict(entry=s == entry_stage) for s, m in self.stages.items()}
        if compared and self.changes is not None:
            prev = self.previous._metrics(entry_stage, compared=False) if self.previous else None
            out["previous"] = prev
            out["delta"] = _nest({k: c.as_dict() for k, c in self.changes.items()})
        return out


def metric_values(row: Row) -> dict[str, float | None]:
    """Every comparable metric of a row by flat key (``leads``, ``cpl``, ``mql.rate``,
    ``mql.days.median``…): the catalogue's, in its order."""
    out: dict[str, float | None] = {m.name: m.value(row) for m in GROUP_METRICS}
    for stage, m in list(row.stages.items())[1:]:
        out |= {f"{stage}.{metric.name}": metric.value(m) for metric in STAGE_METRICS}
    return out


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"mql.days.median": x} → {"stages": {"mql": {"days": {"median": x}}}} (JSON shape)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = out if len(parts) == 1 else out.setdefault("stages", {})
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


@dataclass(frozen=True)
class TargetResult:
    key: str  # "mql.rate"
    op: str  # gte lte gt lt
    threshold: float
    value: float | None  # None: not measurable (no spend, no leads…), which counts as missed

    @property
    def met(self) -> bool:
        ops = {"gte": float.__ge__, "lte": float.__le__, "gt": float.__gt__, "lt": float.__lt__}
        return self.value is not None and ops[self.op](float(self.value), float(self.threshold))

    @property
    def symbol(self) -> str:
        return {"gte": "≥", "lte": "≤", "gt": ">", "lt": "<"}[self.op]

    @property
    def text(self) -> str:
        shown = "not measurable" if self.value is None else f"{self.value:.4g}"
        return f"{self.key} = {shown} (target {self.symbol} {self.threshold:g})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.key,
            "op": self.op,
            "target": self.threshold,
            "value": self.value,
            "met": self.met,
        }


@dataclass(frozen=True)
class Bottleneck:
    """The funnel step that most needs attention, and what that usually means."""

    stage: str  # the step into this stage
    prev_stage: str
    why: str  # e.g. "furthest below its target: mql.rate = 21% (target ≥ 30%)"
    reading: str  # plain language: "targeting or offer problem"
    target: TargetResult | None = None  # the missed target that names it, if one does

    def as_dict(self) -> dict[str, Any]:
        return {"step": f"{self.prev_stage}→{self.stage}", "why": self.why, "reading": self.reading}


@dataclass(frozen=True)
class Trend:
    """A metric that got worse period after period, up to the latest period with a value."""

    group: dict[str, Any]
    metric: str  # flat key, e.g. "cpl" or "mql.rate"
    periods: list[dt.date]  # first to last, len = worsenings + 1
    values: list[float]
    clear: bool = True  # first and last told apart by their 95% intervals (not noise)

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": {k: _jsonable(v) for k, v in self.group.items()},
            "metric": self.metric,
            "worsened": len(self.periods) - 1,
            "periods": [p.isoformat() for p in self.periods],
            "values": self.values,
            "clear": self.clear,
        }


@dataclass(frozen=True)
class Comparison:
    mode: str  # previous | year
    since: dt.date
    until: dt.date


@dataclass(frozen=True)
class Report:
    basis: str
    since: dt.date | None
    until: dt.date | None
    within_days: float | None
    currency: str
    group_by: list[str]
    stages: list[tuple[str, str]]  # (id, name) in funnel order
    rows: list[Row]
    total: Row
    warnings: list[Finding] = field(default_factory=list)
    policy_path: str = ""
    as_of: dt.date | None = None
    maturity_cutoff: dt.date | None = None  # with --within: leads created after are immature
    immature_included: bool = False
    compare: Comparison | None = None
    targets: list[TargetResult] = field(default_factory=list)
    bottleneck: Bottleneck | None = None
    trends: list[Trend] = field(default_factory=list)
    series: Report | None = None  # per-period rows behind the trends and charts
    series_total: Report | None = None  # the same periods over all groups
    features: frozenset[str] = frozenset()  # what the inputs carry (catalogue.has_data)
    every: str | None = None  # the period buckets of the rows (day, week, month, quarter)

    def as_dict(self) -> dict[str, Any]:
        entry = self.stages[0][0]
        compare = None
        if self.compare:
            window = {
                "since": _jsonable(self.compare.since),
                "until": _jsonable(self.compare.until),
            }
            compare = {"mode": self.compare.mode, "window": window}
        maturity = None
        if self.maturity_cutoff is not None:
            maturity = {
                "as_of": _jsonable(self.as_of),
                "mature_until": _jsonable(self.maturity_cutoff),
                "immature_included": self.immature_included,
            }
        return {
            "schema": SCHEMA,
            "basis": self.basis,
            "window": {"since": _jsonable(self.since), "until": _jsonable(self.until)},
            "within_days": self.within_days,
            "currency": self.currency,
            "group_by": self.group_by,
            "stages": [{"id": i, "name": n} for i, n in self.stages],
            "compare": compare,
            "maturity": maturity,
            "rows": [r.as_dict(entry) for r in self.rows],
            "total": self.total.as_dict(entry),
            "targets": [t.as_dict() for t in self.targets],
            "bottleneck": self.bottleneck.as_dict() if self.bottleneck else None,
            "trends": [t.as_dict() for t in self.trends],
            "warnings": [w.as_warning() for w in self.warnings],
        }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _interval(ci: Interval | None) -> list[float] | None:
    return None if ci is None else [round(ci[0], 9), round(ci[1], 9)]


@dataclass(frozen=True)
class CheckResult:
    findings: list[Finding]  # worst first
    files: dict[str, str]  # file name in examples → path as given, for CI annotations
    rows: dict[str, int]  # rows read per input table
    policy_path: str = ""

    @property
    def status(self) -> str:
        return "fail" if any(f.level == "error" for f in self.findings) else "pass"

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": CHECK_SCHEMA,
            "status": self.status,
            "findings": [f.as_finding() for f in self.findings],
        }
