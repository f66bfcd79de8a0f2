"""`funnel check`: one fixture per check id that raises exactly that finding, a clean
fixture that raises none, overrides and thresholds, every output format parsed back."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import polars as pl
import pytest

from funnelcli.findings import CATALOGUE
from funnelcli.inputs.load import FILE, first_rows
from funnelcli.inputs.readers import ROW
from tests.conftest import Project, Run, invoke

POLICY = """\
version: 1
inputs:
  leads: {path: leads.csv}
  spend: {path: spend.csv}
  transitions: {path: transitions.csv}
scoring:
  fit:
    - {when: {field: size, gte: 10}, points: 10}
stages:
  - {id: lead}
  - {id: mql, requires: {score: {gte: 10}}}
  - {id: sql}
  - {id: won}
exits: [lost]
"""
LEADS = """\
lead_id,created_at,channel,email,size
L1,2026-01-01,web,a@x.com,20
L2,2026-01-02,ads,b@x.com,20
L3,2026-01-02,web,c@x.com,20
"""
SPEND = """\
date,channel,amount
2026-01-01,web,10
2026-01-02,web,10
2026-01-01,ads,10
2026-01-02,ads,10
"""
TRANSITIONS = """\
lead_id,stage,entered_at
L1,mql,2026-01-02
L1,sql,2026-01-03
L1,won,2026-01-04
L2,mql,2026-01-03
L3,lost,2026-01-05
"""


@pytest.fixture
def clean(tmp_path: Path) -> Project:
    p = Project(tmp_path)
    p.policy(POLICY)
    p.write("leads.csv", LEADS)
    p.write("spend.csv", SPEND)
    p.write("transitions.csv", TRANSITIONS)
    return p


def check(project: Project, *args: str) -> Run:
    return invoke("check", "--config", project.config, *args)


def findings(project: Project, *args: str) -> dict[str, dict]:
    run = check(project, "--format", "json", *args)
    assert run.exit_code in (0, 1), run.stderr
    return {f["id"]: f for f in run.json()["findings"]}


def test_clean_fixture_has_no_findings(clean: Project) -> None:
    run = check(clean)
    assert run.exit_code == 0, run.stdout
    assert run.stdout.startswith("funnel check: PASS — 0 errors, 0 warnings, 0 info")
    assert "No findings" in run.stdout
    assert findings(clean) == {}


# (check id, file to change, how: "+" appends the line, otherwise replaces old -> new, count)
CASES = [
    ("leads.missing_id", "leads.csv", "+,2026-01-01,web,d@x.com,20", 1),
    ("leads.duplicate_id", "leads.csv", "+L1,2026-01-02,web,e@x.com,20", 1),
    ("leads.bad_created_at", "leads.csv", "+L4,notadate,web,f@x.com,20", 1),
    ("leads.missing_channel", "leads.csv", "+L4,2026-01-01, ,f@x.com,20", 1),
    ("leads.duplicate_email", "leads.csv", "+L4,2026-01-02,web, A@X.com ,20", 1),
    ("leads.channel_without_spend", "leads.csv", "+L4,2026-01-01,organic,f@x.com,20", 1),
    ("leads.after_last_spend", "leads.csv", "+L4,2026-01-03,web,f@x.com,20", 1),
    ("spend.bad_date", "spend.csv", "+someday,web,10", 1),
    ("spend.bad_amount", "spend.csv", "+2026-01-01,web,N/A", 1),
    ("spend.negative_amount", "spend.csv", "+2026-01-01,web,-5", 1),
    ("spend.duplicate_row", "spend.csv", "+2026-01-01,web,10", 1),
    ("spend.channel_without_leads", "spend.csv", "+2026-01-01,display,10", 1),
    ("spend.missing_days", "spend.csv", "+2026-01-03,web,10\n2026-01-05,web,10", 1),
    ("transitions.unknown_lead", "transitions.csv", "+L9,mql,2026-01-02", 1),
    ("transitions.unknown_stage", "transitions.csv", "+L1,nurture,2026-01-02", 1),
    ("transitions.bad_entered_at", "transitions.csv", "+L1,mql,soon", 1),
    ("transitions.before_created", "transitions.csv", "+L3,mql,2026-01-01", 1),
    ("transitions.out_of_order", "transitions.csv", "+L2,sql,2026-01-02 12:00", 1),
    ("transitions.skipped_stage", "transitions.csv", "+L3,sql,2026-01-04", 1),
    ("transitions.duplicate", "transitions.csv", "+L1,mql,2026-01-03", 1),
    (
        "policy.crm_disagreement",
        "leads.csv",
        "L2,2026-01-02,ads,b@x.com,20 -> L2,2026-01-02,ads,b@x.com,5",
        1,
    ),
    ("policy.stage_never_reached", "transitions.csv", "L1,won,2026-01-04\n -> ", 1),
]


def test_rates_count_leads_and_channels(clean: Project) -> None:
    # L2's score falls below the MQL requirement while its CRM record stays (1 of 4 leads),
    # and a new lead's channel has no spend (1 of the 3 lead channels).
    path = clean.root / "leads.csv"
    text = path.read_text().replace("L2,2026-01-02,ads,b@x.com,20", "L2,2026-01-02,ads,b@x.com,5")
    path.write_text(text + "L4,2026-01-01,organic,f@x.com,20\n")
    found = findings(clean)
    assert found["policy.crm_disagreement"]["message"].startswith("1 (25.0%) leads are at")
    assert found["leads.channel_without_spend"]["message"].startswith("1 (33.3%) lead channels")
    assert found["leads.channel_without_spend"]["examples"] == [
        {"file": "leads.csv", "row": 4, "value": "organic"}
    ]


@pytest.mark.parametrize(("check_id", "file", "change", "count"), CASES, ids=[c[0] for c in CASES])
def test_each_check_raises_exactly_its_finding(
    clean: Project, check_id: str, file: str, change: str, count: int
) -> None:
    path = clean.root / file
    text = path.read_text()
    if change.startswith("+"):
        text += change[1:] + "\n"
    else:
        old, new = change.split(" -> ")
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)
    found = findings(clean)
    assert list(found) == [check_id]
    assert found[check_id]["count"] == count
    assert found[check_id]["severity"] == CATALOGUE[check_id].severity
    run = check(clean)
    assert run.exit_code == (1 if CATALOGUE[check_id].severity == "error" else 0)


def test_future_created_at(clean: Project) -> None:
    # Without a spend input (a future lead is also after the last spend day).
    clean.policy(POLICY.replace("  spend: {path: spend.csv}\n", ""))
    clean.write("leads.csv", LEADS + "L4,2099-01-01,web,f@x.com,20\n")
    found = findings(clean)
    assert list(found) == ["leads.future_created_at"]
    assert found["leads.future_created_at"]["examples"][0] == {
        "file": "leads.csv",
        "row": 4,
        "value": "2099-01-01T00:00:00+00:00",
    }


def test_mixed_currency(clean: Project) -> None:
    clean.write(
        "spend.csv",
        "date,channel,amount,currency\n"
        + "".join(f"{line},USD\n" for line in SPEND.splitlines()[1:])
        + "2026-01-01,web,99,EUR\n",
    )
    found = findings(clean)
    assert list(found) == ["spend.mixed_currency"]
    assert found["spend.mixed_currency"]["message"] == (
        "1 (20.0%) spend rows in spend.csv are not in USD; excluded."
    )


def test_targets_fail_only_with_flag(clean: Project) -> None:
    clean.policy(POLICY + "targets:\n  mql.rate: {gte: 0.9}\n  sql.cost_per: {lte: 100}\n")
    assert check(clean).exit_code == 0
    run = check(clean, "--targets", "--format", "json")
    assert run.exit_code == 1
    (missed,) = run.json()["findings"]
    assert missed["id"] == "policy.target_missed"
    assert missed["count"] == 1  # mql.rate 2/3 < 0.9; sql.cost_per $40 / 1 = 40 <= 100 is met
    assert missed["examples"][0]["value"] == "mql.rate = 0.6667 (target ≥ 0.9)"


def test_messages_say_what_and_where(clean: Project) -> None:
    clean.write("transitions.csv", TRANSITIONS + "L9,mql,2026-01-02\nL8,sql,2026-01-02\n")
    found = findings(clean)
    assert found["transitions.unknown_lead"]["message"] == (
        "2 (28.6%) transitions refer to lead ids that are not in leads.csv; ignored."
    )
    assert found["transitions.unknown_lead"]["examples"] == [
        {"file": "transitions.csv", "row": 6, "value": "L9"},
        {"file": "transitions.csv", "row": 7, "value": "L8"},
    ]


def test_at_most_five_examples(clean: Project) -> None:
    clean.write(
        "transitions.csv", TRANSITIONS + "".join(f"L9{i},mql,2026-01-02\n" for i in range(8))
    )
    finding = findings(clean)["transitions.unknown_lead"]
    assert finding["count"] == 8
    assert [e["row"] for e in finding["examples"]] == [6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    ("quality", "severity", "exit_code"),
    [
        ("{leads.duplicate_id: {severity: warning}}", "warning", 0),
        ("{leads.duplicate_id: {max_rate: 0.5}}", "warning", 0),  # 1 of 4 rows: within 50%
        ("{leads.duplicate_id: {max_rate: 0.1}}", "error", 1),
        ("{leads.duplicate_id: {max_count: 0}}", "error", 1),
        ("{leads.duplicate_id: {max_count: 1, max_rate: 0.1}}", "error", 1),  # every limit
        ("{transitions.duplicate: {severity: error}}", None, 1),
    ],
)
def test_quality_overrides(
    clean: Project, quality: str, severity: str | None, exit_code: int
) -> None:
    clean.policy(POLICY + f"quality: {quality}\n")
    clean.write("leads.csv", LEADS + "L1,2026-01-02,web,e@x.com,20\n")
    clean.write("transitions.csv", TRANSITIONS + "L1,mql,2026-01-03\n")
    run = check(clean, "--format", "json")
    assert run.exit_code == exit_code
    found = {f["id"]: f for f in run.json()["findings"]}
    if severity:
        assert found["leads.duplicate_id"]["severity"] == severity
    else:
        assert found["transitions.duplicate"]["severity"] == "error"


def test_unknown_quality_id_is_config_error(clean: Project) -> None:
    clean.policy(POLICY + "quality: {leads.dupes: {severity: info}}\n")
    run = check(clean)
    assert run.exit_code == 2
    assert "quality.leads.dupes: unknown check id" in run.stderr


def test_unreadable_input_is_exit_3(clean: Project) -> None:
    (clean.root / "spend.csv").unlink()
    run = check(clean)
    assert run.exit_code == 3
    assert "spend.csv not found" in run.stderr


def _broken(clean: Project) -> None:
    clean.write("leads.csv", LEADS + "L1,2026-01-02,web,e@x.com,20\n")  # duplicate id: error
    clean.write("transitions.csv", TRANSITIONS + "L3,mql,2026-01-01\n")  # before creation


def test_json_format(clean: Project) -> None:
    _broken(clean)
    run = check(clean, "--format", "json")
    data = run.json()
    assert (run.exit_code, data["schema"], data["status"]) == (1, "funnel.check/1", "fail")
    for f in data["findings"]:
        assert set(f) == {"id", "severity", "count", "message", "examples"}
        assert f["severity"] in ("error", "warning", "info")
        for e in f["examples"]:
            assert set(e) == {"file", "row", "value"}
    assert [f["id"] for f in data["findings"]] == [
        "leads.duplicate_id",
        "transitions.before_created",
    ]


def test_junit_format(clean: Project) -> None:
    _broken(clean)
    run = check(clean, "--format", "junit")
    assert run.exit_code == 1
    suite = ET.fromstring(run.stdout.encode())
    cases = suite.findall("testcase")
    assert len(cases) == len(CATALOGUE) == int(suite.get("tests"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["leads.duplicate_id"]
    assert suite.get("failures") == "1"
    warned = next(c for c in cases if c.get("name") == "transitions.before_created")
    assert "warning: 1 " in warned.find("system-out").text


GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) (file=(?P<file>[^,]+),line=(?P<line>\d+),)?title=[\w.]+::.+$"
)


def test_github_format(clean: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken(clean)
    monkeypatch.chdir(clean.root)
    run = check(clean, "--format", "github")
    assert run.exit_code == 1
    *annotations, summary = run.stdout.splitlines()
    matches = [GITHUB_LINE.match(line) for line in annotations]
    assert all(matches), annotations
    assert [(m.group(1), m.group("file"), m.group("line")) for m in matches] == [
        ("error", "leads.csv", "5"),  # data row 4 is line 5 (after the header)
        ("warning", "transitions.csv", "7"),
    ]
    assert summary.startswith("funnel check: FAIL — 1 error, 1 warning, 0 info")


def test_table_format_groups_by_file_errors_first(clean: Project) -> None:
    _broken(clean)
    run = check(clean)
    out = run.stdout
    assert out.startswith("funnel check: FAIL")
    assert re.search(r"leads\.csv\s+error\s+leads\.duplicate_id", out)
    assert out.index("leads.duplicate_id") < out.index("transitions.before_created")
    assert "row 4: 'L1'" in out


def test_output_file(clean: Project, tmp_path: Path) -> None:
    _broken(clean)
    target = tmp_path / "check.xml"
    run = check(clean, "--format", "junit", "--output", str(target))
    assert (run.exit_code, run.stdout) == (1, "")
    assert ET.parse(target).getroot().tag == "testsuite"


def test_report_shows_the_same_findings(clean: Project) -> None:
    _broken(clean)
    report = invoke("report", "--config", clean.config, "--format", "json")
    assert report.exit_code == 0
    check_ids = {f["id"]: f["count"] for f in check(clean, "--format", "json").json()["findings"]}
    assert {w["code"]: w["count"] for w in report.json()["warnings"]} == check_ids
    assert "data error: leads.duplicate_id: 1 (25.0%)" in report.stderr


def test_sample_data_fails_on_its_built_in_faults() -> None:
    run = invoke("check", "--config", "config.example.yaml", "--format", "json")
    assert run.exit_code == 1
    found = {f["id"]: (f["severity"], f["count"]) for f in run.json()["findings"]}
    assert found["leads.duplicate_id"] == ("error", 5)
    assert found["leads.bad_created_at"] == ("error", 1)
    assert found["transitions.before_created"] == ("warning", 3)
    assert found["leads.channel_without_spend"] == ("info", 1)  # organic
    assert {sev for sev, _ in found.values()} <= {"error", "warning", "info"}
    assert [i for i, (sev, _) in found.items() if sev == "error"] == [
        "leads.bad_created_at",
        "leads.duplicate_id",
    ]


def test_channel_without_spend_examples_are_each_channels_first_row(clean: Project) -> None:
    # organic first at row 4, referral at row 5; later rows of both must not be the example.
    extra = "L4,2026-01-01,organic,f@x.com,20\nL5,2026-01-01,referral,g@x.com,20\n"
    extra += "L6,2026-01-01,referral,h@x.com,20\nL7,2026-01-01,organic,i@x.com,20\n"
    clean.write("leads.csv", LEADS + extra)
    found = findings(clean)["leads.channel_without_spend"]
    assert found["count"] == 2
    assert [(e["row"], e["value"]) for e in found["examples"]] == [(4, "organic"), (5, "referral")]


def test_first_rows_picks_by_file_then_row_in_any_frame_order() -> None:
    rows = [("b.csv", 1, "x"), ("a.csv", 7, "x"), ("a.csv", 3, "y"), ("b.csv", 2, "y")]
    rows += [("a.csv", 9, "x"), ("b.csv", 1, "z"), ("a.csv", 5, "y")]
    frame = pl.DataFrame(rows, schema=[FILE, ROW, "channel"], orient="row")
    frame = frame.with_columns(pl.col(FILE).cast(pl.Categorical), pl.col(ROW).cast(pl.UInt32))
    for seed in range(5):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        got = first_rows(shuffled, "channel", pl.lit(True)).select(FILE, ROW, "channel").rows()
        assert got == [("a.csv", 3, "y"), ("a.csv", 7, "x"), ("b.csv", 1, "z")]
        got = first_rows(shuffled, "channel", pl.col(ROW) != 3).rows()
        assert got == [("a.csv", 5, "y"), ("a.csv", 7, "x"), ("b.csv", 1, "z")]
