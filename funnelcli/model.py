"""The report result: one object, rendered many ways (renderers never compute)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class StageMetrics:
    count: int
    rate: float | None = None
    rate_from_lead: float | None = None
    cost_per: float | None = None
    days: Spread | None = None
    days_from_lead: Spread | None = None

    def as_dict(self, *, entry: bool) -> dict[str, Any]:
        if entry:
            return {"count": self.count}
        return {
            "count": self.count,
            "rate": self.rate,
            "rate_from_lead": self.rate_from_lead,
            "cost_per": self.cost_per,
            "days": (self.days or Spread(None, None)).as_dict(),
            "days_from_lead": (self.days_from_lead or Spread(None, None)).as_dict(),
        }


@dataclass(frozen=True)
class Row:
    group: dict[str, Any]
    leads: int
    spend: float | None
    cpl: float | None
    stages: dict[str, StageMetrics]

    def as_dict(self, entry_stage: str) -> dict[str, Any]:
        return {
            "group": {k: _jsonable(v) for k, v in self.group.items()},
            "leads": self.leads,
            "spend": self.spend,
            "cpl": self.cpl,
            "stages": {s: m.as_dict(entry=s == entry_stage) for s, m in self.stages.items()},
        }


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

    def as_dict(self) -> dict[str, Any]:
        entry = self.stages[0][0]
        return {
            "schema": SCHEMA,
            "basis": self.basis,
            "window": {"since": _jsonable(self.since), "until": _jsonable(self.until)},
            "within_days": self.within_days,
            "currency": self.currency,
            "group_by": self.group_by,
            "stages": [{"id": i, "name": n} for i, n in self.stages],
            "rows": [r.as_dict(entry) for r in self.rows],
            "total": self.total.as_dict(entry),
            "warnings": [w.as_warning() for w in self.warnings],
        }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


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
