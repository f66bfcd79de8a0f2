"""Load the spend table: parse dates and amounts, normalise channels, flag bad rows."""

from __future__ import annotations

import polars as pl

from funnelcli import parse
from funnelcli.config import InputSpec, Policy, input_specs
from funnelcli.load import (
    FILE,
    SPEND_REQUIRED,
    Loaded,
    collect,
    date_formats,
    file_label,
    flagged,
    keep_findings,
    open_table,
    source_for,
)
from funnelcli.readers import MAYBE_SHORT, ROW

RAW_DATE, RAW_AMOUNT, CURRENCY = "__raw_date", "__raw_amount", "__currency"


def load_spend(policy: Policy) -> Loaded | None:
    """Spend rows in the config's currency: ``date`` (Date), ``channel``, ``campaign``,
    ``micros`` (Int64 millionths). None when the config has no spend input."""
    parts = [
        _load_file(policy, spec, loc) for loc, kind, spec in input_specs(policy) if kind == "spend"
    ]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    frame = pl.concat([p.frame for p in parts], how="vertical_relaxed")
    findings = [f for p in parts for f in p.findings]
    return Loaded(frame, findings, rows_read=sum(p.rows_read for p in parts))


def _load_file(policy: Policy, spec: InputSpec, loc: tuple[str | int, ...]) -> Loaded:
    source = source_for(policy, spec, loc)
    frame = open_table(source, spec, SPEND_REQUIRED, "spend")
    schema = frame.collect_schema()
    query = frame.select(_columns(policy, schema)).with_columns(file_label(source.name))
    stamps = {"__stamp": (RAW_DATE, schema["date"])}
    query = parse.with_timestamps(query, stamps, policy.timezone, date_formats(spec, "spend"))
    query = query.with_columns(pl.col("__stamp").dt.date().alias("date")).drop("__stamp")
    return _clean(collect(query, source), policy.currency)


def _columns(policy: Policy, schema: pl.Schema) -> list[pl.Expr]:
    col = pl.col
    campaign = parse.normalise_campaign(col("campaign")) if "campaign" in schema else None
    currency = (
        parse.blank_to_null(col("currency")).str.to_uppercase() if "currency" in schema else None
    )
    return [
        col(ROW),
        col(MAYBE_SHORT),
        parse.normalise_channel(col("channel"), policy.channels.aliases).alias("channel"),
        (campaign if campaign is not None else pl.lit(None, pl.Categorical)).alias("campaign"),
        parse.amount_micros(col("amount"), schema["amount"]).alias("micros"),
        (currency if currency is not None else pl.lit(None, pl.String)).alias(CURRENCY),
        col("date").alias(RAW_DATE),
        col("amount").cast(pl.String).alias(RAW_AMOUNT),
    ]


def _clean(raw: pl.DataFrame, currency: str) -> Loaded:
    total = raw.height
    bad_date = pl.col("date").is_null()
    bad_amount = pl.col("micros").is_null() & ~bad_date
    usable = raw.filter(~bad_date & pl.col("micros").is_not_null())
    other = pl.col(CURRENCY).is_not_null() & (pl.col(CURRENCY) != currency.upper())
    findings = keep_findings(
        flagged(raw, "spend.bad_date", bad_date, pl.col(RAW_DATE), total=total),
        flagged(raw, "spend.bad_amount", bad_amount, pl.col(RAW_AMOUNT), total=total),
        flagged(
            usable, "spend.negative_amount", pl.col("micros") < 0, pl.col(RAW_AMOUNT), total=total
        ),
        flagged(
            usable,
            "spend.mixed_currency",
            other,
            pl.col(CURRENCY),
            total=total,
            context={"currency": currency},
        ),
    )
    kept = usable.filter(~other).select(FILE, ROW, "date", "channel", "campaign", "micros")
    return Loaded(kept, findings, rows_read=total)
