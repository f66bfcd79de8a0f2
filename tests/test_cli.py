"""Every command and format through the CLI, plus the golden report of the bundled sample."""

from __future__ import annotations

import csv
import io
import json
import os
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from funnelcli.measure.metrics import Query
from funnelcli.pipeline import run_report
from funnelcli.policy.config import load_policy
from funnelcli.render.progress import progress
from funnelcli.scaffold import starter_text
from tests.conftest import ROOT, Project, invoke, report_json

EXAMPLE = ROOT / "config.example.yaml"
GOLDEN = Path(__file__).parent / "golden" / "sample_report.json"
SMALL_LEADS = """
lead_id,created_at,channel,campaign
L1,2026-01-01,adwords,=cmd
L2,2026-01-02,web,
"""


@pytest.fixture
def small(project: Project) -> Project:
    # paid_search: 1 lead, $40 spend -> CPL 40; web: 1 lead, no spend; L1 MQL after 2 days.
    project.write("leads.csv", SMALL_LEADS)
    project.write("spend.csv", "date,channel,campaign,amount\n2026-01-01,adwords,=cmd,40\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,mql,2026-01-03\n")
    return project


def test_help_lists_commands() -> None:
    run = invoke("--help")
    assert run.exit_code == 0
    for command in ("report", "score", "init", "sample"):
        assert command in run.stdout


@pytest.mark.parametrize("command", ["report", "score", "init", "sample"])
def test_every_command_has_help(command: str) -> None:
    run = invoke(command, "--help")
    assert run.exit_code == 0
    assert "Usage" in run.stdout


def test_version() -> None:
    run = invoke("--version")
    assert (run.exit_code, run.stdout.startswith("funnel ")) == (0, True)


def test_table_report_reads_well(small: Project) -> None:
    run = invoke("report", "--config", small.config)
    assert run.exit_code == 0, run.stderr
    out = run.stdout
    assert "Funnel report  cohort basis · all dates · 2 leads in cohort" in out
    assert "Volume & cost" in out and "Conversion (count, step rate; a 95% range" in out
    assert "Days from the previous stage (median / p90)" in out
    lines = out.splitlines()
    paid = next(line for line in lines if line.startswith("paid_search") and "$" in line)
    assert paid.split()[:4] == ["paid_search", "1", "$40.00", "$40.00"]
    conversion = [line for line in lines if line.startswith("paid_search")][1]
    # One lead is too few for a rate: the 95% Wilson range of 1/1 is shown instead.
    assert conversion.split()[:4] == ["paid_search", "1", "1", "(21–100%)"]
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert "—" in out  # web has no spend: null shown as a dash, not 0


def test_json_report_equals_library_result(small: Project) -> None:
    data = report_json(small)
    assert data == run_report(load_policy(small.config), Query()).as_dict()
    assert data["schema"] == "funnel.report/1"
    assert data["group_by"] == ["channel"]
    assert data["total"]["stages"]["mql"]["days"] == {"median": 2.0, "p90": 2.0}


def test_csv_report_is_formula_safe_with_total_line(small: Project) -> None:
    run = invoke("report", "--config", small.config, "--format", "csv", "--by", "campaign")
    assert run.exit_code == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["campaign"] for r in rows] == ["'=cmd", "", "TOTAL"]
    # Money sums to the cent, money ratios to 4 decimals, rates without trailing noise.
    assert (rows[0]["leads"], rows[0]["spend"], rows[0]["cpl"]) == ("1", "40.00", "40.0000")
    assert rows[0]["mql_rate"] == "1"
    assert rows[1]["spend"] == ""  # null
    header = run.stdout.splitlines()[0].split(",")
    # The first stage's rate, cost and days are undefined by definition: not written.
    assert header[:7] == [
        "campaign",
        "leads",
        "spend",
        "cpl",
        "lead_count",
        "mql_count",
        "mql_rate",
    ]
    assert "won_days_p90" in header


def test_markdown_report(small: Project) -> None:
    run = invoke("report", "--config", small.config, "--format", "markdown")
    assert run.exit_code == 0, run.stderr
    md = run.stdout
    assert md.startswith("## Funnel report\n")
    assert "2 leads (all dates, cohort basis) cost $40.00 (CPL $20.00)" in md
    assert "| paid_search | 1 | $40.00 | $40.00 |" in md
    assert "| **Total** | **2** | **$40.00** | **$20.00** |" in md


def test_output_file_is_written_atomically(small: Project, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    run = invoke("report", "--config", small.config, "--format", "json", "--output", target)
    assert (run.exit_code, run.stdout) == (0, "")
    assert json.loads(target.read_text())["total"]["leads"] == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)


def test_table_to_output_file_has_no_colour(small: Project, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    run = invoke("report", "--config", small.config, "--output", target)
    assert run.exit_code == 0
    assert "\x1b[" not in target.read_text()
    assert "Volume & cost" in target.read_text()


def test_warnings_go_to_stderr_and_quiet_silences_them(small: Project) -> None:
    small.write("leads.csv", SMALL_LEADS + "L3,someday,web,\n")
    run = invoke("report", "--config", small.config, "--format", "json")
    assert "data error: leads.bad_created_at: 1 (33.3%)" in run.stderr
    assert "leads.csv: 3" in run.stderr
    assert json.loads(run.stdout)["warnings"][0]["count"] == 1
    quiet = invoke("report", "--config", small.config, "--format", "json", "--quiet")
    assert quiet.stderr == ""


def test_score_command_csv(small: Project) -> None:
    run = invoke("score", "--config", small.config)
    assert run.exit_code == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["lead_id"] for r in rows] == ["L1", "L2"]
    assert rows[0]["mql_reached"] == "true"
    assert rows[0]["mql_at"] == "2026-01-03T00:00:00+00:00"
    assert rows[1]["mql_at"] == ""
    assert list(rows[0])[:4] == ["lead_id", "created_at", "channel", "score"]


def test_init_writes_starter_and_refuses_overwrite(tmp_path: Path) -> None:
    run = invoke("init", tmp_path / "proj")
    assert run.exit_code == 0, run.stderr
    written = tmp_path / "proj" / "funnel.yaml"
    schema_line = "# yaml-language-server: $schema=funnel.schema.json\n"
    assert written.read_text() == schema_line + starter_text()
    again = invoke("init", tmp_path / "proj")
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert written.read_text() == schema_line + starter_text()


def test_init_then_sample_then_report(tmp_path: Path) -> None:
    assert invoke("init", tmp_path).exit_code == 0
    assert invoke("sample", "--leads", "300", "--out", tmp_path / "data").exit_code == 0
    run = invoke("report", "--config", tmp_path / "funnel.yaml", "--format", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["total"]["leads"] == 300


def test_config_example_is_the_starter_for_sample_data() -> None:
    assert EXAMPLE.read_text() == starter_text("sample_data")


def test_sample_is_deterministic_and_matches_bundled_data(tmp_path: Path) -> None:
    run = invoke("sample", "--seed", "7", "--out", tmp_path)
    assert run.exit_code == 0, run.stderr
    for name in ("leads.csv", "spend.csv", "transitions.csv", "traffic.csv"):
        assert (tmp_path / name).read_bytes() == (ROOT / "sample_data" / name).read_bytes(), name


def test_sample_parquet(tmp_path: Path) -> None:
    run = invoke("sample", "--leads", "200", "--format", "parquet", "--out", tmp_path)
    assert run.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "leads.parquet",
        "spend.parquet",
        "traffic.parquet",
        "transitions.parquet",
    ]


def test_sample_data_has_the_promised_shape() -> None:
    data = run_report(load_policy(EXAMPLE), Query()).as_dict()
    channels = {r["group"]["channel"]: r for r in data["rows"]}
    assert len(channels) == 6
    assert channels["organic"]["spend"] is None  # organic: no spend rows
    assert channels["display"]["leads"] < 20 < channels["display"]["spend"]  # paid, no leads
    codes = {w["code"] for w in data["warnings"]}
    assert {"leads.duplicate_id", "transitions.before_created"} <= codes
    campaigns = run_report(load_policy(EXAMPLE), Query(by=["campaign"])).as_dict()
    assert len([r for r in campaigns["rows"] if r["group"]["campaign"]]) == 10
    by_type = run_report(load_policy(EXAMPLE), Query(by=["lead_type"])).as_dict()
    sql_rate = {r["group"]["lead_type"]: r["stages"]["sql"]["rate"] for r in by_type["rows"]}
    assert sql_rate["demo_request"] > 3 * sql_rate["ebook"]


def test_golden_sample_report() -> None:
    """The sample report, pinned. Regenerate with UPDATE_GOLDEN=1 after a deliberate change."""
    run = invoke("report", "--config", EXAMPLE, "--format", "json")
    assert run.exit_code == 0, run.stderr
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(run.stdout)
    assert run.json() == json.loads(GOLDEN.read_text())


def test_progress_steps_are_reported(small: Project) -> None:
    # The CLI shows these on a terminal (stderr spinner); piped or in tests it shows nothing.
    steps: list[str] = []
    run_report(load_policy(small.config), Query(), step=steps.append)
    assert steps == [
        "reading leads (leads.csv)",
        "scoring 2 leads",
        "reading spend (spend.csv)",
        "reading stage transitions of 2 leads",
        "qualifying 2 leads",
        "checking data quality",
        "measuring",
    ]
    assert "reading" not in invoke("report", "--config", small.config).stderr


def test_progress_spinner_on_a_terminal() -> None:
    out = StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    with progress(console, enabled=True) as step:
        step("reading leads")
    with progress(console, enabled=False) as step:
        step("hidden")
    assert "reading leads" in out.getvalue()
    assert "hidden" not in out.getvalue()
