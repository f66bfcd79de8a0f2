"""Exports in the shapes the tools really produce, through `funnel init --preset` configs.

The fixtures in tests/fixtures/exports/ are written byte for byte by make.py beside them:
Salesforce reports with their footer in three locales (Windows-1252, UTF-8 with a BOM),
HubSpot's newer "Original Traffic Source" export (every line ending in a comma) and a
report-builder export, Google Ads' "CSV for Excel" (UTF-16 LE, tabs, Total rows labelled
in the first column), a Meta ad-set export without a day breakdown (summary row, SGD),
Pipedrive without a source channel, the standard Salesforce Opportunity History report,
European numbers, an Excel workbook, CR line endings and a gzip file named .csv. Each test
asserts the figures a user would check by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import BASE_POLICY, Project, invoke, report_json, row, warning

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
DAY = 86400.0


def _init(tmp_path: Path, presets: str, files: dict[str, str]) -> Project:
    run = invoke("init", tmp_path, "--preset", presets)
    assert run.exit_code == 0, run.stderr
    (tmp_path / "data").mkdir()
    for fixture, name in files.items():
        shutil.copy(FIXTURES / fixture, tmp_path / "data" / name)
    return Project(tmp_path)


def _funnel(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "funnelcli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def _detected(report: dict) -> dict[str, str]:
    return {e["file"]: e["value"] for e in warning(report, "input.detected")["examples"]}


@pytest.mark.parametrize(
    ("locale", "leads_note"),
    [
        ("en-us", "encoding windows-1252; 5 footer lines dropped; dates month-first"),
        ("en-gb", "5 footer lines dropped; dates day-first (proven by '13/03/2026 10:00')"),
        ("de", "5 footer lines dropped; dates day-first"),
    ],
)
def test_salesforce_reports_in_three_locales_give_one_answer(
    tmp_path: Path, locale: str, leads_note: str
) -> None:
    # A: created Mar 2 9:15, contacted Mar 3 10:30 (1 d 75 min = 1.0520833 d), converted
    # Mar 10 16:30 (7.25 d later). B: Mar 2 14:00 → Mar 4 9:00 (1.7916667 d). C: Mar 13
    # 10:00 → Mar 14 10:00 (1.0 d). Median to Contacted 1.0520833 (month-first on the en_GB
    # file would have said 44 days and dropped C, whose 13/03 is no month).
    project = _init(
        tmp_path,
        "salesforce",
        {
            f"salesforce-leads-{locale}.csv": "salesforce-leads.csv",
            f"salesforce-lead-history-{locale}.csv": "salesforce-lead-history.csv",
        },
    )
    run = _funnel("report", "-c", project.config, "--format", "json", "--quiet")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    stages = report["total"]["stages"]
    assert [m["count"] for m in stages.values()] == [3, 3, 1]
    assert stages["contacted"]["days"]["median"] == pytest.approx(1 + 75 / 1440)
    assert stages["converted"]["days"]["median"] == pytest.approx(7.25)
    assert {r["group"]["channel"]: r["leads"] for r in report["rows"]} == {"referral": 1, "web": 2}
    assert _detected(report)["salesforce-leads.csv"].startswith(leads_note)
    assert "leads.bad_created_at" not in {w["code"] for w in report["warnings"]}


def test_hubspot_original_traffic_source_and_campaign_by_source(tmp_path: Path) -> None:
    # 101 Paid Search (campaign = drill-down 1, spring_sale), MQL Mar 3 10:00, SQL, Opportunity,
    # Customer Mar 20 13:00 (18 d 3 h 45 min after creation); 102 Paid Search (brand), MQL;
    # 103 Organic Search (drill-downs are the engine and keyword: no campaign); 104 Paid
    # Social (campaign = drill-down 2, retarget; drill-down 1 is the network), MQL, SQL.
    project = _init(
        tmp_path, "hubspot", {"hubspot-contacts-traffic-source.csv": "hubspot-contacts.csv"}
    )
    report = report_json(project)
    total = report["total"]["stages"]
    assert [m["count"] for m in total.values()] == [4, 3, 2, 1, 1]
    assert total["customer"]["days_from_lead"]["median"] == pytest.approx(18.15625)
    # MQL after 1.03125, 1.75 and 0.6770833 days: median 1.03125.
    assert total["mql"]["days_from_lead"]["median"] == pytest.approx(1.03125)
    by_campaign = report_json(project, "--by", "campaign")
    assert {r["group"]["campaign"]: r["leads"] for r in by_campaign["rows"]} == {
        "brand": 1,
        "retarget": 1,
        "spring_sale": 1,
        None: 1,
    }
    # "3/2/2026 9:15" (M/D/YYYY H:mm): "3/20/2026 13:00" proves the order, and the report
    # says so.
    assert _detected(report)["hubspot-contacts.csv"] == (
        "dates month-first (proven by '3/20/2026 13:00')"
    )
    names = warning(report, "input.header_names")["examples"]
    assert [e["value"] for e in names] == ["blank, read as '(column 13)'"]


def test_hubspot_report_builder_export(project: Project) -> None:
    # "Contact ID", and "(No value)" for blanks: 202 has no MQL date, which is not a bad date.
    shutil.copy(FIXTURES / "hubspot-report-builder.csv", project.root / "leads.csv")
    policy = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}", "leads: {path: leads.csv, preset: hubspot}"
    )
    policy = policy.replace("  transitions: {path: transitions.csv}\n", "").replace(
        "  - {id: mql, name: MQL, aliases: [Marketing Qualified Lead]}",
        '  - {id: mql, name: MQL, date_column: "Became a Marketing Qualified Lead Date"}',
    )
    project.policy(policy.split("  - {id: sql")[0])
    report = report_json(project)
    assert [m["count"] for m in report["total"]["stages"].values()] == [3, 1]
    codes = {w["code"] for w in report["warnings"]}
    assert "transitions.bad_entered_at" not in codes
    by_campaign = report_json(project, "--by", "channel,campaign")
    groups = sorted((r["group"]["channel"], r["group"]["campaign"]) for r in by_campaign["rows"])
    assert groups == [
        ("direct traffic", None),
        ("offline sources", None),
        ("paid search", "spring_sale"),
    ]


def test_google_ads_csv_for_excel_utf16_tabs_and_total_rows(tmp_path: Path) -> None:
    # 1,204.50 + 95.25 + 1,010.00 + 88.00 = 2,397.75; the two "Total:" rows (label in the
    # Campaign column, "--" as their Day) are not spend and not bad dates.
    project = _init(
        tmp_path,
        "hubspot,google_ads",
        {
            "hubspot-contacts-traffic-source.csv": "hubspot-contacts.csv",
            "google-ads-csv-for-excel.csv": "google-ads-campaigns.csv",
        },
    )
    report = report_json(project)
    assert report["total"]["spend"] == 2397.75
    paid = row(report, channel="paid_search")
    assert (paid["leads"], paid["spend"], paid["cpl"]) == (2, 2397.75, 1198.875)
    assert not {w["code"] for w in report["warnings"]} & {"spend.bad_date", "spend.bad_amount"}
    assert _detected(report)["google-ads-campaigns.csv"] == "encoding UTF-16; delimiter tab"
    by_campaign = report_json(project, "--by", "campaign")
    assert row(by_campaign, campaign="spring_sale")["spend"] == 2214.50
    # Impr. and Clicks ("12,034" with a thousands comma): 26,214 and 806, as the Total says.
    assert (paid["impressions"], paid["clicks"]) == (26214, 806)
    assert paid["ctr"] == pytest.approx(806 / 26214)
    assert paid["cpc"] == pytest.approx(2397.75 / 806)
    spring = row(by_campaign, campaign="spring_sale")
    assert (spring["impressions"], spring["clicks"]) == (21904, 585)
    check = invoke("check", "-c", project.config, "--format", "json")
    assert check.exit_code == 0, check.stdout


def test_meta_adset_export_without_days_sgd_and_summary_row(tmp_path: Path) -> None:
    # The first row is Meta's summary (blank names, 1,200 for the whole range): not spend.
    # Each row covers Mar 1–31 and is spread over its 31 days: retarget 930 = 30.00 a day;
    # lookalike 270 = 8.709677 a day (micro-units, the remainder on Mar 31).
    project = _init(
        tmp_path,
        "hubspot,meta",
        {
            "hubspot-contacts-traffic-source.csv": "hubspot-contacts.csv",
            "meta-adsets-sgd.csv": "meta-ads.csv",
        },
    )
    project.config.write_text(project.config.read_text().replace("currency: USD", "currency: SGD"))
    report = report_json(project)
    assert report["total"]["spend"] == 1200.0
    assert row(report, channel="paid_social")["spend"] == 1200.0
    by_campaign = report_json(project, "--by", "campaign")
    assert row(by_campaign, campaign="retarget")["spend"] == 930.0
    # Impressions and Link clicks spread like the amount: 80,000 / 31 = 2,580 a day and
    # 2,600 on Mar 31; the summary row's 92,000 and 230 are not counted.
    retarget = row(by_campaign, campaign="retarget")
    assert (retarget["impressions"], retarget["clicks"]) == (80000, 200)
    assert (report["total"]["impressions"], report["total"]["clicks"]) == (92000, 230)
    weekly = report_json(project, "--every", "week", "--by", "channel")
    social = {
        r["group"]["period"]: r["spend"]
        for r in weekly["rows"]
        if r["group"]["channel"] == "paid_social"
    }
    each = 8_709_677  # 270,000,000 micro-units // 31
    assert social["2026-03-09"] == pytest.approx(7 * 30 + 7 * each / 1e6)
    assert social["2026-02-23"] == pytest.approx(30 + each / 1e6)  # Sunday Mar 1 only
    clicks = {
        r["group"]["period"]: r["clicks"]
        for r in weekly["rows"]
        if r["group"]["channel"] == "paid_social"
    }
    # retarget 200 // 31 = 6 a day (+14 on Mar 31), lookalike 30 // 31 = 0 (+30 on Mar 31).
    assert clicks["2026-02-23"] == 6 and clicks["2026-03-09"] == 7 * 6
    assert clicks["2026-03-30"] == 6 + (6 + 14) + 30
    assert social["2026-03-30"] == pytest.approx(60 + each / 1e6 + (270_000_000 - 30 * each) / 1e6)
    assert sum(social.values()) == pytest.approx(1200.0)


def test_pipedrive_source_origin_is_not_a_channel(tmp_path: Path) -> None:
    project = _init(
        tmp_path, "pipedrive", {"pipedrive-deals-no-source-channel.csv": "pipedrive-deals.csv"}
    )
    report = report_json(project)
    assert [r["group"]["channel"] for r in report["rows"]] == ["unknown"]
    assert [m["count"] for m in report["total"]["stages"].values()] == [2, 1, 0, 0, 0]


def test_salesforce_standard_opportunity_history(tmp_path: Path) -> None:
    # Opportunity 1: Prospecting Mar 2, Qualification Mar 3, Closed Won Mar 16 (14 days);
    # proposal and negotiation back-filled. Opportunity 2: Proposal/Price Quote on Mar 11,
    # qualification back-filled. Both files end with the Salesforce footer.
    project = _init(
        tmp_path,
        "salesforce_opportunity",
        {
            "salesforce-opportunities-standard.csv": "salesforce-opportunities.csv",
            "salesforce-opportunity-history-standard.csv": "salesforce-opportunity-history.csv",
        },
    )
    report = report_json(project)
    stages = report["total"]["stages"]
    assert [m["count"] for m in stages.values()] == [2, 2, 2, 1, 1]
    assert stages["won"]["days_from_lead"]["median"] == pytest.approx(14.0)


def test_european_numbers_and_an_ambiguous_date_order(project: Project) -> None:
    # 1.234,56 + 135,54 + 2.500 (two thousand five hundred, in a comma-decimal column) =
    # 3,870.10. Dates 02.03.–04.03.2026 fit both orders and no preset says: exit 3 first.
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    shutil.copy(FIXTURES / "spend-de.csv", project.root / "spend.csv")
    spend = "spend: {path: spend.csv, columns: {date: Datum, channel: Kanal, amount: Betrag}}"
    policy = BASE_POLICY.format(timezone="UTC").replace("spend: {path: spend.csv}", spend)
    project.policy(policy)
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "'02.03.2026', '03.03.2026', '04.03.2026'" in run.stderr
    assert "inputs.spend.date_format" in run.stderr
    project.policy(policy.replace("amount: Betrag}", 'amount: Betrag}, date_format: "%d.%m.%Y"'))
    report = report_json(project)
    assert report["total"]["spend"] == 3870.10
    assert _detected(report)["spend.csv"] == "delimiter ';'; decimal comma (proven by '1.234,56')"


def test_both_decimal_marks_proven_is_exit_3_naming_decimal(project: Project) -> None:
    project.write("spend.csv", 'date,channel,amount\n2026-03-02,web,"1,50"\n2026-03-03,web,2.25\n')
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "decimal comma (1,50) and with a decimal point (2.25)" in run.stderr
    assert 'inputs.spend.decimal to "," or "."' in run.stderr
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "spend: {path: spend.csv}", 'spend: {path: spend.csv, decimal: "."}'
        )
    )
    report = report_json(project)
    assert report["total"]["spend"] == 2.25  # "1,50" is no amount with a decimal point
    assert warning(report, "spend.bad_amount")["examples"][0]["value"] == "1,50"


def test_excel_workbook_with_sheet(project: Project) -> None:
    # Sheet "Leads": A1 (120 employees), A2 (8), A3 (45); the first sheet is a note.
    shutil.copy(FIXTURES / "leads.xlsx", project.root / "leads.xlsx")
    leads = (
        "leads: {path: leads.xlsx, sheet: Leads, columns: "
        '{lead_id: "Lead ID", created_at: "Create Date", channel: "Lead Source"}}'
    )
    policy = BASE_POLICY.format(timezone="UTC").replace("leads: {path: leads.csv}", leads)
    project.policy(policy)
    report = report_json(project, "--by", "Employees")
    assert report["total"]["leads"] == 3
    assert sorted(r["group"]["Employees"] for r in report["rows"]) == [8, 45, 120]
    project.policy(policy.replace(" sheet: Leads,", ""))
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "the config maps a column named 'Lead ID'" in run.stderr
    project.policy(policy.replace("sheet: Leads", "sheet: Leeds"))
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3 and "Check inputs.leads.sheet ('Leeds')" in run.stderr


@pytest.mark.parametrize("suffix", ["xlsx", "parquet"])
def test_email_duplicates_are_found_from_hashes(project: Project, suffix: str) -> None:
    # From a workbook or Parquet the e-mails are read as hashes and the repeated ones read
    # again: the same finding as from text. L3 repeats L1 (case, padding), L5 repeats L2;
    # the second L4 row is a duplicate id, dropped, so its copy of L1's e-mail does not
    # count; L6's empty text (Parquet; the workbook has no cell) and L7's null are no e-mail.
    workbook = FIXTURES / "leads-emails.xlsx"
    if suffix == "xlsx":
        shutil.copy(workbook, project.root / "leads.xlsx")
    else:
        frame = pl.read_excel(workbook, sheet_name="Leads")
        blank = pl.when(pl.col("Lead ID") == "L6").then(pl.lit("")).otherwise(pl.col("Email"))
        frame.with_columns(blank.alias("Email")).write_parquet(project.root / "leads.parquet")
    leads = (
        f"leads: {{path: leads.{suffix}, columns: "
        '{lead_id: "Lead ID", created_at: "Create Date", channel: "Lead Source", email: Email}}'
    )
    project.policy(BASE_POLICY.format(timezone="UTC").replace("leads: {path: leads.csv}", leads))
    report = report_json(project)
    assert report["total"]["leads"] == 7
    found = warning(report, "leads.duplicate_email")
    assert found["count"] == 2
    assert [(e["row"], e["value"]) for e in found["examples"]] == [(3, "a@x.com"), (6, "b@y.org")]


def test_cr_line_endings_and_a_repeated_unused_header(project: Project) -> None:
    shutil.copy(FIXTURES / "leads-mac-cr.csv", project.root / "leads.csv")
    report = report_json(project)
    assert report["total"]["leads"] == 2
    assert _detected(report)["leads.csv"] == "line endings CR"
    names = warning(report, "input.header_names")["examples"]
    assert [e["value"] for e in names] == ["'notes' read as 'notes (2)'"]


def test_gzip_named_csv(project: Project) -> None:
    shutil.copy(FIXTURES / "leads-gzip-named.csv", project.root / "leads.csv")
    report = report_json(project)
    assert report["total"]["leads"] == 3
    assert _detected(report)["leads.csv"] == "gzip"


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("latin-1", "starts with a UTF-16 byte-order mark, but inputs.spend sets encoding"),
        ("utf-16", None),
    ],
)
def test_encoding_set_by_hand_on_a_utf16_file(
    project: Project, encoding: str, message: str | None
) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,Google Ads\n")
    shutil.copy(FIXTURES / "google-ads-csv-for-excel.csv", project.root / "spend.csv")
    spend = f"spend: {{path: spend.csv, preset: google_ads, encoding: {encoding}}}"
    project.policy(BASE_POLICY.format(timezone="UTC").replace("spend: {path: spend.csv}", spend))
    run = invoke("report", "-c", project.config, "--format", "json")
    if message is None:
        assert run.exit_code == 0, run.stderr
        assert run.json()["total"]["spend"] == 2397.75
    else:
        assert run.exit_code == 3 and message in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"BZh91AY&SY", "is bzip2-compressed"),
        (b"PK\x03\x04\x14\x00\x00\x00", "is a zip archive"),
        (b"\x00\x01\x02\x03" * 100, "is a binary file"),
        (b"\x1f\x8b\x08\x00broken", "a gzip file that cannot be decompressed"),
    ],
)
def test_unreadable_content_is_exit_3_with_what_it_is(
    project: Project, content: bytes, message: str
) -> None:
    (project.root / "leads.csv").write_bytes(content)
    run = _funnel("report", "-c", project.config)
    assert run.returncode == 3, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr


def test_a_summary_row_without_a_preset_is_flagged(project: Project) -> None:
    # 150.40 + 1,049.60 = 1,200.00: the blank-named first row is Meta's summary; read without
    # the preset it would double the spend, so check fails on it (spend.summary_row, error).
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-09,Meta Ads\n")
    project.write(
        "spend.csv",
        "date,date_end,channel,campaign,amount\n"
        "2026-03-01,2026-03-31,Meta Ads,,1200.00\n"
        "2026-03-09,,Meta Ads,retarget,150.40\n"
        "2026-03-10,,Meta Ads,retarget,1049.60\n",
    )
    run = invoke("check", "-c", project.config, "--format", "json")
    assert run.exit_code == 1
    found = next(f for f in run.json()["findings"] if f["id"] == "spend.summary_row")
    assert (found["severity"], found["count"]) == ("error", 1)
    assert found["examples"] == [{"file": "spend.csv", "row": 1, "value": "1200.00"}]


def test_a_blank_campaign_row_equal_to_one_other_row_is_not_a_summary(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-09,web\n")
    project.write(
        "spend.csv",
        "date,channel,campaign,amount\n2026-03-09,web,,10\n2026-03-09,web,spring,10\n"
        "2026-03-09,ads,x,5\n2026-03-09,ads,y,5\n",
    )
    report = report_json(project)
    assert report["total"]["spend"] == 30.0
    assert "spend.summary_row" not in {w["code"] for w in report["warnings"]}


def test_a_tab_file_whose_header_has_a_comma(project: Project) -> None:
    # "Cost, USD" holds a comma; the tab is as frequent in the header and is the one the
    # data rows share, so the file is read as tab-separated.
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    project.write("spend.csv", "date\tchannel\tCost, USD\n2026-03-02\tweb\t12.5\n")
    spend = 'spend: {path: spend.csv, columns: {amount: "Cost, USD"}}'
    project.policy(BASE_POLICY.format(timezone="UTC").replace("spend: {path: spend.csv}", spend))
    report = report_json(project)
    assert report["total"]["spend"] == 12.5
    assert _detected(report)["spend.csv"] == "delimiter tab"


def test_a_big_file_with_a_late_non_utf8_byte_fails_clearly(project: Project) -> None:
    # Files over 16 MiB are judged on a sample of lines; a Windows-1252 byte the sample did
    # not see still stops the read with its row named and the setting to use — never a
    # wrong number — and encoding: cp1252 then reads it.
    rows = [f"L{i:07d},2026-03-02,web\n" for i in range(800_000)]
    rows[120_000] = "L0120000,2026-03-02,caf\xe9\n"  # about 2.5 MB in: between two samples
    text = "lead_id,created_at,channel\n" + "".join(rows)
    (project.root / "leads.csv").write_bytes(text.encode("cp1252"))
    assert (project.root / "leads.csv").stat().st_size > 16 << 20
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3, run.stderr
    assert "row 120001: byte 0xe9 is not valid UTF-8" in run.stderr and "cp1252" in run.stderr
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "leads: {path: leads.csv}", "leads: {path: leads.csv, encoding: cp1252}"
        )
    )
    report = report_json(project)
    assert report["total"]["leads"] == 800_000
    assert row(report, channel="café")["leads"] == 1


def test_dates_proving_both_orders_are_exit_3(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,13/03/2026,web\nB,03/14/2026,web\n")
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "mix day-first values ('13/03/2026') and month-first values ('03/14/2026')" in run.stderr
    assert "inputs.leads.date_format" in run.stderr


def test_utf16_without_a_byte_order_mark_is_named(project: Project) -> None:
    text = "lead_id,created_at,channel\nA,2026-03-02,web\n"
    (project.root / "leads.csv").write_bytes(text.encode("utf-16-le"))
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "looks like UTF-16 (little-endian) without a byte-order mark" in run.stderr
    assert "encoding: utf-16-le" in run.stderr


def test_a_spend_range_ending_before_it_starts_is_a_bad_date(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    project.write(
        "spend.csv",
        "date,date_end,channel,amount\n2026-03-10,2026-03-01,web,70\n2026-03-01,2026-03-07,web,7\n",
    )
    report = report_json(project, "--every", "day")
    assert report["total"]["spend"] == 7.0  # 1.00 a day for a week; the reversed row dropped
    bad = warning(report, "spend.bad_date")
    assert bad["examples"][0] == {
        "file": "spend.csv",
        "row": 1,
        "value": "2026-03-10 to 2026-03-01",
    }
    days = [r for r in report["rows"] if r["group"]["channel"] == "web" and r["spend"]]
    assert len(days) == 7 and all(r["spend"] == 1.0 for r in days)


CJK_POLICY = """\
version: 1
currency: CNY
timezone: Asia/Shanghai
inputs:
  leads: {{path: {file}, columns: {{lead_id: "{id}", created_at: "{created}", channel: "{channel}"}}}}
stages:
  - {{id: lead, name: 线索}}
  - {{id: won, name: 客户, evidence: policy}}
"""


@pytest.mark.parametrize(
    ("fixture", "encoding", "channels"),
    [
        ("leads-zh-cn-gbk.csv", "GB18030", {"百度推广": 2, "微信广告": 1, "展会": 1}),
        ("leads-zh-tw-big5.csv", "Big5", {"臉書廣告": 2, "展會": 1}),
        ("leads-ja-sjis.csv", "Shift_JIS", {"検索広告": 1, "展示会": 1}),
        ("leads-ko-euckr.csv", "EUC-KR", {"검색광고": 1, "전시회": 1}),
    ],
)
def test_cjk_excel_exports_are_read_in_their_own_encoding(
    project: Project, fixture: str, encoding: str, channels: dict[str, int]
) -> None:
    """Excel on Chinese, Taiwanese, Japanese and Korean Windows writes its code page:
    channel names come out as written (never 百度推广 read as °Ù¶ÈÍÆ¹ã), the headers too,
    and the year-first dates Excel writes there (2026/3/2 9:15) are read."""
    shutil.copy(FIXTURES / fixture, project.root / fixture)
    header = (
        (FIXTURES / fixture)
        .read_bytes()
        .split(b"\r\n")[0]
        .decode(
            {"GB18030": "gbk", "Big5": "cp950", "Shift_JIS": "cp932", "EUC-KR": "cp949"}[encoding]
        )
    )
    lead_id, created, channel = header.split(",")[:3]
    project.policy(CJK_POLICY.format(file=fixture, id=lead_id, created=created, channel=channel))
    report = report_json(project, "--as-of", "2026-03-31")
    assert {r["group"]["channel"]: r["leads"] for r in report["rows"]} == channels
    assert _detected(report)[fixture] == f"encoding {encoding}"


def test_a_file_no_encoding_explains_is_refused_naming_encoding(project: Project) -> None:
    # Half-width katakana alone: bytes that fit several code pages, none of them surely.
    leads = "lead_id,created_at,channel\nL1,2026-03-02,ｶﾀｶﾅ\nL2,2026-03-03,ﾃｽﾄ\n"
    (project.root / "leads.csv").write_bytes(leads.encode("cp932"))
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3, run.stderr
    assert "leads.csv: is not UTF-8" in run.stderr
    assert "Set inputs.leads.encoding to the file's encoding" in run.stderr


def test_a_utf8_file_with_one_bad_byte_is_not_read_in_a_code_page(project: Project) -> None:
    """UTF-8 text up to a stray byte: read as Windows-1252 it would be `CafÃ© crÃ¨me` on
    every row. The byte's row is named instead."""
    rows = ["lead_id,created_at,channel", *(f"L{i},2026-03-02,Café crème" for i in range(5))]
    data = "\n".join(rows).encode("utf-8") + b"\nL9,2026-03-03,web\xff\n"
    (project.root / "leads.csv").write_bytes(data)
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3, run.stderr
    assert "leads.csv: row 6: byte 0xff is not valid UTF-8, though the text before it is." in (
        run.stderr
    )


def test_a_gbk_pair_that_happens_to_be_utf8_does_not_make_the_file_utf8(project: Project) -> None:
    """展 is D5 B9 in GBK, a valid two-byte UTF-8 character (U+0579): the file is still GBK."""
    rows = ["lead_id,created_at,channel", "L1,2026-03-02,展会", "L2,2026-03-03,百度推广"]
    (project.root / "leads.csv").write_bytes("\r\n".join(rows).encode("gbk") + b"\r\n")
    report = report_json(project, "--as-of", "2026-03-31")
    assert {r["group"]["channel"] for r in report["rows"]} == {"展会", "百度推广"}
    assert _detected(report)["leads.csv"] == "encoding GB18030"


@pytest.mark.parametrize(
    "names",
    [
        ["Informação", "Promoção", "Açaí"],
        ["Ærø", "Øresund", "Åland", "Smørrebrød"],
        ["Düsseldorf", "Köln", "Zürich", "Straße", "Genève"],
        ["Réunion", "Île-de-France", "Côte d’Azur", "Ça va", "Noël"],
        ["€ campaign", "Pound £", "naïve “quoted”"],
    ],
)
def test_western_names_in_windows_1252_are_never_read_as_cjk(
    project: Project, names: list[str]
) -> None:
    rows = ["lead_id,created_at,channel", *(f"L{i},2026-03-02,{n}" for i, n in enumerate(names))]
    (project.root / "leads.csv").write_bytes("\r\n".join(rows).encode("cp1252") + b"\r\n")
    report = report_json(project, "--as-of", "2026-03-31")
    assert {r["group"]["channel"] for r in report["rows"]} == {n.lower() for n in names}
    assert _detected(report)["leads.csv"] == "encoding windows-1252"
