"""What the fuzzer (tools/fuzz/) found stays fixed: each crash as a hand-made case with
the message a user now sees, and a bounded, seeded slice of the fuzzer itself."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import ROOT, Project, invoke
from tools import fuzz

EXAMPLE = ROOT / "config.example.yaml"
SAMPLE = ROOT / "sample_data"


def leads_only(folder: Path, leads: str) -> Path:
    """A policy reading ``leads`` alone, its one stage after the first decided by policy."""
    config = folder / "funnel.yaml"
    config.write_text(
        f"version: 1\ninputs:\n  leads: {{path: {leads}}}\n"
        "stages:\n  - {id: lead}\n  - {id: won, evidence: policy}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """The bundled sample project, copied: its config and its four CSVs."""
    shutil.copytree(SAMPLE, tmp_path / "sample_data")
    shutil.copy(EXAMPLE, tmp_path / "funnel.yaml")
    return tmp_path


def test_a_control_character_in_the_policy_is_named_with_its_line(sample: Path) -> None:
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("timezone: UTC", "timezone: UTC\x08"), encoding="utf-8")
    run = invoke("report", "-c", config)
    assert run.exit_code == 2, run.stderr
    line = text[: text.index("timezone: UTC")].count("\n") + 1
    assert f"funnel.yaml:{line}: invalid YAML: control character U+0008 at column 14" in run.stderr


def test_by_naming_a_column_twice_is_a_usage_error(sample: Path) -> None:
    run = invoke("report", "-c", sample / "funnel.yaml", "--by", "channel,channel")
    assert run.exit_code == 2
    assert run.stderr.strip() == (
        "error: --by names channel more than once; name each column once."
    )


def test_an_unterminated_quote_in_the_data_names_the_file_and_row(sample: Path) -> None:
    leads = sample / "sample_data" / "leads.csv"
    lines = leads.read_text(encoding="utf-8").split("\n")
    lines[21] = '"Head of Sales, EMEA,ebook,' + lines[21]  # data row 21
    leads.write_text("\n".join(lines), encoding="utf-8")
    run = invoke("report", "-c", sample / "funnel.yaml")
    assert run.exit_code == 3, run.stderr
    assert "leads.csv: cannot be read as CSV" in run.stderr
    assert "the quote opened on line 22 (data row 21) may be unterminated" in run.stderr


def test_a_field_not_properly_escaped_names_its_row(project: Project) -> None:
    project.write(
        "leads.csv", 'lead_id,created_at,channel\nL1,2026-03-02,web\nL2,2026-03-03,"x"y\n'
    )
    run = invoke("report", "-c", project.config)
    assert run.exit_code == 3, run.stderr
    assert "leads.csv: row 2: a quote inside a field (',' expected after '\"')" in run.stderr


def test_a_broken_quote_in_the_traffic_file_is_exit_3_not_a_crash(sample: Path) -> None:
    """The traffic file is first read by the decimal-mark detection: its parse error used
    to escape as an internal error there."""
    traffic = sample / "sample_data" / "traffic.csv"
    lines = traffic.read_text(encoding="utf-8").split("\n")
    lines[82] = '"' + lines[82]
    traffic.write_text("\n".join(lines), encoding="utf-8")
    run = invoke("report", "-c", sample / "funnel.yaml", "--format", "csv")
    assert run.exit_code == 3, run.stderr
    assert "traffic.csv: cannot be read as CSV" in run.stderr
    assert "(data row 82)" in run.stderr


@pytest.mark.parametrize(
    ("ref", "why"),
    [
        ("ZZZZ12", "a cell reference ZZZZ12 lies beyond Excel's last cell (XFD1048576)"),
        ("A1048577", "a cell reference A1048577 lies beyond Excel's last cell (XFD1048576)"),
        # Within Excel's limits, but a grid of 700M cells for the 663 the sheet holds.
        ("ZZ999999", "its cells reach ZZ999999, a grid of 701,999,298 cells for the 663 it holds"),
    ],
)
def test_a_workbook_reaching_past_excels_last_column_is_refused_at_once(
    tmp_path: Path, ref: str, why: str
) -> None:
    """One damaged reference (ZZZZ12) made the Excel reader lay out a grid of millions of
    cells for minutes; it is refused before the reader opens the sheet."""
    frame = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False).head(50)
    frame.write_excel(tmp_path / "good.xlsx", worksheet="Leads")
    with zipfile.ZipFile(tmp_path / "good.xlsx") as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b'r="C12"', f'r="{ref}"'.encode(), 1)
    with zipfile.ZipFile(tmp_path / "leads.xlsx", "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    config = leads_only(tmp_path, "leads.xlsx")
    run = invoke("report", "-c", config)
    assert run.exit_code == 3, run.stderr
    assert f"leads.xlsx: the sheet cannot be read: {why}" in run.stderr
    shutil.copy(tmp_path / "good.xlsx", tmp_path / "leads.xlsx")
    assert invoke("report", "-c", config).exit_code == 0  # the same workbook undamaged


def test_a_parquet_column_of_lists_is_named(sample: Path) -> None:
    frame = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False)
    deal = pl.concat_list(pl.col("deal_value"), pl.col("deal_value"))
    frame.with_columns(deal.alias("deal_value")).write_parquet(sample / "leads.parquet")
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sample_data/leads.csv", "leads.parquet"), encoding="utf-8")
    run = invoke("report", "-c", config)
    assert run.exit_code == 3, run.stderr
    assert "leads.parquet: column 'deal_value' holds List(String) values" in run.stderr


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "points: 0xffffffffffffffffff",
            "points: Input should be less than or equal to 1000000000000",
        ),
        ("when: {field: company_size, in: [1, 0xffffffffffffffffff]}", None),
        ("when: {field: company_size, in: [49.5, 50, 51]}", None),
    ],
)
def test_numbers_beyond_64_bits_in_the_policy(sample: Path, rule: str, message: str | None) -> None:
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8")
    old = "- {when: {field: company_size, gte: 50}, points: 20}"
    new = "- {when: {field: company_size, gte: 50}, points: 0xffffffffffffffffff}"
    if not rule.startswith("points"):
        new = "- {" + rule + ", points: 20}"
    config.write_text(text.replace(old, new), encoding="utf-8")
    run = invoke("report", "-c", config, "--format", "json", "-q")
    if message is None:
        assert run.exit_code == 0, run.stderr  # compared as numbers, as a user means
    else:
        assert run.exit_code == 2 and message in run.stderr, run.stderr


def test_a_spend_amount_up_to_the_exact_range_is_summed_to_the_cent(project: Project) -> None:
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-03-02,web\n")
    project.write(
        "spend.csv", "date,channel,amount\n2026-03-02,web,12345678901234.56\n2026-03-03,web,0.01\n"
    )
    run = invoke("report", "-c", project.config, "--format", "json", "--as-of", "2026-03-31")
    assert run.exit_code == 0, run.stderr
    assert run.json()["total"]["spend"] == 12345678901234.57


def test_a_message_names_a_few_of_100000_headers(tmp_path: Path) -> None:
    names = [f"junk{i}" for i in range(100_000)]
    (tmp_path / "leads.csv").write_text(",".join(names) + "\n" + ",".join("x" * 100_000) + "\n")
    config = leads_only(tmp_path, "leads.csv")
    run = invoke("report", "-c", config)
    assert run.exit_code == 3
    assert "junk0, junk1, junk2" in run.stderr and "… and 99,988 more" in run.stderr
    assert len(run.stderr) < 1000


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--as-of", "0001-01-01", "--last", "1q"], "run off the calendar"),
        (["--within", "inf"], "--within inf: give a number of days up to 36,600."),
        (["--last", "99999w"], "--last 99999w: a window of at most a century"),
        (["--as-of", "0001-02-15", "--last", "1m", "--compare", "year"], "run off the calendar"),
    ],
)
def test_dates_and_spans_beyond_a_calendar_are_usage_errors(
    sample: Path, flags: list[str], message: str
) -> None:
    run = invoke("report", "-c", sample / "funnel.yaml", *flags)
    assert run.exit_code == 2, run.stderr
    assert message in run.stderr


def test_a_seeded_slice_of_the_fuzzer_finds_no_crash(tmp_path: Path) -> None:
    """300 cases of tools/fuzz/ in this process (the long runs are by hand: see its
    docstring). A crash is an internal error, a traceback, an undocumented exit code, or a
    damaged or half-written output."""
    found = fuzz.fuzz(range(300), out=tmp_path / "crashes", subprocess_mode=False, timeout=60.0,
                      report=lambda _line: None)  # fmt: skip
    assert not found, {key: [r.case.seed for r in results] for key, results in found.items()}


def test_funnel_sql_off_the_calendar_is_a_usage_error(sample: Path) -> None:
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"path: sample_data/(\w+)\.csv", r"table: crm.\1", text))
    run = invoke("sql", "-c", config, "--as-of", "0001-01-01", "--last", "1q")
    assert run.exit_code == 2, run.stderr
    assert "as of 0001-01-01, the dates of the window" in run.stderr
    assert "run off the calendar" in run.stderr


def test_a_workbook_with_a_damaged_compressed_sheet_is_exit_3(tmp_path: Path) -> None:
    frame = pl.read_csv(SAMPLE / "leads.csv", infer_schema=False).head(200)
    frame.write_excel(tmp_path / "leads.xlsx", worksheet="Leads")
    data = bytearray((tmp_path / "leads.xlsx").read_bytes())
    start = data.find(b"xl/worksheets/sheet1.xml") + 200  # inside its deflate stream
    data[start : start + 8] = bytes(b ^ 0x5A for b in data[start : start + 8])
    (tmp_path / "leads.xlsx").write_bytes(bytes(data))
    config = leads_only(tmp_path, "leads.xlsx")
    run = invoke("report", "-c", config)
    assert run.exit_code == 3, run.stderr
    assert "leads.xlsx: cannot be read as a workbook" in run.stderr


def test_a_damaged_parquet_file_is_exit_3_even_when_the_reader_panics(sample: Path) -> None:
    """Bytes spliced out of a Parquet file leave its page offsets pointing past its end: the
    Parquet reader panics (a Rust assertion) rather than raising an error."""
    traffic = pl.read_csv(SAMPLE / "traffic.csv", infer_schema=False)
    traffic.write_parquet(sample / "traffic.parquet")
    data = (sample / "traffic.parquet").read_bytes()
    (sample / "traffic.parquet").write_bytes(data[:136] + data[1128:])
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("sample_data/traffic.csv", "traffic.parquet"), encoding="utf-8")
    run = invoke("score", "--rules", "-c", config)
    assert run.exit_code == 3, run.stderr
    assert "traffic.parquet: cannot be read" in run.stderr


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{field: job_title, matches: [1, 2]}", "when.matches: 'matches' takes text, got [1, 2]."),
        ("{field: lead_type, in: true}", "when.in: 'in' takes a list of values, got True."),
        ("{field: lead_type, eq: [a]}", "when.eq: 'eq' compares with one value"),
        (
            "{field: job_title, matches: '(head'}",
            "when.matches: bad regex '(head': 'unclosed group'",
        ),
    ],
)
def test_a_conditions_value_of_the_wrong_shape_is_refused_by_funnel_sql_too(
    sample: Path, rule: str, message: str
) -> None:
    """funnel sql sees no column types; the shape of each operator's value is checked
    before either compiler runs."""
    config = sample / "funnel.yaml"
    text = config.read_text(encoding="utf-8").replace("{field: company_size, gte: 50}", rule)
    config.write_text(re.sub(r"path: sample_data/(\w+)\.csv", r"table: crm.\1", text))
    run = invoke("sql", "-c", config, "--dialect", "duckdb")
    assert run.exit_code == 2, run.stderr
    assert "funnel.yaml:34: scoring.fit[0]." + message in run.stderr.replace("\n", " ")


def test_a_date_in_year_zero_is_a_bad_date(project: Project) -> None:
    """polars reads 0000-01-01 (the proleptic year 0), which no date of Python's holds."""
    project.write("leads.csv", "lead_id,created_at,channel\nL1,2026-03-02,web\nL2,0000-01-01,web\n")
    project.write("spend.csv", "date,channel,amount\n2026-03-02,web,5\n0000-01-01,web,7\n")
    run = invoke("check", "-c", project.config, "--as-of", "2026-03-31", "--format", "json")
    assert run.exit_code == 1, run.stderr
    found = {f["id"]: f for f in run.json()["findings"]}
    assert found["spend.bad_date"]["examples"][0]["value"] == "0000-01-01"
    assert found["leads.bad_created_at"]["examples"][0]["row"] == 2
