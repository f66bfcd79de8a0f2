"""The report's human-readable parts as plain cells of text, built once for every renderer.

The terminal (rich), Markdown and HTML renderers lay out the same headline, "needs
attention" block, funnel overview and per-group tables; a cell carries its text and, for a
change against the comparison window, its tone (better / worse / unclear / same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from funnelcli.catalogue import (
    CLICKS,
    GROUP,
    IMPRESSIONS,
    MONEY,
    REVENUE,
    VISITS,
    has_data,
    metric_of,
)
from funnelcli.model import Change, Report, Row, TargetResult, Trend
from funnelcli.render import fmt

# Below this many in the denominator, a rate is shown with its 95% interval.
SMALL_SAMPLE = 30
SHORT = 12


@dataclass(frozen=True)
class Cell:
    text: str
    tone: str | None = None  # better | worse | unclear | same | met | missed | None


@dataclass(frozen=True)
class Line:
    """One line of the funnel overview; ``share`` of the entry stage draws its bar (None: a
    line in other units — impressions, clicks, visits above the leads, revenue below)."""

    cells: list[Cell]
    share: float | None = None


@dataclass(frozen=True)
class Section:
    title: str
    columns: list[str]
    rows: list[list[Cell]]  # the last row is the total
    numeric_from: int  # columns from this index on are right-aligned numbers


def short(stage_id: str, name: str) -> str:
    """A column heading for a stage: its name when short, else its id in capitals."""
    return name if len(name) <= SHORT else stage_id.upper()


def group_header(report: Report) -> str:
    return " · ".join(report.group_by) or "group"


def rate_label(report: Report) -> str:
    return "flow" if report.basis == "period" else "step"


def change_text(change: Change | None, kind: str) -> str:
    """▲/▼ and the size of a change: percentage points for rates, percent otherwise."""
    if change is None or change.abs is None:
        return ""
    if change.abs == 0:
        return "="
    arrow = "▲" if change.abs > 0 else "▼"
    if kind == "rate":
        points = abs(change.abs) * 100
        return f"{arrow}{points:.1f}pt" if points >= 0.05 else f"{arrow}{points:.2f}pt"
    if change.rel is None:
        return f"{arrow}new"
    return f"{arrow}{abs(change.rel) * 100:.0f}%"


def _rate(row: Row, stage: str, *, with_count: bool) -> str:
    """A step rate, or its 95% range when the previous stage has too few leads to trust one
    number (``3 (6–51%)`` rather than ``3 (20.0%)``)."""
    names = list(row.stages)
    m, before = row.stages[stage], row.stages[names[names.index(stage) - 1]]
    text = fmt.pct(m.rate)
    if m.rate_ci is not None and before.count < SMALL_SAMPLE:
        text = f"{m.rate_ci[0] * 100:.0f}–{m.rate_ci[1] * 100:.0f}%"
    return f"{fmt.count(m.count)} ({text})" if with_count else text


def volume(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), "leads", "spend", "CPL", *[f"per {short(*s)}" for s in later]]

    def cells(row: Row) -> list[Cell]:
        c = report.currency
        costs = [Cell(fmt.money(row.stages[s].cost_per, c)) for s, _ in later]
        return [
            Cell(fmt.count(row.leads)),
            Cell(fmt.money(row.spend, c)),
            Cell(fmt.money(row.cpl, c)),
            *costs,
        ]

    return Section("Volume & cost", cols, _rows(report, cells), 1)


def conversion(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), "leads", *[f"{short(*s)} ({rate_label(report)})" for s in later]]

    def cells(row: Row) -> list[Cell]:
        parts = [Cell(fmt.count(row.stages[report.stages[0][0]].count))]
        return parts + [Cell(_rate(row, s, with_count=True)) for s, _ in later]

    kind = "flow ratio" if report.basis == "period" else "step rate"
    title = f"Conversion (count, {kind}; a 95% range when fewer than {SMALL_SAMPLE} could convert)"
    return Section(title, cols, _rows(report, cells), 1)


def changes(report: Report) -> Section | None:
    """Each group against the comparison window: leads, CPL and every step rate (points).
    Green or red only when the 95% intervals tell the two windows apart."""
    if report.compare is None:
        return None
    later = report.stages[1:]
    # The ratios a reader acts on, when the inputs carry them: CTR, ROAS, CAC.
    money = [GROUP[n] for n in ("ctr", "roas", "cac") if has_data(GROUP[n], report.features)]
    cols = [group_header(report), "leads", "spend", "CPL", *(m.label for m in money)]
    cols += [f"{short(*s)} rate" for s in later]

    def cells(row: Row) -> list[Cell]:
        if row.previous is None:
            return [Cell("new"), *[Cell("") for _ in cols[2:]]]
        keys = [("leads", "count"), ("spend", "money"), ("cpl", "money")]
        keys += [(m.name, "rate" if m.unit == "rate" else "money") for m in money]
        keys += [(f"{s}.rate", "rate") for s, _ in later]
        out = []
        for key, kind in keys:
            change = row.changes.get(key) if row.changes else None
            out.append(Cell(change_text(change, kind), change.verdict if change else None))
        return out

    other = fmt.window(report.compare.since, report.compare.until)
    title = f"Change vs {report.compare.mode} window ({other}); rates in percentage points"
    return Section(title, cols, _rows(report, cells), 1)


# The metrics of the two money tables, in the order they are read.
TOP_OF_FUNNEL = ("impressions", "clicks", "ctr", "cpc", "click_to_lead", "visits", "visit_to_lead")
MONEY_TABLE = ("spend", "sales_cost", "revenue", "avg_deal", "roas", "roi", "cac", "ltv_cac")


def top_of_funnel(report: Report) -> Section | None:
    """Impressions, clicks and visits per group and what they turned into; only the columns
    whose data the inputs carry, and no table when none does."""
    return _metric_table(report, "Top of funnel", TOP_OF_FUNNEL)


def money(report: Report) -> Section | None:
    """Spend against revenue: ROAS, ROI, full CAC and LTV:CAC, when there is revenue or sales
    cost (without either, cost per stage in "Volume & cost" already says it all)."""
    if MONEY not in report.features:
        return None
    title = "Money"
    if report.maturity_cutoff is not None and not report.immature_included:
        title += " (of the mature leads, as the stage costs)"
    return _metric_table(report, title, MONEY_TABLE)


def _metric_table(report: Report, title: str, names: tuple[str, ...]) -> Section | None:
    rows = [*report.rows, report.total]
    # A column that is empty in every row (ROAS with no spend at all) says nothing.
    metrics = [
        GROUP[n]
        for n in names
        if has_data(GROUP[n], report.features) and any(GROUP[n].value(r) is not None for r in rows)
    ]
    if not metrics or all(m.name == "spend" for m in metrics):
        return None
    cols = [group_header(report), *(m.label for m in metrics)]

    def cells(row: Row) -> list[Cell]:
        return [Cell(fmt.metric(m, m.value(row), report.currency)) for m in metrics]

    return Section(title, cols, _rows(report, cells), 1)


def timing(report: Report) -> Section:
    later = report.stages[1:]
    cols = [group_header(report), *[f"→ {short(*s)}" for s in later]]

    def cells(row: Row) -> list[Cell]:
        out = []
        for s, _ in later:
            d = row.stages[s].days
            out.append(
                Cell(f"{fmt.days(d.median if d else None)} / {fmt.days(d.p90 if d else None)}")
            )
        return out

    return Section("Days from the previous stage (median / p90)", cols, _rows(report, cells), 1)


def _rows(report: Report, cells: Callable[[Row], list[Cell]]) -> list[list[Cell]]:
    excluded = report.maturity_cutoff is not None and not report.immature_included
    body = []
    for r in report.rows:
        label = fmt.group_label(r.group) + (" *" if excluded and r.immature_leads else "")
        body.append([Cell(label), *cells(r)])
    return [*body, [Cell("Total"), *cells(report.total)]]


OVERVIEW_COLUMNS = ["stage", "count", "step rate", "from lead", "cost per", "days from lead"]


def overview_columns(report: Report) -> list[str]:
    cols = list(OVERVIEW_COLUMNS)
    if report.basis == "period":
        cols[2] = "flow ratio"
    if report.compare or report.targets:
        cols[5] = "days"  # room for the extra columns in 100 terminal columns
    if report.compare:
        cols.append("vs prev" if report.compare.mode == "previous" else "vs year")
    if report.targets:
        cols.append("target")
    return cols


def overview(report: Report) -> list[Line]:
    """The total funnel, one line per stage: name, count, step rate, from lead, cost, days,
    then the change of the step rate (or lead count) and the stage's targets when present.
    Above the leads, the ad and web figures the inputs carry (impressions, clicks with CTR
    and CPC, visits); below the last stage, the revenue with the full CAC."""
    total, c = report.total, report.currency
    entry = report.stages[0][0]
    placed = _target_rows(report)
    out = _above_leads(report, placed)
    for s, name in report.stages:
        m = total.stages[s]
        d = m.days_from_lead
        first = s == entry
        cells = [
            Cell(short(s, name)),
            Cell(fmt.count(m.count)),
            Cell(_lead_step(report) if first else _rate(total, s, with_count=False)),
            Cell(fmt.pct(1.0 if m.count else None) if first else fmt.pct(m.rate_from_lead)),
            Cell(fmt.money(m.cost_per, c)),
            Cell("" if first else fmt.days(d.median if d else None)),
        ]
        key, kind = ("leads", "count") if first else (f"{s}.rate", "rate")
        cells += _extra_cells(report, key, kind, placed.get(s, []))
        base = total.stages[entry].count
        out.append(Line(cells, min(1.0, m.count / base) if base else 0.0))
    if has_data(GROUP["revenue"], report.features):
        cells = [Cell("Revenue"), Cell(fmt.money(total.revenue, c)), Cell(""), Cell("")]
        cells += [Cell(fmt.money(total.cac, c)), Cell("")]
        out.append(Line(cells + _extra_cells(report, "revenue", "money", placed.get(REVENUE, []))))
    return out


def _above_leads(report: Report, placed: dict[str, list[TargetResult]]) -> list[Line]:
    total, c, features = report.total, report.currency, report.features
    lines = []
    if IMPRESSIONS in features:
        cells = [Cell("Impressions"), Cell(fmt.count(total.impressions)), *_blank(4)]
        lines.append(Line(cells + _extra_cells(report, "impressions", "count", [])))
    if CLICKS in features:
        ctr = fmt.pct(total.ctr) if IMPRESSIONS in features else ""
        cells = [Cell("Clicks"), Cell(fmt.count(total.clicks)), Cell(ctr), Cell("")]
        cells += [Cell(fmt.money(total.cpc, c)), Cell("")]
        lines.append(Line(cells + _extra_cells(report, "clicks", "count", placed.get(CLICKS, []))))
    if VISITS in features:
        cells = [Cell("Visits"), Cell(fmt.count(total.visits)), *_blank(4)]
        lines.append(Line(cells + _extra_cells(report, "visits", "count", placed.get(VISITS, []))))
    return lines


def _lead_step(report: Report) -> str:
    """The entry stage's step: from the visits, else the clicks, when the inputs have them."""
    if VISITS in report.features:
        return fmt.pct(report.total.visit_to_lead)
    if CLICKS in report.features:
        return fmt.pct(report.total.click_to_lead)
    return ""


def _blank(n: int) -> list[Cell]:
    return [Cell("") for _ in range(n)]


def _extra_cells(report: Report, key: str, kind: str, targets: list[TargetResult]) -> list[Cell]:
    """The comparison and target columns of an overview line, when the report has them."""
    cells = []
    if report.compare:
        change = report.total.changes.get(key) if report.total.changes else None
        cells.append(Cell(change_text(change, kind), change.verdict if change else None))
    if report.targets:
        cells.append(_targets_cell(targets, report.currency))
    return cells


# The overview line a report-wide target is shown on (the others: the entry stage's).
TARGET_LINE = {
    "ctr": CLICKS,
    "cpc": CLICKS,
    "click_to_lead": CLICKS,
    "visit_to_lead": VISITS,
    "roas": REVENUE,
    "roi": REVENUE,
    "cac": REVENUE,
    "ltv_cac": REVENUE,
}


def _target_rows(report: Report) -> dict[str, list[TargetResult]]:
    """Each target by the overview line it belongs to (a stage id, or an extra line)."""
    entry = report.stages[0][0]
    lines = {entry, *report.features}
    placed: dict[str, list[TargetResult]] = {}
    for t in report.targets:
        line = t.key.split(".", 1)[0] if "." in t.key else TARGET_LINE.get(t.key, entry)
        placed.setdefault(line if line in lines or "." in t.key else entry, []).append(t)
    return placed


def _targets_cell(targets: list[TargetResult], currency: str) -> Cell:
    if not targets:
        return Cell("")
    parts = [f"{'✓' if t.met else '✗'} {_metric_label(t, currency)}" for t in targets]
    return Cell(", ".join(parts), "met" if all(t.met for t in targets) else "missed")


def _target_text(t: TargetResult, currency: str) -> str:
    """``ROAS = 1.90× (target ≥ 2×)``: the value and the target in the metric's terms."""
    metric = metric_of(t.key)
    name = t.key if "." in t.key else metric.label
    shown = fmt.metric(metric, t.value, currency)
    return f"{name} = {shown} (target {t.symbol} {fmt.threshold(metric, t.threshold, currency)})"


def _metric_label(t: TargetResult, currency: str) -> str:
    metric = metric_of(t.key)
    return f"{metric.label} {t.symbol}{fmt.threshold(metric, t.threshold, currency)}"


def cohort_base(report: Report) -> str | None:
    """What the stage figures are over, when it is not the whole cohort: with --within, the
    mature leads and their days' spend. None when every cohort lead counts."""
    if report.maturity_cutoff is None or report.immature_included:
        return None
    total = report.total
    base = total.stages[report.stages[0][0]].count
    if not total.immature_leads:
        return None
    return (
        f"stages and their costs count the {fmt.count(base)} leads created by "
        f"{report.maturity_cutoff} (and the spend to that day); the "
        f"{fmt.count(total.immature_leads)} younger ones have had less than "
        f"{report.within_days:g} days"
    )


def headline(report: Report) -> str:
    """One paragraph a reader can stop after: volume, spend, the last stage and its cost."""
    total, c = report.total, report.currency
    last_id, last_name = report.stages[-1]
    final = total.stages[last_id]
    base = total.stages[report.stages[0][0]].count
    of = "of leads" if base == total.leads else f"of the {fmt.count(base)} mature leads"
    text = (
        f"{fmt.count(total.leads)} leads ({fmt.window(report.since, report.until)}, "
        f"{report.basis} basis) cost {fmt.money(total.spend, c)} "
        f"(CPL {fmt.money(total.cpl, c)}); {fmt.count(final.count)} reached {last_name} "
        f"({fmt.pct(final.rate_from_lead)} {of}, {fmt.money(final.cost_per, c)} each)."
    )
    text += _money_headline(report)
    if report.compare and total.changes:
        text += " Against " + fmt.window(report.compare.since, report.compare.until) + ": "
        text += f"leads {_signed(total.changes['leads'])}, CPL {_signed(total.changes['cpl'])}"
        text += f", {last_name} {_signed(total.changes[f'{last_id}.count'])}."
    return text


def _money_headline(report: Report) -> str:
    """The ad funnel and the money in a sentence each, when the inputs carry them:
    "12,000 clicks (CTR 2.1%, CPC $1.20). Revenue $1.2M: ROAS 3.4×, CAC $1,980."."""
    total, c, features = report.total, report.currency, report.features
    text = ""
    if CLICKS in features:
        parts = [f"CTR {fmt.pct(total.ctr)}"] if IMPRESSIONS in features else []
        parts.append(f"CPC {fmt.money(total.cpc, c)}")
        text += f" {fmt.count(total.clicks)} clicks ({', '.join(parts)})."
    if VISITS in features:
        text += f" {fmt.count(total.visits)} visits ({fmt.pct(total.visit_to_lead)} became leads)."
    if REVENUE in features:
        parts = [f"ROAS {fmt.multiple(total.roas)}", f"CAC {fmt.money(total.cac, c)}"]
        if total.ltv_cac is not None:
            parts.append(f"LTV:CAC {fmt.multiple(total.ltv_cac)}")
        text += f" Revenue {fmt.money(total.revenue, c)}: {', '.join(parts)}."
    elif MONEY in features:
        text += f" Full CAC {fmt.money(total.cac, c)} with sales cost."
    return text


def _signed(change: Change) -> str:
    if change.rel is None:
        return "n/a" if change.abs is None else f"{change.abs:+,.0f}"
    verdict = f" ({change.verdict})" if change.verdict in ("better", "worse") else ""
    return f"{change.rel * 100:+.0f}%{verdict}"


@dataclass(frozen=True)
class Kpi:
    """A headline figure: the number first, its change beside it, its periods for a
    sparkline (the metric key read from each period's total row)."""

    label: str
    value: str
    change: Cell | None
    key: str


def kpis(report: Report) -> list[Kpi]:
    """Leads, spend, CPL, the last stage's count and — when the inputs carry them — revenue
    and ROAS (or the full CAC): what a reader looks at first."""
    total, c = report.total, report.currency
    last_id, last_name = report.stages[-1]
    found = [
        ("Leads", fmt.count(total.leads), "leads", "count"),
        ("Spend", fmt.money(total.spend, c), "spend", "money"),
        ("CPL", fmt.money(total.cpl, c), "cpl", "money"),
        (last_name, fmt.count(total.stages[last_id].count), f"{last_id}.count", "count"),
    ]
    if REVENUE in report.features:
        found.append(("Revenue", fmt.money(total.revenue, c), "revenue", "money"))
        found.append(("ROAS", fmt.multiple(total.roas), "roas", "money"))
    elif MONEY in report.features:
        found.append(("CAC", fmt.money(total.cac, c), "cac", "money"))
    out = []
    for label, value, key, kind in found:
        change = total.changes.get(key) if total.changes else None
        cell = Cell(change_text(change, kind), change.verdict) if change else None
        out.append(Kpi(label, value, cell, key))
    return out


def attention(report: Report, *, mail: bool = False) -> list[str]:
    """The "needs attention" block: missed targets, the bottleneck, worsening trends.
    ``mail``: for a page read once (HTML, e-mail), without what only the JSON shows."""
    lines = [
        f"Missed target: {_target_text(t, report.currency)}"
        for t in report.targets
        if not t.met and t.value is not None
    ]
    unknown = [t.key for t in report.targets if t.value is None]
    if unknown:
        why = "no spend, no leads, or every lead still immature"
        lines.append(f"Not measurable, so not met: {', '.join(unknown)} ({why}).")
    if report.bottleneck:
        b = report.bottleneck
        names = dict(report.stages)
        why = b.why
        if b.target is not None:  # the value and target in their own terms ($, %)
            why = f"furthest below its target: {_target_text(b.target, report.currency)}"
        lines.append(
            f"Bottleneck: {names[b.prev_stage]} → {names[b.stage]} ({why}). Usually a {b.reading}."
        )
    missed = any(not t.met and t.value is not None for t in report.targets)
    if report.compare is not None and report.bottleneck is None and not missed:
        lines.append(
            "No clear bottleneck: no target is missed and no step rate changed by more than "
            "chance can explain."
        )
    lines += [trend_text(t, report) for t in report.trends if t.clear]
    noise = [t for t in report.trends if not t.clear]
    if noise and not mail:
        shortest = min(len(t.periods) - 1 for t in noise)
        lines.append(
            f"{len(noise)} more metric(s) got worse {shortest}+ periods running, but by less "
            "than chance can explain (small samples; JSON `trends` lists them)."
        )
    return lines


def trend_text(trend: Trend, report: Report) -> str:
    who = fmt.group_label(trend.group) if trend.group else "All leads"
    stage, _, metric = trend.metric.partition(".")
    names = dict(report.stages)
    if not metric:
        m = GROUP[trend.metric]
        label, values = m.label, [fmt.metric(m, v, report.currency) for v in trend.values]
    elif metric == "rate":
        label, values = f"{names[stage]} step rate", [fmt.pct(v) for v in trend.values]
    else:
        label = f"cost per {names[stage]}"
        values = [fmt.money(v, report.currency) for v in trend.values]
    steps = len(trend.periods) - 1
    since = trend.periods[0].isoformat()
    return f"{who}: {label} worse {steps} periods running since {since} ({' → '.join(values)})"


def notes(report: Report) -> list[str]:
    """Footnotes that change how numbers read: immature cohorts, flow ratios."""
    out = []
    if report.maturity_cutoff is not None:
        n = report.total.immature_leads
        after = report.maturity_cutoff.isoformat()
        if report.immature_included:
            out.append(
                f"{fmt.count(n)} leads created after {after} have had less than "
                f"{report.within_days:g} days to convert; they are included (--include-immature)."
            )
        elif n:
            out.append(
                f"* {fmt.count(n)} leads created after {after} have had less than "
                f"{report.within_days:g} days to convert: left out of stage counts, rates and "
                "cost per stage (--include-immature keeps them)."
            )
    if report.compare and report.basis == "cohort" and report.within_days is None:
        out.append(
            "Without --within, the later stages of a recent window are still filling up while "
            "the earlier window has had more time; --within D compares like with like."
        )
    if report.basis == "period":
        out.append(
            "Period basis: counts are stage entries in the window, whatever the creation date; "
            "rates are flow ratios (entries ÷ previous-stage entries) and can exceed 100%."
        )
    return out


def details(report: Report) -> list[Section]:
    """The per-group tables every human format shows, in order (change only when compared)."""
    found = [
        volume(report),
        top_of_funnel(report),
        conversion(report),
        money(report),
        changes(report),
        timing(report),
    ]
    return [s for s in found if s is not None]
