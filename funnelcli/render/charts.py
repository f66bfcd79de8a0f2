"""Charts for the HTML summary, drawn with matplotlib (the optional ``html`` extra) as PNG:
unlike SVG or JavaScript, an inline PNG shows in e-mail clients too."""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from typing import Any

from funnelcli.model import Report, Row

INSTALL_HINT = "pip install 'funnel-report[html]'"
COLOURS = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#4b5563"]


def available() -> bool:
    try:
        import matplotlib  # noqa: F401, PLC0415 - optional extra, imported only when asked
    except ImportError:
        return False
    return True


def funnel_chart(report: Report) -> str:
    """Horizontal bars of the total count per stage (the comparison window as outlines)."""
    fig, ax = _figure(7.5, 0.45 * len(report.stages) + 1.0)
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
            edgecolor="#111827",
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
    ax.set_title("Funnel: leads at each stage", fontsize=10, loc="left")
    _tidy(ax)
    return _png(fig)


def trend_chart(rows: list[Row], report: Report, title: str) -> str:
    """CPL (left) and each step rate (right) per period, for one group's rows."""
    rows = sorted(rows, key=lambda r: r.group["period"])
    periods: list[dt.date] = [r.group["period"] for r in rows]
    fig, (cost_ax, rate_ax) = _figure(9.0, 2.8, columns=2)
    cpl = [_value(r.cpl) for r in rows]
    cost_ax.set_title(f"CPL ({report.currency})", fontsize=9, loc="left")
    if all(math.isnan(v) for v in cpl):
        _empty(cost_ax, "no spend for this group")
    else:
        cost_ax.plot(periods, cpl, marker="o", color=COLOURS[0])
    rate_ax.set_title("Step rate (%)", fontsize=9, loc="left")
    drawn = 0
    for i, (stage, name) in enumerate(report.stages[1:]):
        rates = [_value(r.stages[stage].rate, 100) for r in rows]
        drawn += sum(not math.isnan(v) for v in rates)
        colour = COLOURS[(i + 1) % len(COLOURS)]
        rate_ax.plot(periods, rates, marker="o", color=colour, label=name)
    if drawn:
        rate_ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    else:
        _empty(rate_ax, "no conversions to measure yet")
    for ax in (cost_ax, rate_ax):
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        ax.tick_params(axis="y", labelsize=7)
        _tidy(ax)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    return _png(fig)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#6b7280")
    ax.set_xticks([])
    ax.set_yticks([])


def _value(value: float | None, scale: float = 1.0) -> float:
    return math.nan if value is None else value * scale  # a gap in the line, not a zero


def _figure(width: float, height: float, columns: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415 - optional extra

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, columns)


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x" if ax.get_title().startswith("Funnel") else "y", alpha=0.25)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
