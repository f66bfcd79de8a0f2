"""``--format markdown``: a headline paragraph, what needs attention, then the tables; pastes
well into Slack, GitHub and wikis."""

from __future__ import annotations

from funnelcli.model import Report
from funnelcli.render import fmt
from funnelcli.render.sections import (
    Cell,
    Section,
    attention,
    details,
    headline,
    notes,
    overview,
    overview_columns,
)

# Markers readable without colour: a green or red dot after a change the intervals support.
MARKS = {"better": " 🟢", "worse": " 🔴", "met": "", "missed": ""}


def _table(columns: list[str], rows: list[list[Cell]], numeric_from: int = 1) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(_esc(c) for c in columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_esc(_text(c)) for c in row) + " |" for row in rows]
    return lines


def _text(cell: Cell) -> str:
    return cell.text + MARKS.get(cell.tone or "", "") if cell.text else ""


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _section(section: Section) -> list[str]:
    last = [Cell(f"**{c.text}**" if c.text else "", c.tone) for c in section.rows[-1]]
    rows = [*section.rows[:-1], last]
    return ["", f"### {section.title}", "", *_table(section.columns, rows, section.numeric_from)]


def title(report: Report) -> str:
    when = fmt.window(report.since, report.until)
    return f"Funnel report — {when}" if report.since or report.until else "Funnel report"


def render(report: Report) -> str:
    lines = [f"## {title(report)}", "", headline(report)]
    needs = attention(report)
    if needs:
        lines += ["", "**Needs attention**", ""]
        lines += [f"- {line}" for line in needs]
    lines += ["", "### Funnel", ""]
    columns = overview_columns(report)
    lines += _table(columns, [line.cells for line in overview(report)], numeric_from=1)
    for section in details(report):
        lines += _section(section)
    if notes(report):
        lines += ["", *[f"_{line}_" for line in notes(report)]]
    if report.warnings:
        lines += ["", "### Data warnings", ""]
        lines += [f"- `{w.id}`: {w.message}" for w in report.warnings]
    return "\n".join(lines) + "\n"
