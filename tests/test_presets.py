"""Export presets end to end: `funnel init --preset`, then the exports as downloaded, no edits.

The fixtures in tests/fixtures/presets/ have the exact shape of each tool's export (header
names, quoting, title lines, totals rows, date formats); the numbers are worked out by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from funnelcli.scaffold import starter_text
from tests.conftest import BASE_POLICY, Project, invoke, report_json, row, warning

FIXTURES = Path(__file__).parent / "fixtures" / "presets"


def _init(tmp_path: Path, presets: str, *files: str) -> Project:
    run = invoke("init", tmp_path, "--preset", presets)
    assert run.exit_code == 0, run.stderr
    (tmp_path / "data").mkdir()
    for name in files:
        shutil.copy(FIXTURES / name, tmp_path / "data" / name)
    return Project(tmp_path)


def test_hubspot_with_google_ads_and_meta_spend(tmp_path: Path) -> None:
    # Contacts 101, 102, 105 came from Paid Search, 103 Organic Search, 104 Paid Social.
    # Lifecycle dates: MQL 101, 102, 104, and 105 (back-filled from its SQL date); SQL 101,
    # 104, 105; Opportunity 101, 105; Customer 101.
    # Google Ads: 1,204.50 + 95.25 + 1,010.00 + 88.00 = 2,397.75 (the two Total rows skipped).
    # Meta: 150.40 + 1,049.60 = 1,200.00, channel "Meta Ads" → paid_social.
    project = _init(
        tmp_path, "hubspot,google_ads,meta",
        "hubspot-contacts.csv", "google-ads-campaigns.csv", "meta-ads.csv",
    )  # fmt: skip
    report = report_json(project)
    total = report["total"]
    counts = [m["count"] for m in total["stages"].values()]
    assert counts == [5, 4, 3, 2, 1]
    assert total["spend"] == 3597.75
    paid = row(report, channel="paid_search")
    assert (paid["leads"], paid["spend"], paid["cpl"]) == (3, 2397.75, 799.25)
    assert row(report, channel="paid_social")["spend"] == 1200.0
    assert row(report, channel="organic_search")["spend"] is None
    # Contact 101: created Mar 2 09:15, MQL Mar 3 10:00 → 1.03125 days.
    assert total["stages"]["customer"]["days_from_lead"]["median"] == pytest.approx(18.15625)
    by_campaign = report_json(project, "--by", "campaign")
    assert row(by_campaign, campaign="spring_sale")["spend"] == 2214.50
    assert row(by_campaign, campaign="retarget")["leads"] == 1


def test_salesforce_leads_and_lead_history(tmp_path: Path) -> None:
    # Only "Lead Status" rows are stage moves ("Created." and "Lead Owner" rows are not).
    # A: contacted Mar 3 10:00 (1.03125 days after creation), converted Mar 9 16:30
    # (6.2708 days later). B: contacted Mar 5 09:00 (1.7639 days). C: not converted (exit).
    # US dates with AM/PM: "3/2/2026, 9:15 AM".
    project = _init(tmp_path, "salesforce", "salesforce-leads.csv", "salesforce-lead-history.csv")
    report = report_json(project)
    stages = report["total"]["stages"]
    assert [m["count"] for m in stages.values()] == [3, 2, 1]
    assert stages["contacted"]["days"]["median"] == pytest.approx((1.03125 + 1.763888889) / 2)
    assert stages["converted"]["days"]["median"] == pytest.approx(6.270833333)
    assert [r["group"]["channel"] for r in report["rows"]] == ["paid_search", "referral", "web"]
    # No day above 12 in these US dates: the preset's usual order, and the report says so.
    assert [w["code"] for w in report["warnings"]] == ["input.detected"]
    assert [e["value"] for e in report["warnings"][0]["examples"]] == [
        "dates month-first (the salesforce preset's usual order; no value proves either)"
    ] * 2


def test_pipedrive_deals_export(tmp_path: Path) -> None:
    # Deal 1 sits in "Negotiations Started" (so contacted and proposal are back-filled) and was
    # won on Mar 20; deal 2 is at "Contact Made"; deal 3 never left "Lead In" (no stage-change
    # time: skipped, its creation says it). Source channels map through the starter's aliases.
    project = _init(tmp_path, "pipedrive", "pipedrive-deals.csv")
    report = report_json(project)
    assert [m["count"] for m in report["total"]["stages"].values()] == [3, 2, 1, 1, 1]
    assert {r["group"]["channel"]: r["leads"] for r in report["rows"]} == {
        "organic_search": 1,
        "paid_search": 2,
    }
    assert {w["code"] for w in report["warnings"]} == {"transitions.skipped_stage"}


def test_user_columns_override_the_preset(project: Project) -> None:
    shutil.copy(FIXTURES / "hubspot-contacts.csv", project.root / "leads.csv")
    policy = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}",
        'leads: {path: leads.csv, preset: hubspot, columns: {channel: "Original Source Drill-Down 1"}}',
    )
    project.policy(policy.replace("  transitions: {path: transitions.csv}\n", ""))
    project.write("funnel.yaml", project.config.read_text().replace(
        "  - {id: mql, name: MQL, aliases: [Marketing Qualified Lead]}",
        '  - {id: mql, name: MQL, date_column: "Became a Marketing Qualified Lead Date"}',
    ).replace("  - {id: sql, name: SQL}", '  - {id: sql, name: SQL, date_column: "Became a Sales Qualified Lead Date"}')
     .replace("  - {id: won, name: Customer, aliases: [customer]}", '  - {id: won, name: Customer, date_column: "Became a Customer Date"}'))  # fmt: skip
    report = report_json(project)
    assert {r["group"]["channel"]: r["leads"] for r in report["rows"]} == {
        "facebook": 1,
        "google": 4,
    }


def test_two_spend_files_and_a_date_format_of_your_own(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    project.write("spend.csv", "date,channel,amount\n02.03.2026,web,10\n")
    project.write("more.csv", "Tag;Kanal;Betrag\n03.03.2026;web;5,5\n")
    policy = BASE_POLICY.format(timezone="UTC").replace(
        "spend: {path: spend.csv}",
        'spend:\n    - {path: spend.csv, date_format: "%d.%m.%Y"}\n'
        '    - {path: more.csv, delimiter: ";", date_format: ["%d.%m.%Y"], '
        "columns: {date: Tag, channel: Kanal, amount: Betrag}}",
    )
    project.policy(policy)
    report = report_json(project)
    # "5,5" proves a decimal comma in more.csv (and the ';' delimiter is detected anyway).
    assert report["total"]["spend"] == 15.5
    detected = warning(report, "input.detected")["examples"]
    assert detected == [
        {"file": "more.csv", "row": None, "value": "decimal comma (proven by '5,5')"}
    ]


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            "leads: {path: leads.csv, preset: hubspott}",
            "unknown preset 'hubspott'. Leads presets: hubspot, salesforce, salesforce_opportunity, pipedrive.",
        ),
        (
            "leads: {path: leads.csv, preset: google_ads}",
            "preset 'google_ads' has no leads layout (it has: spend).",
        ),
        (
            "leads: {path: leads.csv, skip_where: {channel: '(unclosed'}}",
            "bad regular expression '(unclosed'",
        ),
    ],
)
def test_preset_and_filter_config_errors(project: Project, replacement: str, message: str) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace("leads: {path: leads.csv}", replacement)
    )
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr
    assert "funnel.yaml:5" in run.stderr


def test_a_filter_on_a_missing_column_is_an_input_error(project: Project) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "leads: {path: leads.csv}", "leads: {path: leads.csv, keep_where: {Status: open}}"
        )
    )
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert (
        "inputs.leads filters rows on column 'Status', but the file has no such header"
        in run.stderr
    )


def test_init_preset_errors_and_starters_are_valid(tmp_path: Path) -> None:
    run = invoke("init", tmp_path / "x", "--preset", "zoho")
    assert run.exit_code == 2
    assert (
        "--preset 'zoho' is not a preset; choose from hubspot, salesforce, salesforce_opportunity, pipedrive, google_ads, meta, ga4."
        in run.stderr
    )
    assert not (tmp_path / "x").exists()
    run = invoke("init", tmp_path / "y", "--preset", "hubspot,salesforce")
    assert run.exit_code == 2 and "choose one CRM export, not hubspot and salesforce" in run.stderr
    assert "preset: google_ads" in starter_text(presets=("google_ads",))
    assert "preset: meta" in starter_text(presets=("salesforce", "meta"))


def test_salesforce_opportunity_history(project: Project) -> None:
    # Only "Stage" rows move an opportunity: 1 reaches Qualification on Mar 3 and Closed Won
    # on Mar 16 at 3 PM (14.625 days after its Mar 2 creation, a date-only "3/2/2026"); 2 reaches
    # Proposal/Price Quote, a stage after Qualification, so Qualification is back-filled.
    for name in ("salesforce-opportunities.csv", "salesforce-opportunity-history.csv"):
        shutil.copy(FIXTURES / name, project.root / name)
    project.policy(
        """
        version: 1
        inputs:
          leads: {path: salesforce-opportunities.csv, preset: salesforce_opportunity}
          transitions: {path: salesforce-opportunity-history.csv, preset: salesforce_opportunity}
        stages:
          - {id: open, name: Open, aliases: [Prospecting]}
          - {id: qualified, name: Qualified, aliases: [Qualification]}
          - {id: proposal, name: Proposal, aliases: [Proposal/Price Quote]}
          - {id: won, name: Won, aliases: [Closed Won]}
        exits: [Closed Lost]
        """
    )
    report = report_json(project)
    stages = report["total"]["stages"]
    assert [m["count"] for m in stages.values()] == [2, 2, 2, 1]
    assert stages["won"]["days_from_lead"]["median"] == pytest.approx(14.625)


def test_meta_currency_comes_from_the_amount_header(project: Project) -> None:
    # The policy is in USD; a Meta account billed in EUR must not be summed as dollars.
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-09,Meta Ads\n")
    shutil.copy(FIXTURES / "meta-ads-eur.csv", project.root / "spend.csv")
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "spend: {path: spend.csv}", "spend: {path: spend.csv, preset: meta}"
        )
    )
    report = report_json(project)
    assert report["total"]["spend"] is None
    mixed = next(w for w in report["warnings"] if w["code"] == "spend.mixed_currency")
    assert mixed["count"] == 1 and mixed["examples"][0]["value"] == "EUR"


def test_google_ads_month_name_dates(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,Google Ads\n")
    project.write(
        "spend.csv",
        'Campaign report\n"March 1, 2026 - March 31, 2026"\nDay,Campaign,Cost\n'
        '"Mar 2, 2026",brand,"1,000.00"\nTotal: Account,,"1,000.00"\n',
    )
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "spend: {path: spend.csv}", "spend: {path: spend.csv, preset: google_ads}"
        )
    )
    report = report_json(project)
    assert report["total"]["spend"] == 1000.0
    assert row(report, channel="paid_search")["spend"] == 1000.0  # "Google Ads" is an alias


def test_a_header_the_user_maps_is_not_taken_by_the_preset(project: Project) -> None:
    # The user reads the campaign from "Original Source"; the preset would read the channel
    # from it. The user's mapping keeps the header; the channel then has to come from
    # elsewhere, which the required-column message says.
    shutil.copy(FIXTURES / "hubspot-contacts.csv", project.root / "leads.csv")
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "leads: {path: leads.csv}",
            'leads: {path: leads.csv, preset: hubspot, columns: {campaign: "Original Source"}}',
        )
    )
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "required column 'channel' is missing" in run.stderr
