"""Checks of the stage entries: repeats, skipped stages, entries out of order."""

from __future__ import annotations

import polars as pl

from funnelcli.findings import Finding
from funnelcli.inputs.dataset import LEAD_KEY, Dataset
from funnelcli.inputs.load import FILE, flagged, keep_findings, repeated_rows
from funnelcli.inputs.readers import ROW
from funnelcli.measure.qualify import first_col
from funnelcli.policy.config import Policy


def transition_checks(policy: Policy, data: Dataset, wide: pl.DataFrame) -> list[Finding]:
    # The lead's position stands for its id (entries of unknown leads are gone), packed
    # with the stage's code into one whole number: sorted as it is, with no hashing (10M
    # leads, 16.6M entries of a heavy history: 0.8 s against 1.4 s for the pair's hashes).
    key = pl.col(LEAD_KEY).cast(pl.UInt64) * (1 << 32) + pl.col("stage").to_physical()
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
