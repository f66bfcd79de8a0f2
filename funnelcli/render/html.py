"""``--format html``: one self-contained page for e-mail or a wiki — headline, what needs
attention, the funnel chart, CPL and step-rate trends per group, and the tables. No network,
no JavaScript; styles are inline so mail clients that drop ``<style>`` still show colours."""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from funnelcli.model import Report, Row, metric_values
from funnelcli.render import charts, fmt
from funnelcli.render.markdown import title
from funnelcli.render.sections import (
    Cell,
    Section,
    attention,
    details,
    headline,
    kpis,
    notes,
    overview,
    overview_columns,
)

# Trends for the groups that matter: the largest few, and any with a clear worsening.
MAX_LARGEST = 3
MAX_TREND_GROUPS = 6
TONE_STYLE = {
    "better": "color:#15803d;font-weight:600",
    "met": "color:#15803d",
    "worse": "color:#b91c1c;font-weight:600",
    "missed": "color:#b91c1c",
    "unclear": "color:#6b7280",
    "same": "color:#6b7280",
}
PAGE = (
    "font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#111827;"
    "max-width:760px;margin:16px auto;padding:0 12px;line-height:1.4"
)
H2 = '<h2 style="font-size:17px;margin:20px 0 4px">{}</h2>'
TABLE = "border-collapse:collapse;font-size:13px;margin:4px 0 12px"
TH = "text-align:{align};border-bottom:2px solid #d1d5db;padding:4px 8px;white-space:nowrap"
TD = "text-align:{align};border-bottom:1px solid #e5e7eb;padding:3px 8px;white-space:nowrap"
# A wide table scrolls sideways inside its box on a phone instead of being cut off.
SCROLL = '<div style="overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%">{}</div>'
CARD = (
    "display:inline-block;vertical-align:top;min-width:120px;margin:0 8px 8px 0;"
    "padding:8px 12px;border:1px solid #e5e7eb;border-radius:6px"
)

# How a chart gets into the page: PNG bytes and a name in, the img src out.
Embed = Callable[[bytes, str], str]


def data_uri(png: bytes, _name: str) -> str:
    """A chart inside the page itself (a self-contained file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render(report: Report) -> str:
    return page(report, data_uri)


def page(report: Report, embed: Embed, max_groups: int | None = None) -> str:
    """The summary page, read top-down: headline figures, what needs attention, the funnel,
    the tables a reader acts on, then trends for the groups that matter and the days.
    ``max_groups``: per-group tables keep only the largest groups (by leads), and say so."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title(report))}</title></head>",
        f'<body style="{PAGE}">',
        f'<h1 style="font-size:22px;margin:0 0 2px">{e(title(report))}</h1>',
        f'<p style="color:#6b7280;margin:0 0 12px;font-size:13px">{e(_subtitle(report))}</p>',
        _cards(report, embed),
        f'<p style="font-size:14px">{e(headline(report))}</p>',
    ]
    needs = attention(report, mail=True)  # a page read once: nothing that points at JSON
    if needs:
        items = "".join(f'<li style="margin:2px 0">{e(line)}</li>' for line in needs)
        parts.append(
            '<div style="border-left:4px solid #f59e0b;background:#fffbeb;padding:6px 14px">'
            f'<h2 style="font-size:16px;margin:4px 0">Needs attention</h2>'
            f'<ul style="padding-left:18px;margin:4px 0">{items}</ul></div>'
        )
    parts.append(H2.format("Funnel"))
    parts += _funnel_chart(report, embed)
    parts.append(_table(overview_columns(report), [line.cells for line in overview(report)], 1))
    sections = details(report)
    timing = sections.pop()  # days: read after the trends
    keep = _largest(report, max_groups)
    for section in sections:
        parts += [H2.format(e(section.title)), _section(section, keep)]
    parts += _trend_charts(report, embed)
    parts += [H2.format(e(timing.title)), _section(timing, keep)]
    parts += [f'<p style="color:#6b7280;font-size:12px">{e(n)}</p>' for n in notes(report)]
    if report.warnings:
        items = "".join(f"<li><code>{e(w.id)}</code>: {e(w.message)}</li>" for w in report.warnings)
        parts.append(H2.format("Data warnings") + f'<ul style="font-size:13px">{items}</ul>')
    parts.append(f'<p style="color:#9ca3af;font-size:11px">policy {e(report.policy_path)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _subtitle(report: Report) -> str:
    text = f"{report.basis} basis · grouped by {', '.join(report.group_by)}"
    if report.as_of:
        text += f" · as of {report.as_of.isoformat()}"
    if report.compare:
        text += f" · compared with {fmt.window(report.compare.since, report.compare.until)}"
    if report.within_days is not None:
        text += f" · within {report.within_days:g} days"
    return text


def _cards(report: Report, embed: Embed) -> str:
    """The headline figures as cards that wrap on a phone: the number first, its change
    beside it, and a sparkline of its periods when there are some."""
    e = html.escape
    series = report.series_total.rows if report.series_total else []
    series = sorted(series, key=lambda r: r.group.get("period") or 0)
    cards = []
    for kpi in kpis(report):
        change = ""
        if kpi.change is not None and kpi.change.text:
            change = f' <span style="font-size:12px">{_cell(kpi.change)}</span>'
        spark = ""
        if len(series) >= 3 and charts.available():
            values = [metric_values(row).get(kpi.key) for row in series]
            src = embed(charts.sparkline(values), f"spark-{kpi.key}")
            spark = f'<br><img src="{src}" alt="" width="105" height="28">'
        cards.append(
            f'<div style="{CARD}"><div style="font-size:12px;color:#6b7280">{e(kpi.label)}</div>'
            f'<div style="font-size:20px;font-weight:600">{e(kpi.value)}{change}</div>{spark}</div>'
        )
    return f'<div style="margin:4px 0 4px">{"".join(cards)}</div>'


def _funnel_chart(report: Report, embed: Embed) -> list[str]:
    if not charts.available():
        return [
            '<p style="color:#6b7280">(Charts need the optional plotting extra: '
            f"<code>{html.escape(charts.INSTALL_HINT)}</code>.)</p>"
        ]
    src = embed(charts.funnel_chart(report), "funnel")
    return [_img(src, "Funnel chart: leads at each stage")]


def _trend_charts(report: Report, embed: Embed) -> list[str]:
    groups = _trend_groups(report) if charts.available() else []
    out = []
    if groups:
        out.append(H2.format("Trends"))
    for i, (label, rows) in enumerate(groups):
        src = embed(charts.trend_chart(rows, report, label), f"trend-{i}")
        out.append(_img(src, f"Trend chart: {label}"))
    return out


def _trend_groups(report: Report) -> list[tuple[str, list[Row]]]:
    """All leads first, then the largest groups and any whose trend the report calls out,
    each with at least two periods and something to draw; the rest are in the JSON."""
    found: list[tuple[str, list[Row]]] = []
    if report.series_total is not None and len(report.series_total.rows) >= 2:
        found.append(("All leads", report.series_total.rows))
    if report.series is None:
        return found
    by_group: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in report.series.rows:
        if row.group.get("period") is not None:
            key = tuple((k, v) for k, v in row.group.items() if k != "period")
            by_group[key].append(row)

    def drawable(key: tuple[Any, ...]) -> bool:
        rows = by_group.get(key, [])
        return len(rows) >= 2 and charts.has_lines(rows, report)

    largest = sorted(by_group, key=lambda k: -sum(r.leads for r in by_group[k]))
    flagged = [tuple(t.group.items()) for t in report.trends if t.clear and t.group]
    chosen = [k for k in largest if drawable(k)][:MAX_LARGEST]
    chosen += [k for k in flagged if k not in chosen and drawable(k)]
    for key in chosen[: MAX_TREND_GROUPS - len(found)]:
        found.append((fmt.group_label(dict(key)), by_group[key]))
    return found


def _img(src: str, alt: str) -> str:
    return f'<p><img src="{src}" alt="{html.escape(alt)}" style="max-width:100%;height:auto"></p>'


def _largest(report: Report, limit: int | None) -> set[int] | None:
    """Positions of the ``limit`` groups with the most leads; None: every group."""
    if limit is None or len(report.rows) <= limit:
        return None
    order = sorted(range(len(report.rows)), key=lambda i: -report.rows[i].leads)
    return set(order[:limit])


NOTE = '<p style="color:#6b7280;font-size:12px;margin-top:0">{}</p>'


def _section(section: Section, keep: set[int] | None = None) -> str:
    body = section.rows[:-1]
    if keep is not None:
        body = [row for i, row in enumerate(body) if i in keep]
    rows = [*body, [Cell(c.text, c.tone) for c in section.rows[-1]]]
    table = _table(section.columns, rows, section.numeric_from, bold_last=True)
    if keep is None:
        return table
    note = (
        f"The {len(body)} largest of {len(section.rows) - 1} groups by leads; the total is "
        "over all of them. Every group is in --format csv or json."
    )
    return table + NOTE.format(html.escape(note))


def _table(
    columns: list[str], rows: list[list[Cell]], numeric_from: int, *, bold_last: bool = False
) -> str:
    e = html.escape

    def align(i: int) -> str:
        return "right" if i >= numeric_from else "left"

    head = "".join(
        f'<th style="{TH.format(align=align(i))}">{e(c)}</th>' for i, c in enumerate(columns)
    )
    body = []
    for n, row in enumerate(rows):
        weight = ";font-weight:600" if bold_last and n == len(rows) - 1 else ""
        cells = "".join(
            f'<td style="{TD.format(align=align(i))}{weight}">{_cell(c)}</td>'
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    rows_html = "".join(body)
    table = (
        f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>'
    )
    return SCROLL.format(table)


def _cell(cell: Cell) -> str:
    text = html.escape(cell.text)
    style = TONE_STYLE.get(cell.tone or "")
    return f'<span style="{style}">{text}</span>' if style else text
