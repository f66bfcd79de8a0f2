"""Input options of docs/inputs.md: types, null_values, split transition inputs, wide layout."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from funnelcli.cli import app
from funnelcli.inputs.parse import infer_types
from tests.conftest import BASE_POLICY, Project, invoke, report_json, warning

SCORED = BASE_POLICY.format(timezone="UTC").replace(
    "aliases: [Marketing Qualified Lead]}", "requires: {field: size, gte: 50}}"
)


def _leads_with_sizes(project: Project, sizes: list[str]) -> None:
    rows = "".join(f"L{i},2026-01-01,web,{s}\n" for i, s in enumerate(sizes))
    project.write("leads.csv", "lead_id,created_at,channel,size\n" + rows)
    project.write(
        "transitions.csv",
        "lead_id,stage,entered_at\n" + "".join(f"L{i},mql,2026-01-02\n" for i in range(len(sizes))),
    )


def test_type_comes_from_the_whole_column(project: Project) -> None:
    # 2,000 integer sizes, then one decimal at the very end: the column is a float column
    # and the comparison works on every row (51.5 >= 50; 3 of the ints are >= 50).
    project.policy(SCORED)
    _leads_with_sizes(project, ["10"] * 1997 + ["50", "60", "70", "51.5"])
    assert report_json(project)["total"]["stages"]["mql"]["count"] == 4


def test_a_few_valued_column_is_typed_from_every_row(project: Project) -> None:
    # The first 10,000 sizes repeat one value, so the column is read as a categorical; the
    # text after them must still make it a text column (a rule comparing it fails).
    project.policy(SCORED)
    _leads_with_sizes(project, ["60"] * 10_000 + ["N/A"])
    run = invoke("report", "--config", project.config)
    assert run.exit_code == 2
    assert "stages[1].requires.gte" in run.stderr


# Repeated 20 times, a column's values are few (at most one distinct in ten): it is read
# as a categorical and typed once per distinct value. Either way the outcome is the same.
REPEATS = pytest.mark.parametrize("repeat", [1, 20], ids=["text", "few-valued"])


@REPEATS
def test_stray_text_makes_a_text_column_with_a_hint(project: Project, repeat: int) -> None:
    project.policy(SCORED)
    _leads_with_sizes(project, ["60", "N/A"] * repeat)
    run = invoke("report", "--config", project.config)
    assert run.exit_code == 2
    assert "stages[1].requires.gte" in run.stderr
    assert "null_values" in run.stderr and "types:" in run.stderr


@REPEATS
def test_null_values_fix_stray_text(project: Project, repeat: int) -> None:
    project.policy(
        SCORED.replace("leads: {path: leads.csv}", 'leads: {path: leads.csv, null_values: ["N/A"]}')
    )
    _leads_with_sizes(project, ["60", "N/A", "10"] * repeat)
    assert report_json(project)["total"]["stages"]["mql"]["count"] == repeat


@REPEATS
def test_types_force_a_column_type(project: Project, repeat: int) -> None:
    # Forced to float: "N/A" becomes null (comparison false) instead of making it text.
    project.policy(
        SCORED.replace("leads: {path: leads.csv}", "leads: {path: leads.csv, types: {size: float}}")
    )
    _leads_with_sizes(project, ["60", "N/A", "55.5"] * repeat)
    assert report_json(project)["total"]["stages"]["mql"]["count"] == 2 * repeat


def test_split_transition_inputs_with_fixed_stage(project: Project) -> None:
    # CRMs export one file per object: MQL/SQL history, and a deals file whose won_date is
    # the date each lead entered `won` (stage: won instead of a stage column).
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "  transitions: {path: transitions.csv}",
            "  transitions:\n"
            "    - {path: transitions.csv}\n"
            "    - {path: deals.csv, stage: won, columns: {entered_at: won_date, lead_id: contact}}",
        )
    )
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-01,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,mql,2026-01-02\n")
    project.write("deals.csv", "deal,contact,won_date\nD1,L2,2026-01-09\n")
    stages = report_json(project)["total"]["stages"]
    # L1: mql only. L2: won only -> back-filled through mql and sql.
    assert [stages[s]["count"] for s in ("mql", "sql", "won")] == [2, 1, 1]


def test_transitions_optional_with_date_columns(project: Project) -> None:
    policy = (
        "version: 1\ninputs:\n  leads: {path: leads.csv}\nstages:\n  - {id: lead}\n"
        '  - {id: mql, date_column: "MQL Date"}\n  - {id: won, date_column: "Won Date"}\n'
    )
    project.policy(policy)
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,MQL Date,Won Date\nL1,2026-01-01,web,2026-01-03,\n"
        "L2,2026-01-01,web,,2026-01-05\nL3,2026-01-01,web,,\n",
    )
    data = report_json(project)
    assert [data["total"]["stages"][s]["count"] for s in ("lead", "mql", "won")] == [3, 2, 1]
    assert data["total"]["spend"] is None  # no spend input: every cost metric is null
    assert data["total"]["cpl"] is None


def test_transitions_required_when_a_stage_has_no_date_column(project: Project) -> None:
    project.policy(
        "version: 1\ninputs:\n  leads: {path: leads.csv}\nstages:\n  - {id: lead}\n  - {id: mql}\n"
    )
    run = invoke("report", "--config", project.config)
    assert run.exit_code == 2
    assert "no transitions input, but stages mql need CRM evidence" in run.stderr


def test_policy_stage_crm_rows_count_for_earlier_stages(project: Project) -> None:
    # sql is decided by the policy alone, but L1's CRM sql record (Jan 4) still proves mql
    # (crm[mql] = min(first[mql], first[sql], ...)). at[mql] = Jan 4, at[sql] = at[mql].
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "{id: sql, name: SQL}", "{id: sql, name: SQL, evidence: policy}"
        )
    )
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01,web\n")
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,sql,2026-01-04\n")
    stages = report_json(project)["total"]["stages"]
    assert (stages["mql"]["count"], stages["sql"]["count"]) == (1, 1)
    assert stages["mql"]["days"]["median"] == 3.0
    assert stages["sql"]["days"]["median"] == 0.0


def test_debug_shows_a_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--debug", "report", "--config", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr
    assert "not found" in result.stderr


def test_type_inference_reads_past_the_first_thousand_values() -> None:
    # Inference checks the head first for speed; a late value must still decide the type.
    numbers = [str(i) for i in range(1500)]
    frame = pl.DataFrame(
        {
            "ints": numbers,
            "late_text": [*numbers[:1400], "n/a", *numbers[1401:]],
            "late_float": [*numbers[:1200], "2.5", *numbers[1201:]],
        }
    )
    assert infer_types(frame, ["ints", "late_text", "late_float"]) == {
        "ints": "int",
        "late_text": "str",
        "late_float": "float",
    }


def test_email_is_compared_and_grouped_normalised(project: Project) -> None:
    # Case and padding do not make another address: L2 repeats L1's e-mail (found by the
    # check), and --by email groups both under the lower-cased address; a blank is none.
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,email\n"
        "L1,2026-01-01,web,A@X.com\nL2,2026-01-02,web, a@x.COM \nL3,2026-01-03,web,\n",
    )
    data = report_json(project, "--by", "email")
    groups = {row["group"]["email"]: row["leads"] for row in data["rows"]}
    assert groups == {"a@x.com": 2, None: 1}
    found = warning(data, "leads.duplicate_email")
    assert found["count"] == 1 and found["examples"][0]["value"] == "a@x.com"
