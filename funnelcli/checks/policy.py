"""Checks of the policy against the data: the CRM and the policy disagreeing, stages nobody
reaches."""

from __future__ import annotations

import polars as pl

from funnelcli.findings import Example, Finding
from funnelcli.inputs.dataset import Dataset
from funnelcli.inputs.load import FILE, flagged, keep_findings
from funnelcli.inputs.readers import ROW
from funnelcli.measure.qualify import crm_col, crm_columns, ok_col, reached_col
from funnelcli.policy.config import Policy


def policy_checks(policy: Policy, data: Dataset, funnel: pl.LazyFrame) -> list[Finding]:
    gated = [s.id for s in policy.stages[1:] if s.requires is not None and s.evidence == "crm"]
    disagree = pl.lit(False)
    label = pl.lit(None, pl.String)
    for stage in reversed(gated):  # the first disagreeing stage names the example
        hit = pl.col(crm_col(stage)).is_not_null() & ~pl.col(ok_col(stage))
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
