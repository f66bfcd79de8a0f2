"""``--format table``: the terminal report (rich), readable in 100 columns."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from funnelcli.findings import Finding
from funnelcli.model import Report
from funnelcli.render import fmt
from funnelcli.render.fit import Fitted, natural_width
from funnelcli.render.sections import (
    Cell,
    Section,
    attention,
    cohort_base,
    details,
    notes,
    overview,
    overview_columns,
)

BAR_WIDTH = 24
NARROW_BAR = 10  # with the change and target columns
TONES = {
    "better": "green",
    "met": "green",
    "worse": "red",
    "missed": "red",
    "unclear": "dim",
    "same": "dim",
}


TEXT_WIDTH = 100  # prose wraps here off a terminal; tables take the width they need


def render_text(report: Report, width: int | None = None) -> str:
    """The report as plain text (no colour), for pipes and --output files."""
    return plain(renderable(report), width)


def plain(renderable: RenderableType, width: int | None = None) -> str:
    """Any rich renderable as plain text (no colour, no terminal codes). Without ``width``
    (off a terminal), as wide as its widest table, so that no table is stacked or cut."""
    buf = io.StringIO()
    console = Console(file=buf, width=TEXT_WIDTH, color_system=None, force_terminal=False)
    if width is None:
        width = max(TEXT_WIDTH, _widest_table(console, renderable))
    console.width = width
    console.print(renderable)
    return buf.getvalue()


def _widest_table(console: Console, renderable: RenderableType) -> int:
    parts = renderable.renderables if isinstance(renderable, Group) else [renderable]
    tables = [p.table if isinstance(p, Fitted) else p for p in parts]
    widths = [natural_width(console, console.options, t) for t in tables if isinstance(t, Table)]
    return max(widths, default=0)


def renderable(report: Report) -> RenderableType:
    parts: list[RenderableType] = [_header(report), Text("")]
    needs = attention(report)
    if needs:
        parts += [_title("Needs attention"), *[Text(f"• {line}") for line in needs], Text("")]
    parts += [_title("Funnel (all groups)"), _overview(report)]
    for section in details(report):
        parts += [Text(""), _title(section.title), _section(section)]
    parts += [Text(line, style="dim") for line in notes(report)]
    return Group(*parts)


def _cell(cell: Cell) -> Text:
    return Text(cell.text, style=TONES.get(cell.tone or "", ""))


def _header(report: Report) -> Text:
    text = Text()
    text.append("Funnel report", style="bold")
    window = fmt.window(report.since, report.until)
    if report.until is None and report.as_of is not None and report.maturity_cutoff:
        window += f" to {report.as_of}"  # --within: maturity is judged on the as-of day
    text.append(f"  {report.basis} basis · {window}")
    text.append(f" · {fmt.count(report.total.leads)} leads in cohort")
    if report.within_days is not None:
        text.append(f" · within {report.within_days:g} days")
    base = cohort_base(report)
    if base:
        text.append(f"\n{base[0].upper()}{base[1:]}.")
    if report.compare:
        other = fmt.window(report.compare.since, report.compare.until)
        text.append(f" · vs {report.compare.mode} ({other})")
    text.append(f"\npolicy {report.policy_path} · grouped by {', '.join(report.group_by)}", "dim")
    return text


def _overview(report: Report) -> Fitted:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    columns = overview_columns(report)
    table.add_column(columns[0], no_wrap=True)
    table.add_column("", no_wrap=True)
    for name in columns[1:]:
        table.add_column(name, justify="left" if name == "target" else "right", no_wrap=True)
    width = NARROW_BAR if report.compare or report.targets else BAR_WIDTH
    for line in overview(report):
        cells = line.cells
        bar = Text("") if line.share is None else _bar(line.share, width)
        table.add_row(_cell(cells[0]), bar, *[_cell(c) for c in cells[1:]])
    return Fitted(table, keep=2)


def _title(text: str) -> Text:
    return Text(text, style="bold")


def _bar(share: float, width: int) -> Text:
    full = round(share * width)
    return Text("█" * full + "·" * (width - full), style="cyan")


def _section(section: Section) -> Fitted:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    label_width = min(28, max(len(r[0].text) for r in section.rows))
    for i, col in enumerate(section.columns):
        numeric = i >= section.numeric_from
        width = None if numeric else label_width
        table.add_column(col, justify="right" if numeric else "left", no_wrap=True, min_width=width)
    for row in section.rows[:-1]:
        table.add_row(*[_cell(c) for c in row])
    table.add_row(*[_cell(c) for c in section.rows[-1]], style="bold", end_section=True)
    return Fitted(table, keep=section.numeric_from)


def render_warnings(console: Console, warnings: list[Finding]) -> None:
    """Data warnings, after the report, on the (stderr) console; info findings in one line."""
    info = [w.id for w in warnings if w.level == "info"]
    for w in [w for w in warnings if w.level != "info"]:
        rows = ", ".join(str(e.row) for e in w.examples if e.row is not None)
        where = f" — first rows in {w.examples[0].file}: {rows}" if rows and w.examples else ""
        style = "red" if w.level == "error" else "yellow" if w.level == "warning" else "dim"
        line = f"data {w.level}: {w.id}: {w.message}{where}"
        console.print(Text(line, style=style), soft_wrap=not console.is_terminal)
    if info:
        text = f"data info: {', '.join(info)} (details: funnel check)"
        console.print(Text(text, style="dim"), soft_wrap=not console.is_terminal)
