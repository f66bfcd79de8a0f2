"""One small hand-made fixture per definition of docs/metrics.md, numbers worked out by hand."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import AMBIENT, BASE_POLICY, Project, codes, invoke, report_json, row, warning


def test_skipped_stages_are_back_filled(project: Project) -> None:
    # L1 has only a `customer` (won) record on Jan 11. crm[mql] = crm[sql] = crm[won] = Jan 11,
    # so L1 counts at every stage; each step takes 10 days then 0 days.
    # L2 has nothing: lead only. Counts: lead 2, mql 1, sql 1, won 1.
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-01,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,customer,2026-01-11\n")
    total = report_json(project)["total"]
    counts = {s: m["count"] for s, m in total["stages"].items()}
    assert counts == {"lead": 2, "mql": 1, "sql": 1, "won": 1}
    assert total["stages"]["mql"]["days"] == {"median": 10.0, "p90": 10.0}
    assert total["stages"]["sql"]["days"] == {"median": 0.0, "p90": 0.0}
    assert total["stages"]["won"]["days_from_lead"] == {"median": 10.0, "p90": 10.0}
    assert total["stages"]["mql"]["rate"] == 0.5
    assert total["stages"]["sql"]["rate"] == 1.0


def test_transition_before_creation_is_clamped(project: Project) -> None:
    # Created Jan 10 noon; the CRM says MQL on Jan 8. at[mql] = max(Jan 10 12:00, Jan 8) =
    # Jan 10 12:00, so the step takes 0 days (never negative); SQL on Jan 12 12:00 = 2 days.
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-10 12:00,web\n")
    project.write(
        "transitions.csv",
        "lead_id,stage,entered_at\nL1,mql,2026-01-08\nL1,sql,2026-01-12T12:00:00\n",
    )
    report = report_json(project)
    stages = report["total"]["stages"]
    assert stages["mql"]["days"] == {"median": 0.0, "p90": 0.0}
    assert stages["sql"]["days"] == {"median": 2.0, "p90": 2.0}
    assert stages["sql"]["days_from_lead"] == {"median": 2.0, "p90": 2.0}
    assert codes(report) - AMBIENT == {"transitions.before_created"}
    assert warning(report, "transitions.before_created")["count"] == 1


def test_duplicate_ids_keep_earliest_then_file_order(project: Project) -> None:
    # L1 appears on rows 1 (Jan 5, ads) and 2 (Jan 3, web): the Jan 3 row wins -> web.
    # L2 appears twice on Jan 4 (rows 3 and 4): file order breaks the tie -> row 3, email.
    project.write(
        "leads.csv",
        """
        lead_id,created_at,channel
        L1,2026-01-05,ads
        L1,2026-01-03,web
        L2,2026-01-04,email
        L2,2026-01-04,ads
        """,
    )
    report = report_json(project)
    leads = {r["group"]["channel"]: r["leads"] for r in report["rows"]}
    assert leads == {"email": 1, "web": 1}
    duplicate = warning(report, "leads.duplicate_id")
    assert duplicate["count"] == 2
    assert [e["row"] for e in duplicate["examples"]] == [1, 4]


def test_requires_failing_blocks_stage_and_later_ones(project: Project) -> None:
    # MQL requires score >= 40; nobody scores (no scoring section: score 0). The CRM says
    # L1 reached MQL and SQL, but reached[mql] is false, so reached[sql] is false too.
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "aliases: [Marketing Qualified Lead]}", "requires: {score: {gte: 40}}}"
        )
    )
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\n")
    project.write(
        "transitions.csv", "lead_id,stage,entered_at\nL1,mql,2026-01-02\nL1,sql,2026-01-03\n"
    )
    stages = report_json(project)["total"]["stages"]
    assert [stages[s]["count"] for s in ("lead", "mql", "sql", "won")] == [1, 0, 0, 0]
    assert stages["mql"]["rate"] == 0.0
    assert stages["sql"]["rate"] is None  # 0 / 0


def test_policy_evidence_needs_no_crm_record(project: Project) -> None:
    # mql is decided by the policy alone: budget > 0. L1 (budget 500) is an MQL at its
    # creation time (at[mql] = at[lead]: 0 days); L2 (budget 0) and L3 (blank) are not.
    # sql still needs CRM evidence: L1's SQL record on Jan 3 -> 2 days after MQL.
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "aliases: [Marketing Qualified Lead]}",
            "evidence: policy, requires: {field: budget, gt: 0}}",
        )
    )
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,budget\nL1,2026-01-01,web,500\nL2,2026-01-01,web,0\n"
        "L3,2026-01-01,web,\n",
    )
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,sql,2026-01-03\n")
    stages = report_json(project)["total"]["stages"]
    assert stages["mql"]["count"] == 1
    assert stages["mql"]["days"]["median"] == 0.0
    assert stages["sql"]["count"] == 1
    assert stages["sql"]["days"]["median"] == 2.0


def test_null_in_compared_field_is_false_and_not_of_it_true(project: Project) -> None:
    # fit: +10 when company_size >= 50; +5 when not(company_size >= 50).
    # L1 size 80 -> 10; L2 size blank -> comparison false -> not() true -> 5; L3 size 3 -> 5.
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  fit:\n"
        + "    - {when: {field: company_size, gte: 50}, points: 10}\n"
        + "    - {when: {not: {field: company_size, gte: 50}}, points: 5}\n"
        + "    - {when: {field: company_size, is_null: true}, points: 100}\n"
    )
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,company_size\nL1,2026-01-01,web,80\nL2,2026-01-01,web,\n"
        "L3,2026-01-01,web,3\n",
    )
    scores = _scores(project)
    assert scores == {"L1": "10", "L2": "105", "L3": "5"}


def test_score_cap_and_negative_points(project: Project) -> None:
    # engagement: demo +40, pages >= 5 +30, bounced -50; cap 60.
    # L1: 40 + 30 = 70 -> capped at 60. L2: 40 - 50 = -10 (negative totals are kept).
    # L3: 30 - 50 = -20.
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  engagement:\n"
        + "    - {when: {field: lead_type, eq: demo}, points: 40}\n"
        + "    - {when: {field: pages, gte: 5}, points: 30}\n"
        + "    - {when: {field: bounced, eq: true}, points: -50}\n"
        + "  cap: 60\n"
    )
    project.write(
        "leads.csv",
        """
        lead_id,created_at,channel,lead_type,pages,bounced
        L1,2026-01-01,web,demo,9,false
        L2,2026-01-01,web,demo,1,true
        L3,2026-01-01,web,ebook,7,true
        """,
    )
    assert _scores(project) == {"L1": "60", "L2": "-10", "L3": "-20"}


def _scores(project: Project) -> dict[str, str]:
    run = invoke("score", "--config", project.config)
    assert run.exit_code == 0, run.stderr
    return {r["lead_id"]: r["score"] for r in csv.DictReader(io.StringIO(run.stdout))}


def test_zero_divisions_are_null_and_spend_only_group_shown(project: Project) -> None:
    # web: 2 leads, no spend rows -> spend null, cpl null; no MQL -> mql rate 0/2 = 0,
    # sql rate 0/0 = null, cost_per null. display: spend $300, no leads -> leads 0,
    # cpl null, every rate null. Total: 2 leads, $300 -> cpl 150, cost per MQL null (0 MQLs).
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-02,web\n")
    project.write(
        "spend.csv", "date,channel,amount\n2026-01-01,display,100\n2026-01-02,display,200\n"
    )
    report = report_json(project)
    web, display = row(report, channel="web"), row(report, channel="display")
    assert (web["spend"], web["cpl"]) == (None, None)
    assert web["stages"]["mql"]["rate"] == 0.0
    assert web["stages"]["sql"]["rate"] is None
    assert web["stages"]["mql"]["days"] == {"median": None, "p90": None}
    assert (display["leads"], display["spend"], display["cpl"]) == (0, 300.0, None)
    assert display["stages"]["mql"]["rate"] is None
    assert display["stages"]["mql"]["rate_from_lead"] is None
    total = report["total"]
    assert (total["leads"], total["spend"], total["cpl"]) == (2, 300.0, 150.0)
    assert total["stages"]["mql"]["cost_per"] is None
    assert [r["group"]["channel"] for r in report["rows"]] == ["display", "web"]


def test_window_is_inclusive_at_both_ends(project: Project) -> None:
    # Window Jan 10..Jan 20. Leads on Jan 9 23:59:59 and Jan 21 00:00 are out; Jan 10 00:00
    # and Jan 20 23:59:59 are in. Spend rows on Jan 9/10/20/21: only 10 + 20 count = 30.
    project.write(
        "leads.csv",
        """
        lead_id,created_at,channel
        L1,2026-01-09 23:59:59,web
        L2,2026-01-10 00:00:00,web
        L3,2026-01-20 23:59:59,web
        L4,2026-01-21,web
        """,
    )
    project.write(
        "spend.csv",
        "date,channel,amount\n2026-01-09,web,1\n2026-01-10,web,10\n2026-01-20,web,20\n"
        "2026-01-21,web,300\n",
    )
    report = report_json(project, "--since", "2026-01-10", "--until", "2026-01-20")
    assert report["window"] == {"since": "2026-01-10", "until": "2026-01-20"}
    assert (report["total"]["leads"], report["total"]["spend"]) == (2, 30.0)
    assert row(report, channel="web")["cpl"] == 15.0


def test_offset_timestamp_is_converted_to_business_zone(project: Project) -> None:
    # Business zone Europe/Paris (UTC+1 in winter). L1 at 2026-01-31T23:30:00Z is
    # Feb 1 00:30 in Paris: outside a January window. L2 at 2026-02-01T00:30:00+02:00 is
    # Jan 31 23:30 in Paris: inside. L3 is naive (taken as Paris time): Jan 31 23:59, inside.
    project.policy(BASE_POLICY.format(timezone="Europe/Paris"))
    project.write(
        "leads.csv",
        """
        lead_id,created_at,channel
        L1,2026-01-31T23:30:00Z,web
        L2,2026-02-01T00:30:00+02:00,web
        L3,2026-01-31 23:59,web
        """,
    )
    report = report_json(project, "--since", "2026-01-01", "--until", "2026-01-31")
    assert report["total"]["leads"] == 2


def test_week_buckets_start_on_monday(project: Project) -> None:
    # Sun 2026-01-04 is in the week of Mon 2025-12-29; Mon 2026-01-05 starts a new week.
    # Spend on Sat 2026-01-10 falls in the week of 2026-01-05.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nL1,2026-01-04 22:00,web\nL2,2026-01-05,web\nL3,2026-01-06,web\n",
    )
    project.write("spend.csv", "date,channel,amount\n2026-01-10,web,90\n")
    report = report_json(project, "--every", "week")
    assert report["group_by"] == ["period", "channel"]
    groups = [(r["group"]["period"], r["leads"], r["spend"]) for r in report["rows"]]
    assert groups == [("2025-12-29", 1, None), ("2026-01-05", 2, 90.0)]
    assert row(report, period="2026-01-05", channel="web")["cpl"] == 45.0


def test_month_buckets(project: Project) -> None:
    # Jan 31 and Feb 1 fall in different months; --by period,channel keeps period first.
    project.write(
        "leads.csv", "lead_id,created_at,channel\nL1,2026-01-31 23:00,web\nL2,2026-02-01,web\n"
    )
    report = report_json(project, "--every", "month")
    assert [(r["group"]["period"], r["leads"]) for r in report["rows"]] == [
        ("2026-01-01", 1),
        ("2026-02-01", 1),
    ]


@pytest.mark.parametrize(("within", "expected"), [("7", 0), ("10", 1), ("9.5", 0)])
def test_within_days_is_inclusive(project: Project, within: str, expected: int) -> None:
    # L1 becomes MQL exactly 10 days after creation: within 10 counts it, within 7 or 9.5
    # does not.
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,mql,2026-01-11\n")
    report = report_json(project, "--within", within)
    assert report["total"]["stages"]["mql"]["count"] == expected
    assert report["within_days"] == (float(within) if "." in within else int(within))


def test_days_quantiles_use_linear_interpolation(project: Project) -> None:
    # MQL after 1, 2 and 4 days: median 2; p90 = 2 + 0.8 * (4 - 2) = 3.6.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-01,web\nL3,2026-01-01,web\n",
    )
    project.write(
        "transitions.csv",
        "lead_id,stage,entered_at\nL1,mql,2026-01-02\nL2,mql,2026-01-03\nL3,mql,2026-01-05\n",
    )
    days = report_json(project)["total"]["stages"]["mql"]["days"]
    assert days["median"] == 2.0
    assert days["p90"] == pytest.approx(3.6)


def test_campaign_groups_join_spend_with_null_campaign(project: Project) -> None:
    # Leads: (paid_search, brand) x2, (paid_search, none) x1. Spend: brand $100 (spelled
    # "Google Ads" / " BRAND "), none $50. Campaign groups match case-insensitively and the
    # missing campaign matches spend rows with no campaign. Rows sort nulls last.
    project.write(
        "leads.csv",
        """
        lead_id,created_at,channel,campaign
        L1,2026-01-01,adwords,Brand
        L2,2026-01-01,Google Ads,brand
        L3,2026-01-01,adwords,
        """,
    )
    project.write(
        "spend.csv",
        'date,channel,campaign,amount\n2026-01-01,Google Ads, BRAND ,"$1,00.0"\n'
        "2026-01-01,google ads,brand,100\n2026-01-01,adwords,,50\n",
    )
    report = report_json(project, "--by", "channel,campaign")
    groups = [(r["group"]["campaign"], r["leads"], r["spend"], r["cpl"]) for r in report["rows"]]
    assert groups == [("brand", 2, 100.0, 50.0), (None, 1, 50.0, 50.0)]
    bad = warning(report, "spend.bad_amount")
    assert (bad["examples"][0]["row"], bad["examples"][0]["value"]) == (1, "$1,00.0")


def test_group_by_a_non_spend_column_has_null_spend(project: Project) -> None:
    # lead_type is not a spend column: row spend and cpl are null, the total keeps all spend.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,lead_type\nL1,2026-01-01,web,demo\nL2,2026-01-01,web,ebook\n",
    )
    project.write("spend.csv", "date,channel,amount\n2026-01-01,web,80\n")
    report = report_json(project, "--by", "lead_type")
    assert [(r["group"]["lead_type"], r["spend"]) for r in report["rows"]] == [
        ("demo", None),
        ("ebook", None),
    ]
    assert (report["total"]["spend"], report["total"]["cpl"]) == (80.0, 40.0)


def test_amounts_sum_exactly_to_the_cent(project: Project) -> None:
    # 0.1 added ten times is 0.9999999999999999 in floats; funnel sums whole micro-units.
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\n")
    project.write("spend.csv", "date,channel,amount\n" + "2026-01-01,web,0.1\n" * 10)
    assert report_json(project)["total"]["spend"] == 1.0


def test_date_column_counts_like_a_transition(project: Project) -> None:
    # Wide layout: the won stage takes its date from the leads column "Became a Customer".
    # L1 has it (Jan 21) and no other record: back-filled through mql and sql.
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "aliases: [customer]}", 'aliases: [customer], date_column: "Became a Customer"}'
        )
    )
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,Became a Customer\nL1,2026-01-01,web,2026-01-21\n"
        "L2,2026-01-01,web,\n",
    )
    stages = report_json(project)["total"]["stages"]
    assert [stages[s]["count"] for s in ("lead", "mql", "sql", "won")] == [2, 1, 1, 1]
    assert stages["won"]["days_from_lead"]["median"] == 20.0


def test_date_in_a_dst_gap_stays_on_its_day(project: Project) -> None:
    # Brazil's DST began at midnight on 2017-10-15: 00:00 did not exist in São Paulo. A
    # date-only value means "midnight", so it moves to the first instant that day (01:00).
    project.policy(BASE_POLICY.format(timezone="America/Sao_Paulo"))
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2017-10-15,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,mql,2017-10-16\n")
    report = report_json(project, "--since", "2017-10-15", "--until", "2017-10-15")
    assert codes(report) - AMBIENT == set()
    assert report["total"]["leads"] == 1
    # 01:00 on the 15th to midnight on the 16th: 23 hours.
    assert report["total"]["stages"]["mql"]["days"]["median"] == pytest.approx(23 / 24)
