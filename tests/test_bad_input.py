"""Bad input: one clear message (file, row or YAML line, what, what to do), the documented
exit code, no traceback, no half-written output."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import (
    AMBIENT,
    BASE_POLICY,
    Project,
    Run,
    codes,
    invoke,
    report_json,
    row,
    warning,
)

GOOD_LEADS = "lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-02,ads\n"


def report(project: Project, *args: str | Path) -> Run:
    return invoke("report", "--config", project.config, *args)


def assert_fails(run: Run, code: int, *fragments: str) -> None:
    assert run.exit_code == code, (run.exit_code, run.stderr, run.stdout)
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    for fragment in fragments:
        assert fragment in run.stderr, run.stderr
    # One message: the error line plus, at most, its listed problems.
    assert run.stderr.startswith("error: ")


# ---- config (exit 2) -----------------------------------------------------------------------


def test_missing_config_file(tmp_path: Path) -> None:
    run = invoke("report", "--config", tmp_path / "nope.yaml")
    assert_fails(run, 2, "nope.yaml not found", "funnel init")


def test_default_config_missing_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_fails(invoke("report"), 2, "funnel.yaml not found")


def test_yaml_syntax_error_names_line(project: Project) -> None:
    project.policy("version: 1\ninputs:\n  leads: {path: leads.csv\nstages: []\n")
    assert_fails(report(project), 2, "funnel.yaml:4", "invalid YAML")


def test_duplicate_yaml_key(project: Project) -> None:
    project.policy(BASE_POLICY.format(timezone="UTC") + "currency: EUR\n")
    assert_fails(report(project), 2, "funnel.yaml:16", "duplicate key 'currency'")


def test_unknown_key_lists_allowed_ones(project: Project) -> None:
    text = BASE_POLICY.format(timezone="UTC").replace("  spend:", "  spennd:")
    project.policy(text)
    assert_fails(report(project), 2, "funnel.yaml:6", "inputs.spennd: unknown key", "leads, spend")


def test_yaml_boolean_where_text_expected(project: Project) -> None:
    project.policy(BASE_POLICY.format(timezone="UTC").replace("currency: USD", "currency: NO"))
    assert_fails(report(project), 2, "funnel.yaml:2: currency", "YAML boolean", "quote")


def test_wrong_type_for_points(project: Project) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  fit:\n    - {when: {field: channel, eq: web}, points: lots}\n"
    )
    assert_fails(report(project), 2, "funnel.yaml:18", "scoring.fit[0].points")


def test_unknown_rule_field(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "aliases: [Marketing Qualified Lead]}", "requires: {field: budgett, gt: 0}}"
        )
    )
    assert_fails(
        report(project), 2, "funnel.yaml:12: stages[1].requires", "unknown field 'budgett'"
    )


def test_bad_regex(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + 'scoring:\n  fit:\n    - when: {field: channel, matches: "(unclosed"}\n'
        + "      points: 5\n"
    )
    assert_fails(report(project), 2, "funnel.yaml:18: scoring.fit[0].when.matches", "bad regex")


def test_comparison_on_text_column(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  fit:\n    - {when: {field: channel, gte: 5}, points: 5}\n"
    )
    assert_fails(report(project), 2, "scoring.fit[0].when.gte", "holds text")


def test_unknown_operator(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  fit:\n    - {when: {field: channel, equals: web}, points: 5}\n"
    )
    assert_fails(report(project), 2, "scoring.fit[0].when", "exactly one operator", "equals")


def test_billion_laughs_fails_fast(project: Project) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(
            f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [*{prev}, *{prev}, *{prev}, *{prev}]"
        )
    project.policy("\n".join(lines) + "\n")
    start = time.monotonic()
    run = report(project)
    assert time.monotonic() - start < 10
    assert_fails(run, 2, "expands to more than")


def test_python_object_tag_is_refused(project: Project) -> None:
    project.policy("version: !!python/object/apply:os.system ['echo hi']\n")
    assert_fails(report(project), 2, "funnel.yaml:1", "invalid YAML", "not allowed")


def test_unknown_time_zone(project: Project) -> None:
    project.policy(BASE_POLICY.format(timezone="Mars/Olympus"))
    assert_fails(report(project), 2, "funnel.yaml:3: timezone", "IANA")


def test_unknown_encoding_name(project: Project) -> None:
    text = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}", "leads: {path: leads.csv, encoding: klingon}"
    )
    project.policy(text)
    assert_fails(report(project), 2, "inputs.leads.encoding", "unknown encoding")


def test_single_stage_is_not_a_funnel(project: Project) -> None:
    project.policy("version: 1\ninputs:\n  leads: {path: leads.csv}\nstages:\n  - {id: lead}\n")
    assert_fails(report(project), 2, "funnel.yaml:4: stages", "at least 2 items")


def test_stage_name_used_twice(project: Project) -> None:
    project.policy(BASE_POLICY.format(timezone="UTC").replace("exits: [lost]", "exits: [SQL]"))
    assert_fails(report(project), 2, "exits[0]", "already names stages[2]")


# ---- flags (exit 2) ------------------------------------------------------------------------


def test_since_after_until(project: Project) -> None:
    run = report(project, "--since", "2026-02-01", "--until", "2026-01-01")
    assert_fails(run, 2, "--since 2026-02-01 is after --until 2026-01-01")


def test_since_not_a_date(project: Project) -> None:
    assert_fails(report(project, "--since", "last week"), 2, "not a date", "YYYY-MM-DD")


def test_by_unknown_column(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    assert_fails(
        report(project, "--by", "region"), 2, "cannot group by 'region'", "lead_id, created_at"
    )


def test_by_period_without_every(project: Project) -> None:
    assert_fails(report(project, "--by", "period"), 2, "--every")


def test_output_folder_missing_writes_nothing(project: Project, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "report.json"
    run = report(project, "--format", "json", "--output", target)
    assert_fails(run, 2, "does not exist")
    assert not target.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_folder_not_writable(project: Project, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    assert_fails(report(project, "--output", locked / "r.json"), 2, "not writable")


def test_failed_run_leaves_previous_output_untouched(project: Project, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report\n")
    project.write("leads.csv", "lead_id,created_at\nL1,2026-01-01\n")  # channel missing
    assert_fails(report(project, "--format", "json", "--output", target), 3, "'channel'")
    assert target.read_text() == "previous report\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


# ---- inputs (exit 3) -----------------------------------------------------------------------


def test_missing_input_file(project: Project) -> None:
    (project.root / "spend.csv").unlink()
    assert_fails(report(project), 3, "spend.csv not found", "inputs.spend", "funnel.yaml:6")


def test_missing_required_column(project: Project) -> None:
    project.write("leads.csv", "id,created,channel\nL1,2026-01-01,web\n")
    run = report(project)
    assert_fails(run, 3, "leads.csv: required column 'lead_id' is missing", "id, created")
    assert "Its headers are: id, created, channel." in run.stderr  # no internal columns


def test_mapped_header_absent(project: Project) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "leads: {path: leads.csv}", 'leads: {path: leads.csv, columns: {lead_id: "Record ID"}}'
        )
    )
    project.write("leads.csv", GOOD_LEADS)
    assert_fails(report(project), 3, "'Record ID'", "no such header")


def test_date_column_absent(project: Project) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "aliases: [customer]}", 'aliases: [customer], date_column: "Won Date"}'
        )
    )
    project.write("leads.csv", GOOD_LEADS)
    assert_fails(report(project), 3, "no column 'Won Date'", "stage 'won'", "funnel.yaml:14")


def test_bad_created_at_row_warns_then_strict_fails(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS + "L3,yesterday,web\n")
    data = report_json(project)
    assert data["total"]["leads"] == 2
    bad = warning(data, "leads.bad_created_at")
    assert bad["examples"] == [{"file": "leads.csv", "row": 3, "value": "yesterday"}]
    strict = report(project, "--strict")
    assert_fails(strict, 3, "leads.bad_created_at", "leads.csv row 3", "'yesterday'")


def test_unknown_stage_is_dropped_and_strict_fails(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write("transitions.csv", "lead_id,stage,entered_at\nL1,Nurture,2026-01-03\n")
    data = report_json(project)
    assert codes(data) - AMBIENT == {"transitions.unknown_stage"}
    assert_fails(report(project, "--strict"), 3, "transitions.unknown_stage", "'Nurture'")


def test_non_utf8_file_is_read_as_windows_1252_and_says_so(project: Project) -> None:
    (project.root / "leads.csv").write_bytes(
        b"lead_id,created_at,channel\nL1,2026-01-01,web\nL2,2026-01-02,caf\xe9\n"
    )
    data = report_json(project)
    assert data["total"]["leads"] == 2
    assert row(data, channel="café")["leads"] == 1
    detected = warning(data, "input.detected")["examples"]
    assert detected == [{"file": "leads.csv", "row": None, "value": "encoding windows-1252"}]


def test_latin1_with_encoding_setting_works(project: Project) -> None:
    (project.root / "leads.csv").write_bytes(b"lead_id,created_at,channel\nL1,2026-01-01,caf\xe9\n")
    text = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}", "leads: {path: leads.csv, encoding: latin-1}"
    )
    project.policy(text)
    assert [r["group"]["channel"] for r in report_json(project)["rows"]] == ["café"]


def test_row_with_too_many_cells(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS + "L3,2026-01-03,web,extra\n")
    assert_fails(report(project), 3, "leads.csv: row 3 has 4 cells but the header has 3")


def test_ragged_row_among_the_first_rows_of_a_rule_column(project: Project) -> None:
    # A rule reads `kind`, so its first rows are read ahead to see whether it repeats a few
    # values; that early read must not hide the ragged row from the full read's message.
    project.policy(
        BASE_POLICY.format(timezone="UTC").replace(
            "stages:", "scoring:\n  fit:\n    - {when: {field: kind, eq: demo}, points: 5}\nstages:"
        )
    )
    rows = "L1,2026-01-01,web,demo\nL2,2026-01-02,ads,demo\nL3,2026-01-03,web,demo,extra\n"
    project.write("leads.csv", "lead_id,created_at,channel,kind\n" + rows)
    assert_fails(report(project), 3, "leads.csv: row 3 has 5 cells but the header has 4")


def test_row_with_too_few_cells(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-01-01\nL2,2026-01-02,web\n")
    assert_fails(report(project), 3, "leads.csv: row 1 has 2 cells but the header has 3")


def test_unterminated_quote(project: Project) -> None:
    project.write(
        "leads.csv", 'lead_id,created_at,channel\nL1,2026-01-01,"web\nL2,2026-01-02,ads\n'
    )
    assert_fails(report(project), 3, "leads.csv", "data row 1", "unterminated")


def test_duplicate_header(project: Project) -> None:
    project.write("spend.csv", "date,channel,amount,channel\n2026-01-01,web,1,web\n")
    assert_fails(report(project), 3, "spend.csv", "column 'channel' twice")


def test_blank_and_repeated_headers_of_unused_columns_are_noted(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write("spend.csv", "date,channel,,amount,notes,notes,\n2026-01-01,web,x,1,a,b,\n")
    data = report_json(project)
    assert data["total"]["spend"] == 1.0
    names = warning(data, "input.header_names")
    assert names["count"] == 3
    assert [e["value"] for e in names["examples"]] == [
        "blank, read as '(column 3)'",
        "'notes' read as 'notes (2)'",
        "blank, read as '(column 7)'",
    ]


def test_empty_file(project: Project) -> None:
    (project.root / "leads.csv").write_bytes(b"")
    assert_fails(report(project), 3, "leads.csv: the file is empty")


def test_parquet_that_is_not_parquet(project: Project) -> None:
    project.policy(BASE_POLICY.format(timezone="UTC").replace("leads.csv", "leads.parquet"))
    project.write("leads.parquet", GOOD_LEADS)
    assert_fails(report(project), 3, "leads.parquet: cannot be read as Parquet")


@pytest.mark.parametrize("amount", ["N/A", "1.2.3", "NaN", "inf", "1,,2", "€1.234.50,5.0", ""])
def test_bad_amounts_are_dropped_with_their_value(project: Project, amount: str) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write(
        "spend.csv", f'date,channel,amount\n2026-01-01,web,10\n2026-01-01,web,"{amount}"\n'
    )
    data = report_json(project)
    assert data["total"]["spend"] == 10.0
    assert codes(data) - AMBIENT == {"spend.bad_amount"}
    assert warning(data, "spend.bad_amount")["examples"][0]["row"] == 2


@pytest.mark.parametrize(
    ("amount", "value"),
    [("$1,234.50", 1234.5), ("1e3", 1000.0), (" 12 ", 12.0), ("-$5", -5.0), ("£7.25", 7.25)],
)
def test_accepted_amount_spellings(project: Project, amount: str, value: float) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write("spend.csv", f'date,channel,amount\n2026-01-01,web,"{amount}"\n')
    assert report_json(project)["total"]["spend"] == value


def test_negative_amount_is_kept_and_flagged(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write("spend.csv", "date,channel,amount\n2026-01-01,web,100\n2026-01-02,web,-20\n")
    data = report_json(project)
    assert data["total"]["spend"] == 80.0
    assert codes(data) - AMBIENT == {"spend.negative_amount"}


def test_other_currency_rows_are_excluded(project: Project) -> None:
    project.write("leads.csv", GOOD_LEADS)
    project.write(
        "spend.csv", "date,channel,amount,currency\n2026-01-01,web,100,usd\n2026-01-01,web,90,EUR\n"
    )
    data = report_json(project)
    assert data["total"]["spend"] == 100.0
    assert warning(data, "spend.mixed_currency")["examples"][0]["value"] == "EUR"


def test_parquet_inputs_are_read(project: Project) -> None:
    pl.DataFrame(
        {"lead_id": ["L1"], "created_at": [dt.datetime(2026, 1, 1, 9)], "channel": ["web"]}
    ).write_parquet(project.root / "leads.parquet")
    project.policy(BASE_POLICY.format(timezone="UTC").replace("leads.csv", "leads.parquet"))
    assert report_json(project)["total"]["leads"] == 1


def test_semicolon_delimiter(project: Project) -> None:
    project.write("leads.csv", "lead_id;created_at;channel\nL1;2026-01-01;web\n")
    text = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}", 'leads: {path: leads.csv, delimiter: ";"}'
    )
    project.policy(text)
    assert report_json(project)["total"]["leads"] == 1


def test_bom_and_padded_headers(project: Project) -> None:
    (project.root / "leads.csv").write_bytes(
        "\ufefflead_id , created_at,channel\nL1,2026-01-01,web\n".encode()
    )
    assert report_json(project)["total"]["leads"] == 1


def test_empty_last_cells_are_not_ragged(project: Project) -> None:
    # An empty last cell sends the file through the line-by-line check, which must pass it.
    project.write(
        "leads.csv",
        'lead_id,created_at,channel,note\nL1,2026-01-01,web,\nL2,2026-01-02,ads,"a, b"\n',
    )
    assert report_json(project)["total"]["leads"] == 2


STORED = {
    "plain": lambda text: text.encode(),
    "gzip": lambda text: gzip.compress(text.encode()),  # read into memory, then counted
    "utf-16": lambda text: text.encode("utf-16"),  # transcoded to UTF-8, then counted
}


@pytest.mark.parametrize("stored", sorted(STORED))
@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_short_row_among_empty_last_cells_is_still_found(
    project: Project, ending: str, stored: str
) -> None:
    # Quote-free: the delimiter count proves the rows whole or sends the file to the
    # line-by-line check. Here row 3 lost its last cell (one comma short): found, by row.
    rows = ["lead_id,created_at,channel,note", "L1,2026-01-01,web,", "L2,2026-01-02,ads,x"]
    rows += ["L3,2026-01-03,ads", "L4,2026-01-04,web,"]
    path = project.root / "leads.csv"
    path.write_bytes(STORED[stored]("\n".join(rows).replace("\n", ending or "\n") + ending))
    assert_fails(report(project), 3, "leads.csv: row 3 has 3 cells but the header has 4")
    whole = [r if r != "L3,2026-01-03,ads" else "L3,2026-01-03,ads," for r in rows]
    path.write_bytes(STORED[stored]("\n".join(whole) + ending))
    assert report_json(project)["total"]["leads"] == 4


def test_a_short_row_and_a_long_row_that_balance_the_counts(project: Project) -> None:
    # One comma too few on row 2, one too many on row 3: the byte counts add up, but polars
    # refuses the long row, and the line-by-line check then names the first bad one.
    rows = ["lead_id,created_at,channel,note", "L1,2026-01-01,web", "L2,2026-01-02,ads,x,y"]
    project.write("leads.csv", "\n".join(rows) + "\n")
    assert_fails(report(project), 3, "leads.csv: row 1 has 3 cells but the header has 4")


def test_short_row_found_even_when_other_rows_are_quoted(project: Project) -> None:
    project.write(
        "leads.csv", 'lead_id,created_at,channel\n"L1","2026-01-01","web"\nL2,2026-01-02\n'
    )
    assert_fails(report(project), 3, "leads.csv: row 2 has 2 cells but the header has 3")


def test_declared_encoding_that_does_not_fit(project: Project) -> None:
    (project.root / "leads.csv").write_bytes(b"lead_id,created_at,channel\nL1,2026-01-01,caf\xc3\n")
    text = BASE_POLICY.format(timezone="UTC").replace(
        "leads: {path: leads.csv}", "leads: {path: leads.csv, encoding: ascii}"
    )
    project.policy(text)
    assert_fails(report(project), 3, "leads.csv: row 1", "not valid ascii", "encoding")


def test_output_is_a_folder(project: Project, tmp_path: Path) -> None:
    assert_fails(report(project, "--output", tmp_path), 2, "is a folder; name a file")


def test_sample_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    run = invoke("sample", "--leads", "10", "--out", target)
    assert run.exit_code == 2
    assert "is a file; name a folder" in run.stderr


def test_init_into_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    run = invoke("init", target)
    assert run.exit_code == 2
    assert "is a file" in run.stderr


def test_internal_error_is_exit_70_without_traceback(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("funnelcli.cli.run_report", broken)
    run = report(project)
    assert run.exit_code == 70
    assert "internal error: RuntimeError: boom (rerun with --debug)" in run.stderr
    assert "Traceback" not in run.stderr


def test_error_path_keeps_user_keys_and_drops_union_noise(project: Project) -> None:
    # A user key that looks like a type name ("Company Size") stays in the path, and a
    # transitions list with a bad item reports the item, not "not a dictionary".
    text = (
        BASE_POLICY.format(timezone="UTC")
        .replace(
            "leads: {path: leads.csv}", "leads: {path: leads.csv, types: {Company Size: intt}}"
        )
        .replace(
            "  transitions: {path: transitions.csv}",
            "  transitions:\n    - {path: transitions.csv, stage: 5}",
        )
    )
    project.policy(text)
    run = report(project)
    assert_fails(run, 2, "2 problems in the policy")
    assert "funnel.yaml:5: inputs.leads.types.Company Size: input should be 'int'" in run.stderr
    assert "funnel.yaml:8: inputs.transitions[0].stage:" in run.stderr
    assert "valid dictionary" not in run.stderr


def test_scoring_dimension_named_dimensions(project: Project) -> None:
    project.policy(
        BASE_POLICY.format(timezone="UTC")
        + "scoring:\n  dimensions:\n    - {when: {field: channel, eq: web}, points: lots}\n"
    )
    assert_fails(report(project), 2, "funnel.yaml:18: scoring.dimensions[0].points")
