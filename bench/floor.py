"""The floor: read the files funnel reads with polars alone, each needed column once.

Scan with the right dtypes (times parsed) and reduce every column with a trivial aggregate
(its maximum); nothing that reads the same files can be faster.

With ``--hash-ids`` the id and e-mail columns are reduced by ``n_unique`` instead: the
hashing any dedupe or id join needs, which the floor itself skips (a reference, not the floor).

Usage: python bench/floor.py DATA_DIR csv|parquet [--hash-ids]
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


def touch(frame: pl.LazyFrame, cols: list[str], hash_ids: bool) -> pl.LazyFrame:
    schema = frame.collect_schema()
    exprs = []
    for c in cols:
        col = pl.col(c)
        # Parquet may store a time already typed (the sample's spend dates): nothing to parse.
        if c in STAMP and schema[c] == pl.String:
            col = col.str.strptime(pl.Datetime("us"), STAMP[c], strict=False)
        hashed = hash_ids and c in ("lead_id", "email")
        exprs.append(col.n_unique() if hashed else col.max().alias(c))
    return frame.select(exprs)


def main(folder: Path, fmt: str, hash_ids: bool) -> None:
    # A heavy history writes ISO times with a T (2026-05-01T10:00:00): parse what is there.
    first = scan(folder / f"transitions.{fmt}").select("entered_at").head(1).collect()
    if first.height and "T" in str(first.item()):
        STAMP["entered_at"] = "%Y-%m-%dT%H:%M:%S"
    spend = ["date", "channel", "campaign", "amount", "currency"]
    frames = [
        touch(scan(folder / f"leads.{fmt}"), LEAD_COLS, hash_ids),
        touch(scan(folder / f"spend.{fmt}"), spend, hash_ids),
        touch(scan(folder / f"transitions.{fmt}"), ["lead_id", "stage", "entered_at"], hash_ids),
    ]
    for frame in pl.collect_all(frames):
        print(frame.width, file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], "--hash-ids" in sys.argv[3:])
