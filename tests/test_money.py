"""The top of the funnel and the money (docs/metrics.md), on a hand-made fixture whose every
figure is worked out by hand in the comments."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import pytest

from funnelcli.measure.stats import Z95, mean_interval, ratio_interval, revenue_interval
from tests.conftest import Project, invoke

POLICY = """\
version: 1
currency: USD
timezone: UTC
inputs:
  leads: {path: leads.csv, columns: {revenue: deal}}
  spend:
    - {path: spend.csv}
    - {path: sales.csv, kind: sales}
  transitions: {path: transitions.csv}
  traffic: {path: traffic.csv}
stages:
  - {id: lead, name: Lead}
  - {id: won, name: Customer}
economics: {gross_margin: 0.5}
"""

LEADS = """\
lead_id,created_at,channel,campaign,deal
L1,2026-03-01,paid_search,brand,1000
L2,2026-03-01,paid_search,brand,
L3,2026-03-02,paid_search,generic,500
L4,2026-03-02,paid_social,,2000
L5,2026-03-03,organic,,300
"""
# L3 has a deal value but never won: its 500 is not revenue.
TRANSITIONS = """\
lead_id,stage,entered_at
L1,won,2026-03-05
L4,won,2026-03-10
L5,won,2026-03-04
"""
# paid_social: one row over 1-3 March: 100.00 a day; impressions 6,666 / 6,666 / 6,668 and
# clicks 50 / 50 / 51 (the remainder on the last day).
SPEND = """\
date,date_end,channel,campaign,amount,impressions,clicks
2026-03-01,,paid_search,brand,100,"10,000",200
2026-03-02,,paid_search,generic,50,5000,100
2026-03-01,2026-03-03,paid_social,,300,20000,151
"""
# Salaries for March with no channel: 100.00 a day, in the total only.
SALES = """\
date,date_end,amount
2026-03-01,2026-03-31,3100
"""
TRAFFIC = """\
date,channel,visits
2026-03-01,paid_search,40
2026-03-02,paid_search,60
2026-03-01,organic,100
2026-03-02,direct,50
"""


@pytest.fixture
def shop(tmp_path: Path) -> Project:
    p = Project(tmp_path)
    p.policy(POLICY)
    for name, text in (
        ("leads.csv", LEADS),
        ("transitions.csv", TRANSITIONS),
        ("spend.csv", SPEND),
        ("sales.csv", SALES),
        ("traffic.csv", TRAFFIC),
    ):
        p.write(name, text)
    return p


def report(p: Project, *args: str) -> dict[str, Any]:
    run = invoke("report", "-c", p.config, "-f", "json", "-q", "--as-of", "2026-03-31", *args)
    assert run.exit_code == 0, run.stderr
    return run.json()


def by_channel(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["group"]["channel"]: r for r in rep["rows"]}


def test_every_definition_on_the_whole_cohort(shop: Project) -> None:
    rep = report(shop)
    total, rows = rep["total"], by_channel(rep)
    search, social, organic = rows["paid_search"], rows["paid_social"], rows["organic"]
    # paid_search: 3 leads; 150 spent on 15,000 impressions and 300 clicks; 100 visits.
    assert (search["impressions"], search["clicks"], search["visits"]) == (15000, 300, 100)
    assert search["ctr"] == pytest.approx(300 / 15000)  # 2%
    assert search["cpc"] == pytest.approx(0.5)  # 150 / 300
    assert search["click_to_lead"] == pytest.approx(3 / 300)
    assert search["visit_to_lead"] == pytest.approx(3 / 100)
    # One customer (L1, 1,000); L3's 500 is a lost deal's value.
    assert (search["revenue"], search["avg_deal"]) == (1000.0, 1000.0)
    assert search["roas"] == pytest.approx(1000 / 150)
    # Sales cost without a channel exists: a group's full cost, ROI, CAC are unknown.
    assert (search["roi"], search["cac"], search["ltv_cac"]) == (None, None, None)
    assert search["sales_cost"] is None
    # paid_social: the spread range, and no traffic rows of its own.
    assert (social["spend"], social["impressions"], social["clicks"]) == (300.0, 20000, 151)
    assert social["visits"] is None and social["visit_to_lead"] is None
    assert (social["revenue"], social["roas"]) == (2000.0, pytest.approx(2000 / 300))
    # organic: no spend, so no ROAS or CPC; its visits and revenue are there.
    assert (organic["spend"], organic["roas"], organic["clicks"]) == (None, None, None)
    assert (organic["visits"], organic["revenue"]) == (100, 300.0)
    assert "direct" not in rows  # visits alone do not make a group
    # Total: 450 spent; 35,000 impressions, 451 clicks; 250 visits (direct's too).
    assert (total["spend"], total["impressions"], total["clicks"]) == (450.0, 35000, 451)
    assert (total["visits"], total["visit_to_lead"]) == (250, pytest.approx(5 / 250))
    assert total["ctr"] == pytest.approx(451 / 35000)
    assert total["cpc"] == pytest.approx(450 / 451)
    # Revenue 1,000 + 2,000 + 300 from three customers; sales cost 31 days × 100.
    assert (total["revenue"], total["sales_cost"]) == (3300.0, 3100.0)
    assert total["avg_deal"] == pytest.approx(1100.0)
    assert total["roas"] == pytest.approx(3300 / 450)
    assert total["roi"] == pytest.approx((3300 - 3550) / 3550)  # cost 450 + 3,100
    assert total["cac"] == pytest.approx(3550 / 3)
    assert total["stages"]["won"]["cost_per"] == pytest.approx(150.0)  # marketing CAC stays
    assert total["ltv_cac"] == pytest.approx(1100 * 0.5 / (3550 / 3))


def test_a_window_cuts_ranges_by_day(shop: Project) -> None:
    rep = report(shop, "--since", "2026-03-01", "--until", "2026-03-02")
    total, social = rep["total"], by_channel(rep)["paid_social"]
    # Two of paid_social's three days: 200.00, 13,332 impressions, 100 clicks.
    assert (social["spend"], social["impressions"], social["clicks"]) == (200.0, 13332, 100)
    assert total["sales_cost"] == 200.0  # two days of March's salaries
    assert total["revenue"] == 3000.0  # L1 and L4, created in the window; L5 is not
    assert total["cac"] == pytest.approx((350 + 200) / 2)


def test_revenue_of_a_customer_after_the_as_of_day_is_not_counted(shop: Project) -> None:
    run = invoke("report", "-c", shop.config, "-f", "json", "-q", "--as-of", "2026-03-06")
    assert run.exit_code == 0, run.stderr
    total = run.json()["total"]
    # L4 won on 10 March: not a customer yet, so its 2,000 is not revenue.
    assert (total["stages"]["won"]["count"], total["revenue"]) == (2, 1300.0)
    assert total["sales_cost"] == 600.0  # 1-6 March


def test_within_counts_the_revenue_of_customers_won_in_time(shop: Project) -> None:
    total = report(shop, "--within", "3")["total"]
    # L1 took 4 days, L4 8; only L5 (1 day) is a customer within 3 days.
    assert (total["stages"]["won"]["count"], total["revenue"]) == (1, 300.0)
    assert total["avg_deal"] == 300.0


def test_period_basis_counts_the_deals_closed_in_the_window(shop: Project) -> None:
    rep = report(shop, "--basis", "period", "--since", "2026-03-04", "--until", "2026-03-06")
    total = rep["total"]
    # L5 (4 March) and L1 (5 March) became customers in the window: 1,300.
    assert (total["stages"]["won"]["count"], total["revenue"]) == (2, 1300.0)
    # No marketing spend in these days; salaries 300: CAC 150, ROI (1,300 − 300) / 300.
    assert (total["spend"], total["roas"]) == (None, None)
    assert total["cac"] == pytest.approx(150.0)
    assert total["roi"] == pytest.approx(1000 / 300)


def test_a_lead_with_two_deals_from_a_closed_deals_file(tmp_path: Path) -> None:
    p = Project(tmp_path)
    p.policy(
        POLICY.replace(
            "  leads: {path: leads.csv, columns: {revenue: deal}}", "  leads: {path: leads.csv}"
        )
        .replace(
            "  transitions: {path: transitions.csv}",
            "  transitions:\n"
            "    - {path: transitions.csv}\n"
            "    - {path: deals.csv, stage: won, columns: {entered_at: closed, revenue: value}}",
        )
        .replace("    - {path: sales.csv, kind: sales}\n", "")
    )
    p.write(
        "leads.csv",
        "lead_id,created_at,channel\nL1,2026-03-01,paid_search\nL2,2026-03-01,organic\n",
    )
    p.write("transitions.csv", "lead_id,stage,entered_at\n")
    p.write("spend.csv", SPEND)
    p.write("traffic.csv", TRAFFIC)
    p.write(
        "deals.csv",
        "deal_id,lead_id,closed,value\nD1,L1,2026-03-05,400\nD2,L1,2026-03-20,600\nD3,L2,2026-03-07,x\n",
    )
    total = report(p)["total"]
    assert (total["stages"]["won"]["count"], total["revenue"]) == (2, 1000.0)
    assert total["avg_deal"] == 500.0  # 1,000 over two customers (L2's deal is unreadable)
    run = invoke("report", "-c", p.config, "-f", "json", "-q", "--as-of", "2026-03-10")
    assert run.json()["total"]["revenue"] == 400.0  # the second deal is after the as-of day
    warning = next(w for w in run.json()["warnings"] if w["code"] == "revenue.bad_amount")
    assert warning["examples"] == [{"file": "deals.csv", "row": 3, "value": "x"}]


def test_revenue_from_a_stage_history_is_refused(shop: Project) -> None:
    shop.policy(
        POLICY.replace(
            "  transitions: {path: transitions.csv}",
            "  transitions: {path: transitions.csv, columns: {revenue: Amount}}",
        )
    )
    run = invoke("report", "-c", shop.config)
    assert run.exit_code == 2
    assert "inputs.transitions.columns.revenue" in run.stderr
    assert "repeats a deal's amount on every stage change" in run.stderr


def test_kind_is_for_spend_only(shop: Project) -> None:
    shop.policy(
        POLICY.replace("traffic: {path: traffic.csv}", "traffic: {path: traffic.csv, kind: sales}")
    )
    run = invoke("report", "-c", shop.config)
    assert run.exit_code == 2
    assert "'kind' is for spend inputs only" in run.stderr


def test_a_spend_row_without_clicks_makes_the_sum_unknown(shop: Project) -> None:
    shop.write("spend.csv", SPEND + "2026-03-02,,paid_search,brand,10,,\n")
    rep = report(shop)
    search = by_channel(rep)["paid_search"]
    # 160 spent, but 10 of it bought clicks nobody counted: CPC would be too high.
    assert search["spend"] == 160.0
    assert (search["clicks"], search["cpc"], search["ctr"]) == (None, None, None)
    assert rep["total"]["clicks"] is None
    assert by_channel(rep)["paid_social"]["clicks"] == 151


def test_bad_traffic_rows_are_dropped_and_named(shop: Project) -> None:
    shop.write("traffic.csv", TRAFFIC + "2026-03-40,organic,5\n2026-03-03,organic,many\n")
    run = invoke("check", "-c", shop.config, "-f", "json", "--as-of", "2026-03-31")
    found = {f["id"]: f for f in run.json()["findings"]}
    assert run.exit_code == 1
    assert found["traffic.bad_date"]["examples"][0]["row"] == 5
    assert found["traffic.bad_visits"]["examples"][0]["value"] == "many"
    assert report(shop)["total"]["visits"] == 250


def test_targets_on_report_wide_metrics(shop: Project) -> None:
    shop.policy(POLICY + "targets:\n  roas: {gte: 3}\n  cac: {lte: 1000}\n")
    rep = report(shop)
    met = {t["metric"]: t["met"] for t in rep["targets"]}
    assert met == {"roas": True, "cac": False}  # ROAS 7.33; CAC 1,183.33
    text = invoke("report", "-c", shop.config, "-q", "--as-of", "2026-03-31").stdout
    assert "Missed target: CAC = $1,183.33 (target ≤ $1,000)" in text
    assert "✓ ROAS ≥3×" in text
    run = invoke("check", "-c", shop.config, "--targets", "--as-of", "2026-03-31")
    assert run.exit_code == 1


def test_csv_writes_the_money_columns_after_the_stages(shop: Project) -> None:
    run = invoke("report", "-c", shop.config, "-f", "csv", "-q", "--as-of", "2026-03-31")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    header = run.stdout.splitlines()[0].split(",")
    assert header[:6] == ["channel", "leads", "spend", "cpl", "lead_count", "won_count"]
    assert header[-7:] == ["sales_cost", "revenue", "avg_deal", "roas", "roi", "cac", "ltv_cac"]
    total = rows[-1]
    assert (total["revenue"], total["roas"], total["roi"]) == ("3300.00", "7.3333", "-0.0704")
    assert (total["impressions"], total["ctr"]) == ("35000", "0.012885714286")


def test_terminal_shows_the_whole_funnel(shop: Project) -> None:
    run = invoke("report", "-c", shop.config, "-q", "--as-of", "2026-03-31")
    text = run.stdout
    lines = [line.split() for line in text.splitlines()]
    assert ["Impressions", "35,000"] in [line[:2] for line in lines]
    assert ["Clicks", "451", "1.3%", "$1.00"] in [line[:4] for line in lines]
    assert ["Revenue", "$3,300.00", "$1,183.33"] in [line[:3] for line in lines]
    for title in ("Top of funnel", "Money"):
        assert title in text
    md = invoke("report", "-c", shop.config, "-f", "markdown", "-q", "--as-of", "2026-03-31")
    headline = md.stdout.splitlines()[2]
    assert "451 clicks (CTR 1.3%, CPC $1.00). 250 visits (2.0% became leads)." in headline
    assert "Revenue $3,300.00: ROAS 7.33×, CAC $1,183.33, LTV:CAC 0.46×." in headline


def test_intervals_worked_by_hand() -> None:
    # Deals of 100, 200 and 300: revenue 600, squares 140,000, sd of the sum 374.17.
    low, high = revenue_interval(600.0, 140_000.0)
    assert high == pytest.approx(600 + Z95 * math.sqrt(140_000))  # 1,333.35
    assert low == 0.0  # 600 − 733.35 is floored at 0
    # Their mean 200: sample variance (140,000 − 3 × 200²) / 2 = 10,000; se 100/√3.
    assert mean_interval(600.0, 140_000.0, 3) == pytest.approx(
        (200 - Z95 * 100 / math.sqrt(3), 200 + Z95 * 100 / math.sqrt(3))
    )
    # 30 leads from 1,000 clicks: log ratio ± 1.96 √(1/30 + 1/1000) = ± 0.36317, so
    # 0.03 × e^∓0.36317 = 0.020864 … 0.043136.
    lo, hi = ratio_interval(30, 1000)
    assert (lo, hi) == pytest.approx((0.020864, 0.043136), abs=1e-6)
    assert ratio_interval(0, 400) == (0.0, pytest.approx(Z95**2 / 400))


def test_compare_gives_money_verdicts(tmp_path: Path) -> None:
    """Two weeks of one channel: ROAS 2× with 100 deals of 100 against 8× with 100 deals of
    400 on the same 5,000 spend: far outside chance. CTR 2% against 2.1% on 10,000
    impressions: within it."""
    p = Project(tmp_path)
    p.policy(
        "version: 1\ninputs:\n  leads: {path: leads.csv}\n  spend: {path: spend.csv}\n"
        "  transitions: {path: t.csv}\nstages:\n  - {id: lead}\n  - {id: won}\n"
    )
    leads, trans = ["lead_id,created_at,channel,revenue"], ["lead_id,stage,entered_at"]
    for week, value in ((1, 100), (8, 400)):
        for i in range(100):
            leads.append(f"W{week}-{i},2026-03-{week:02d},ads,{value}")
            trans.append(f"W{week}-{i},won,2026-03-{week:02d}")
    p.write("leads.csv", "\n".join(leads) + "\n")
    p.write("t.csv", "\n".join(trans) + "\n")
    p.write(
        "spend.csv",
        "date,channel,amount,impressions,clicks\n"
        "2026-03-01,ads,5000,10000,200\n2026-03-08,ads,5000,10000,210\n",
    )
    run = invoke(
        "report", "-c", p.config, "-f", "json", "-q", "--since", "2026-03-08",
        "--until", "2026-03-14", "--compare", "previous", "--as-of", "2026-03-14",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    delta = run.json()["total"]["delta"]
    assert (delta["roas"]["abs"], delta["roas"]["verdict"]) == (pytest.approx(6.0), "better")
    assert delta["revenue"]["verdict"] == "better"
    assert delta["ctr"]["verdict"] == "unclear"
    assert delta["clicks"]["verdict"] is None  # a volume, neither better nor worse


def test_ga4_traffic_export_with_and_without_a_date_dimension(tmp_path: Path) -> None:
    notes = (
        "# ----------------------------------------\n"
        "# Traffic acquisition: Session primary channel group (Default channel group)\n"
        "# Account: Demo\n# Property: Demo shop\n"
        "# ----------------------------------------\n#\n"
        "# Start date: 20260301\n# End date: 20260310\n"
    )
    p = Project(tmp_path)
    p.policy(
        "version: 1\ninputs:\n  leads: {path: leads.csv}\n"
        "  traffic: {path: ga4.csv, preset: ga4}\n"
        "channels: {aliases: {organic: [Organic Search]}}\n"
        "stages:\n  - {id: lead}\n  - {id: won, evidence: policy, requires: {score: {gte: 1}}}\n"
    )
    p.write(
        "leads.csv",
        "lead_id,created_at,channel,campaign\nL1,2026-03-02,organic,\nL2,2026-03-09,organic,\n",
    )
    header = "Session primary channel group (Default channel group),Sessions,Engaged sessions\n"
    p.write("ga4.csv", notes + header + 'Organic Search,"1,000",600\nDirect,500,200\n')
    rep = report(p, "--since", "2026-03-01", "--until", "2026-03-05")
    # 1,000 visits over ten days: 100 a day, 500 in the first five.
    assert by_channel(rep)["organic"]["visits"] == 500
    assert rep["total"]["visits"] == 750
    # Some downloads leave a blank line under the notes; "(not set)" is GA4's no campaign.
    daily = notes + "\nSession default channel group,Date,Session campaign,Sessions\n"
    p.write(
        "ga4.csv", daily + "Organic Search,20260302,(not set),70\nOrganic Search,20260309,,30\n"
    )
    assert by_channel(report(p))["organic"]["visits"] == 100
    assert by_channel(report(p))["organic"]["visit_to_lead"] == pytest.approx(0.02)
    by_campaign = report(p, "--by", "campaign")["rows"]
    assert [(r["group"]["campaign"], r["visits"]) for r in by_campaign] == [(None, 100)]


def test_init_offers_the_ga4_traffic_preset(tmp_path: Path) -> None:
    run = invoke("init", tmp_path, "--preset", "hubspot,google_ads,ga4")
    assert run.exit_code == 0, run.stderr
    text = (tmp_path / "funnel.yaml").read_text()
    assert "  traffic:" in text and "    preset: ga4\n" in text
    assert "data/ga4-traffic-acquisition.csv" in text
    wrong = invoke("init", tmp_path / "x", "--preset", "ga5")
    assert wrong.exit_code == 2 and "ga4" in wrong.stderr


def test_revenue_in_another_currency_is_left_out_and_named(tmp_path: Path) -> None:
    """A Pipedrive deals export: "Deal - Value" in each deal's own "Deal - Currency"."""
    p = Project(tmp_path)
    p.policy(
        "version: 1\ncurrency: USD\ninputs:\n  leads: {path: deals.csv, preset: pipedrive}\n"
        "  transitions: {path: deals.csv, preset: pipedrive}\n"
        "stages:\n  - {id: lead, name: Lead In}\n  - {id: won, name: Won}\n"
    )
    p.write(
        "deals.csv",
        '"Deal - ID","Deal - Stage","Deal - Deal created","Deal - Last stage change",'
        '"Deal - Source channel","Deal - Value","Deal - Currency"\n'
        '1,Won,2026-03-02 09:00:00,2026-03-09 09:00:00,Paid search,"1,500",USD\n'
        "2,Won,2026-03-03 09:00:00,2026-03-10 09:00:00,Paid search,900,EUR\n"
        "3,Lead In,2026-03-04 09:00:00,,Paid search,700,USD\n",
    )
    run = invoke("report", "-c", p.config, "-f", "json", "-q", "--as-of", "2026-03-31")
    assert run.exit_code == 0, run.stderr
    report = run.json()
    # Deal 1 counts; deal 2 is in euros (left out, not added as dollars); deal 3 is open.
    assert (report["total"]["stages"]["won"]["count"], report["total"]["revenue"]) == (2, 1500.0)
    warning = next(w for w in report["warnings"] if w["code"] == "revenue.mixed_currency")
    assert warning["examples"] == [{"file": "deals.csv", "row": 2, "value": "EUR"}]
    assert "not in USD; excluded" in warning["message"]
    strict = invoke("report", "-c", p.config, "-q", "--as-of", "2026-03-31", "--strict")
    assert strict.exit_code == 3


def test_visits_split_by_campaign_only_when_the_traffic_has_campaigns(shop: Project) -> None:
    rep = report(shop, "--by", "campaign")
    # A traffic export by channel alone: its visits are not the campaign-less leads'.
    assert {r["group"]["campaign"]: r["visits"] for r in rep["rows"]} == {
        "brand": None,
        "generic": None,
        None: None,
    }
    assert rep["total"]["visits"] == 250
    shop.write(
        "traffic.csv",
        "date,channel,campaign,visits\n2026-03-01,paid_search,Brand,40\n2026-03-02,organic,,9\n",
    )
    rows = {r["group"]["campaign"]: r for r in report(shop, "--by", "campaign")["rows"]}
    assert (rows["brand"]["visits"], rows[None]["visits"]) == (40, 9)
    assert rows["brand"]["visit_to_lead"] == pytest.approx(2 / 40)


def test_roas_falling_week_after_week_is_a_trend(tmp_path: Path) -> None:
    """100 customers a week for 1,000 of spend, paying 100, 80, 60 then 40 each: ROAS
    10× → 8× → 6× → 4×. Revenue's interval, 100 v ± 1.96 × 10 v, keeps week 1 (8.0–12.0×)
    and week 4 (3.2–4.8×) apart: a clear trend, named in the text."""
    p = Project(tmp_path)
    p.policy(
        "version: 1\ninputs:\n  leads: {path: leads.csv}\n  spend: {path: spend.csv}\n"
        "  transitions: {path: t.csv}\nstages:\n  - {id: lead}\n  - {id: won}\n"
    )
    leads, trans, spend = ["lead_id,created_at,channel,revenue"], ["lead_id,stage,entered_at"], []
    for week, (day, value) in enumerate((("02", 100), ("09", 80), ("16", 60), ("23", 40))):
        for i in range(100):
            leads.append(f"W{week}-{i},2026-02-{day},web,{value}")
            trans.append(f"W{week}-{i},won,2026-02-{day}")
        spend.append(f"2026-02-{day},web,1000")
    p.write("leads.csv", "\n".join(leads) + "\n")
    p.write("t.csv", "\n".join(trans) + "\n")
    p.write("spend.csv", "date,channel,amount\n" + "\n".join(spend) + "\n")
    rep = report(p, "--every", "week")
    roas = [t for t in rep["trends"] if t["metric"] == "roas"]
    assert [(t["group"], t["values"], t["clear"]) for t in roas] == [
        ({}, [10.0, 8.0, 6.0, 4.0], True),
        ({"channel": "web"}, [10.0, 8.0, 6.0, 4.0], True),
    ]
    text = invoke("report", "-c", p.config, "--every", "week", "-q", "--as-of", "2026-03-31")
    assert (
        "web: ROAS worse 3 periods running since 2026-02-02 (10.00× → 8.00× → 6.00× → 4.00×)"
        in (text.stdout)
    )


def test_revenue_with_a_decimal_comma_is_detected_and_said(tmp_path: Path) -> None:
    p = Project(tmp_path)
    p.policy(
        "version: 1\ncurrency: EUR\ninputs:\n  leads: {path: leads.csv, columns: "
        "{lead_id: id, created_at: erstellt, channel: quelle, revenue: wert}}\n"
        "  transitions: {path: t.csv}\nstages:\n  - {id: lead}\n  - {id: won}\n"
    )
    p.write(
        "leads.csv",
        "id;erstellt;quelle;wert\nL1;2026-03-01;ads;1.234,56 €\nL3;2026-03-02;ads;99,5\n",
    )
    p.write("t.csv", "lead_id,stage,entered_at\nL1,won,2026-03-05\nL3,won,2026-03-06\n")
    rep = report(p)
    assert (rep["total"]["revenue"], rep["total"]["avg_deal"]) == (1334.06, 667.03)
    detected = next(w for w in rep["warnings"] if w["code"] == "input.detected")
    assert "decimal comma (proven by '1.234,56 €')" in detected["examples"][0]["value"]
    p.write(
        "leads.csv",
        "id;erstellt;quelle;wert\nL1;2026-03-01;ads;1.234,56\nL3;2026-03-02;ads;1,234.50\n",
    )
    run = invoke("report", "-c", p.config, "-q", "--as-of", "2026-03-31")
    assert run.exit_code == 3
    assert "column 'wert' has amounts with a decimal comma (1.234,56)" in run.stderr


def test_revenue_from_two_places_is_refused(shop: Project) -> None:
    # The leads carry revenue (deal), and a closed-deals file would too: every deal twice.
    shop.policy(
        POLICY.replace(
            "  transitions: {path: transitions.csv}",
            "  transitions:\n    - {path: transitions.csv}\n"
            "    - {path: deals.csv, stage: won, columns: {entered_at: closed, revenue: value}}",
        )
    )
    shop.write("deals.csv", "lead_id,closed,value\nL1,2026-03-05,400\n")
    run = invoke("report", "-c", shop.config, "-q", "--as-of", "2026-03-31")
    assert run.exit_code == 3
    assert "revenue comes from both the leads input" in run.stderr
    assert "Keep one" in run.stderr


def test_revenue_mapped_on_spend_is_a_config_error(shop: Project) -> None:
    shop.policy(
        POLICY.replace("- {path: spend.csv}", "- {path: spend.csv, columns: {revenue: amount}}")
    )
    run = invoke("report", "-c", shop.config, "-q")
    assert run.exit_code == 2
    assert "inputs.spend[0].columns.revenue: revenue is read" in run.stderr
    assert "revenue is read from the leads or a closed-deals input, not from spend" in run.stderr


def test_a_count_that_is_not_a_whole_number_is_flagged(shop: Project) -> None:
    shop.write("spend.csv", SPEND.replace('"10,000",200', '"10,000",lots'))
    rep = report(shop)
    found = next(w for w in rep["warnings"] if w["code"] == "spend.bad_count")
    assert found["examples"] == [{"file": "spend.csv", "row": 1, "value": "lots"}]
    assert "have clicks that are not a whole number" in found["message"]
    search = by_channel(rep)["paid_search"]
    # Its spend counts; its clicks (and CPC, CTR) are unknown rather than short.
    assert (search["spend"], search["clicks"], search["cpc"]) == (150.0, None, None)
    assert search["impressions"] == 15000
