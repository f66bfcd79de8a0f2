"""docs/metrics.md written again, naively, in plain Python: an independent oracle for tests.

It takes already-parsed rows (datetimes, floats) and returns the counts, spend and days
that funnel must report. It shares no code with funnelcli.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Lead = dict[str, Any]


def dedupe(leads: list[Lead]) -> list[Lead]:
    """Earliest created_at per lead_id wins; file order breaks ties."""
    best: dict[str, tuple[dt.datetime, int]] = {}
    for i, lead in enumerate(leads):
        key = (lead["created_at"], i)
        if lead["lead_id"] not in best or key < best[lead["lead_id"]]:
            best[lead["lead_id"]] = key
    keep = {i for _, i in best.values()}
    return [lead for i, lead in enumerate(leads) if i in keep]


def qualify(
    lead: Lead,
    entries: list[tuple[str, dt.datetime]],
    stages: list[str],
    ok: Callable[[str, Lead], bool] = lambda s, lead: True,
    within_days: float | None = None,
) -> tuple[dict[str, bool], dict[str, dt.datetime | None]]:
    first: dict[str, dt.datetime] = {}
    for stage, at in entries:
        if stage in stages and (stage not in first or at < first[stage]):
            first[stage] = at
    reached = {stages[0]: True}
    at: dict[str, dt.datetime | None] = {stages[0]: lead["created_at"]}
    for i in range(1, len(stages)):
        s, prev = stages[i], stages[i - 1]
        later = [first[t] for t in stages[i:] if t in first]
        crm = min(later) if later else None
        r = reached[prev] and ok(s, lead) and crm is not None
        when = max(at[prev], crm) if r else None  # type: ignore[type-var]
        if r and within_days is not None:
            r = (when - lead["created_at"]).total_seconds() <= within_days * 86400
        reached[s] = r
        at[s] = when if r else None
    return reached, at


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def cohort(
    leads: list[Lead],
    spend: list[dict[str, Any]],
    transitions: list[tuple[str, str, dt.datetime]],
    stages: list[str],
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    ok: Callable[[str, Lead], bool] = lambda s, lead: True,
    within_days: float | None = None,
) -> dict[str, Any]:
    """Per-channel and total: leads, spend, counts per stage, days median/p90 per stage."""
    in_window = _window(since, until)
    kept = [lead for lead in dedupe(leads) if in_window(lead["created_at"].date())]
    by_lead = _by_lead(transitions)
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: _empty(stages))
    total = _empty(stages)
    for lead in kept:
        reached, at = qualify(lead, by_lead[lead["lead_id"]], stages, ok, within_days)
        for acc in (groups[lead["channel"]], total):
            acc["leads"] += 1
            for i, s in enumerate(stages[1:], start=1):
                if reached[s]:
                    acc["counts"][s] += 1
                    acc["days"][s].append((at[s] - at[stages[i - 1]]).total_seconds() / 86400)
            if reached[stages[-1]]:
                acc["revenue"] += lead.get("revenue") or 0
    _add_spend(spend, in_window, groups, total)
    return {"groups": dict(groups), "total": total}


def period(
    leads: list[Lead],
    spend: list[dict[str, Any]],
    transitions: list[tuple[str, str, dt.datetime]],
    stages: list[str],
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict[str, Any]:
    """Period basis: per stage, the leads whose at[s] date is in the window (any creation
    date); leads = created in the window; spend as for the cohort basis."""
    in_window = _window(since, until)
    by_lead = _by_lead(transitions)
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: _empty(stages))
    total = _empty(stages)
    for lead in dedupe(leads):
        reached, at = qualify(lead, by_lead[lead["lead_id"]], stages)
        accs = (groups[lead["channel"]], total)
        if in_window(lead["created_at"].date()):
            for acc in accs:
                acc["leads"] += 1
        for i, s in enumerate(stages[1:], start=1):
            when = at[s]
            if reached[s] and when is not None and in_window(when.date()):
                for acc in accs:
                    acc["counts"][s] += 1
                    acc["days"][s].append((when - at[stages[i - 1]]).total_seconds() / 86400)
                    if s == stages[-1]:  # revenue of the deals closed in the window
                        acc["revenue"] += lead.get("revenue") or 0
    _add_spend(spend, in_window, groups, total)
    found = {
        k: v
        for k, v in groups.items()
        if v["leads"] or any(v["counts"].values()) or v["spend"] is not None
    }
    return {"groups": found, "total": total}


def _window(since: dt.date | None, until: dt.date | None) -> Callable[[dt.date], bool]:
    return lambda day: (since is None or day >= since) and (until is None or day <= until)


def _by_lead(transitions: list[tuple[str, str, dt.datetime]]) -> dict[str, list[Any]]:
    by_lead: dict[str, list[Any]] = defaultdict(list)
    for lead_id, stage, at in transitions:
        by_lead[lead_id].append((stage, at))
    return by_lead


def _add_spend(
    spend: list[dict[str, Any]],
    in_window: Callable[[dt.date], bool],
    groups: dict[str, dict[str, Any]],
    total: dict[str, Any],
) -> None:
    for row in spend:
        if in_window(row["date"]):
            for acc in (groups[row["channel"]], total):
                acc["spend"] = (acc["spend"] or 0) + row["amount"]
                for count in ("impressions", "clicks"):
                    # A row without the count makes the sum unknown, not short.
                    if acc[count] != "unknown":
                        value = row.get(count)
                        acc[count] = "unknown" if value is None else (acc[count] or 0) + value


def _empty(stages: list[str]) -> dict[str, Any]:
    return {
        "leads": 0,
        "spend": None,
        "revenue": 0,
        "impressions": None,
        "clicks": None,
        "counts": dict.fromkeys(stages[1:], 0),
        "days": {s: [] for s in stages[1:]},
    }
