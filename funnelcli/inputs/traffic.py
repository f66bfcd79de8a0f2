"""Load the traffic table: visits by day, channel and campaign from web analytics (GA4's
Traffic acquisition export, or any table with date, channel and visits)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.inputs import parse, ranges
from funnelcli.inputs.load import (
    FILE,
    TRAFFIC_REQUIRED,
    Loaded,
    combined,
    date_formats,
    date_order,
    decimal_mark,
    file_label,
    flagged,
    keep_findings,
    open_table,
    reading_findings,
    source_for,
)
from funnelcli.inputs.ranges import RAW_DATE, RAW_DATE_END
from funnelcli.inputs.readers import MAYBE_SHORT, ROW, collect, reading
from funnelcli.policy.config import InputSpec, Policy, input_specs

RAW_VISITS = "__raw_visits"


def load_traffic(policy: Policy, as_of: dt.date | None = None) -> tuple[Loaded | None, bool]:
    """Visits as ``date`` (Date), ``channel``, ``campaign``, ``visits`` (Int64), one row a
    day (a row over a range is spread over its days like spend). None without a traffic
    input. Rows and days after ``as_of`` are set aside before they are checked.

    And whether the visits can be split by campaign: only when every traffic input has a
    campaign column (a GA4 report by channel group alone has none — its visits are not the
    campaign-less leads')."""
    parts = [
        _load_file(policy, spec, loc, as_of)
        for loc, kind, spec in input_specs(policy)
        if kind == "traffic"
    ]
    return combined(parts), all("campaign" in p.headers for p in parts)


def _load_file(
    policy: Policy, spec: InputSpec, loc: tuple[str | int, ...], as_of: dt.date | None
) -> Loaded:
    source = source_for(policy, spec, loc)
    opened = open_table(source, spec, TRAFFIC_REQUIRED, "traffic")
    with reading(opened.scanned):  # a file polars cannot parse: its bad row named
        schema = opened.frame.collect_schema()
        decimal = decimal_mark(opened, spec, "visits")
        dayfirst = date_order(opened, spec, ["date", "date_end"], "traffic")
        col = pl.col
        has_end, has_campaign = "date_end" in schema, "campaign" in schema
        query = opened.frame.select(
            col(ROW),
            col(MAYBE_SHORT),
            parse.normalise_channel(col("channel"), policy.channels.aliases).alias("channel"),
            (
                parse.normalise_campaign(col("campaign"))
                if has_campaign
                else pl.lit(None, pl.Categorical)
            ).alias("campaign"),
            parse.whole_number(col("visits"), schema["visits"], decimal).alias("visits"),
            # GA4 writes dates as 20260302, which a reader may have taken for a number.
            col("date").cast(pl.String).alias(RAW_DATE),
            (col("date_end").cast(pl.String) if has_end else pl.lit(None, pl.String)).alias(
                RAW_DATE_END
            ),
            col("visits").cast(pl.String).alias(RAW_VISITS),
        ).with_columns(file_label(source.name))
        stamps = {"__stamp": (RAW_DATE, pl.String), "__stamp_end": (RAW_DATE_END, pl.String)}
        query = parse.with_timestamps(
            query, stamps, policy.timezone, date_formats(spec, "traffic"), dayfirst
        )
        query = query.with_columns(
            col("__stamp").dt.date().alias("date"), col("__stamp_end").dt.date().alias("date_end")
        ).drop(list(stamps))
        raw = collect(query, opened.scanned)
        raw, later = ranges.set_aside_after(raw, source.name, as_of)
        loaded = _clean(raw)
        loaded.headers = schema.names()
        if as_of is not None:
            loaded.frame = loaded.frame.filter(col("date") <= as_of)
        loaded.findings += reading_findings(opened) + later
        return loaded


def _clean(raw: pl.DataFrame) -> Loaded:
    total = raw.height
    bad_date = ranges.bad_date()
    bad_visits = pl.col("visits").is_null() & ~bad_date
    findings = keep_findings(
        flagged(raw, "traffic.bad_date", bad_date, ranges.dates_shown(), total=total),
        flagged(raw, "traffic.bad_visits", bad_visits, pl.col(RAW_VISITS), total=total),
    )
    kept = raw.filter(~bad_date & ~bad_visits).select(
        FILE, ROW, "date", "date_end", "channel", "campaign", "visits"
    )
    return Loaded(ranges.spread_over_days(kept), findings, rows_read=total)
