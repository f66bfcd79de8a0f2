"""No number that is not the number: empty and stale exports, --strict, exact CSV figures,
one base for the stage figures, and config errors that name the field."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_POLICY, Project, invoke, warning

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.yaml"


def _funnel(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "funnelcli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


def _empty_sample(tmp_path: Path) -> Path:
    """The example policy (scoring on job_title, company_size…) over header-only exports."""
    (tmp_path / "data").mkdir()
    for name in ("leads", "spend", "transitions", "traffic"):
        header = (ROOT / "sample_data" / f"{name}.csv").read_text().splitlines()[0]
        (tmp_path / "data" / f"{name}.csv").write_text(header + "\n")
    config = tmp_path / "funnel.yaml"
    config.write_text(EXAMPLE.read_text().replace("sample_data/", "data/"))
    return config


def test_header_only_exports_are_a_report_of_zero_leads(tmp_path: Path) -> None:
    # Every rule column is empty: no type, so `gte: 50` is simply false, not a config error.
    config = _empty_sample(tmp_path)
    run = _funnel("report", "-c", config)
    assert run.returncode == 0, run.stderr
    lead_line = next(line for line in run.stdout.splitlines() if line.startswith("Lead "))
    assert "100.0%" not in lead_line and "—" in lead_line
    assert "0 leads in cohort" in run.stdout
    data = invoke("report", "-c", config, "-f", "json", "-q").json()
    assert data["total"]["leads"] == 0 and data["total"]["cpl"] is None
    check = invoke("check", "-c", config, "-f", "json")
    assert check.exit_code == 1
    empty = next(f for f in check.json()["findings"] if f["id"] == "input.empty")
    assert empty["severity"] == "error"
    assert [e["file"] for e in empty["examples"]] == ["leads.csv", "spend.csv"]


def test_a_header_only_spend_export_fails_check(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    run = invoke("check", "-c", project.config, "-f", "json")
    assert run.exit_code == 1
    assert [
        f["examples"][0]["file"] for f in run.json()["findings"] if f["id"] == "input.empty"
    ] == ["spend.csv"]


def test_leads_with_rows_and_none_usable_exit_3(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nA,31/31/2026,web\n,2026-01-01,web\n")
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3
    assert "none of its 2 lead rows can be used" in run.stderr
    assert "leads.bad_created_at: 1 (first: row 1, '31/31/2026')" in run.stderr


def test_stale_exports_say_so() -> None:
    # The sample ends on 2026-10-31; last week of November has no data because it was not
    # exported yet, not because nothing happened.
    args = ["report", "-c", EXAMPLE, "--last", "1w", "--as-of", "2026-11-29"]
    run = _funnel(*args, "-f", "json")
    assert run.returncode == 0
    stale = warning(__import__("json").loads(run.stdout), "input.stale")
    assert stale["message"].startswith(
        "The exports end before the window does: leads end on 2026-10-31, spend ends on "
        "2026-10-31; the window runs to 2026-11-29."
    )
    assert "input.stale" in run.stderr
    markdown = _funnel(*args, "-f", "markdown", "-q").stdout
    assert "`input.stale`: The exports end before the window does" in markdown
    fresh = invoke(*args[:-1], "2026-11-02", "-f", "json", "-q").json()
    assert "input.stale" not in {w["code"] for w in fresh["warnings"]}  # 2 days: not stale
    check = invoke("check", "-c", EXAMPLE, "-f", "json", "--as-of", "2026-11-29").json()
    assert "input.stale" in {f["id"] for f in check["findings"]}


def test_strict_fails_on_any_data_error_before_writing(project: Project, tmp_path: Path) -> None:
    # A third of the spend is in EUR: excluded, so CPL is not what the user thinks; --strict
    # must refuse it (it is an error finding though no row is "dropped").
    project.write("leads.csv", "lead_id,created_at,channel\nA,2026-03-02,web\n")
    project.write(
        "spend.csv",
        "date,channel,amount,currency\n2026-03-02,web,10,USD\n2026-03-02,web,5,EUR\n",
    )
    out = tmp_path / "out" / "report.csv"
    out.parent.mkdir()
    run = invoke("report", "-c", project.config, "--strict", "-f", "csv", "--output", out)
    assert run.exit_code == 3
    assert "spend.mixed_currency" in run.stderr
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert invoke("report", "-c", project.config, "-f", "csv", "--output", out).exit_code == 0


def test_csv_figures_are_exact(project: Project) -> None:
    # 0.1 + 0.2 of spend is 0.30, not 0.30000000000000004; 1,000 leads on 1.25 cost
    # 0.00125 each, 0.0012 rounded half-even (0.0013 half-up); a third is 0.333333333333.
    leads = "".join(f"L{i},2026-03-02,web\n" for i in range(1000))
    project.write("leads.csv", "lead_id,created_at,channel\n" + leads)
    project.write("transitions.csv", "lead_id,stage,entered_at\n" + "".join(
        f"L{i},mql,2026-03-03\n" for i in range(333)
    ))  # fmt: skip
    project.write("spend.csv", "date,channel,amount\n2026-03-02,web,0.1\n2026-03-02,web,0.2\n")
    text = invoke("report", "-c", project.config, "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["spend"] == "0.30"
    assert rows[0]["cpl"] == "0.0003"
    assert rows[0]["mql_rate"] == "0.333"
    project.write("spend.csv", "date,channel,amount\n2026-03-02,web,1.25\n")
    rows = list(
        csv.DictReader(io.StringIO(invoke("report", "-c", project.config, "-f", "csv").stdout))
    )
    assert rows[0]["cpl"] == "0.0012"
    assert rows[0]["mql_days_median"] == "1"
    assert "lead_rate" not in rows[0] and "lead_days_median" not in rows[0]


def test_one_base_for_the_stage_figures() -> None:
    # --within 30 on 2026-06-30: the stages count the leads created by 2026-05-31 and cost
    # the spend to that day; the Lead row's count and cost are over that same base.
    args = ["report", "-c", EXAMPLE, "--every", "week", "--within", "30", "--as-of", "2026-06-30"]
    data = invoke(*args, "-f", "json", "-q").json()
    total = data["total"]
    base = total["stages"]["lead"]["count"]
    assert base == total["leads"] - total["immature_leads"]
    text = invoke(*args, "-q").stdout
    assert f"Stages and their costs count the {base:,} leads created by 2026-05-31" in text
    spend_to_cutoff = total["stages"]["mql"]["cost_per"] * total["stages"]["mql"]["count"]
    lead_line = next(line for line in text.splitlines() if line.startswith("Lead "))
    assert f"${spend_to_cutoff / base:,.2f}" in lead_line
    assert f"{base:,}" in lead_line


def test_a_type_mismatch_names_the_field(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel,job_title\nA,2026-03-02,web,CEO\n")
    policy = BASE_POLICY.format(timezone="UTC").replace(
        "  - {id: mql, name: MQL, aliases: [Marketing Qualified Lead]}",
        "  - {id: mql, name: MQL, requires: {field: job_title, gte: 50}}",
    )
    project.policy(policy)
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 2
    assert "'gte' compares with 50, but 'job_title' holds text." in run.stderr
    assert "funnel.yaml:12: stages[1].requires.gte" in run.stderr
