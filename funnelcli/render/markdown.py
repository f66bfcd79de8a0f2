"""``--format markdown``: a headline, the funnel overview and the per-group tables."""

from __future__ import annotations

from funnelcli.model import Report
from funnelcli.render import fmt
from funnelcli.render.sections import (
    OVERVIEW_COLUMNS,
    Section,
    conversion,
    overview,
    timing,
    volume,
)


def _table(columns: list[str], rows: list[list[str]], numeric_from: int = 1) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(_esc(c) for c in columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_esc(c) for c in row) + " |" for row in rows]
    return lines


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _section(section: Section) -> list[str]:
    rows = [*section.rows[:-1], [f"**{c}**" for c in section.rows[-1]]]
    return ["", f"### {section.title}", "", *_table(section.columns, rows, section.numeric_from)]


def render(report: Report) -> str:
    total = report.total
    last_id, last_name = report.stages[-1]
    head = (
        f"**{fmt.count(total.leads)} leads** ({fmt.window(report.since, report.until)}, "
        f"{report.basis} basis) cost {fmt.money(total.spend, report.currency)}; "
        f"{fmt.count(total.stages[last_id].count)} reached {last_name} "
        f"({fmt.pct(total.stages[last_id].rate_from_lead)} of leads, "
        f"{fmt.money(total.stages[last_id].cost_per, report.currency)} each)."
    )
    lines = ["## Funnel report", "", head, "", "### Funnel", ""]
    lines += _table(OVERVIEW_COLUMNS, overview(report))
    for section in (volume(report), conversion(report), timing(report)):
        lines += _section(section)
    if report.warnings:
        lines += ["", "### Data warnings", ""]
        lines += [f"- `{w.id}`: {w.message}" for w in report.warnings]
    return "\n".join(lines) + "\n"
