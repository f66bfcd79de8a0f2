"""The checks that need whole tables or the policy (docs/checks.md), and the config's
severity overrides. Row-level checks happen while loading; this adds the rest."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.findings import SEVERITY_ORDER, Example, Finding, Severity
from funnelcli.inputs.dataset import LEAD_KEY, Dataset, merge_findings
from funnelcli.inputs.load import FILE, first_rows, flagged, keep_findings, repeated_rows
from funnelcli.inputs.parse import MICROS
from funnelcli.inputs.readers import ROW
from funnelcli.measure.qualify import crm_col, crm_columns, first_col, reached_col
from funnelcli.policy.config import Policy, QualitySpec

_LOWER: dict[Severity, Severity] = {"error": "warning", "warning": "info", "info": "info"}


def run_checks(
    policy: Policy,
    data: Dataset,
    qualified: pl.DataFrame,
    *,
    now: dt.datetime,
    until: dt.date | None = None,
) -> list[Finding]:
    """Every finding for this dataset, with the config's overrides applied, worst first.

    ``qualified``: every lead as ``qualify`` leaves it, with its CRM evidence. ``until``:
    the last day of the window the data is read for (staleness is judged against it).
    """
    found = [
        *data.findings,
        *keep_findings(stale(data, until)),
        *_lead_checks(data.leads, now),
        *_spend_checks(data),
        *_transition_checks(policy, data, qualified),
        *_policy_checks(policy, data, qualified.lazy()),
    ]
    return sort_findings(apply_overrides(merge_findings(found), policy.quality))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.level], f.check.table, f.id))


def apply_overrides(findings: list[Finding], quality: dict[str, QualitySpec]) -> list[Finding]:
    """``quality: {id: {severity, max_count, max_rate}}``: within every limit given, a finding
    is one level milder than its severity (an error only above the threshold)."""
    out = []
    for f in findings:
        spec = quality.get(f.id)
        if spec is None:
            out.append(f)
            continue
        severity = spec.severity or f.check.severity
        limits = [(spec.max_count, f.count), (spec.max_rate, f.rate)]
        given = [(limit, value) for limit, value in limits if limit is not None]
        within = bool(given) and all(v is not None and v <= lim for lim, v in given)
        out.append(f.with_severity(_LOWER[severity] if within else severity))
    return out


STALE_DAYS = 3


def stale(data: Dataset, until: dt.date | None) -> Finding | None:
    """``input.stale``: the leads (or the spend) end more than three days before ``until``,
    so the window's last days look empty when they were only not exported yet."""
    if until is None or data.leads.height == 0:
        return None  # an empty export is input.empty's to report
    ends = {"leads end": data.leads["created_at"].max().date()}
    if data.spend is not None and data.spend.height:
        ends["spend ends"] = data.spend["date"].max()
    old = [f"{name} on {day}" for name, day in ends.items() if (until - day).days > STALE_DAYS]
    if not old:
        return None
    detail = f"{', '.join(old)}; the window runs to {until}"
    return Finding("input.stale", len(old), context={"detail": detail})


def _lead_checks(leads: pl.DataFrame, now: dt.datetime) -> list[Finding]:
    created = pl.col("created_at")
    stamp = created.dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    found = [flagged(leads, "leads.future_created_at", created > now, stamp)]
    return keep_findings(*found)


def _spend_checks(data: Dataset) -> list[Finding]:
    spend, leads = data.spend, data.leads
    if spend is None:
        return []
    key = pl.struct("date", "channel", "campaign", "micros")
    amount = pl.col("micros") / MICROS
    found = [
        flagged(spend, "spend.duplicate_row", ~key.is_first_distinct(), amount.cast(pl.String)),
        _unmatched(leads, spend, "leads.channel_without_spend"),
        _unmatched(spend, leads, "spend.channel_without_leads"),
        _missing_days(spend),
    ]
    if spend.height:
        last = spend["date"].max()
        late = pl.col("created_at").dt.date() > last
        found.append(
            flagged(
                leads,
                "leads.after_last_spend",
                late,
                pl.col("created_at").dt.date(),
                context={"last": str(last)},
            )
        )
    return keep_findings(*found)


def _unmatched(frame: pl.DataFrame, other: pl.DataFrame, code: str) -> Finding | None:
    """Channels of ``frame`` that never appear in ``other``: one example row per channel.

    ``unknown`` (no channel at all) is left out: leads.missing_channel reports it.
    """
    channels = frame["channel"].unique()
    named = channels.filter(channels != "unknown")
    lonely = named.filter(~named.is_in(other["channel"].unique().implode()))
    if lonely.len() == 0:
        return None
    # Only the rows of the unmatched channels are searched for each one's first row.
    rows = frame.filter(pl.col("channel").is_in(lonely.implode())).select(FILE, ROW, "channel")
    missing = first_rows(rows, "channel")
    examples = [Example(f, r, c) for f, r, c in missing.head(5).select(FILE, ROW, "channel").rows()]
    return Finding(code, missing.height, examples, total=named.len())


def _missing_days(spend: pl.DataFrame) -> Finding | None:
    """Days with no row inside the date range of a channel that is otherwise exported daily."""
    days = spend.select("channel", "date").unique()
    spans = days.group_by("channel").agg(
        pl.col("date").min().alias("lo"),
        pl.col("date").max().alias("hi"),
        pl.col("date").sort().diff().dt.total_days().median().alias("gap"),
    )
    daily = spans.filter(pl.col("gap") == 1)
    expected = daily.select("channel", pl.date_ranges("lo", "hi", "1d").alias("date")).explode(
        "date"
    )
    missing = expected.join(days, on=["channel", "date"], how="anti").sort("channel", "date")
    if missing.height == 0:
        return None
    name = spend[FILE][0]
    examples = [Example(name, None, f"{c} {d}") for c, d in missing.head(5).rows()]
    return Finding("spend.missing_days", missing.height, examples, total=expected.height)


def _transition_checks(policy: Policy, data: Dataset, wide: pl.DataFrame) -> list[Finding]:
    # The lead's position stands for its id (entries of unknown leads are gone): integers
    # hash faster than the id text.
    key = pl.struct(LEAD_KEY, "stage")
    repeated = repeated_rows(data.transitions, key).sort("entered_at", FILE, ROW)
    found = [
        flagged(
            repeated,
            "transitions.duplicate",
            ~key.is_first_distinct(),
            pl.col("stage").cast(pl.String),
            total=data.transitions.height,
        )
    ]
    crm = [s.id for s in policy.stages[1:] if s.evidence == "crm"]
    firsts = [pl.col(first_col(s)) for s in crm]
    skipped = (
        pl.any_horizontal(
            firsts[i].is_null() & pl.any_horizontal(f.is_not_null() for f in firsts[i + 1 :])
            for i in range(len(firsts) - 1)
        )
        if len(firsts) > 1
        else pl.lit(False)
    )
    disorder = (
        pl.any_horizontal(
            firsts[j] < firsts[i] for i in range(len(firsts)) for j in range(i + 1, len(firsts))
        )
        if len(firsts) > 1
        else pl.lit(False)
    )
    found.append(
        flagged(wide, "transitions.skipped_stage", skipped.fill_null(False), pl.col("lead_id"))
    )
    found.append(
        flagged(wide, "transitions.out_of_order", disorder.fill_null(False), pl.col("lead_id"))
    )
    return keep_findings(*found)


def _policy_checks(policy: Policy, data: Dataset, funnel: pl.LazyFrame) -> list[Finding]:
    gated = [s.id for s in policy.stages[1:] if s.requires is not None and s.evidence == "crm"]
    disagree = pl.lit(False)
    label = pl.lit(None, pl.String)
    for stage in reversed(gated):  # the first disagreeing stage names the example
        hit = pl.col(crm_col(stage)).is_not_null() & ~pl.col(f"__ok_{stage}")
        disagree = disagree | hit
        label = pl.when(hit).then(pl.lit(stage)).otherwise(label)
    reached = [pl.col(reached_col(s.id)).sum().alias(s.id) for s in policy.stages[1:]]
    funnel = funnel.with_columns(crm_columns(policy.stage_ids))
    # Only the disagreeing leads are materialised, not a row per lead.
    frame, counts = pl.collect_all(
        [
            funnel.filter(disagree).select(FILE, ROW, "lead_id", label.alias("stage")),
            funnel.select(pl.len().alias("__leads"), *reached),
        ]
    )
    value = pl.format("{}: {}", pl.col("lead_id"), pl.col("stage"))
    leads = counts["__leads"][0]
    found = [flagged(frame, "policy.crm_disagreement", pl.lit(True), value, total=leads)]
    never = [s for s, n in counts.drop("__leads").row(0, named=True).items() if not n]
    if never and data.leads.height:
        examples = [Example(policy.source.path.name, None, s) for s in never[:5]]
        found.append(
            Finding("policy.stage_never_reached", len(never), examples, len(counts.columns))
        )
    return keep_findings(*found)
