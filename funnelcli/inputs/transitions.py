"""Load stage entries: transition files (long layout) and leads' date columns (wide layout)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.columns import EXIT, REVENUE
from funnelcli.findings import Finding
from funnelcli.inputs import parse
from funnelcli.inputs.leads import date_col, raw_date_col, revenue_cells, with_revenue
from funnelcli.inputs.load import (
    FILE,
    TRANSITIONS_REQUIRED,
    Loaded,
    date_formats,
    date_order,
    file_label,
    flagged,
    keep_findings,
    open_table,
    reading_findings,
    set_aside,
    shown_only,
    source_for,
)
from funnelcli.inputs.readers import MAYBE_SHORT, ROW, collect, reading
from funnelcli.policy.config import InputSpec, Policy, input_specs

RAW_STAGE, RAW_ENTERED = "__raw_stage", "__raw_entered_at"
COLUMNS = [FILE, ROW, "lead_id", "stage", "entered_at"]


def stage_lookup(policy: Policy) -> dict[str, str]:
    """Every accepted spelling (id, name, alias; trimmed, lower-cased) → stage id or EXIT."""
    lookup = {name.strip().lower(): EXIT for name in policy.exits}
    for stage in policy.stages:
        for name in (stage.id, stage.name, *stage.aliases):
            if name:
                lookup[name.strip().lower()] = stage.id
    return lookup


def load_transitions(
    policy: Policy, leads: pl.DataFrame, as_of: dt.date | None = None
) -> tuple[Loaded, pl.DataFrame | None]:
    """All stage entries as (lead_id, stage Enum, entered_at), from files and date columns;
    entries after ``as_of`` set aside before they are checked. And the deals of closed-deals
    inputs that carry revenue: (lead_id, revenue micros) per row, None without such input."""
    parts, deals, findings, read = [], [], [], 0
    for loc, kind, spec in input_specs(policy):
        if kind != "transitions":
            continue
        loaded = _load_file(policy, spec, loc, as_of)
        if REVENUE in loaded.frame.columns:
            deals.append(loaded.frame.select("lead_id", REVENUE))
        parts.append(loaded.frame)
        findings += loaded.findings
        read += loaded.rows_read
    wide = _from_date_columns(policy, leads)
    parts.append(wide.frame)
    findings += wide.findings
    enum = pl.Enum(policy.stage_ids)
    frames = [p.select(COLUMNS).with_columns(pl.col("stage").cast(enum)) for p in parts]
    read += wide.frame.height  # each date-column value counts as a transition row
    loaded = Loaded(pl.concat(frames, how="vertical_relaxed"), findings, rows_read=read)
    return loaded, pl.concat(deals) if deals else None


def _load_file(policy: Policy, spec: InputSpec, loc: tuple, as_of: dt.date | None) -> Loaded:
    source = source_for(policy, spec, loc)
    required = tuple(c for c in TRANSITIONS_REQUIRED if not (spec.stage and c == "stage"))
    opened = open_table(source, spec, required, "transitions")
    with reading(opened.scanned):  # a file polars cannot parse: its bad row named
        frame = opened.frame
        schema = frame.collect_schema()
        dayfirst = date_order(opened, spec, ["entered_at"], "transitions")
        stage_raw = pl.lit(spec.stage) if spec.stage else pl.col("stage").cast(pl.String)
        # Revenue only from a closed-deals input of the last stage (the config checks a mapped
        # one; an unmapped "revenue" header of any other input is not read).
        deals = "revenue" in schema and spec.stage == policy.stage_ids[-1]
        revenue = revenue_cells(schema) if deals else []
        query = frame.select(
            pl.col(ROW),
            pl.col(MAYBE_SHORT),
            parse.blank_to_null(pl.col("lead_id")).alias("lead_id"),
            stage_raw.cast(pl.Categorical).alias(RAW_STAGE),  # looked up once per spelling
            pl.col("entered_at").alias(RAW_ENTERED),
            *revenue,
        ).with_columns(file_label(source.name))
        stamps = {"entered_at": (RAW_ENTERED, schema["entered_at"])}
        formats = date_formats(spec, "transitions")
        query = parse.with_timestamps(query, stamps, policy.timezone, formats, dayfirst)
        query = query.with_columns(shown_only(RAW_ENTERED, pl.col("entered_at").is_null()))
        raw = collect(query, opened.scanned)
        later: list[Finding] = []
        if as_of is not None:
            after = (pl.col("entered_at").dt.date() > as_of).fill_null(False)
            aside = set_aside(source.name, int(raw.select(after.sum()).item()), as_of)
            raw = raw.filter(~after) if aside else raw
            later += aside
        spelling = parse.blank_to_null(pl.col("cell")).str.to_lowercase()
        # A categorical: four bytes a row to spread to every entry, where text is copied per row.
        looked_up = spelling.replace_strict(stage_lookup(policy), default=None)
        stage = looked_up.cast(pl.Categorical).alias("stage")
        loaded = _clean(raw.hstack(parse.by_distinct(raw[RAW_STAGE], stage)))
        if deals:  # before the reading notes: it may add one (a decimal comma)
            with_revenue(loaded, opened, spec, policy.currency)
        loaded.findings += reading_findings(opened) + later
        return loaded


def _clean(raw: pl.DataFrame) -> Loaded:
    total = raw.height
    unknown_stage = pl.col("stage").is_null()
    # An exit row (lost, disqualified…) is dropped anyway: its date does not matter.
    bad_date = pl.col("entered_at").is_null() & ~unknown_stage & (pl.col("stage") != EXIT)
    findings = keep_findings(
        flagged(raw, "transitions.unknown_stage", unknown_stage, pl.col(RAW_STAGE), total=total),
        flagged(raw, "transitions.bad_entered_at", bad_date, pl.col(RAW_ENTERED), total=total),
    )
    kept = raw.filter(
        ~unknown_stage & pl.col("entered_at").is_not_null() & (pl.col("stage") != EXIT)
    )
    return Loaded(kept.filter(pl.col("lead_id").is_not_null()), findings, rows_read=total)


def _from_date_columns(policy: Policy, leads: pl.DataFrame) -> Loaded:
    """Wide layout: each stage's date_column value counts as a transition row."""
    parts, findings = [], []
    for stage in policy.stages:
        if not stage.date_column:
            continue
        value, raw = pl.col(date_col(stage.id)), pl.col(raw_date_col(stage.id))
        bad = value.is_null() & parse.blank_to_null(raw).is_not_null()
        found: Finding | None = flagged(leads, "transitions.bad_entered_at", bad, raw)
        findings += keep_findings(found)
        parts.append(
            leads.filter(value.is_not_null()).select(
                pl.col(FILE),
                pl.col(ROW),
                pl.col("lead_id"),
                pl.lit(stage.id).alias("stage"),
                value.alias("entered_at"),
            )
        )
    if not parts:
        schema = {FILE: pl.Categorical, ROW: pl.UInt32, "lead_id": pl.String, "stage": pl.String}
        empty = pl.DataFrame(schema=schema).with_columns(
            pl.lit(None, pl.Datetime("us", policy.timezone)).alias("entered_at")
        )
        return Loaded(empty, [])
    return Loaded(pl.concat(parts, how="vertical_relaxed"), findings)
