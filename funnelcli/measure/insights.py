"""What a weekly reader should look at first: targets met or missed, the funnel's
bottleneck with its usual meaning, and metrics that got worse period after period."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import replace
from typing import Any

from funnelcli.catalogue import GROUP_METRICS, STAGE_METRICS
from funnelcli.measure.compare import direction, indistinct
from funnelcli.measure.metrics import PERIOD
from funnelcli.measure.targets import evaluate
from funnelcli.model import Bottleneck, Report, Row, TargetResult, Trend, metric_values

DEFAULT_TREND_PERIODS = 3


def with_insights(
    report: Report,
    targets: dict[str, dict[str, float]],
    trend_periods: int = DEFAULT_TREND_PERIODS,
) -> Report:
    """``report`` with its targets evaluated (on the total), its bottleneck and its trends
    (over ``report.series`` and ``report.series_total`` when present)."""
    results = evaluate(targets, report.total)
    trends: list[Trend] = []
    for series in (report.series_total, report.series):
        if series is not None:
            trends += find_trends(series.rows, trend_periods)
    return replace(report, targets=results, bottleneck=bottleneck(report, results), trends=trends)


def bottleneck(report: Report, targets: list[TargetResult]) -> Bottleneck | None:
    """The stage furthest below its target; without a missed (measurable) target, the step
    whose rate fell most against the comparison window (when one was asked for and it fell).
    An unmeasurable target (no mature leads, no spend) says nothing about any step."""
    ids = [s for s, _ in report.stages]
    # A report-wide target (ROAS, CAC…) names no step; only stage targets point at one.
    missed = [t for t in targets if not t.met and t.value is not None and "." in t.key]
    if missed:
        worst = max(missed, key=_shortfall)
        stage = worst.key.split(".", 1)[0]
        if stage == ids[0]:
            return None
        prev = ids[ids.index(stage) - 1]
        why = f"furthest below its target: {_target_text(worst)}"
        cost = worst.key.endswith("cost_per")
        return Bottleneck(stage, prev, why, reading(ids, stage, cost=cost), target=worst)
    return _worst_change(report, ids)


def _worst_change(report: Report, ids: list[str]) -> Bottleneck | None:
    total = report.total
    if total.previous is None:
        return None
    candidates = []
    for prev, stage in itertools.pairwise(ids):
        now, then = total.stages[stage].rate, total.previous.stages[stage].rate
        change = total.changes.get(f"{stage}.rate") if total.changes else None
        # Only a fall the 95% intervals tell from chance can name a bottleneck.
        if now is not None and then and change is not None and change.verdict == "worse":
            candidates.append((now / then, prev, stage, now, then))
    if not candidates:
        return None
    _, prev, stage, now, then = min(candidates)
    why = f"step rate fell most against the previous window: {then:.1%} → {now:.1%}"
    return Bottleneck(stage, prev, why + _too_young(report, stage), reading(ids, stage, cost=False))


def _too_young(report: Report, stage: str) -> str:
    """A caution when the window's leads are younger than the time half of the converters
    need: on the cohort basis without --within, a later stage then falls only by age."""
    if report.basis != "cohort" or report.within_days is not None or report.total.previous is None:
        return ""
    if report.since is None or report.until is None or report.as_of is None:
        return ""
    typical = report.total.previous.stages[stage].days_from_lead
    median = typical.median if typical else None
    oldest = (report.as_of - report.since).days
    if median is None or median < oldest / 2:
        return ""
    youngest = max(0, (report.as_of - report.until).days)
    name = dict(report.stages)[stage]
    return (
        f"; but half of those who reach {name} take {median:.0f}+ days and this window's leads "
        f"are {youngest}–{oldest} days old, so part of the fall is only time: rerun with "
        f"--within {math.ceil(median)} to compare like with like"
    )


def reading(ids: list[str], stage: str, *, cost: bool) -> str:
    """The usual meaning of a weak step, by its place in the funnel."""
    if cost:
        return (
            "cost problem: each one costs more than planned; look at CPL by channel and at "
            "the conversion steps before it"
        )
    position, last = ids.index(stage), len(ids) - 1
    if position == 1:
        return "targeting or offer problem: the leads coming in do not meet the bar"
    if position == last:
        return "closing problem: pricing, competition or how deals are worked"
    if position == 2 and last >= 3:
        return "hand-off problem: sales does not accept marketing's leads (fit or follow-up speed)"
    return "sales qualification problem: leads stall before becoming real opportunities"


def _shortfall(target: TargetResult) -> float:
    """How far off a missed target is, relative to the target."""
    assert target.value is not None
    scale = abs(target.threshold) or 1.0
    return abs(target.value - target.threshold) / scale


def _target_text(target: TargetResult) -> str:
    metric = target.key.split(".", 1)[1]
    if target.value is None:
        return f"{target.key} not measurable (target {target.symbol} {target.threshold:g})"
    if metric.startswith("rate"):
        return f"{target.key} = {target.value:.1%} (target {target.symbol} {target.threshold:.0%})"
    return f"{target.key} = {target.value:,.4g} (target {target.symbol} {target.threshold:,g})"


TREND_METRICS = tuple(m.name for m in GROUP_METRICS if m.trend)
TREND_STAGE_METRICS = tuple(m.name for m in STAGE_METRICS if m.trend)


def find_trends(rows: list[Row], periods: int) -> list[Trend]:
    """Metrics (CPL, each step rate and cost per stage) that worsened ``periods`` times in a
    row, ending at the group's latest period with a value. Rows carry a ``period`` group.
    A trend is ``clear`` when the first and last values' 95% intervals do not overlap: four
    tiny daily samples falling in a row are usually noise."""
    series: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        if row.group.get(PERIOD) is not None:
            series[tuple((k, v) for k, v in row.group.items() if k != PERIOD)].append(row)
    found = []
    for key, group_rows in series.items():
        group_rows.sort(key=lambda r: r.group[PERIOD])
        values = [metric_values(r) for r in group_rows]
        for metric in _trend_keys(values[0]):
            points = [(r.group[PERIOD], v[metric]) for r, v in zip(group_rows, values, strict=True)]
            run = _worsening_run(points, direction(metric))
            if len(run) - 1 >= periods:
                by_period = {r.group[PERIOD]: r for r in group_rows}
                first, last = by_period[run[0][0]], by_period[run[-1][0]]
                clear = not indistinct(metric, last, first)
                periods_run, values_run = [p for p, _ in run], [v for _, v in run]
                found.append(Trend(dict(key), metric, periods_run, values_run, clear))
    return found


def _trend_keys(values: dict[str, float | None]) -> list[str]:
    return [
        k
        for k in values
        if k in TREND_METRICS or (k.split(".", 1)[-1] in TREND_STAGE_METRICS and "." in k)
    ]


def _worsening_run(points: list[tuple[Any, float | None]], sign: int) -> list[tuple[Any, float]]:
    """The longest run of strictly worse values ending at the latest value (None breaks it).
    Periods with no value at all at the end (e.g. immature cohorts) are skipped first."""
    while points and points[-1][1] is None:
        points = points[:-1]
    run: list[tuple[Any, float]] = []
    for period, value in reversed(points):
        if value is None:
            break
        if run and not (value - run[0][1]) * sign > 0:  # earlier value must have been better
            break
        run.insert(0, (period, value))
    return run
