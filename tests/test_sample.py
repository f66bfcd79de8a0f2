"""`funnel sample` made chunk by chunk: the same data shape at any size, in bounded memory.

Small chunks (1,000 leads) stand in for the million-lead chunks a big sample is made of.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from funnelcli.measure.metrics import Query
from funnelcli.pipeline import run_report
from funnelcli.policy.config import load_policy
from funnelcli.sample import SampleSpec, write_sample
from funnelcli.scaffold import starter_text
from tests.conftest import invoke

FAULT_DATE = "2026-10-30T12:00:00Z"  # the re-imported duplicates' created_at


def _make(out: Path, fmt: str = "csv", leads: int = 2500, chunk: int = 1000) -> list[str]:
    steps: list[str] = []
    write_sample(SampleSpec(leads=leads, fmt=fmt), out, steps.append, chunk=chunk)
    return steps


def _read(folder: Path, name: str) -> pl.DataFrame:
    """A table as text, whatever its format (CSV cells as written, Parquet values cast)."""
    csv = folder / f"{name}.csv"
    if csv.exists():
        return pl.read_csv(csv, infer_schema=False)
    frame = pl.read_parquet(folder / f"{name}.parquet")
    return frame.select(pl.all().cast(pl.String))


def test_chunks_are_announced_and_written_in_order(tmp_path: Path) -> None:
    steps = _make(tmp_path)
    assert steps == [
        "making leads 1–1,000 of 2,500",
        "making leads 1,001–2,000 of 2,500",
        "making leads 2,001–2,500 of 2,500",
        "writing leads.csv, spend.csv, transitions.csv, traffic.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "leads.csv",
        "spend.csv",
        "traffic.csv",
        "transitions.csv",
    ]
    leads = _read(tmp_path, "leads")
    # Each chunk re-imports max(1, size // 1000) of its leads: 1 + 1 + 1; the first chunk
    # also has the one lead with an unreadable date.
    assert leads.height == 2500 + 3 + 1
    assert leads.filter(pl.col("created_at") == FAULT_DATE).height == 3
    assert leads.filter(pl.col("created_at") == "31/02/2026")["lead_id"].to_list() == ["L099999"]
    real = leads.filter(~pl.col("created_at").is_in([FAULT_DATE, "31/02/2026"]))
    assert real["lead_id"].to_list() == [f"L{100_000 + i}" for i in range(2500)]
    assert real["email"].to_list() == [f"user{i}@example.com" for i in range(2500)]
    # Arrivals continue across chunks in time order.
    assert real["created_at"].is_sorted()


def test_transitions_belong_to_their_chunks_leads(tmp_path: Path) -> None:
    _make(tmp_path)
    leads, entries = _read(tmp_path, "leads"), _read(tmp_path, "transitions")
    assert set(entries["lead_id"]) <= set(leads["lead_id"])
    # The three MQL records dated before their lead exist once, not once per chunk.
    created = leads.filter(pl.col("created_at") != FAULT_DATE).unique("lead_id", keep="first")
    early = entries.join(created, on="lead_id").filter(
        pl.col("entered_at").str.to_datetime("%Y-%m-%d %H:%M:%S")
        < pl.col("created_at").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False)
    )
    assert early.height == 3
    # Spend is made once, not once per chunk: one row per campaign and day (month, for the
    # display network's monthly invoices).
    spend = _read(tmp_path, "spend")
    assert not spend.select(pl.struct("date", "campaign").is_duplicated().any()).item()


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    _make(tmp_path / "csv")
    steps = _make(tmp_path / "parquet", fmt="parquet")
    assert steps[-1] == "writing leads.parquet, spend.parquet, transitions.parquet, traffic.parquet"
    for name in ("leads", "spend", "transitions", "traffic"):
        assert _read(tmp_path / "parquet", name).equals(_read(tmp_path / "csv", name)), name
    assert sorted(p.name for p in (tmp_path / "parquet").iterdir()) == [
        "leads.parquet",
        "spend.parquet",
        "traffic.parquet",
        "transitions.parquet",
    ]


def test_a_chunked_sample_reports_like_a_whole_one(tmp_path: Path) -> None:
    _make(tmp_path / "data", leads=3000, chunk=1000)
    config = tmp_path / "funnel.yaml"
    config.write_text(starter_text("data"))
    report = run_report(load_policy(config), Query()).as_dict()
    assert report["total"]["leads"] == 3000
    codes = {w["code"]: w["count"] for w in report["warnings"]}
    assert codes["leads.duplicate_id"] == 3
    assert codes["leads.bad_created_at"] == 1
    assert codes["transitions.before_created"] == 3
    channels = {r["group"]["channel"] for r in report["rows"]}
    assert channels >= {"organic", "paid_search", "paid_social", "email", "referral"}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_interrupted_sample_leaves_nothing_behind(tmp_path: Path, fmt: str) -> None:
    (tmp_path / f"leads.{fmt}").write_text("the previous sample")

    def interrupt(text: str) -> None:
        if text.startswith("making leads 1,001"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_sample(SampleSpec(leads=2500, fmt=fmt, force=True), tmp_path, interrupt, chunk=1000)
    assert [p.name for p in tmp_path.iterdir()] == [f"leads.{fmt}"]
    assert (tmp_path / f"leads.{fmt}").read_text() == "the previous sample"


def test_a_heavy_history_is_a_crm_lifecycle_export_with_the_same_report(tmp_path: Path) -> None:
    """--history heavy: about 2.5 rows a lead, stages by name, the entry stage and the
    "Subscriber" exit for most leads, MQL re-entries, ISO times with a T — and, since none
    of that moves a first entry, exactly the light history's report."""
    for history in ("light", "heavy"):
        spec = SampleSpec(leads=3000, history=history)
        write_sample(spec, tmp_path / history, lambda _: None, chunk=1000)
    heavy = _read(tmp_path / "heavy", "transitions")
    assert 2.2 < heavy.height / 3000 < 2.8
    stages = set(heavy["stage"])
    assert {"Lead", "Subscriber", "Marketing Qualified Lead", "closed won", "Lost"} <= stages
    assert "mql" not in stages and "opportunity" not in stages
    assert heavy["entered_at"].str.contains("T").all()
    mql = heavy.filter(pl.col("stage") == "Marketing Qualified Lead")
    assert mql["lead_id"].is_duplicated().any()  # re-entries
    reports = {}
    for history in ("light", "heavy"):
        config = tmp_path / history / "funnel.yaml"
        config.write_text(starter_text("."))
        run = invoke("report", "-c", config, "-f", "json", "-q", "--as-of", "2026-11-30")
        assert run.exit_code == 0, run.stderr
        reports[history] = run.json()
    assert reports["heavy"]["rows"] == reports["light"]["rows"]
    assert reports["heavy"]["total"] == reports["light"]["total"]
