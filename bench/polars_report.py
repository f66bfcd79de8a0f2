"""The least exact work: the cohort report by channel as a hand-written polars script.

What a polars user who knows this data would write: config.example.yaml's policy hard-coded
(aliases, scoring, requires, stage spellings) and the rules of docs/metrics.md (earliest
duplicate kept, skipped stages back-filled, dates clamped to creation), with none of
funnel's work beyond the numbers: no detection of encodings, delimiters or date formats, no
data-quality checks, no examples of bad rows, no policy language. It computes the same
figures as duckdb_report.py and funnel (bench/run.py checks them), so its time is a floor
for any exact report on these files in polars.
Usage: python bench/polars_report.py DATA_DIR csv|parquet  → JSON on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

ALIASES = {
    "google ads": "paid_search",
    "adwords": "paid_search",
    "paid search": "paid_search",
    "facebook": "paid_social",
    "linkedin ads": "paid_social",
    "paid social": "paid_social",
    "organic search": "organic",
}
STAGES = {
    "mql": 2,
    "marketing qualified lead": 2,
    "marketingqualifiedlead": 2,
    "sql": 3,
    "sales qualified lead": 3,
    "qso": 4,
    "qualified sales opportunity": 4,
    "opportunity": 4,
    "won": 5,
    "customer": 5,
    "closed won": 5,
}
DAY_US = 86_400_000_000


def scan(folder: Path, name: str, fmt: str) -> pl.LazyFrame:
    path = folder / f"{name}.{fmt}"
    if fmt == "parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False)


def channel(cells: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased, aliased; blank is unknown. Worked out per distinct cell."""
    text = cells.str.strip_chars().str.to_lowercase()
    named = text.replace(ALIASES)
    return pl.when(text.fill_null("") == "").then(pl.lit("unknown")).otherwise(named)


def number(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64, strict=False)


def leads(folder: Path, fmt: str) -> pl.LazyFrame:
    raw = scan(folder, "leads", fmt).with_row_index("rn")
    created = pl.col("created_at").str.strptime(
        pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ", strict=False, cache=False
    )
    usable = raw.with_columns(pl.col("lead_id").str.strip_chars(), created.alias("created")).filter(
        (pl.col("lead_id").fill_null("") != "") & pl.col("created").is_not_null()
    )
    # Earliest created wins, file order breaks ties; only repeated ids need sorting. A
    # repeated id has a repeated hash, found by sorting the hashes (is_duplicated on 10M
    # strings: 2.5 s; hashes sorted: 0.1 s); ids whose hash repeats are then compared as ids.
    table = usable.collect()
    hashes = table["lead_id"].hash().sort()
    twice = hashes.filter(hashes == hashes.shift(1)).unique()
    repeated = pl.col("lead_id").hash().is_in(twice.implode())
    rows = table.lazy()
    firsts = rows.filter(repeated).sort("created", "rn").unique("lead_id", keep="first")
    cohort = pl.concat([rows.filter(~repeated), firsts])
    title = pl.col("job_title").str.contains("(?i)head|director|vp|chief|founder").fill_null(False)
    kind = pl.col("lead_type")
    points = (
        pl.when(number("company_size") >= 50).then(20).otherwise(0)
        + pl.when(title).then(15).otherwise(0)
        + pl.when(kind == "demo_request").then(40).otherwise(0)
        + pl.when(kind.is_in(["webinar", "contact_form"])).then(20).otherwise(0)
        + pl.when(number("pages_viewed") >= 5).then(10).otherwise(0)
        + pl.when(pl.col("email_bounced").cast(pl.String).str.to_lowercase() == "true")
        .then(-20)
        .otherwise(0)
    )
    bant = ((number("budget") > 0) & (number("timeline_days") <= 90)).fill_null(False)
    return cohort.select(
        "lead_id",
        "created",
        channel(pl.col("channel")).alias("ch"),
        pl.min_horizontal(points, 100).alias("score"),
        bant.alias("bant"),
    )


def first_entries(folder: Path, fmt: str, cohort: pl.LazyFrame) -> pl.LazyFrame:
    """Each cohort lead's first entry per stage, by the lead's position: the ids are
    joined once, the group-by runs on integers (on the id strings it took twice as long)."""
    trans = scan(folder, "transitions", fmt)
    text = pl.col("entered_at").str.replace("T", " ", literal=True)
    stage = (
        pl.col("stage").str.strip_chars().str.to_lowercase().replace_strict(STAGES, default=None)
    )
    ts = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False, cache=False)
    entries = trans.select("lead_id", stage.alias("s"), ts.alias("ts")).drop_nulls()
    placed = entries.join(cohort.select("lead_id", "pos"), on="lead_id", how="inner")
    return placed.group_by("pos").agg(
        pl.col("ts").filter(pl.col("s") == s).min().alias(f"f{s}") for s in (2, 3, 4, 5)
    )


def report(folder: Path, fmt: str) -> pl.DataFrame:
    cohort = leads(folder, fmt).collect().with_row_index("pos").lazy()
    crm = cohort.join(first_entries(folder, fmt, cohort), on="pos", how="left")
    created = pl.col("created")
    c = {s: pl.min_horizontal(pl.col(f"f{t}") for t in range(s, 6)) for s in (2, 3, 4, 5)}
    a2 = pl.when((pl.col("score") >= 40) & c[2].is_not_null()).then(
        pl.max_horizontal(created, c[2])
    )
    funnel = crm.with_columns(a2.alias("a2"))
    for s, extra in ((3, True), (4, pl.col("bant")), (5, True)):
        prev = pl.col(f"a{s - 1}")
        ok = prev.is_not_null() & c[s].is_not_null() & extra
        funnel = funnel.with_columns(pl.when(ok).then(pl.max_horizontal(prev, c[s])).alias(f"a{s}"))
    days = lambda a, b: (pl.col(a) - b).dt.total_microseconds() / DAY_US  # noqa: E731
    by_channel = funnel.group_by("ch").agg(
        pl.len().alias("leads"),
        *(
            pl.col(f"a{s}").count().alias(n)
            for s, n in ((2, "mql"), (3, "sql"), (4, "qso"), (5, "won"))
        ),
        days("a2", created).quantile(0.5, "linear").alias("mql_days_median"),
        days("a2", created).quantile(0.9, "linear").alias("mql_days_p90"),
        days("a5", pl.col("a4")).quantile(0.5, "linear").alias("won_days_median"),
    )
    spend = scan(folder, "spend", fmt)
    amount = (
        pl.col("amount")
        .cast(pl.String)
        .str.replace_all(r"[$,]", "")
        .cast(pl.Decimal(18, 6), strict=False)
    )
    usd = pl.col("currency").str.strip_chars().str.to_uppercase().fill_null("USD") == "USD"
    spent = (
        spend.filter(usd)
        .group_by(channel(pl.col("channel")).alias("ch"))
        .agg(amount.sum().cast(pl.Float64).alias("spend"))
    )
    both = by_channel.join(spent, on="ch", how="full", coalesce=True)
    counts = ["leads", "mql", "sql", "qso", "won"]
    return (
        both.with_columns(pl.col(counts).fill_null(0))
        .rename({"ch": "channel"})
        .sort("channel")
        .collect()
    )


def main(folder: Path, fmt: str) -> None:
    json.dump(report(folder, fmt).to_dicts(), sys.stdout, default=float)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
