"""File inputs handed to a SQL engine: read by funnel's own reader (every detection and
check of the embedded engine), then written as typed Parquet in the shape the report SQL
reads (``engines.report``): instants as microseconds since 1970, days as days since 1970,
channels and campaigns already normalised, each lead once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from funnelcli.columns import LEAD_KEY, REVENUE
from funnelcli.engines.conditions import Kinds
from funnelcli.engines.report import Inputs
from funnelcli.inputs.dataset import Dataset

TABLES = ("leads", "entries", "spend", "sales", "traffic")


@dataclass(frozen=True)
class Staged:
    """Parquet files by relation name, what they carry, and the leads columns' kinds."""

    files: dict[str, Path]
    inputs: Inputs
    kinds: Kinds
    schemas: dict[str, dict[str, str]]  # relation → column → SQL type


def stage(data: Dataset, extras: set[str], timezone: str, folder: Path) -> Staged:
    """Write each input of ``data`` to ``folder`` as Parquet; ``extras`` are the lead columns
    the rules and ``--by`` read."""
    frames = {
        "leads": _leads(data.leads, extras),
        "entries": data.transitions.select(
            pl.col(LEAD_KEY).cast(pl.Int64).alias("lead_id"),
            pl.col("stage").cast(pl.String),
            _micros(pl.col("entered_at")).alias("entered_us"),
        ),
    }
    for name in ("spend", "sales", "traffic"):
        frame = getattr(data, name)
        if frame is not None:
            frames[name] = _dated(frame)
    files, schemas = {}, {}
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        frame.write_parquet(path)
        files[name] = path
        schemas[name] = {c: sql_type(t) for c, t in frame.schema.items()}
    inputs = Inputs(
        spend="spend" in frames,
        sales="sales" in frames,
        traffic="traffic" in frames,
        traffic_by_campaign=data.traffic_by_campaign,
        revenue=REVENUE in frames["leads"].columns,
        timezone=timezone,
    )
    # Kinds from the columns as read: a column with no value at all fails every comparison.
    kinds = {c: kind_of(data.leads.schema.get(c, t)) for c, t in frames["leads"].schema.items()}
    return Staged(files, inputs, kinds, schemas)


def _leads(leads: pl.DataFrame, extras: set[str]) -> pl.DataFrame:
    """One row per lead; its id is its position (as the entries' ``LEAD_KEY``)."""
    keep = [
        c
        for c in sorted(extras)
        if c in leads.columns and c not in ("channel", "campaign", "lead_id")
    ]
    cols = [
        pl.int_range(pl.len(), dtype=pl.Int64).alias("lead_id"),
        _micros(pl.col("created_at")).alias("created_us"),
        _text(leads, "channel"),
        _text(leads, "campaign"),
    ]
    if REVENUE in leads.columns:
        cols.append(pl.col(REVENUE))
    cols += [_portable(c, leads.schema[c]) for c in keep]
    return leads.select(cols)


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A text column as staged; null throughout when the input has none (no campaigns)."""
    if name not in frame.columns:
        return pl.lit(None, pl.String).alias(name)
    return pl.col(name).cast(pl.String)


def _portable(name: str, dtype: pl.DataType) -> pl.Expr:
    """A rule column as every engine reads it: categoricals as text, a time-zone-aware
    timestamp as the business zone's wall-clock time (what a date in a rule means)."""
    column = pl.col(name)
    if isinstance(dtype, pl.Categorical | pl.Enum) or dtype == pl.Null:
        return column.cast(pl.String)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return column.dt.replace_time_zone(None)
    return column


def _micros(stamp: pl.Expr) -> pl.Expr:
    return stamp.dt.epoch("us")


def _dated(frame: pl.DataFrame) -> pl.DataFrame:
    values = [c for c in ("impressions", "clicks", "visits") if c in frame.columns]
    # Money in millionths is 128-bit: a database holds it as NUMERIC(38), Parquet as DECIMAL.
    if "micros" in frame.columns:
        values.insert(0, pl.col("micros").cast(pl.Decimal(38, 0)))
    return frame.select(
        (pl.col("date") - pl.lit(dt.date(1970, 1, 1))).dt.total_days().alias("day"),
        _text(frame, "channel"),
        _text(frame, "campaign"),
        *values,
    )


def kind_of(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "timestamp"
    if dtype == pl.Null:
        return "null"
    return "text"


def sql_type(dtype: pl.DataType) -> str:
    """The column type a database table needs to hold a staged column."""
    if dtype.is_integer():
        return "BIGINT"
    if isinstance(dtype, pl.Decimal):
        return f"NUMERIC({dtype.precision or 38}, {dtype.scale})"
    if dtype.is_float():
        return "DOUBLE PRECISION"
    return {"bool": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}.get(kind_of(dtype), "TEXT")
