"""Weekly summaries: period basis, --last/--as-of, --compare, maturity, Wilson intervals,
targets and bottleneck, trends, Markdown and HTML. Numbers worked out by hand."""

from __future__ import annotations

import base64
import datetime as dt
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from funnelcli.measure.metrics import Query
from funnelcli.measure.stats import wilson
from funnelcli.measure.windows import Span, Window, last, parse_as_of, previous, year_before
from funnelcli.pipeline import Summary, run_report
from funnelcli.policy.config import load_policy
from funnelcli.render import charts
from tests.conftest import BASE_POLICY, ROOT, Project, invoke, report_json, row

D = dt.date

# --- windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "as_of", "since"),
    [
        (Span(7, "d"), D(2026, 2, 5), D(2026, 1, 30)),
        (Span(4, "w"), D(2026, 3, 1), D(2026, 2, 2)),
        (Span(1, "m"), D(2026, 3, 31), D(2026, 3, 1)),  # a whole calendar month
        (Span(1, "m"), D(2026, 3, 15), D(2026, 2, 16)),
        (Span(1, "m"), D(2026, 5, 30), D(2026, 4, 30)),  # Apr 31 does not exist: Apr 30
        (Span(1, "q"), D(2026, 6, 30), D(2026, 4, 1)),
    ],
)
def test_last_window_ends_on_as_of_inclusive(span: Span, as_of: dt.date, since: dt.date) -> None:
    assert last(span, as_of) == Window(since, as_of)


def test_previous_and_year_windows() -> None:
    week = Window(D(2026, 2, 9), D(2026, 2, 15))
    assert previous(week, Span(7, "d")) == Window(D(2026, 2, 2), D(2026, 2, 8))
    assert previous(Window(D(2026, 1, 1), D(2026, 1, 10)), None) == Window(
        D(2025, 12, 22), D(2025, 12, 31)
    )
    march = Window(D(2026, 3, 1), D(2026, 3, 31))
    assert previous(march, Span(1, "m")) == Window(D(2026, 2, 1), D(2026, 2, 28))
    leap = Window(D(2028, 2, 23), D(2028, 2, 29))
    assert year_before(leap) == Window(D(2027, 2, 23), D(2027, 2, 28))


def test_as_of_words_for_cron() -> None:
    today = D(2026, 11, 23)
    assert parse_as_of(None, today) == today
    assert parse_as_of("yesterday", today) == D(2026, 11, 22)
    assert parse_as_of("2026-01-31", today) == D(2026, 1, 31)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--last", "4x"], "--last '4x': use a count and a unit, e.g. 7d, 4w, 1m or 1q."),
        (["--last", "0d"], "--last '0d'"),
        (["--last", "7d", "--since", "2026-01-01"], "--last sets the window itself"),
        (["--as-of", "31/01/2026", "--last", "7d"], "--as-of '31/01/2026' is not a date"),
        (["--compare", "previous"], "--compare previous needs a closed window"),
        (["--compare", "year", "--since", "2026-01-01"], "--compare year needs a closed window"),
        (["--include-immature"], "--include-immature only applies with --within DAYS."),
    ],
)
def test_bad_summary_flags_exit_2(project: Project, args: list[str], message: str) -> None:
    run = invoke("report", "--config", project.config, *args)
    assert run.exit_code == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_last_and_as_of_set_the_window(project: Project) -> None:
    # Leads on Jan 29, Jan 30 and Feb 5: the 7 days ending Feb 5 are Jan 30 … Feb 5.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nA,2026-01-29,web\nB,2026-01-30,web\nC,2026-02-05 23:59,web\n",
    )
    report = report_json(project, "--last", "7d", "--as-of", "2026-02-05")
    assert report["window"] == {"since": "2026-01-30", "until": "2026-02-05"}
    assert report["total"]["leads"] == 2


# --- period basis ----------------------------------------------------------------------------

PERIOD_LEADS = """
lead_id,created_at,channel
L1,2026-01-05,web
L2,2026-01-20,web
L3,2026-02-03,web
"""
PERIOD_TRANSITIONS = """
lead_id,stage,entered_at
L1,mql,2026-01-10
L1,sql,2026-02-02
L2,mql,2026-02-04
L3,mql,2026-02-05
L3,sql,2026-02-06
"""


def test_period_basis_counts_entries_in_the_window(project: Project) -> None:
    # February: created L3 (leads 1); MQL entries L2 (Feb 4), L3 (Feb 5) = 2; SQL entries L1
    # (Feb 2), L3 (Feb 6) = 2. Flow ratios 2/1 and 2/2. Spend in February 100.
    # Days to MQL over the entries: L2 15, L3 2 → median 8.5, p90 2 + 0.9·13 = 13.7.
    # Days MQL→SQL: L1 Jan 10 → Feb 2 = 23, L3 1 → median 12, p90 1 + 0.9·22 = 20.8.
    project.write("leads.csv", PERIOD_LEADS)
    project.write("transitions.csv", PERIOD_TRANSITIONS)
    project.write("spend.csv", "date,channel,amount\n2026-01-15,web,50\n2026-02-01,web,100\n")
    args = ["--since", "2026-02-01", "--until", "2026-02-28"]
    report = report_json(project, *args, "--basis", "period")
    assert report["basis"] == "period"
    total = report["total"]
    assert (total["leads"], total["spend"], total["cpl"]) == (1, 100.0, 100.0)
    mql, sql = total["stages"]["mql"], total["stages"]["sql"]
    assert (mql["count"], mql["rate"], mql["rate_from_lead"], mql["cost_per"]) == (
        2,
        2.0,
        2.0,
        50.0,
    )
    assert mql["rate_ci"] is None  # a flow ratio above 1 is not a proportion
    assert (sql["count"], sql["rate"], sql["cost_per"]) == (2, 1.0, 50.0)
    assert mql["days_from_lead"] == {"median": 8.5, "p90": 13.7}
    assert sql["days"] == {"median": 12.0, "p90": 20.8}
    cohort = report_json(project, *args)["total"]["stages"]
    assert (cohort["mql"]["count"], cohort["sql"]["count"]) == (1, 1)


def test_period_buckets_follow_the_stage_date(project: Project) -> None:
    # January: created L1, L2; MQL entry L1. February: created L3; MQL L2, L3; SQL L1, L3.
    project.write("leads.csv", PERIOD_LEADS)
    project.write("transitions.csv", PERIOD_TRANSITIONS)
    report = report_json(project, "--basis", "period", "--every", "month")
    jan = row(report, period="2026-01-01", channel="web")
    feb = row(report, period="2026-02-01", channel="web")
    assert [jan["leads"], jan["stages"]["mql"]["count"], jan["stages"]["sql"]["count"]] == [2, 1, 0]
    assert [feb["leads"], feb["stages"]["mql"]["count"], feb["stages"]["sql"]["count"]] == [1, 2, 2]


def test_period_basis_is_labelled_in_table_and_markdown(project: Project) -> None:
    project.write("leads.csv", PERIOD_LEADS)
    project.write("transitions.csv", PERIOD_TRANSITIONS)
    for fmt in ("table", "markdown"):
        run = invoke("report", "-c", project.config, "--basis", "period", "-f", fmt, "-q")
        assert run.exit_code == 0, run.stderr
        assert "period basis" in run.stdout
        assert "flow ratio" in run.stdout
        assert "can exceed 100%" in run.stdout


# --- comparisons -----------------------------------------------------------------------------


def _weeks(project: Project, weeks: list[tuple[str, int, int, float]]) -> None:
    """Per (Monday, leads, MQLs, spend): web leads created that Monday, the first MQLs a
    day later, and the week's spend on the Monday."""
    leads, moves, spend = ["lead_id,created_at,channel"], ["lead_id,stage,entered_at"], []
    for monday, n, mqls, amount in weeks:
        day = D.fromisoformat(monday)
        for i in range(n):
            lead = f"{monday}-{i}"
            leads.append(f"{lead},{monday},web")
            if i < mqls:
                moves.append(f"{lead},mql,{day + dt.timedelta(days=1)}")
        spend.append(f"{monday},web,{amount}")
    project.write("leads.csv", "\n".join(leads) + "\n")
    project.write("transitions.csv", "\n".join(moves) + "\n")
    project.write("spend.csv", "date,channel,amount\n" + "\n".join(spend) + "\n")


def test_compare_previous_gives_previous_delta_and_verdicts(project: Project) -> None:
    # Previous week (Feb 2-8): 200 leads, 20 MQLs (10%), $2,000 (CPL 10).
    # This week (Feb 9-15): 200 leads, 100 MQLs (50%), $1,000 (CPL 5).
    _weeks(project, [("2026-02-02", 200, 20, 2000), ("2026-02-09", 200, 100, 1000)])
    report = report_json(project, "--last", "1w", "--as-of", "2026-02-15", "--compare", "previous")
    assert report["compare"] == {
        "mode": "previous",
        "window": {"since": "2026-02-02", "until": "2026-02-08"},
    }
    total = report["total"]
    assert total["previous"]["leads"] == 200 and total["previous"]["cpl"] == 10.0
    delta = total["delta"]
    assert delta["leads"] == {"abs": 0, "rel": 0.0, "verdict": "same"}
    assert delta["spend"] == {"abs": -1000.0, "rel": -0.5, "verdict": None}
    assert delta["cpl"] == {"abs": -5.0, "rel": -0.5, "verdict": "better"}
    rate = delta["stages"]["mql"]["rate"]
    assert rate["abs"] == pytest.approx(0.4) and rate["rel"] == pytest.approx(4.0)
    assert rate["verdict"] == "better"  # Wilson 6.6-15.0% vs 43.1-56.9%: apart
    assert delta["stages"]["mql"]["cost_per"]["abs"] == pytest.approx(10.0 - 100.0)
    # No SQLs either week: 0% → 0% is the same, and relative to 0 undefined; no won rate at all.
    assert delta["stages"]["sql"]["rate"] == {"abs": 0.0, "rel": None, "verdict": "same"}
    assert delta["stages"]["won"]["rate"] == {"abs": None, "rel": None, "verdict": None}
    assert row(report, channel="web")["delta"]["cpl"]["verdict"] == "better"


def test_small_samples_get_no_verdict(project: Project) -> None:
    # 4 leads with 2 MQLs, then 5 with 4: 50% → 80% but the intervals (15-85%, 38-96%) overlap.
    _weeks(project, [("2026-02-02", 4, 2, 100), ("2026-02-09", 5, 4, 150)])
    report = report_json(project, "--last", "7d", "--as-of", "2026-02-15", "--compare", "previous")
    delta = report["total"]["delta"]
    assert delta["stages"]["mql"]["rate"]["verdict"] == "unclear"
    assert delta["cpl"] == {"abs": 5.0, "rel": pytest.approx(0.2), "verdict": "unclear"}
    assert delta["leads"] == {"abs": 1, "rel": 0.25, "verdict": "unclear"}


def test_compare_year_and_a_group_new_this_year(project: Project) -> None:
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nA,2025-03-02,web\nB,2026-03-02,web\nC,2026-03-03,ads\n",
    )
    report = report_json(
        project, "--since", "2026-03-01", "--until", "2026-03-07", "--compare", "year"
    )
    assert report["compare"]["window"] == {"since": "2025-03-01", "until": "2025-03-07"}
    assert row(report, channel="web")["previous"]["leads"] == 1
    ads = row(report, channel="ads")
    assert ads["previous"] is None
    assert ads["delta"]["leads"] == {"abs": None, "rel": None, "verdict": None}


def test_compare_table_colours_only_clear_changes(project: Project) -> None:
    _weeks(project, [("2026-02-02", 200, 20, 2000), ("2026-02-09", 200, 100, 1000)])
    run = invoke(
        "report", "-c", project.config, "--last", "1w", "--as-of", "2026-02-15",
        "--compare", "previous", "-f", "markdown", "-q",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert "| Total | = | ▼50% | ▼50% 🟢 | ▲40.0pt 🟢 |" in run.stdout.replace("**", "")
    assert "leads +0%, CPL -50% (better)" in run.stdout


# --- maturity --------------------------------------------------------------------------------

MATURITY_LEADS = """
lead_id,created_at,channel
L1,2026-03-01,web
L4,2026-03-24 23:00,web
L2,2026-03-25,web
L3,2026-03-28,web
"""


def test_immature_cohorts_are_left_out_of_rates(project: Project) -> None:
    # As of Mar 31 with --within 7: leads created on or before Mar 24 had 7 whole days.
    # Mature: L1 (MQL), L4 (none). Immature: L2 (MQL), L3. Spend $70 on Mar 1, $30 on Mar 25.
    project.write("leads.csv", MATURITY_LEADS)
    project.write(
        "transitions.csv", "lead_id,stage,entered_at\nL1,mql,2026-03-02\nL2,mql,2026-03-26\n"
    )
    project.write("spend.csv", "date,channel,amount\n2026-03-01,web,70\n2026-03-25,web,30\n")
    args = ["--within", "7", "--as-of", "2026-03-31"]
    report = report_json(project, *args)
    assert report["maturity"] == {
        "as_of": "2026-03-31",
        "mature_until": "2026-03-24",
        "immature_included": False,
    }
    total = report["total"]
    assert (total["leads"], total["immature_leads"], total["spend"], total["cpl"]) == (
        4,
        2,
        100.0,
        25.0,
    )
    assert total["stages"]["lead"]["count"] == 2
    mql = total["stages"]["mql"]
    assert (mql["count"], mql["rate"], mql["cost_per"]) == (1, 0.5, 70.0)

    kept = report_json(project, *args, "--include-immature")["total"]
    assert kept["stages"]["lead"]["count"] == 4 and kept["immature_leads"] == 2
    assert (kept["stages"]["mql"]["count"], kept["stages"]["mql"]["cost_per"]) == (2, 50.0)

    text = invoke("report", "-c", project.config, *args, "-q").stdout
    assert "web *" in text
    assert "2 leads created after 2026-03-24 have had less than 7 days to convert" in text


def test_an_all_immature_week_has_no_rates(project: Project) -> None:
    # Week of Mar 23: L4 (mature, no MQL), L2 and L3 (immature) → MQL rate 0/1, 2 immature.
    # Week of Mar 30: only L5, immature → no lead to measure, so no rate (null, not 0%).
    project.write("leads.csv", MATURITY_LEADS + "L5,2026-03-30,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL2,mql,2026-03-26\n")
    report = report_json(project, "--within", "7", "--as-of", "2026-03-31", "--every", "week")
    late = row(report, period="2026-03-23", channel="web")
    assert (late["leads"], late["immature_leads"], late["stages"]["lead"]["count"]) == (3, 2, 1)
    assert late["stages"]["mql"]["rate"] == 0.0
    latest = row(report, period="2026-03-30", channel="web")
    assert (latest["leads"], latest["immature_leads"], latest["stages"]["lead"]["count"]) == (
        1,
        1,
        0,
    )
    assert latest["stages"]["mql"]["rate"] is None
    # Without --within nothing is immature and there is no maturity block.
    assert report_json(project)["maturity"] is None


# --- Wilson intervals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (8, 10, 0.4902, 0.9433),  # Wilson (1927) / Newcombe (1998) table values
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_interval_known_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got is not None
    assert got == (pytest.approx(lo, abs=5e-5), pytest.approx(hi, abs=5e-5))


def test_wilson_undefined_without_a_proportion() -> None:
    assert wilson(0, 0) is None
    assert wilson(3, 2) is None


def test_rate_ci_in_json_and_range_in_table(project: Project) -> None:
    # 1 of 2 leads became MQL: 50%, Wilson 9.5-90.5%; under 30 leads the table shows the range.
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-01-01,web\nB,2026-01-01,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nA,mql,2026-01-02\n")
    mql = report_json(project)["total"]["stages"]["mql"]
    assert mql["rate_ci"] == [pytest.approx(0.094531206), pytest.approx(0.905468794)]
    assert mql["rate_from_lead_ci"] == mql["rate_ci"]
    text = invoke("report", "-c", project.config, "-q").stdout
    assert "1 (9–91%)" in text


# --- targets and bottleneck ------------------------------------------------------------------


def test_targets_are_evaluated_and_the_bottleneck_named(project: Project) -> None:
    # 4 leads, 2 MQLs (50%), 1 SQL; spend $400 → cost per SQL $400.
    # Targets: mql.rate ≥ 0.6 (missed by 1/6 = 17%), sql.cost_per ≤ 300 (missed by 33%),
    # sql.rate ≥ 0.4 (met: 50%). The bottleneck is the furthest below: the SQL cost.
    policy = BASE_POLICY.format(timezone="UTC") + (
        "targets:\n  mql.rate: {gte: 0.6}\n  sql.cost_per: {lte: 300}\n  sql.rate: {gte: 0.4}\n"
    )
    project.policy(policy)
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nA,2026-01-01,web\nB,2026-01-01,web\nC,2026-01-01,web\nD,2026-01-01,web\n",
    )
    project.write(
        "transitions.csv",
        "lead_id,stage,entered_at\nA,mql,2026-01-02\nB,mql,2026-01-02\nA,sql,2026-01-03\n",
    )
    project.write("spend.csv", "date,channel,amount\n2026-01-01,web,400\n")
    report = report_json(project)
    results = {t["metric"]: (t["value"], t["met"]) for t in report["targets"]}
    assert results == {
        "mql.rate": (0.5, False),
        "sql.cost_per": (400.0, False),
        "sql.rate": (0.5, True),
    }
    assert report["bottleneck"]["step"] == "mql→sql"
    assert report["bottleneck"]["reading"].startswith("cost problem")

    text = invoke("report", "-c", project.config, "-q").stdout
    assert "Missed target: mql.rate = 50.0% (target ≥ 60%)" in text
    assert "✗ rate ≥60%" in text and "✓ rate ≥40%" in text
    assert "Bottleneck: MQL → SQL (furthest below its target: sql.cost_per = $400.00" in text


def test_bottleneck_without_targets_is_the_biggest_clear_fall(project: Project) -> None:
    # 40 leads a week, 20 of them MQLs both weeks; SQLs of the MQLs 20 of 20 (100%), then 4
    # of 20 (20%): Wilson 84–100% against 8–42%, a fall beyond chance at MQL→SQL.
    leads, trans = ["lead_id,created_at,channel"], ["lead_id,stage,entered_at"]
    for week, (day, sqls) in enumerate((("2026-02-02", 20), ("2026-02-09", 4))):
        for i in range(40):
            leads.append(f"W{week}-{i},{day},web")
            if i < 20:
                trans.append(f"W{week}-{i},{'sql' if i < sqls else 'mql'},{day}")
    project.write("leads.csv", "\n".join(leads) + "\n")
    project.write("transitions.csv", "\n".join(trans) + "\n")
    args = ["--last", "7d", "--as-of", "2026-02-15", "--compare", "previous"]
    report = report_json(project, *args)
    assert report["bottleneck"]["step"] == "mql→sql"
    assert "100.0% → 20.0%" in report["bottleneck"]["why"]
    assert report["bottleneck"]["reading"].startswith("hand-off problem")
    assert report_json(project)["bottleneck"] is None  # no targets, nothing to compare with


def test_a_fall_within_chance_names_no_bottleneck(project: Project) -> None:
    # SQL rate (of MQLs) 1 of 1 → 1 of 2: the biggest fall, but two leads prove nothing.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nA,2026-02-02,web\nB,2026-02-02,web\n"
        "C,2026-02-09,web\nD,2026-02-09,web\nE,2026-02-09,web\nF,2026-02-09,web\n",
    )
    project.write(
        "transitions.csv",
        "lead_id,stage,entered_at\nA,sql,2026-02-03\nC,sql,2026-02-10\nD,mql,2026-02-10\n",
    )
    args = ["--last", "7d", "--as-of", "2026-02-15", "--compare", "previous"]
    assert report_json(project, *args)["bottleneck"] is None
    text = invoke("report", "-c", project.config, *args, "-q").stdout
    assert "No clear bottleneck: no target is missed and no step rate changed by more" in text


# --- trends ----------------------------------------------------------------------------------

RISING_CPL = [
    ("2026-02-02", 100, 50, 1000),
    ("2026-02-09", 100, 50, 1200),
    ("2026-02-16", 100, 50, 1500),
    ("2026-02-23", 100, 50, 2000),
]


def test_cpl_rising_three_weeks_running_is_flagged(project: Project) -> None:
    # CPL 10 → 12 → 15 → 20: three rises in a row, and so the cost per MQL (the MQL rate
    # stays at 50%, not a trend). Flagged for all leads and for the web channel.
    _weeks(project, RISING_CPL)
    report = report_json(project, "--every", "week")
    flagged = [(t["group"], t["metric"], t["worsened"]) for t in report["trends"]]
    assert flagged == [
        ({}, "cpl", 3),
        ({}, "mql.cost_per", 3),
        ({"channel": "web"}, "cpl", 3),
        ({"channel": "web"}, "mql.cost_per", 3),
    ]
    web = report["trends"][2]
    assert web["values"] == [10.0, 12.0, 15.0, 20.0]
    assert web["periods"] == ["2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23"]
    assert report_json(project, "--every", "week", "--trend-periods", "4")["trends"] == []
    text = invoke("report", "-c", project.config, "--every", "week", "-q").stdout
    assert "web: CPL worse 3 periods running since 2026-02-02" in text


def test_a_dip_breaks_the_trend(project: Project) -> None:
    _weeks(project, [*RISING_CPL[:2], ("2026-02-16", 100, 50, 1100), RISING_CPL[3]])
    assert report_json(project, "--every", "week")["trends"] == []


def test_a_trend_within_noise_is_listed_but_not_called_out(project: Project) -> None:
    # The same rise on 10 leads a week: CPL 10 → 20, but 100/(10 ± 6.2) and 200/(10 ± 6.2)
    # overlap, so the trend is in JSON with clear=false and only counted in the text.
    _weeks(project, [(d, 10, 5, amount / 10) for d, _, _, amount in RISING_CPL])
    report = report_json(project, "--every", "week")
    assert {(t["metric"], t["clear"]) for t in report["trends"]} == {
        ("cpl", False),
        ("mql.cost_per", False),
    }
    text = invoke("report", "-c", project.config, "--every", "week", "-q").stdout
    assert "CPL worse" not in text
    assert "4 more metric(s) got worse 3+ periods running, but by less than chance" in text


def test_a_closed_window_gets_a_series_for_trends(project: Project) -> None:
    # No --every: a 4-week window is measured week by week behind the scenes.
    _weeks(project, RISING_CPL)
    report = report_json(project, "--last", "4w", "--as-of", "2026-03-01")
    assert {t["metric"] for t in report["trends"]} == {"cpl", "mql.cost_per"}


# --- Markdown and HTML -----------------------------------------------------------------------

GOLDEN_MD = ROOT / "tests" / "golden" / "sample_week.md"
WEEK = ["--last", "4w", "--as-of", "2026-06-30", "--compare", "previous"]


def _sample(*args: str) -> str:
    run = invoke("report", "-c", ROOT / "config.example.yaml", *WEEK, *args, "-q")
    assert run.exit_code == 0, run.stderr
    return run.stdout


def test_markdown_weekly_summary_golden() -> None:
    text = _sample("--format", "markdown")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN_MD.write_text(text)
    assert text == GOLDEN_MD.read_text()


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "img":
            self.images.append(found)
        for key in ("src", "href"):
            if found.get(key):
                self.links.append(found[key] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def test_html_summary_is_self_contained_with_charts_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "week.html"
    run = invoke("report", "-c", ROOT / "config.example.yaml", *WEEK, "-f", "html", "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    page = _page(out.read_text())
    assert "script" not in page.tags
    assert all(link.startswith("data:image/png;base64,") for link in page.links)  # no network
    alts = [img["alt"] for img in page.images if img["alt"]]  # sparklines are decoration
    assert alts[0] == "Funnel chart: leads at each stage"
    assert "Trend chart: All leads" in alts and "Trend chart: paid_search" in alts
    for img in page.images:
        png = base64.b64decode((img["src"] or "").split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # funnel, volume, top of funnel, conversion, money, change, days
    assert page.tags.count("table") == 7
    text = " ".join(page.text)
    assert "Needs attention" in text and "Missed target: ROAS = 0.00× (target ≥ 2×)" in text
    assert "718 leads (2026-06-03 → 2026-06-30, cohort basis)" in text
    assert (
        "cohort basis · grouped by channel · as of 2026-06-30 · compared with 2026-05-06 → 2026-06-02"
        in text
    )


def test_html_without_the_plotting_extra_still_has_the_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(charts, "available", lambda: False)
    page = _page(_sample("--format", "html"))
    assert page.images == []
    assert "pip install 'funnel-report[html]'" in " ".join(page.text)
    assert page.tags.count("table") == 7


def test_unmeasurable_target_is_not_met_but_names_no_bottleneck(project: Project) -> None:
    # Every lead is younger than --within 30 on Mar 30 (cutoff Feb 28): no rate to measure.
    project.policy(BASE_POLICY.format(timezone="UTC") + "targets:\n  mql.rate: {gte: 0.3}\n")
    project.write("leads.csv", MATURITY_LEADS)
    report = report_json(project, "--within", "30", "--as-of", "2026-03-30")
    assert report["targets"] == [
        {"metric": "mql.rate", "op": "gte", "target": 0.3, "value": None, "met": False}
    ]
    assert report["bottleneck"] is None
    text = invoke("report", "-c", project.config, "--within", "30", "--as-of", "2026-03-30", "-q")
    assert "Not measurable, so not met: mql.rate" in text.stdout


def test_compare_with_every_matches_periods_by_position(project: Project) -> None:
    # Weeks of Jan 19, Jan 26 (previous window) and Feb 2, Feb 9 (this window): 10, 20, 30, 40
    # leads. The first week of the window is compared with the first of the previous one.
    _weeks(
        project,
        [
            (d, n, 0, 10)
            for d, n in [
                ("2026-01-19", 10),
                ("2026-01-26", 20),
                ("2026-02-02", 30),
                ("2026-02-09", 40),
            ]
        ],
    )
    report = report_json(
        project, "--since", "2026-02-02", "--until", "2026-02-15", "--every", "week",
        "--compare", "previous",
    )  # fmt: skip
    assert report["compare"]["window"] == {"since": "2026-01-19", "until": "2026-02-01"}
    first = row(report, period="2026-02-02", channel="web")
    second = row(report, period="2026-02-09", channel="web")
    assert (first["previous"]["leads"], second["previous"]["leads"]) == (10, 20)
    # 40 vs 20 leads: 40 ± 12.4 and 20 ± 8.8 still overlap, so no verdict.
    assert second["delta"]["leads"] == {"abs": 20, "rel": 1.0, "verdict": "unclear"}


def test_as_of_defaults_to_today_in_the_business_time_zone(project: Project) -> None:
    # 03:00 UTC on Feb 6 is still Feb 5 in New York: --last 7d ends on Feb 5.
    project.policy(BASE_POLICY.format(timezone="America/New_York"))
    now = dt.datetime(2026, 2, 6, 3, 0, tzinfo=dt.UTC)
    report = run_report(load_policy(project.config), Query(), summary=Summary(last="7d"), now=now)
    assert (report.since, report.until, report.as_of) == (
        D(2026, 1, 30),
        D(2026, 2, 5),
        D(2026, 2, 5),
    )
