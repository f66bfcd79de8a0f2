"""``--format html``: one self-contained page for e-mail or a wiki — headline, what needs
attention, the funnel chart, CPL and step-rate trends per group, and the tables. No network,
no JavaScript; styles are inline so mail clients that drop ``<style>`` still show colours."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

from funnelcli.model import Report, Row
from funnelcli.render import charts, fmt
from funnelcli.render.markdown import title
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

MAX_TREND_GROUPS = 12  # the largest groups by leads; a page of 60 charts helps nobody
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
    "max-width:960px;margin:24px auto;padding:0 16px"
)
TABLE = "border-collapse:collapse;font-size:13px;margin:8px 0 16px"
TH = "text-align:{align};border-bottom:2px solid #d1d5db;padding:4px 8px;white-space:nowrap"
TD = "text-align:{align};border-bottom:1px solid #e5e7eb;padding:4px 8px;white-space:nowrap"


def render(report: Report) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title(report))}</title></head>",
        f'<body style="{PAGE}">',
        f'<h1 style="font-size:22px;margin-bottom:4px">{e(title(report))}</h1>',
        f'<p style="color:#6b7280;margin-top:0">{e(_subtitle(report))}</p>',
        f'<p style="font-size:15px">{e(headline(report))}</p>',
    ]
    needs = attention(report)
    if needs:
        items = "".join(f"<li>{e(line)}</li>" for line in needs)
        parts.append(
            '<div style="border-left:4px solid #f59e0b;background:#fffbeb;padding:8px 16px">'
            f'<h2 style="font-size:16px;margin:4px 0">Needs attention</h2><ul>{items}</ul></div>'
        )
    parts.append('<h2 style="font-size:17px">Funnel</h2>')
    parts += _funnel_chart(report)
    parts.append(_table(overview_columns(report), [line.cells for line in overview(report)], 1))
    parts += _trend_charts(report)
    for section in details(report):
        parts.append(f'<h2 style="font-size:17px">{e(section.title)}</h2>')
        parts.append(_section(section))
    parts += [f'<p style="color:#6b7280;font-size:12px">{e(n)}</p>' for n in notes(report)]
    if report.warnings:
        items = "".join(f"<li><code>{e(w.id)}</code>: {e(w.message)}</li>" for w in report.warnings)
        parts.append(
            f'<h2 style="font-size:17px">Data warnings</h2><ul style="font-size:13px">{items}</ul>'
        )
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


def _funnel_chart(report: Report) -> list[str]:
    if not charts.available():
        return [
            '<p style="color:#6b7280">(Charts need the optional plotting extra: '
            f"<code>{html.escape(charts.INSTALL_HINT)}</code>.)</p>"
        ]
    return [_img(charts.funnel_chart(report), "Funnel chart: leads at each stage")]


def _trend_charts(report: Report) -> list[str]:
    groups = _trend_groups(report) if charts.available() else []
    out = []
    if groups:
        out.append('<h2 style="font-size:17px">Trends</h2>')
    for label, rows in groups:
        out.append(_img(charts.trend_chart(rows, report, label), f"Trend chart: {label}"))
    return out


def _trend_groups(report: Report) -> list[tuple[str, list[Row]]]:
    """All leads first, then the largest groups, each with at least two periods."""
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
    largest = sorted(by_group.items(), key=lambda kv: -sum(r.leads for r in kv[1]))
    for key, rows in largest[:MAX_TREND_GROUPS]:
        if len(rows) >= 2:
            found.append((fmt.group_label(dict(key)), rows))
    return found


def _img(src: str, alt: str) -> str:
    return f'<p><img src="{src}" alt="{html.escape(alt)}" style="max-width:100%"></p>'


def _section(section: Section) -> str:
    rows = [*section.rows[:-1], [Cell(c.text, c.tone) for c in section.rows[-1]]]
    return _table(section.columns, rows, section.numeric_from, bold_last=True)


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
    return (
        f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table>'
    )


def _cell(cell: Cell) -> str:
    text = html.escape(cell.text)
    style = TONE_STYLE.get(cell.tone or "")
    return f'<span style="{style}">{text}</span>' if style else text
