"""Charts for the HTML summary and the e-mail, drawn with matplotlib (the optional ``html``
extra) as PNG bytes: unlike SVG or JavaScript, a PNG shows in e-mail clients too. The page
decides how to embed them (a data: URI, or a CID attachment in a mail).

Charts must not mislead: ticks sit on the periods plotted, periods only partly inside the
window are drawn hollow and say so, the comparison window is marked, cost axes start at 0,
and step rates from a handful of leads are left out rather than drawn as 0↔100% swings."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
from dataclasses import dataclass
from typing import Any

from funnelcli.model import Report, Row

INSTALL_HINT = "pip install 'funnel-report[html]'"
# One palette for every chart and the page around them (blue first: the current window).
COLOURS = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#4b5563"]
INK, MUTED, GRID = "#111827", "#6b7280", "#e5e7eb"
MIN_RATE_BASE = 20  # a step rate over fewer leads is not drawn (its interval spans most of 0–100%)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401, PLC0415 - optional extra, imported only when asked
    except ImportError:
        return False
    return True


def funnel_chart(report: Report) -> bytes:
    """Horizontal bars of the total count per stage (the comparison window as outlines)."""
    fig, ax = _figure(7.0, 0.42 * len(report.stages) + 0.9)
    names = [name for _, name in report.stages][::-1]
    counts = [report.total.stages[s].count for s, _ in report.stages][::-1]
    positions = list(range(len(names)))
    ax.barh(positions, counts, color=COLOURS[0], height=0.6, label="this window")
    previous = report.total.previous
    if previous is not None:
        before = [previous.stages[s].count for s, _ in report.stages][::-1]
        ax.barh(
            positions,
            before,
            fill=False,
            edgecolor=INK,
            height=0.6,
            linestyle="--",
            label="comparison window",
        )
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    top = max([*counts, 1])
    for y, value in zip(positions, counts, strict=True):
        ax.text(value + top * 0.01, y, f"{value:,}", va="center", fontsize=8)
    ax.set_yticks(positions, names, fontsize=9)
    ax.set_xlim(0, top * 1.15)
    ax.set_title("Leads at each stage", fontsize=10, loc="left")
    _tidy(ax, grid="x")
    return _png(fig)


@dataclass(frozen=True)
class Periods:
    """The periods a trend chart plots and what the reader must know about each."""

    days: list[dt.date]
    partial: list[bool]  # only partly inside the measured window (or after the as-of day)
    every: str


def periods_of(rows: list[Row], series: Report) -> Periods:
    """The rows' periods, and which of them the series window or the as-of day cuts."""
    days = [r.group["period"] for r in rows]
    every = series.every or _guess_every(days)
    until = min(d for d in (series.until, series.as_of) if d) if series.until else series.as_of
    partial = [
        (series.since is not None and day < series.since)
        or (until is not None and _bucket_end(day, every) > until)
        for day in days
    ]
    return Periods(days, partial, every)


def trend_chart(rows: list[Row], report: Report, title: str) -> bytes:
    """CPL (left) and each step rate (right) per period, for one group's rows."""
    rows = sorted(rows, key=lambda r: r.group["period"])
    series = report.series or report
    periods = periods_of(rows, series)
    fig, (cost_ax, rate_ax) = _figure(7.0, 2.6, columns=2)
    drawn = {cost_ax: _cost_panel(cost_ax, rows, periods, report.currency)}
    drawn[rate_ax], small = _rate_panel(rate_ax, rows, periods, report)
    for ax, has_lines in drawn.items():
        if not has_lines:
            continue
        _period_axis(ax, periods)
        if report.compare is not None and report.since is not None and len(periods.days) > 1:
            _window_start(ax, report.since)
        _tidy(ax, grid="y")
    notes = []
    if any(periods.partial):
        notes.append("hollow dots: periods only partly in the window")
    if small:
        notes.append(f"rates from fewer than {MIN_RATE_BASE} leads not drawn")
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    if notes:
        fig.text(0.99, 0.99, "; ".join(notes), fontsize=7, color=MUTED, ha="right", va="top")
    return _png(fig)


def has_lines(rows: list[Row], report: Report) -> bool:
    """Whether a group's trend chart would draw anything: a CPL, or a step rate over
    enough leads. A chart of two empty panels is not worth a reader's scroll."""
    names = [s for s, _ in report.stages]
    for row in rows:
        if row.cpl is not None:
            return True
        for prev, stage in itertools.pairwise(names):
            if row.stages[stage].rate is not None and row.stages[prev].count >= MIN_RATE_BASE:
                return True
    return False


def _cost_panel(ax: Any, rows: list[Row], periods: Periods, currency: str) -> bool:
    """CPL per period; whether there was one to draw."""
    cpl = [_value(r.cpl) for r in rows]
    ax.set_title(f"CPL ({currency})", fontsize=9, loc="left")
    if all(math.isnan(v) for v in cpl):
        _empty(ax, no_cpl(rows))
        return False
    _line(ax, periods, cpl, COLOURS[0], "CPL")
    ax.set_ylim(bottom=0)  # a cost axis from 0: a 10% rise looks like one
    return True


def no_cpl(rows: list[Row]) -> str:
    """Why a group has no CPL to draw, in the words that are true for it."""
    if any(r.spend for r in rows):
        return "spend, but no leads: CPL undefined"
    return "no spend for this group"


def _rate_panel(ax: Any, rows: list[Row], periods: Periods, report: Report) -> tuple[bool, bool]:
    """Each step rate per period; a rate over fewer than MIN_RATE_BASE leads is a gap.
    Returns whether any rate was drawn, and whether any was left out for that."""
    ax.set_title("Step rate (%)", fontsize=9, loc="left")
    drawn, small = 0, False
    names = [s for s, _ in report.stages]
    for i, (stage, name) in enumerate(report.stages[1:], start=1):
        rates = []
        for row in rows:
            base = row.stages[names[i - 1]].count
            rate = row.stages[stage].rate
            small = small or (rate is not None and base < MIN_RATE_BASE)
            rates.append(_value(rate, 100) if base >= MIN_RATE_BASE else math.nan)
        points = sum(not math.isnan(v) for v in rates)
        drawn += points
        # A stage with no point drawn gets no legend entry: the legend lists what is there.
        _line(ax, periods, rates, COLOURS[i % len(COLOURS)], name if points else "_nolegend_")
    if drawn:
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        for line in list(ax.lines):
            line.remove()
        _empty(ax, f"fewer than {MIN_RATE_BASE} leads a period: no rate drawn")
    return bool(drawn), small


def _line(ax: Any, periods: Periods, values: list[float], colour: str, label: str) -> None:
    """A line through the periods: full periods as filled dots, partial ones hollow."""
    ax.plot(periods.days, values, color=colour, label=label, linewidth=1.5)
    full = [v if not p else math.nan for v, p in zip(values, periods.partial, strict=True)]
    part = [v if p else math.nan for v, p in zip(values, periods.partial, strict=True)]
    ax.plot(periods.days, full, linestyle="none", marker="o", markersize=4, color=colour)
    ax.plot(
        periods.days, part, linestyle="none", marker="o", markersize=4,
        markerfacecolor="white", markeredgecolor=colour,
    )  # fmt: skip


def _period_axis(ax: Any, periods: Periods) -> None:
    """Ticks on the plotted periods (every second or third when there are many)."""
    step = max(1, math.ceil(len(periods.days) / 8))
    ticks = periods.days[::step]
    label = "%Y-%m" if periods.every in ("month", "quarter") else "%m-%d"
    ax.set_xticks(ticks, [d.strftime(label) for d in ticks])
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)


def _window_start(ax: Any, since: dt.date) -> None:
    """A dashed line where this window starts: the points before it are the comparison's."""
    ax.axvline(since, color=MUTED, linestyle="--", linewidth=0.8)
    ax.text(since, 1.02, "this window →", transform=ax.get_xaxis_transform(), fontsize=7,
            color=MUTED, va="bottom", ha="left")  # fmt: skip


def sparkline(values: list[float | None], partial: list[bool] | None = None) -> bytes:
    """A small line of a metric over the periods, for a headline figure."""
    fig, ax = _figure(1.5, 0.4)
    points = [_value(v) for v in values]
    xs = list(range(len(points)))
    ax.plot(xs, points, color=COLOURS[0], linewidth=1.2)
    last = next((i for i in reversed(xs) if not math.isnan(points[i])), None)
    if last is not None:
        hollow = bool(partial and partial[last])
        ax.plot([last], [points[last]], marker="o", markersize=3, color=COLOURS[0],
                markerfacecolor="white" if hollow else COLOURS[0])  # fmt: skip
    ax.set_axis_off()
    finite = [v for v in points if not math.isnan(v)]
    if finite:
        ax.set_ylim(0, max(finite) * 1.15 or 1)
    return _png(fig, dpi=100)


def _guess_every(days: list[dt.date]) -> str:
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    gap = min(gaps, default=7)
    return "day" if gap <= 1 else "week" if gap <= 7 else "month" if gap <= 31 else "quarter"


def _bucket_end(start: dt.date, every: str) -> dt.date:
    if every == "day":
        return start
    if every == "week":
        return start + dt.timedelta(days=6)
    months = 3 if every == "quarter" else 1
    year, month = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + year, month + 1, 1) - dt.timedelta(days=1)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=MUTED,
            fontsize=8)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _value(value: float | None, scale: float = 1.0) -> float:
    return math.nan if value is None else value * scale  # a gap in the line, not a zero


def _figure(width: float, height: float, columns: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415 - optional extra

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, columns)


def _tidy(ax: Any, grid: str) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.grid(axis=grid, color=GRID, linewidth=0.8)


def _png(fig: Any, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
