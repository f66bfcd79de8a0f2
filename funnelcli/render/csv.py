"""``--format csv``: one line per row plus a TOTAL line; formula-safe text cells."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from funnelcli.catalogue import GROUP_METRICS, STAGE_METRICS, Metric, csv_column, has_data
from funnelcli.model import Report, Row

FORMULA_START = ("=", "+", "-", "@")
# ISO 4217 minor units where they are not 2 (money sums are written to the minor unit).
MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
RATIO_PLACES = 4  # money ratios (CPL, cost per stage): half-even to 4 decimals
RATE_PLACES = 12  # rates: a ratio of counts, to 12 decimals, no binary noise
DAYS_PLACES = 9  # days: 9 decimals is below a millisecond


def header(report: Report) -> list[str]:
    """The columns: fixed by the policy's stages, the grouping and what the inputs carry (the
    catalogue's CSV metrics); the first stage's rate, cost and days are undefined by
    definition and not written. The top-of-funnel and money columns come last, when the
    inputs have their data, so the leading columns stay where they always were."""
    first, last = _group_metrics(report)
    cols = [*report.group_by, *(m.name for m in first)]
    for i, (stage, _) in enumerate(report.stages):
        metrics = [m for m in STAGE_METRICS if m.csv and (i or m.name == "count")]
        cols += [csv_column(stage, m) for m in metrics]
    return cols + [m.name for m in last]


def cells(report: Report, row: Row, *, total: bool = False) -> list[Any]:
    group = ["TOTAL", *[""] * (len(report.group_by) - 1)] if total else list(row.group.values())
    minor = MINOR_UNITS.get(report.currency.upper(), 2)
    first, last = _group_metrics(report)
    out: list[Any] = [_written(m, m.value(row), minor) for m in first]
    for i, (stage, _) in enumerate(report.stages):
        metrics = [m for m in STAGE_METRICS if m.csv and (i or m.name == "count")]
        out += [_written(m, m.value(row.stages[stage]), minor) for m in metrics]
    out += [_written(m, m.value(row), minor) for m in last]
    # Only text is guarded against spreadsheet formulas: a number such as -12.50 (a negative
    # ROI or spend) is a number, and a quote would turn it into text.
    return [safe_cell(c) for c in group] + ["" if c is None else c for c in out]


def _group_metrics(report: Report) -> tuple[list[Metric], list[Metric]]:
    """The row metrics written before the stages (leads, spend, CPL) and after them."""
    written = [m for m in GROUP_METRICS if m.csv and has_data(m, report.features)]
    return [m for m in written if not m.needs], [m for m in written if m.needs]


def _written(metric: Metric, value: Any, minor: int) -> Any:
    """A metric's CSV cell by its unit: counts as they are, money sums to the minor unit,
    money ratios to 4 decimals, rates and days without float noise."""
    if metric.unit == "count" or value is None:
        return value
    if metric.unit == "money":
        return decimal(value, minor) if metric.total else decimal(value, RATIO_PLACES)
    if metric.unit in ("ratio", "percent"):  # money ratios: ROAS, ROI, LTV:CAC
        return decimal(value, RATIO_PLACES)
    places = RATE_PLACES if metric.unit == "rate" else DAYS_PLACES
    return decimal(value, places, trim=True)


def decimal(value: float | None, places: int, *, trim: bool = False) -> str | None:
    """``value`` rounded half-even to ``places`` decimals from its shortest exact repr (so
    ``43.995999999999995`` is ``43.9960``); ``trim`` drops trailing zeros (``0.25``)."""
    if value is None:
        return None
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{exact:f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


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
