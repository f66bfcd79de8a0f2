"""Checks of the leads table that need it whole (row-level ones run while loading)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.findings import Finding
from funnelcli.inputs.load import flagged, keep_findings


def lead_checks(leads: pl.DataFrame, now: dt.datetime) -> list[Finding]:
    created = pl.col("created_at")
    stamp = created.dt.to_string("%Y-%m-%dT%H:%M:%S%:z")
    found = [flagged(leads, "leads.future_created_at", created > now, stamp)]
    return keep_findings(*found)
