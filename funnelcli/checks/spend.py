"""Checks of the spend table against itself and the leads."""

from __future__ import annotations

import polars as pl

from funnelcli.findings import Example, Finding
from funnelcli.inputs.dataset import Dataset
from funnelcli.inputs.load import FILE, first_rows, flagged, keep_findings
from funnelcli.inputs.parse import MICROS
from funnelcli.inputs.readers import ROW


def spend_checks(data: Dataset) -> list[Finding]:
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
    missing = first_rows(frame, "channel", pl.col("channel").is_in(lonely.implode()))
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
