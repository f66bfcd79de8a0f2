"""A seeded mutation fuzzer for funnel, in the spirit of SQLite's ``fuzzcheck``.

Each case copies a small sample project (leads, spend, transitions and traffic as CSV, the
leads also as Parquet and as an Excel workbook), mutates one or two of its files — bytes,
CSV structure, the YAML policy, Parquet column types, the workbook's XML — and runs one
command (``report``, ``check``, ``score``, ``sql``) with random options. Faults of the world
must give a clear message and a documented exit code; a *crash* is:

- exit 70 (an internal error), a Python traceback, or any exit code funnel does not document;
- a signal, or a hang (longer than ``--timeout`` seconds);
- a destroyed or half-written output: a failed run that changed the ``--output`` file that
  was there before, or left a temp file beside it; a successful one whose output is empty
  or not the format asked for.

Run by hand for as long as you like (``python tools/fuzz.py --cases 5000 --subprocess``);
each distinct crash is written to ``--out`` with the files and the command that reproduce
it. ``tests/test_fuzz.py`` runs a bounded, seeded slice in process so that nothing found
comes back.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED = {0, 1, 2, 3, 130, 143}
SENTINEL = "an earlier report that a failed run must leave alone\n"
FORMATS = {
    "report": ["table", "json", "csv", "markdown", "html"],
    "check": ["table", "json", "junit", "github"],
}
TABLES = ("leads", "spend", "transitions", "traffic")

POLICY = """\
version: 1
currency: USD
timezone: {timezone}
inputs:
  leads: {{path: {leads}, columns: {{revenue: deal_value}}}}
  spend: {{path: {spend}}}
  traffic: {{path: {traffic}}}
  transitions: {{path: {transitions}}}
channels:
  aliases:
    paid_search: ["Google Ads", "adwords", "Paid Search"]
    paid_social: ["facebook", "LinkedIn Ads", "Paid Social"]
    organic: ["Organic Search"]
scoring:
  fit:
    - {{when: {{field: company_size, gte: 50}}, points: 20}}
    - {{when: {{field: job_title, matches: "(?i)head|director|vp|chief|founder"}}, points: 15}}
  engagement:
    - {{when: {{field: lead_type, eq: demo_request}}, points: 40}}
    - {{when: {{field: lead_type, in: [webinar, contact_form]}}, points: 20}}
    - {{when: {{field: pages_viewed, gte: 5}}, points: 10}}
    - {{when: {{field: email_bounced, eq: true}}, points: -20}}
  cap: 100
stages:
  - {{id: lead, name: Lead}}
  - id: mql
    name: Marketing Qualified Lead
    aliases: [MQL, marketingqualifiedlead]
    requires: {{score: {{gte: 40}}}}
  - {{id: sql, name: Sales Qualified Lead, aliases: [SQL]}}
  - id: qso
    name: Qualified Sales Opportunity
    aliases: [opportunity]
    requires:
      all:
        - {{field: budget, gt: 0}}
        - {{field: timeline_days, lte: 90}}
  - {{id: won, name: Customer, aliases: [customer, closed won]}}
exits: [lost, disqualified, recycled, subscriber]
targets:
  mql.rate: {{gte: 0.30}}
  sql.cost_per: {{lte: 500}}
  roas: {{gte: 2}}
economics: {{gross_margin: 0.8}}
"""

# Values a fuzzer likes to put where a cell was: the edges of every reader and parser.
# fmt: off
ODD_CELLS = [
    "", " ", '"', '""', '"unterminated', 'a"b', "\x00", "\x08", "\x1b[31m", "\u200b", "\ufeff",
    "N/A", "--", "(No value)", "NaN", "inf", "-inf", "1e400", "-0", "0x1F", "9" * 40,
    "1,234.56", "1.234,56", "135,54", "$1,200", "€ 12,50", "1.2.3", "¥1,234", "12万",
    "2026-13-45", "2026-02-30", "31/12/2026", "12/31/2026", "02.03.2026", "2/3/2026, 9:15 AM",
    "2026-06-01T25:61:00Z", "2026-06-01T10:00:00+99:00", "0000-01-01", "9999-12-31",
    "1970-01-01", "20260601", "1717200000", "true", "FALSE", "yes", "=1+1", "@SUM(A1)",
    "百度推广", "臉書廣告", "ÊÐ³¡×Ü¼à", "x" * 5000, "\r", "\n", "a\r\nb", ";", "\t", "|",
    "9000000000000.01", "90000000000000", "-9223372036854775808", "1e-320", "0.000001",
]
ODD_BYTES = [b"\x00", b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xe4\xb8", b"\r", b"\n", b'"', b",",
             b";", b"\t", b"\x1a", b"\x08", b"\xef\xbb\xbf", b"\xff\xfe", b"\x1f\x8b"]
YAML_VALUES: list[object] = [
    None, True, False, 0, -1, 1.5, 10**20, 0xFFFFFFFFFFFFFFFFFF, -(10**30), float("nan"), "",
    "\x08", "x" * 300, [], {}, [1, 2], {"a": 1}, "2026-02-30", "UTC", "Mars/Olympus", "EUR",
    "(?P<", "[", "*", "NO", "yes", "~", "1e400", "百度", "2026-06-01", [1, 0xFFFFFFFFFFFFFFFFFF],
]
OPS = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "matches", "contains",
       "is_null", "not_null", "gtee", "regex"]
# fmt: on


@dataclass
class Case:
    """One generated case: what was mutated, and the command line that runs it."""

    seed: int
    mutations: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    output: Path | None = None
    fmt: str = "table"


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


# ------------------------------------------------------------------ the base project


def make_base(folder: Path, *, leads: int = 300, seed: int = 3) -> Path:
    """The clean project every case starts from; returns its folder."""
    from funnelcli.sample import SampleSpec, write_sample  # noqa: PLC0415 (slow import)

    data = folder / "data"
    write_sample(SampleSpec(leads=leads, seed=seed, months=3), data)
    for table in TABLES:  # each table also as Parquet (typed) and as a workbook (text)
        frame = pl.read_csv(data / f"{table}.csv", infer_schema=False)
        frame.write_parquet(data / f"{table}.parquet")
        frame.write_excel(data / f"{table}.xlsx", worksheet=table.capitalize())
    return folder


def policy_text(files: dict[str, str], timezone: str = "UTC") -> str:
    """The policy over ``files`` ({table: path}; a table not named is its CSV)."""
    paths = {t: files.get(t, f"data/{t}.csv") for t in TABLES}
    return POLICY.format(timezone=timezone, **paths)


# ------------------------------------------------------------------ mutations


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One byte-level mutation: flip, insert, delete, duplicate, truncate, re-encode."""
    if not data:
        return rng.choice(ODD_BYTES), "bytes: empty file given odd bytes"
    at = rng.randrange(len(data))
    kind = rng.choice(["flip", "insert", "delete", "repeat", "truncate", "splice", "encode"])
    if kind == "flip":
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :], f"bytes: flip at {at}"
    if kind == "insert":
        odd = rng.choice(ODD_BYTES) * rng.choice([1, 1, 2, 50])
        return data[:at] + odd + data[at:], f"bytes: insert {odd[:8]!r} at {at}"
    if kind == "delete":
        end = min(len(data), at + rng.randint(1, 200))
        return data[:at] + data[end:], f"bytes: delete {at}..{end}"
    if kind == "repeat":
        end = min(len(data), at + rng.randint(1, 400))
        return data[:end] + data[at:end] * rng.randint(1, 20) + data[
            end:
        ], f"bytes: repeat {at}..{end}"
    if kind == "truncate":
        return data[:at], f"bytes: truncate at {at}"
    if kind == "splice":
        other = rng.randrange(len(data))
        return data[:at] + data[other:], f"bytes: splice {at}<-{other}"
    encoding = rng.choice(
        ["cp1252", "gb18030", "big5", "shift_jis", "euc_kr", "utf-16", "utf-16-be"]
    )
    text = data.decode("utf-8", errors="replace")
    return text.encode(encoding, errors="replace"), f"bytes: re-encoded as {encoding}"


def _rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8", errors="replace")
    return list(csv.reader(io.StringIO(text, newline="")))


def _csv_bytes(
    rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@dataclass
class Grid:
    """A CSV file as rows of cells, with the cell a mutation aims at."""

    data: bytes
    rows: list[list[str]]
    r: int
    c: int

    @property
    def name(self) -> str:
        return self.rows[0][self.c]


Mutated = tuple[bytes, str]


def _cell(rng: random.Random, g: Grid) -> Mutated:
    value = rng.choice(ODD_CELLS)
    g.rows[g.r][g.c] = value
    return _csv_bytes(g.rows), f"csv: row {g.r} {g.name!r} = {value[:30]!r}"


def _column_cells(rng: random.Random, g: Grid) -> Mutated:
    value = rng.choice(ODD_CELLS)
    for row in g.rows[1:]:
        if rng.random() < 0.3 and g.c < len(row):
            row[g.c] = value
    return _csv_bytes(g.rows), f"csv: column {g.name!r} partly {value[:30]!r}"


def _ragged(rng: random.Random, g: Grid) -> Mutated:
    if rng.random() < 0.5:
        del g.rows[g.r][g.c]
        return _csv_bytes(g.rows), f"csv: row {g.r} one cell short"
    g.rows[g.r].append(rng.choice(ODD_CELLS))
    return _csv_bytes(g.rows), f"csv: row {g.r} one cell long"


def _header(rng: random.Random, g: Grid) -> Mutated:
    name = g.name
    new = rng.choice([name.upper(), f" {name} ", name + "\x00", "百度", "lead_id", "channel", ""])
    g.rows[0][g.c] = new
    return _csv_bytes(g.rows), f"csv: header {name!r} renamed {new!r}"


def _column_dropped(_rng: random.Random, g: Grid) -> Mutated:
    name = g.name
    for row in g.rows:
        if g.c < len(row):
            del row[g.c]
    return _csv_bytes(g.rows), f"csv: column {name!r} removed"


def _junk_columns(rng: random.Random, g: Grid) -> Mutated:
    extra = rng.choice([5, 300, 20_000])
    g.rows[0] += [f"junk{i}" for i in range(extra)]
    for i in range(1, len(g.rows)):
        g.rows[i] = g.rows[i] + [""] * extra
    return _csv_bytes(g.rows), f"csv: {extra} junk columns"


def _open_quote(rng: random.Random, g: Grid) -> Mutated:
    lines = g.data.split(b"\n")
    line = rng.randrange(1, max(2, len(lines)))
    if line < len(lines):
        lines[line] = b'"' + lines[line]
    return b"\n".join(lines), f"csv: unterminated quote on line {line + 1}"


def _delimiter(rng: random.Random, g: Grid) -> Mutated:
    sep = rng.choice([";", "\t", "|"])
    return _csv_bytes(g.rows, delimiter=sep), f"csv: delimiter {sep!r}"


def _footer(_rng: random.Random, g: Grid) -> Mutated:
    footer = [[], ['"Report"'], ["Generated By: someone"]]
    return _csv_bytes(g.rows + footer), "csv: a Salesforce-like footer"


def _blank_line(_rng: random.Random, g: Grid) -> Mutated:
    g.rows.insert(g.r, [])
    return _csv_bytes(g.rows), f"csv: blank line before row {g.r}"


def _lone_cr(_rng: random.Random, g: Grid) -> Mutated:
    return _csv_bytes(g.rows).replace(b"\n", b"\r"), "csv: lone CR line endings"


def _row_order(rng: random.Random, g: Grid) -> Mutated:
    body = g.rows[1:]
    kind = rng.choice(["shuffled", "repeated", "header only", "many times"])
    if kind == "shuffled":
        rng.shuffle(body)
    elif kind == "repeated":
        body += rng.sample(body, min(len(body), 20))
    elif kind == "header only":
        body = []
    else:
        body *= rng.choice([3, 10])
    return _csv_bytes([g.rows[0], *body]), f"csv: rows {kind}"


CSV_MUTATIONS = [_cell, _cell, _cell, _column_cells, _column_cells, _ragged, _header,
                 _column_dropped, _junk_columns, _open_quote, _delimiter, _footer, _blank_line,
                 _lone_cr, _row_order]  # fmt: skip


def mutate_csv(rng: random.Random, data: bytes) -> Mutated:
    """One structural mutation of a CSV file, written back with the csv module (or raw, for
    the faults a writer would never make: an unterminated quote, a ragged row)."""
    rows = _rows(data)
    if len(rows) < 2 or not rows[0]:
        return mutate_bytes(rng, data)
    grid = Grid(data, rows, rng.randrange(1, len(rows)), rng.randrange(len(rows[0])))
    if grid.c >= len(rows[grid.r]):
        grid.r = 0
    return rng.choice(CSV_MUTATIONS)(rng, grid)


def _walk(
    node: object, path: tuple[object, ...] = ()
) -> Iterator[tuple[tuple[object, ...], object]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def _parent(doc: object, path: tuple[object, ...]) -> object:
    for key in path[:-1]:
        doc = doc[key]  # type: ignore[index]
    return doc


def _yaml_value(rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    new = rng.choice(YAML_VALUES)
    _parent(doc, path)[path[-1]] = new  # type: ignore[index]
    return f"yaml: {path} = {new!r}"[:120]


def _yaml_drop(_rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    del _parent(doc, path)[path[-1]]  # type: ignore[attr-defined]
    return f"yaml: {path} removed"


def _yaml_add(rng: random.Random, doc: dict, path: tuple[object, ...]) -> str:
    parent = _parent(doc, path)
    key = rng.choice(["extra", "points", "field", "when", "cap", "days", "gtee"])
    if isinstance(parent, dict):
        parent[key] = rng.choice(YAML_VALUES)
    elif isinstance(parent, list):
        parent.append(rng.choice(YAML_VALUES))
    return f"yaml: {key!r} added beside {path}"


def _yaml_operator(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    rules = [(p, v) for p, v in _walk(doc) if isinstance(v, dict) and "field" in v]
    if not rules:
        return "yaml: unchanged"
    path, rule = rng.choice(rules)
    op = next((k for k in rule if k != "field"), None)
    if op is not None:
        rule[rng.choice(OPS)] = rule.pop(op) if rng.random() < 0.5 else rng.choice(YAML_VALUES)
    return f"yaml: operator at {path}"


# What an input may set (docs/inputs.md), with values a user might write, right or wrong.
# fmt: off
INPUT_OPTIONS: dict[str, list[object]] = {
    "encoding": ["utf-8", "utf-16", "gbk", "big5", "cp1252", "latin-1", "nope", "shift_jis"],
    "delimiter": [";", "\t", "|", ",", "ab"],
    "decimal": [",", "."],
    "date_format": ["%d/%m/%Y", ["%Y-%m-%d", "%d.%m.%Y"], "%Q", "%Y-%m-%dT%H:%M:%SZ"],
    "types": [{"company_size": "date"}, {"lead_type": "int"}, {"budget": "bool"},
              {"pages_viewed": "float"}, {"email_bounced": "str"}],
    "null_values": [["", "N/A", "0"], ["web"], []],
    "skip_rows": [1, 5, 1000],
    "sheet": ["Leads", 2, "Nope"],
    "preset": ["hubspot", "salesforce", "google_ads", "meta", "ga4", "pipedrive", "nope"],
    "skip_where": [{"channel": "(?i)email"}, {"channel": "["}, {"nope": "x"}],
    "keep_where": [{"channel": "paid"}, {"campaign": "^$"}],
    "defaults": [{"campaign": "x"}, {"currency": "EUR"}, {"channel": ""}],
    "stage": ["mql", "won", "nope"],
    "kind": ["sales"],
    "columns": [{"lead_id": "nope"}, {"channel": "campaign"}, {"created_at": "date"},
                {"amount": "clicks"}, {"entered_at": "lead_id"}],
}
STAGE_OPTIONS: dict[str, list[object]] = {
    "date_column": ["deal_value", "created_at", "nope", "budget"],
    "evidence": ["policy", "crm"],
    "requires": [{"score": {"gte": 1000}}, {"field": "lead_type", "matches": "(?i)demo"},
                 {"touches": {"type": "webinar"}}],
}
# fmt: on


def _yaml_input_option(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    inputs = doc.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        return "yaml: unchanged"
    name = rng.choice(sorted(inputs))
    if not isinstance(inputs[name], dict):
        return "yaml: unchanged"
    key = rng.choice(sorted(INPUT_OPTIONS))
    inputs[name][key] = rng.choice(INPUT_OPTIONS[key])
    return f"yaml: inputs.{name}.{key} = {inputs[name][key]!r}"


def _yaml_stage_option(rng: random.Random, doc: dict, _path: tuple[object, ...]) -> str:
    stages = [s for s in doc.get("stages") or [] if isinstance(s, dict)]
    if not stages:
        return "yaml: unchanged"
    stage = rng.choice(stages)
    key = rng.choice(sorted(STAGE_OPTIONS))
    stage[key] = rng.choice(STAGE_OPTIONS[key])
    return f"yaml: stage {stage.get('id')!r}.{key} = {stage[key]!r}"


YAML_MUTATIONS = [_yaml_value, _yaml_value, _yaml_drop, _yaml_add, _yaml_operator,
                  _yaml_input_option, _yaml_input_option, _yaml_stage_option]  # fmt: skip


def mutate_yaml(rng: random.Random, text: str) -> tuple[str, str]:
    """One mutation of the policy: a value swapped for an odd one, a key removed or added,
    an operator renamed, or the text itself damaged."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:  # an earlier mutation broke it
        doc = None
    if not isinstance(doc, dict) or rng.random() < 0.25:
        data, what = mutate_bytes(rng, text.encode())
        codec = rng.choice(["utf-8", "latin-1"])
        return data.decode(codec, errors="replace"), f"yaml ({codec}) {what}"
    path, _value = rng.choice([(p, v) for p, v in _walk(doc) if p])
    what = rng.choice(YAML_MUTATIONS)(rng, doc, path)
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), what
    except yaml.YAMLError:
        return text, "yaml: unchanged"


PARQUET_TYPES: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "list": lambda e: pl.concat_list([e, e]),
    "struct": lambda e: pl.struct(e.alias("a"), e.alias("b")),
    "binary": lambda e: e.cast(pl.String).cast(pl.Binary),
    "int": lambda e: e.cast(pl.String).str.len_bytes().cast(pl.Int64),
    "uint64": lambda e: e.cast(pl.String).str.len_bytes().cast(pl.UInt64) * 2**40,
    "float": lambda e: e.cast(pl.String).str.len_bytes().cast(pl.Float64) / 3,
    "bool": lambda e: e.cast(pl.String).str.len_bytes() % 2 == 0,
    "date": lambda e: pl.date(2026, 5, 1) + pl.duration(days=e.cast(pl.String).str.len_bytes()),
    "datetime_tz": lambda e: (
        pl.datetime(2026, 5, 1, time_zone="Asia/Shanghai")
        + pl.duration(hours=e.cast(pl.String).str.len_bytes())
    ),
    "duration": lambda e: pl.duration(hours=e.cast(pl.String).str.len_bytes()),
    "null": lambda e: pl.lit(None).alias("x"),
    "categorical": lambda e: e.cast(pl.String).cast(pl.Categorical),
    "decimal": lambda e: e.cast(pl.String).str.len_bytes().cast(pl.Decimal(38, 2)),
    "nan": lambda e: pl.lit(float("nan")),
    "huge": lambda e: pl.lit(1.0e300),
}


def mutate_parquet(rng: random.Random, path: Path) -> str:
    """A column of the Parquet leads file given another type, or the file's bytes damaged."""
    if rng.random() < 0.25:
        data, what = mutate_bytes(rng, path.read_bytes())
        path.write_bytes(data)
        return "parquet " + what
    try:
        frame = pl.read_parquet(path)
    except pl.exceptions.PolarsError:  # damaged by an earlier mutation: damage it further
        data, what = mutate_bytes(rng, path.read_bytes())
        path.write_bytes(data)
        return "parquet " + what
    column = rng.choice(frame.columns)
    kind = rng.choice(sorted(PARQUET_TYPES))
    frame = frame.with_columns(PARQUET_TYPES[kind](pl.col(column)).alias(column))
    if rng.random() < 0.2:
        frame = frame.head(rng.choice([0, 1]))
    frame.write_parquet(path)
    return f"parquet: {column!r} as {kind}"


def mutate_workbook(rng: random.Random, path: Path) -> str:
    """The first sheet's XML (or another part of the workbook) damaged."""
    try:
        with zipfile.ZipFile(path) as book:
            parts = {name: book.read(name) for name in book.namelist()}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):  # damaged by an earlier one
        data, what = mutate_bytes(rng, path.read_bytes())
        path.write_bytes(data)
        return "xlsx " + what
    sheet = next((n for n in parts if n.startswith("xl/worksheets/")), None)
    kind = rng.choice(["ref", "ref", "xml", "drop", "strings", "bytes"])
    if kind == "bytes" or sheet is None:
        data, what = mutate_bytes(rng, path.read_bytes())
        path.write_bytes(data)
        return "xlsx " + what
    xml = parts[sheet].decode("utf-8", errors="replace")
    if kind == "ref":
        refs = re.findall(r'r="([A-Z]+[0-9]+)"', xml)
        new = rng.choice(
            ["ZZZZ12", "XFD1048576", "XFE1", "A1048577", "A99999999", "AAAAAAA1", "A0"]
        )
        if refs:
            xml = xml.replace(f'r="{rng.choice(refs)}"', f'r="{new}"', 1)
        what = f"xlsx: a cell reference made {new}"
    elif kind == "xml":
        at = rng.randrange(len(xml))
        xml = (
            xml[:at]
            + rng.choice(["<", "&", "</row>", "<c r='A1' t='s'><v>99999</v></c>", ""])
            + xml[at + 7 :]
        )
        what = f"xlsx: sheet XML damaged at {at}"
    elif kind == "drop":
        victim = rng.choice(sorted(parts))
        del parts[victim]
        what = f"xlsx: part {victim} removed"
    else:
        xml = re.sub(r"<v>(\d+)</v>", lambda m: f"<v>{int(m.group(1)) + 10**6}</v>", xml, count=3)
        what = "xlsx: shared-string indexes out of range"
    if sheet in parts:
        parts[sheet] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return what


# ------------------------------------------------------------------ command lines

# Options: mostly values a user would type, now and then one that must be refused.
# fmt: off
GROUPS = ["channel", "campaign", "lead_type", "channel,campaign", "job_title", "period",
          "email_bounced", "company_size", "deal_value"]
ODD_GROUPS = ["channel,channel", "nope", "", ",", "created_at", "lead_id", "email"]
DATES = ["2026-06-30", "2026-05-01", "2026-07-31", "2026-05-15", "2025-01-01", "2030-01-01",
         "today", "yesterday"]
ODD_DATES = ["2026-02-30", "junk", "1900-01-01", "9999-12-31", "0001-01-01"]
SPANS, ODD_SPANS = ["7d", "4w", "1m", "1q", "2w"], ["0d", "99999w", "x", "-1w"]
WITHIN, ODD_WITHIN = ["0", "7", "30.5", "90"], ["1e9", "-1", "nan", "inf"]
DIALECTS = ["duckdb", "postgres", "spark", "bigquery", "snowflake", "databricks", "trino"]
# fmt: on


def _pick(rng: random.Random, usual: list[str], odd: list[str]) -> str:
    return rng.choice(odd if rng.random() < 0.08 else usual)


def _maybe(rng: random.Random, p: float, *items: str) -> list[str]:
    return list(items) if rng.random() < p else []


def report_args(rng: random.Random, command: str = "report") -> list[str]:
    args = [command]
    args += _maybe(rng, 0.5, "--by", _pick(rng, GROUPS, ODD_GROUPS))
    args += _maybe(rng, 0.3, "--every", rng.choice(["day", "week", "month", "quarter"]))
    args += _maybe(rng, 0.3, "--within", _pick(rng, WITHIN, ODD_WITHIN))
    args += _maybe(rng, 0.2, "--basis", "period")
    if rng.random() < 0.3:
        args += ["--last", _pick(rng, SPANS, ODD_SPANS)]
    else:
        args += _maybe(rng, 0.2, "--since", _pick(rng, DATES[:5], ODD_DATES))
        args += _maybe(rng, 0.2, "--until", _pick(rng, DATES[:6], ODD_DATES))
    args += _maybe(rng, 0.1, "--include-immature")
    if command == "report":
        args += _maybe(rng, 0.2, "--compare", rng.choice(["previous", "year"]))
        args += _maybe(rng, 0.15, "--strict")
        args += _maybe(rng, 0.1, "--trend-periods", rng.choice(["1", "2", "50"]))
    return args


def command_line(
    rng: random.Random, config: Path, out_dir: Path
) -> tuple[list[str], Path | None, str]:
    """A random command on ``config``: args, the ``--output`` path (or None), the format."""
    command = rng.choice(["report", "report", "report", "check", "check", "score", "sql"])
    if command == "report":
        args = report_args(rng)
    elif command == "check":
        args = ["check", *_maybe(rng, 0.3, "--targets")]
    elif command == "score":
        choice = rng.choice([[], ["--rules"], ["--explain", rng.choice(["L100003", "nobody"])]])
        args = ["score", *choice]
    else:
        args = [*report_args(rng, "sql"), "--dialect", rng.choice(DIALECTS)]
    args += ["--config", str(config)]
    if command != "score":
        args += _maybe(rng, 0.5, "--as-of", _pick(rng, DATES, ODD_DATES))
    fmt = "table"
    if command in FORMATS:
        fmt = rng.choice(FORMATS[command])
        args += ["--format", fmt]
    output = None
    if rng.random() < 0.6 and not (command == "score" and "--explain" in args):
        output = out_dir / f"out.{fmt}"
        args += ["--output", str(output)]
    return args, output, fmt


# ------------------------------------------------------------------ one case


def build_case(seed: int, base: Path, work: Path) -> Case:
    """Copy the base project into ``work`` and apply this seed's mutations."""
    rng = random.Random(seed)
    shutil.copytree(base, work)
    case = Case(seed)
    kinds = {t: rng.choice(["csv"] * 6 + ["parquet", "xlsx"]) for t in TABLES}
    files = {t: f"data/{t}.{kind}" for t, kind in kinds.items()}
    timezone = rng.choice(["UTC"] * 5 + ["Asia/Shanghai", "America/Los_Angeles"])
    policy = policy_text(files, timezone)
    for _ in range(rng.choice([1, 1, 1, 2])):
        if rng.random() < 0.3:
            policy, what = mutate_yaml(rng, policy)
        else:
            what = _mutate_table(rng, work, rng.choice(TABLES), kinds)
        case.mutations.append(what)
    (work / "funnel.yaml").write_text(policy, encoding="utf-8", errors="surrogateescape")
    case.args, case.output, case.fmt = command_line(rng, work / "funnel.yaml", work)
    if case.args[0] == "sql":  # funnel sql writes SQL over tables, not files
        tables = re.sub(r"path: data/(\w+)\.\w+", r"table: crm.\1", policy)
        (work / "funnel.yaml").write_text(tables, encoding="utf-8", errors="surrogateescape")
    if case.output is not None:
        case.output.write_text(SENTINEL)
    return case


def _mutate_table(rng: random.Random, work: Path, table: str, kinds: dict[str, str]) -> str:
    path = work / "data" / f"{table}.{kinds[table]}"
    if kinds[table] == "parquet":
        return f"{table} " + mutate_parquet(rng, path)
    if kinds[table] == "xlsx":
        return f"{table} " + mutate_workbook(rng, path)
    mutator = rng.choice([mutate_csv, mutate_csv, mutate_bytes])
    data, what = mutator(rng, path.read_bytes())
    path.write_bytes(data)
    return f"{table}.csv {what}"


def run_in_process(args: list[str]) -> Outcome:
    """The command through the CLI in this process (fast: no interpreter start)."""
    from typer.testing import CliRunner  # noqa: PLC0415, TID251 (the CLI's own test runner)

    from funnelcli.cli import app  # noqa: PLC0415

    runner = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"})
    start = time.monotonic()
    result = runner.invoke(app, args)
    took = time.monotonic() - start
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback  # noqa: PLC0415

        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception)
        )
        return Outcome(70, result.stdout, stderr, took)
    return Outcome(result.exit_code, result.stdout, stderr, took)


def run_subprocess(args: list[str], timeout: float) -> Outcome:
    """The command as the installed ``funnel`` would run it, killed after ``timeout``."""
    command = [sys.executable, "-c", "from funnelcli.entry import main; main()", *args]
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode(errors="replace")
        return Outcome(
            -9, out, (err.stderr or b"").decode(errors="replace"), timeout, timed_out=True
        )
    took = time.monotonic() - start
    return Outcome(
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
        took,
    )


def problems(case: Case, outcome: Outcome, timeout: float) -> list[str]:
    """What makes this outcome a crash (empty: none)."""
    found = []
    if outcome.timed_out or outcome.seconds > timeout:
        found.append(f"hang: {outcome.seconds:.0f} s")
    elif outcome.code < 0:
        found.append(f"signal {-outcome.code}")
    elif outcome.code not in DOCUMENTED:
        found.append(f"exit {outcome.code}")
    if "Traceback (most recent call last)" in outcome.stderr:
        found.append("traceback")
    if case.output is not None and not outcome.timed_out:
        found += _output_problems(case, outcome.code)
    return found


def _output_problems(case: Case, code: int) -> list[str]:
    out = case.output
    assert out is not None
    temps = [
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}") or p.name.startswith(f"{out.name}.")
    ]
    found = [f"temp file left: {temps}"] if temps else []
    text = out.read_text(errors="replace") if out.exists() else ""
    if code != 0 and text != SENTINEL and code != 1:
        found.append("failed run changed the output file")
    if code in (0, 1) and text != SENTINEL:
        found += _format_problems(case.fmt, text)
    elif code == 0 and text == SENTINEL:
        found.append("successful run left the output file unwritten")
    return found


def _format_problems(fmt: str, text: str) -> list[str]:
    if not text.strip():
        return ["empty output"]
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError:
            return ["output is not JSON"]
    if fmt == "html" and "</html>" not in text:
        return ["HTML output cut short"]
    return []


def signature(found: list[str], outcome: Outcome) -> str:
    """What tells two crashes apart: the kind, and the error's type and first words."""
    match = re.search(r"internal error: (\w+)", outcome.stderr) or re.search(
        r"^(\w+(Error|Exception))", outcome.stderr, re.M
    )
    error = match.group(1) if match else ""
    where = re.findall(r'File "([^"]*funnelcli[^"]*)", line (\d+)', outcome.stderr)
    place = f"{Path(where[-1][0]).name}:{where[-1][1]}" if where else ""
    words = " ".join(re.sub(r"[\d\x27\"].*", "", outcome.stderr.split(": ", 2)[-1]).split()[:6])
    return " | ".join([found[0].split(":")[0], error, place or words])


@dataclass
class Result:
    case: Case
    outcome: Outcome
    found: list[str]


def run_case(
    seed: int, base: Path, scratch: Path, *, subprocess_mode: bool, timeout: float
) -> Result:
    work = scratch / f"case-{seed}"
    case = build_case(seed, base, work)
    outcome = run_subprocess(case.args, timeout) if subprocess_mode else run_in_process(case.args)
    return Result(case, outcome, problems(case, outcome, timeout))


def keep(result: Result, work: Path, out: Path) -> Path:
    """The case's files and a note saying how to rerun it, under ``out``."""
    folder = out / f"seed-{result.case.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(work, folder)
    note = {
        "seed": result.case.seed,
        "problems": result.found,
        "mutations": result.case.mutations,
        "command": ["funnel", *[a.replace(str(work), str(folder)) for a in result.case.args]],
        "exit": result.outcome.code,
        "seconds": round(result.outcome.seconds, 2),
        "stderr": result.outcome.stderr[-4000:],
    }
    (folder / "crash.json").write_text(json.dumps(note, indent=2, ensure_ascii=False))
    return folder


def fuzz(
    seeds: range,
    *,
    out: Path | None,
    subprocess_mode: bool,
    timeout: float,
    report: Callable[[str], None] = print,
) -> dict[str, list[Result]]:
    """Run every seed; crashes grouped by signature."""
    crashes: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="funnel-fuzz-") as tmp:
        scratch = Path(tmp)
        base = make_base(scratch / "base")
        for n, seed in enumerate(seeds, start=1):
            result = run_case(seed, base, scratch, subprocess_mode=subprocess_mode, timeout=timeout)
            work = scratch / f"case-{seed}"
            if result.found:
                key = signature(result.found, result.outcome)
                new = key not in crashes
                crashes.setdefault(key, []).append(result)
                if out is not None and new:
                    report(f"seed {seed}: {key} -> {keep(result, work, out)}")
            if n % 100 == 0:
                report(
                    f"{n} cases, {sum(map(len, crashes.values()))} crashes, {len(crashes)} distinct"
                )
            with contextlib.suppress(OSError):
                shutil.rmtree(work)
    return crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument(
        "--subprocess",
        action="store_true",
        help="each case in its own process (catches hangs and signals)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a case is a hang"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("fuzz-crashes"), help="where crashes are kept"
    )
    options = parser.parse_args()
    crashes = fuzz(
        range(options.seed, options.seed + options.cases),
        out=options.out,
        subprocess_mode=options.subprocess,
        timeout=options.timeout,
    )
    total = sum(map(len, crashes.values()))
    print(f"{options.cases} cases: {total} crashes, {len(crashes)} distinct")
    for key, results in sorted(crashes.items(), key=lambda kv: -len(kv[1])):
        first = results[0].case
        print(f"  {len(results):4d}  {key}  (seed {first.seed}: {first.mutations})")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
