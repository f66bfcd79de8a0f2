"""The real-data examples (examples/*/funnel.yaml) run on the public files they name, and
their headline numbers agree with a plain-Python count of the same CSV files (csv module,
no funnel code).

The data is not in the repository (examples/README.md says where to get it): each example's
own data/ folder is used when it holds the files, else FUNNEL_EXAMPLES_DATA/<dataset>, else
the project's shared data folder beside the repository (where CI has it)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import statistics
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, Project, invoke, report_json, row, same

EXAMPLES = ROOT / "examples"
DATASETS = {  # example → (dataset folder, a file it must hold)
    "olist": ("olist_marketing_funnel", "olist_marketing_qualified_leads_dataset.csv"),
    "x_education": ("x_education_leads", "Leads.csv"),
    "maven": ("maven_crm_sales_opportunities", "sales_pipeline.csv"),
}


def _data(name: str) -> Path:
    """The folder with the example's files, or a skip that says where to put them."""
    folder, probe = DATASETS[name]
    places = [EXAMPLES / name / "data"]
    if os.environ.get("FUNNEL_EXAMPLES_DATA"):
        places.append(Path(os.environ["FUNNEL_EXAMPLES_DATA"]) / folder)
    places.append(ROOT.parent / "shared" / "realdata" / folder)
    for place in places:
        if (place / probe).is_file():
            return place
    pytest.skip(f"{name}: put {probe} in {EXAMPLES / name / 'data'} (see examples/README.md)")


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """Each example's policy in its own folder, its data/ the folder that has the files."""
    for name in DATASETS:
        (tmp_path / name).mkdir()
        shutil.copy(EXAMPLES / name / "funnel.yaml", tmp_path / name / "funnel.yaml")
    return tmp_path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _example(root: Path, name: str) -> Project:
    data = _data(name)
    link = root / name / "data"
    if not link.exists():
        link.symlink_to(data.resolve(), target_is_directory=True)
    return Project(root / name)


def test_olist_mql_to_won_by_origin(examples: Path) -> None:
    folder = _data("olist")
    mqls = _rows(folder / "olist_marketing_qualified_leads_dataset.csv")
    deals = _rows(folder / "olist_closed_deals_dataset.csv")
    origin = {m["mql_id"]: (m["origin"].strip().lower() or "unknown") for m in mqls}
    won = {d["mql_id"] for d in deals if d["mql_id"] in origin and d["won_date"].strip()}
    report = report_json(_example(examples, "olist"))
    total = report["total"]
    assert (total["leads"], total["stages"]["won"]["count"]) == (len(origin), len(won))
    assert (total["leads"], len(won)) == (8000, 842)
    assert total["stages"]["won"]["rate"] == pytest.approx(842 / 8000)
    leads_by = Counter(origin.values())
    won_by = Counter(origin[m] for m in won)
    assert {r["group"]["channel"]: r["leads"] for r in report["rows"]} == dict(leads_by)
    for channel, n in won_by.items():
        assert row(report, channel=channel)["stages"]["won"]["count"] == n
    # Days from first contact to won (clamped at 0), to within an hour of DST changes.
    first = {m["mql_id"]: dt.datetime.fromisoformat(m["first_contact_date"]) for m in mqls}
    days = [
        max(0.0, (dt.datetime.fromisoformat(d["won_date"]) - first[d["mql_id"]]).total_seconds())
        / 86400
        for d in deals
        if d["mql_id"] in won
    ]
    got = total["stages"]["won"]["days"]["median"]
    assert got == pytest.approx(statistics.median(days), abs=1 / 24)


def _x_score(lead: dict[str, str]) -> float:
    """The example's scoring rules, written again by hand; "Select" and blanks are null."""

    def num(name: str) -> float | None:
        value = lead[name].strip()
        return float(value) if value and value != "Select" else None

    def text(name: str) -> str | None:
        value = lead[name].strip()
        return value if value and value != "Select" else None

    points = 0.0
    if (num("Total Time Spent on Website") or 0) >= 600:
        points += 30
    if (num("TotalVisits") or 0) >= 5:
        points += 10
    if (num("Page Views Per Visit") or 0) >= 3:
        points += 10
    if text("Last Activity") in ("SMS Sent", "Email Opened"):
        points += 15
    if text("Do Not Email") == "Yes":
        points -= 20
    if text("What is your current occupation") == "Working Professional":
        points += 30
    if text("Lead Origin") == "Lead Add Form":
        points += 30
    if text("Specialization") is not None:
        points += 5
    return points


def test_x_education_scoring_policy(examples: Path) -> None:
    leads = _rows(_data("x_education") / "Leads.csv")
    mql = [lead for lead in leads if _x_score(lead) >= 40]
    enrolled = [lead for lead in mql if lead["Converted"].strip() == "1"]
    report = report_json(_example(examples, "x_education"))
    stages = report["total"]["stages"]
    assert report["total"]["leads"] == len(leads) == 9240
    assert stages["mql"]["count"] == len(mql)
    assert stages["customer"]["count"] == len(enrolled)
    assert stages["customer"]["rate"] == pytest.approx(len(enrolled) / len(mql))
    # The scored leads convert far better than the 38.5% base rate of the whole file.
    base = sum(lead["Converted"] == "1" for lead in leads) / len(leads)
    assert base == pytest.approx(3561 / 9240)
    assert stages["customer"]["rate"] > base + 0.2


def test_maven_engaged_to_won_by_product(examples: Path) -> None:
    deals = _rows(_data("maven") / "sales_pipeline.csv")
    engaged = [d for d in deals if d["engage_date"].strip()]
    won = [d for d in engaged if d["deal_stage"] == "Won" and d["close_date"].strip()]
    report = report_json(_example(examples, "maven"), "--by", "product")
    total = report["total"]
    assert (total["leads"], total["stages"]["won"]["count"]) == (len(engaged), len(won))
    assert (len(engaged), len(won)) == (8300, 4238)
    won_by = Counter(d["product"] for d in won)
    for product, n in Counter(d["product"] for d in engaged).items():
        got = row(report, product=product)
        assert (got["leads"], got["stages"]["won"]["count"]) == (n, won_by[product])
    dropped = next(w for w in report["warnings"] if w["code"] == "leads.bad_created_at")
    assert dropped["count"] == len(deals) - len(engaged) == 500


def test_maven_revenue_by_product(examples: Path) -> None:
    """Revenue is the close_value of the won deals, summed here in plain Python: by product,
    the average deal is revenue over won deals; ROAS and CAC are null (no spend)."""
    deals = _rows(_data("maven") / "sales_pipeline.csv")
    won = [
        d
        for d in deals
        if d["engage_date"].strip() and d["deal_stage"] == "Won" and d["close_date"].strip()
    ]
    report = report_json(_example(examples, "maven"), "--by", "product")
    revenue: Counter[str] = Counter()
    for d in won:
        revenue[d["product"]] += int(d["close_value"])
    total = report["total"]
    assert total["revenue"] == sum(revenue.values()) == 10_005_534
    assert total["avg_deal"] == pytest.approx(10_005_534 / 4238)
    assert (total["roas"], total["cac"], total["roi"], total["spend"]) == (None,) * 4
    for product, amount in revenue.items():
        got = row(report, product=product)
        assert got["revenue"] == amount
        assert got["avg_deal"] == pytest.approx(
            amount / len([d for d in won if d["product"] == product])
        )
    assert row(report, product="GTK 500")["revenue"] == 400_612


def test_x_education_rule_lift(examples: Path) -> None:
    # "Total Time Spent on Website ≥ 600": how many leads it fires on, and how many of them
    # (and of the others) enrolled under the policy (MQL by score, then Converted = 1).
    leads = _rows(_data("x_education") / "Leads.csv")

    def enrolled(lead: dict[str, str]) -> bool:
        return _x_score(lead) >= 40 and lead["Converted"] == "1"

    def time_spent(lead: dict[str, str]) -> float:
        return float(lead["Total Time Spent on Website"] or 0)

    fires = [lead for lead in leads if time_spent(lead) >= 600]
    others = [lead for lead in leads if time_spent(lead) < 600]
    config = _example(examples, "x_education").config
    run = invoke("score", "-c", config, "--rules", "-f", "json")
    assert run.exit_code == 0, run.stderr
    rule = json.loads(run.stdout)["rules"][0]
    assert rule["rule"] == "Total Time Spent on Website ≥ 600"
    assert rule["fires"] == len(fires)
    got = rule["conversion"]["customer"]
    assert got["with"]["converted"] == sum(map(enrolled, fires))
    assert got["without"]["converted"] == sum(map(enrolled, others))
    with_rate = sum(map(enrolled, fires)) / len(fires)
    assert got["lift"] == pytest.approx(with_rate / (sum(map(enrolled, others)) / len(others)))


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_engine_gives_the_examples_report(examples: Path, engine: str, name: str) -> None:
    """The real exports through DuckDB, PostgreSQL and Spark: the embedded report's rows and
    total, to 1e-9."""
    project = _example(examples, name)
    want = report_json(project, "--as-of", "2026-06-30", "--quiet")
    got = report_json(project, "--as-of", "2026-06-30", "--quiet", "--engine", engine)
    same(got["rows"], want["rows"], "rows")
    same(got["total"], want["total"], "total")
    assert want["total"]["leads"] > 0
