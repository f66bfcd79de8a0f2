"""Dated rows that may cover a range of days (spend, sales cost, traffic): how a bad date
or range is told and shown, and how a range becomes one row a day (docs/inputs.md,
"Spend over a range")."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.findings import Finding
from funnelcli.inputs import parse
from funnelcli.inputs.load import set_aside

RAW_DATE, RAW_DATE_END = "__raw_date", "__raw_date_end"  # the cells as written
SPLIT = ("micros", "impressions", "clicks", "visits")  # what a range's days share


def set_aside_after(
    raw: pl.DataFrame, name: str, as_of: dt.date | None
) -> tuple[pl.DataFrame, list[Finding]]:
    """The rows dated on or before ``as_of`` (or unreadable: those are checked as they are),
    and ``input.after_as_of`` for the others. The days of a range that run past ``as_of``
    are cut after the range is spread (``spread_over_days``)."""
    if as_of is None:
        return raw, []
    after = (pl.col("date") > as_of).fill_null(False)
    aside = set_aside(name, int(raw.select(after.sum()).item()), as_of)
    return (raw.filter(~after) if aside else raw), aside


def bad_date() -> pl.Expr:
    """No readable ``date``, or a ``date_end`` given that is unreadable or before it."""
    end_given = parse.blank_to_null(pl.col(RAW_DATE_END)).is_not_null()
    bad_end = end_given & (pl.col("date_end").is_null() | (pl.col("date_end") < pl.col("date")))
    return pl.col("date").is_null() | bad_end


def dates_shown() -> pl.Expr:
    """A row's date as written, or its range (``2026-03-01 to 2026-03-31``)."""
    end = parse.blank_to_null(pl.col(RAW_DATE_END))
    return (
        pl.when(end.is_null())
        .then(pl.col(RAW_DATE))
        .otherwise(pl.format("{} to {}", pl.col(RAW_DATE).fill_null(""), end))
    )


def spread_over_days(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows that cover ``date`` … ``date_end`` become one row a day, the amount (and the
    impressions, clicks or visits) split evenly in whole units — micro-units for money —
    with the remainder on the last day."""
    ranged = pl.col("date_end").is_not_null() & (pl.col("date_end") > pl.col("date"))
    if not rows.select(ranged.any()).item():
        return rows.drop("date_end")
    days = (pl.col("date_end") - pl.col("date")).dt.total_days() + 1
    last = pl.col("__day") == pl.col("date_end")
    split = [c for c in SPLIT if c in rows.columns]
    spread = (
        rows.filter(ranged)
        .with_columns(pl.date_ranges("date", "date_end").alias("__day"), days.alias("__days"))
        .explode("__day")
        .with_columns(
            *(_share(pl.col(c), pl.col("__days"), last).alias(c) for c in split),
            pl.col("__day").alias("date"),
        )
        .select(rows.columns)
    )
    return pl.concat([rows.filter(~ranged), spread]).drop("date_end")


def _share(total: pl.Expr, days: pl.Expr, last: pl.Expr) -> pl.Expr:
    """One day's share of ``total``: the even part, and on the last day what is left."""
    each = total // days
    return pl.when(last).then(total - each * (days - 1)).otherwise(each)
