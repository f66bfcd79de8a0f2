"""Load the spend table: parse dates and amounts, normalise channels, flag bad rows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.findings import Finding
from funnelcli.inputs import parse, ranges
from funnelcli.inputs.load import (
    FILE,
    SPEND_REQUIRED,
    Loaded,
    combined,
    date_formats,
    date_order,
    decimal_mark,
    empty_input,
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

RAW_AMOUNT, CURRENCY = "__raw_amount", "__currency"


COUNTS = ("impressions", "clicks")  # the ad platform's counts on a spend row


def load_spend(
    policy: Policy, as_of: dt.date | None = None, kind: str = "marketing"
) -> Loaded | None:
    """Spend rows of one ``kind`` (marketing or sales cost) in the config's currency:
    ``date`` (Date), ``channel``, ``campaign``, ``micros`` (Int128 millionths), and for
    marketing ``impressions`` and ``clicks`` (Int64, null where the export has none). None
    when the config has no such input. Rows (and days of a range) after ``as_of`` are set
    aside before they are checked."""
    parts = [
        _load_file(policy, spec, loc, as_of)
        for loc, what, spec in input_specs(policy)
        if what == "spend" and spec.kind == kind
    ]
    return combined(parts)


def _load_file(
    policy: Policy, spec: InputSpec, loc: tuple[str | int, ...], as_of: dt.date | None
) -> Loaded:
    source = source_for(policy, spec, loc)
    sales = spec.kind == "sales"
    # Sales cost (salaries, tools) may have no channel: it then counts in the total only.
    required = tuple(c for c in SPEND_REQUIRED if not (sales and c == "channel"))
    opened = open_table(source, spec, required, "spend")
    with reading(opened.scanned):  # a file polars cannot parse: its bad row named
        frame = opened.frame
        schema = frame.collect_schema()
        decimal = decimal_mark(opened, spec, "amount")
        dayfirst = date_order(opened, spec, ["date", "date_end"], "spend")
        columns = _columns(policy, schema, decimal, sales=sales)
        query = frame.select(columns).with_columns(file_label(source.name))
        stamps = {"__stamp": (RAW_DATE, schema["date"])}
        if "date_end" in schema:
            stamps["__stamp_end"] = (RAW_DATE_END, schema["date_end"])
        formats = date_formats(spec, "spend")
        query = parse.with_timestamps(query, stamps, policy.timezone, formats, dayfirst)
        dates = {"date": "__stamp", "date_end": "__stamp_end"}
        query = query.with_columns(
            (pl.col(stamp).dt.date() if stamp in stamps else pl.lit(None, pl.Date)).alias(name)
            for name, stamp in dates.items()
        ).drop(list(stamps))
        raw = collect(query, opened.scanned)
        later = empty_input(source.name, raw.height)
        raw, aside = ranges.set_aside_after(raw, source.name, as_of)
        later += aside
        loaded = _clean(raw, policy.currency, counted=[c for c in COUNTS if c in schema])
        if sales:
            loaded.frame = loaded.frame.drop(COUNTS)
        if as_of is not None:
            # The days of a range after the as-of day are not spend yet.
            loaded.frame = loaded.frame.filter(pl.col("date") <= as_of)
        loaded.findings += reading_findings(opened) + later
        return loaded


def _columns(policy: Policy, schema: pl.Schema, decimal: str, *, sales: bool) -> list[pl.Expr]:
    col = pl.col
    if "channel" not in schema:
        channel = pl.lit(None, pl.Categorical)
    elif sales:  # a blank channel is "no channel" (the total only), not 'unknown'
        raw = parse.blank_to_null(col("channel").cast(pl.String))
        channel = pl.when(raw.is_not_null()).then(
            parse.normalise_channel(col("channel"), policy.channels.aliases)
        )
    else:
        channel = parse.normalise_channel(col("channel"), policy.channels.aliases)
    counts = [
        (
            parse.whole_number(col(c), schema[c], decimal)
            if c in schema
            else pl.lit(None, pl.Int64)
        ).alias(c)
        for c in COUNTS
    ]
    campaign = parse.normalise_campaign(col("campaign")) if "campaign" in schema else None
    currency = (
        parse.blank_to_null(col("currency")).str.to_uppercase() if "currency" in schema else None
    )
    return [
        col(ROW),
        col(MAYBE_SHORT),
        channel.alias("channel"),
        (campaign if campaign is not None else pl.lit(None, pl.Categorical)).alias("campaign"),
        parse.amount_micros(col("amount"), schema["amount"], decimal).alias("micros"),
        (currency if currency is not None else pl.lit(None, pl.String)).alias(CURRENCY),
        col("date").alias(RAW_DATE),
        col("amount").cast(pl.String).alias(RAW_AMOUNT),
        (col("date_end") if "date_end" in schema else pl.lit(None, pl.String)).alias(RAW_DATE_END),
        *counts,
        *(
            (col(c).cast(pl.String) if c in schema else pl.lit(None, pl.String)).alias(f"__raw_{c}")
            for c in COUNTS
        ),
    ]


def _clean(raw: pl.DataFrame, currency: str, counted: list[str]) -> Loaded:
    total = raw.height
    bad_date = ranges.bad_date()
    bad_amount = pl.col("micros").is_null() & ~bad_date
    usable = raw.filter(~bad_date & pl.col("micros").is_not_null())
    other = pl.col(CURRENCY).is_not_null() & (pl.col(CURRENCY) != currency.upper())
    findings = keep_findings(
        flagged(raw, "spend.bad_date", bad_date, ranges.dates_shown(), total=total),
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
    findings += keep_findings(summary_rows(usable, total))
    findings += keep_findings(*(_bad_count(usable, c, total) for c in counted))
    kept = usable.filter(~other).select(
        FILE, ROW, "date", "date_end", "channel", "campaign", "micros", *COUNTS
    )
    return Loaded(ranges.spread_over_days(kept), findings, rows_read=total)


def _bad_count(usable: pl.DataFrame, column: str, total: int) -> Finding | None:
    """A count cell that is there but not a whole number: the row's spend still counts;
    its group's impressions or clicks become unknown (null) rather than short."""
    raw = parse.blank_to_null(pl.col(f"__raw_{column}"))
    bad = pl.col(column).is_null() & raw.is_not_null()
    return flagged(usable, "spend.bad_count", bad, raw, total=total, context={"column": column})


MAX_SUMMARY_CANDIDATES = 1000


def summary_rows(spend: pl.DataFrame, total: int) -> Finding | None:
    """``spend.summary_row``: a row with a blank or ``Total…`` name (campaign, or channel)
    whose amount equals the sum of two or more other rows of its channel within its date
    range — a platform's total exported as if it were spend, which would count the money
    twice."""
    named_total = pl.col("campaign").cast(pl.String).str.starts_with("total") | pl.col(
        "channel"
    ).cast(pl.String).str.starts_with("total")
    candidate = pl.col("campaign").is_null() | named_total
    frame = spend.with_columns(pl.coalesce("date_end", "date").alias("__to"))
    rows, others = frame.filter(candidate), frame.filter(~candidate)
    if rows.height == 0 or others.height == 0 or rows.height > MAX_SUMMARY_CANDIDATES:
        return None
    sums = [_others_sum(others, *key) for key in rows.select("channel", "date", "__to").iter_rows()]
    rows = rows.with_columns(pl.Series("__others", sums, dtype=pl.Int64))
    hit = pl.col("__others") == pl.col("micros")
    return flagged(rows, "spend.summary_row", hit, pl.col(RAW_AMOUNT), total=total)


def _others_sum(others: pl.DataFrame, channel: str, start: object, end: object) -> int | None:
    """The amount of the same channel's other rows within ``start`` … ``end``; None for
    fewer than two rows (one row equal to another is a coincidence, not a total)."""
    inside = others.filter((pl.col("channel") == channel) & pl.col("date").is_between(start, end))
    return int(inside["micros"].sum()) if inside.height >= 2 else None
