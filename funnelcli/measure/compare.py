"""A report against its comparison window (``--compare previous|year``): each row's previous
values, the change, and whether the change is more than chance (95% intervals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from funnelcli.catalogue import GROUP, Metric, metric_of
from funnelcli.measure.metrics import PERIOD
from funnelcli.measure.stats import (
    cost_interval,
    count_interval,
    mean_interval,
    overlap,
    ratio_interval,
    revenue_interval,
)
from funnelcli.model import Change, Comparison, Report, Row, metric_values

# Below this many leads at a stage, a change in days to reach it gets no verdict.
MIN_DAYS_SAMPLE = 30


def direction(key: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when neither (spend)."""
    return metric_of(key).better


def attach(current: Report, previous: Report, comparison: Comparison) -> Report:
    """``current`` with every row (and the total) matched to its group in ``previous``.

    With ``--every``, the i-th period of the window is matched with the i-th period of the
    comparison window (weeks a year ago do not start on the same dates)."""
    before_key, now_key = _keys(previous.rows), _keys(current.rows)
    before = {before_key(r): r for r in previous.rows}
    rows = [_compared(r, before.get(now_key(r))) for r in current.rows]
    total = _compared(current.total, previous.total)
    return replace(current, rows=rows, total=total, compare=comparison)


def _keys(rows: list[Row]) -> Callable[[Row], tuple[Any, ...]]:
    """How a row is matched: its group, with a period replaced by its position."""
    periods = sorted({r.group[PERIOD] for r in rows if r.group.get(PERIOD) is not None})
    position = {p: i for i, p in enumerate(periods)}

    def key(row: Row) -> tuple[Any, ...]:
        if PERIOD not in row.group:
            return tuple(row.group.values())
        rest = (v for k, v in row.group.items() if k != PERIOD)
        return (position.get(row.group[PERIOD]), *rest)

    return key


def _compared(row: Row, prev: Row | None) -> Row:
    now = metric_values(row)
    then = metric_values(prev) if prev else {}
    changes = {k: _change(k, v, then.get(k), row, prev) for k, v in now.items()}
    return replace(row, previous=prev, changes=changes)


def _change(key: str, now: float | None, then: float | None, row: Row, prev: Row | None) -> Change:
    if prev is not None and metric_of(key).total and (now is None) != (then is None):
        # A money sum with no rows on one side is none of it: a channel that stopped
        # spending shows ▼100%, not a blank beside a total that fell.
        now, then = now or 0.0, then or 0.0
    if now is None or then is None or prev is None:
        return Change(then, None, None, None)
    diff = now - then
    rel = diff / then if then else None
    sign = direction(key)
    if sign == 0:
        verdict = None
    elif diff == 0:
        verdict = "same"
    elif indistinct(key, row, prev):
        verdict = "unclear"
    else:
        verdict = "better" if diff * sign > 0 else "worse"
    return Change(then, diff, rel, verdict)


def indistinct(key: str, row: Row, prev: Row) -> bool:
    """Whether the 95% intervals of the two values overlap (chance could explain it), by
    the interval the metric's catalogue entry names."""
    metric = metric_of(key)
    if key in GROUP:
        return overlap(group_interval(metric, row), group_interval(metric, prev))
    a, b = row.stages[key.split(".", 1)[0]], prev.stages[key.split(".", 1)[0]]
    if metric.interval == "count":
        return overlap(count_interval(a.count), count_interval(b.count))
    if metric.interval in ("rate_ci", "rate_from_lead_ci"):
        return overlap(getattr(a, metric.interval), getattr(b, metric.interval))
    if metric.interval == "cost":
        return overlap(_cost_per(a.cost_per, a.count), _cost_per(b.cost_per, b.count))
    return min(a.count, b.count) < MIN_DAYS_SAMPLE  # days: no interval, only sample size


def _cost_per(cost: float | None, count: int) -> tuple[float, float] | None:
    return None if cost is None else cost_interval(cost * count, count)


def group_interval(metric: Metric, row: Row) -> tuple[float, float] | None:
    """The 95% interval of a row metric (docs/metrics.md, "Comparisons"), None when it has
    none (the metric is undefined, or has no better direction)."""
    value = metric.value(row)
    if value is None:
        return None
    num, den = (_part(row, name) for name in metric.of) if metric.of else (None, None)
    if metric.interval == "count":
        return count_interval(int(value))
    if metric.interval == "cost" and num is not None and den is not None:
        return cost_interval(num, int(den))
    if metric.interval == "ratio" and num is not None and den is not None:
        return ratio_interval(int(num), int(den))
    if metric.interval == "mean" and row.revenue_sq is not None:
        return mean_interval(row.revenue or 0.0, row.revenue_sq, row.customers)
    if metric.interval == "revenue" and row.revenue_sq is not None:
        return _revenue_based(metric.name, row)
    return None


def _part(row: Row, name: str) -> float | None:
    value = row.customers if name == "customers" else getattr(row, name)
    return None if value is None else float(value)


def _revenue_based(name: str, row: Row) -> tuple[float, float] | None:
    """Revenue's own interval, and the ratios of revenue to a cost, the cost taken as known:
    money spent is not a sample, which deals closed is (docs/metrics.md, "Comparisons")."""
    revenue = row.revenue or 0.0
    low, high = revenue_interval(revenue, row.revenue_sq or 0.0)
    if name == "revenue":
        return low, high
    if name == "roi":
        cost = row.cost
        return None if not cost else ((low - cost) / cost, (high - cost) / cost)
    value = getattr(row, name)  # ROAS, LTV:CAC: revenue times a known factor
    if value is None:
        return None
    if revenue == 0:
        return 0.0, 0.0
    return value * low / revenue, value * high / revenue
