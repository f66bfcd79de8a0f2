"""``--format csv``: one line per row plus a TOTAL line; formula-safe text cells."""

from __future__ import annotations

import csv
import io
from typing import Any

from funnelcli.model import Report, Row

FORMULA_START = ("=", "+", "-", "@")


def header(report: Report) -> list[str]:
    cols = [*report.group_by, "leads", "spend", "cpl"]
    for stage, _ in report.stages:
        cols += [f"{stage}_{m}" for m in ("count", "rate", "rate_from_lead", "cost_per")]
        cols += [f"{stage}_days_median", f"{stage}_days_p90"]
    return cols


def cells(report: Report, row: Row, *, total: bool = False) -> list[Any]:
    group = ["TOTAL", *[""] * (len(report.group_by) - 1)] if total else list(row.group.values())
    out: list[Any] = [*group, row.leads, row.spend, row.cpl]
    for stage, _ in report.stages:
        m = row.stages[stage]
        days = m.days
        out += [m.count, m.rate, m.rate_from_lead, m.cost_per]
        out += [days.median if days else None, days.p90 if days else None]
    return [safe_cell(c) for c in out]


def safe_cell(value: Any) -> Any:
    """A CSV cell: empty for null, ISO dates, text that a spreadsheet would run as a
    formula prefixed with ' ."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header(report))
    for row in report.rows:
        writer.writerow(cells(report, row))
    writer.writerow(cells(report, report.total, total=True))
    return buf.getvalue()
