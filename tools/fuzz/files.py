"""Mutations of the input files: bytes, CSV structure, Parquet column types, a workbook's
XML. Each takes the seeded random source and returns (or writes) the damaged file and a
line saying what was done."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

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
# fmt: on


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
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error):  # damaged earlier
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
