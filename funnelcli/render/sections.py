"""The report's human-readable sections as plain rows of strings.

The terminal (rich) and Markdown renderers lay out the same three per-group tables, so the
cell text is built once here.
"""

from __future__ import annotations

from dataclasses import dataclass

from funnelcli.model import Report, Row
from funnelcli.render import fmt


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str]
    rows: list[list[str]]  # the last row is the total
    numeric_from: int  # columns from this index on are right-aligned numbers


SHORT = 12


def short(stage_id: str, name: str) -> str:
    """A column heading for a stage: its name when short, else its id in capitals."""
    return name if len(name) <= SHORT else stage_id.upper()


def group_header(report: Report) -> str:
    return " · ".join(report.group_by) or "group"


def rate_label(report: Report) -> str:
    return "flow" if report.basis == "period" else "step"


def volume(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), "leads", "spend", "CPL", *[f"per {short(*s)}" for s in later]]

    def cells(row: Row) -> list[str]:
        c = report.currency
        costs = [fmt.money(row.stages[s].cost_per, c) for s, _ in later]
        return [fmt.count(row.leads), fmt.money(row.spend, c), fmt.money(row.cpl, c), *costs]

    return Section("Volume & cost", cols, _rows(report, cells), 1)


def conversion(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), "leads", *[f"{short(*s)} ({rate_label(report)})" for s in later]]

    def cells(row: Row) -> list[str]:
        parts = [fmt.count(row.leads)]
        for s, _ in later:
            m = row.stages[s]
            parts.append(f"{fmt.count(m.count)} ({fmt.pct(m.rate)})")
        return parts

    title = (
        "Conversion (count, flow ratio)"
        if report.basis == "period"
        else "Conversion (count, step rate)"
    )
    return Section(title, cols, _rows(report, cells), 1)


def timing(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), *[f"→ {short(*s)}" for s in later]]

    def cells(row: Row) -> list[str]:
        out = []
        for s, _ in later:
            d = row.stages[s].days
            out.append(f"{fmt.days(d.median if d else None)} / {fmt.days(d.p90 if d else None)}")
        return out

    return Section("Days from the previous stage (median / p90)", cols, _rows(report, cells), 1)


def _rows(report: Report, cells) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = [[fmt.group_label(r.group), *cells(r)] for r in report.rows]
    return [*body, ["Total", *cells(report.total)]]


def overview(report: Report) -> list[list[str]]:
    """The total funnel, one line per stage: name, count, step rate, from lead, cost, days."""
    total, c = report.total, report.currency
    out = []
    for s, name in report.stages:
        m = total.stages[s]
        d = m.days_from_lead
        out.append(
            [
                short(s, name),
                fmt.count(m.count),
                fmt.pct(m.rate) if m.rate is not None or s != report.stages[0][0] else "",
                fmt.pct(m.rate_from_lead) if s != report.stages[0][0] else "100.0%",
                fmt.money(m.cost_per if s != report.stages[0][0] else total.cpl, c),
                fmt.days(d.median if d else None) if s != report.stages[0][0] else "",
            ]
        )
    return out


OVERVIEW_COLUMNS = ["stage", "count", "step rate", "from lead", "cost per", "days from lead"]
