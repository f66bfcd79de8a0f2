"""The floor: read the files funnel reads with polars alone, each needed column once.

Scan with the right dtypes and reduce every column to one value; nothing that reads the
same files can be faster. Usage: python bench/floor.py DATA_DIR csv|parquet
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

LEAD_COLS = [
    "lead_id",
    "created_at",
    "channel",
    "campaign",
    "email",
    "company_size",
    "job_title",
    "lead_type",
    "pages_viewed",
    "email_bounced",
    "budget",
    "timeline_days",
]
STAMP = {"created_at": "%Y-%m-%dT%H:%M:%SZ", "entered_at": "%Y-%m-%d %H:%M:%S", "date": "%Y-%m-%d"}


def scan(path: Path) -> pl.LazyFrame:
    if path.suffix == ".parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, schema_overrides=dict.fromkeys(STAMP, pl.String))


def touch(frame: pl.LazyFrame, cols: list[str]) -> pl.LazyFrame:
    schema = frame.collect_schema()
    exprs = []
    for c in cols:
        col = pl.col(c)
        # Parquet may store a time already typed (the sample's spend dates): nothing to parse.
        if c in STAMP and schema[c] == pl.String:
            col = col.str.strptime(pl.Datetime("us"), STAMP[c], strict=False)
        exprs.append(
            col.max().alias(c) if c in STAMP or c not in ("lead_id", "email") else col.n_unique()
        )
    return frame.select(exprs)


def main(folder: Path, fmt: str) -> None:
    frames = [
        touch(scan(folder / f"leads.{fmt}"), LEAD_COLS),
        touch(scan(folder / f"spend.{fmt}"), ["date", "channel", "campaign", "amount", "currency"]),
        touch(scan(folder / f"transitions.{fmt}"), ["lead_id", "stage", "entered_at"]),
    ]
    for frame in pl.collect_all(frames):
        print(frame.width, file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
