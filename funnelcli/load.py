"""The three inputs → typed, normalised DataFrames plus the row-level findings (DESIGN.md §2).

Each file is scanned once: mapping, parsing and flagging happen in one lazy query that is
collected once; every later step works on these in-memory frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from funnelcli.config import InputSpec, Policy
from funnelcli.errors import InputError
from funnelcli.findings import MAX_EXAMPLES, Example, Finding
from funnelcli.readers import (
    MAYBE_SHORT,
    ROW,
    Source,
    file_columns,
    scan,
    verify_structure,
)
from funnelcli.yamlsrc import Key

Table = Literal["leads", "spend", "transitions"]
LEADS_REQUIRED = ("lead_id", "created_at", "channel")
SPEND_REQUIRED = ("date", "channel", "amount")
TRANSITIONS_REQUIRED = ("lead_id", "stage", "entered_at")
FILE = "__file"


@dataclass
class Loaded:
    """A table's kept rows and what was flagged on the way."""

    frame: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0
    headers: list[str] = field(default_factory=list)  # the file's columns, canonical names


def source_for(policy: Policy, spec: InputSpec, loc: Key) -> Source:
    return Source(
        path=policy.resolve(spec),
        label=".".join(str(p) for p in loc),
        where=policy.source.where((*loc, "path")),
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        null_values=tuple(spec.null_values),
    )


def open_table(source: Source, spec: InputSpec, required: tuple[str, ...]) -> pl.LazyFrame:
    """Scan a file and rename its mapped headers to canonical names; check required ones."""
    frame = scan(source)
    names = frame.collect_schema().names()
    renames = {header.strip(): canon for canon, header in spec.columns.items()}
    missing_maps = [h for h in renames if h not in names]
    if missing_maps:
        have = ", ".join(file_columns(names))
        msg = (
            f"{source.path}: the config maps a column named '{missing_maps[0]}' "
            f"({source.label}.columns) but the file has no such header. Its headers: {have}."
        )
        raise InputError(msg)
    # A canonical name that is both mapped and present as a header: the mapping wins.
    clash = [c for c in renames.values() if c in names and c not in renames]
    frame = frame.drop(clash).rename(renames)
    present = set(frame.collect_schema().names())
    for col in required:
        if col not in present:
            raise InputError(_missing_column(source, col, names))
    return frame


def _missing_column(source: Source, col: str, names: list[str]) -> str:
    have = ", ".join(file_columns(names))
    return (
        f"{source.path}: required column '{col}' is missing. Its headers are: {have}. "
        f'Map one of them in the config: {source.label}.columns: {{{col}: "<header>"}}.'
    )


def flagged(
    frame: pl.DataFrame,
    code: str,
    mask: pl.Expr,
    value: pl.Expr,
    *,
    total: int | None = None,
    context: dict[str, str] | None = None,
) -> Finding | None:
    """A Finding for the rows of ``frame`` where ``mask`` holds, with its first examples."""
    hits = frame.filter(mask)
    if hits.height == 0:
        return None
    head = (
        hits.bottom_k(MAX_EXAMPLES, by=[FILE, ROW])
        .sort(FILE, ROW)
        .select(pl.col(FILE), pl.col(ROW), value.cast(pl.String).alias("value"))
    )
    examples = [Example(f, r, v) for f, r, v in head.iter_rows()]
    return Finding(code, hits.height, examples, total=total or frame.height, context=context or {})


def repeated_rows(frame: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` whose ``key`` occurs more than once.

    Comparing 64-bit hashes first is several times cheaper than comparing strings: when all
    hashes differ no key can repeat; otherwise only rows with a repeated hash are compared
    exactly (so a hash collision never counts as a repeat).
    """
    hashed = key.hash()
    if frame.select(hashed.n_unique()).item() == frame.height:
        return frame.clear()
    return frame.filter(hashed.is_duplicated()).filter(key.is_duplicated())


def keep_findings(*found: Finding | None) -> list[Finding]:
    return [f for f in found if f is not None]


def collect(frame: pl.LazyFrame, source: Source) -> pl.DataFrame:
    """Run a table's one query (it must carry MAYBE_SHORT); an unreadable or ragged file
    is an InputError naming the first bad row."""
    try:
        table = frame.collect()
    except pl.exceptions.PolarsError as err:
        verify_structure(source)  # names the ragged row or open quote when there is one
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        msg = f"{source.path}: cannot be read ({first}). Check the file is a complete export."
        raise InputError(msg) from None
    if table[MAYBE_SHORT].any():
        verify_structure(source)
    return table.drop(MAYBE_SHORT)
