"""Files → LazyFrames of the raw cells, or one clear InputError saying why not.

CSV cells are read as text (parsing is ``parse.py``'s job) with a 1-based ``__row`` data-row
number; Parquet columns keep their types. Structural faults — ragged rows, unterminated
quotes, duplicate or blank headers, undecodable bytes — make the file unusable (exit 3).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import polars as pl

from funnelcli.errors import InputError

ROW = "__row"
# True where the file's last column is empty: a row with too few cells is always such a
# row, so only files that have some are re-read line by line to look for ragged rows.
MAYBE_SHORT = "__maybe_short"


def file_columns(names: list[str]) -> list[str]:
    """The file's own column names, without the ones the reader adds."""
    return [n for n in names if n not in (ROW, MAYBE_SHORT)]


_UTF8 = {"utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig"}


@dataclass(frozen=True)
class Source:
    """One input file as the config describes it."""

    path: Path
    label: str  # "inputs.leads", for messages
    where: str  # "funnel.yaml:5", where the config names it
    encoding: str = "utf-8"
    delimiter: str = ","
    null_values: tuple[str, ...] = ()
    skip_rows: int = 0  # lines above the header (report titles)

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() in (".parquet", ".pq")

    @property
    def name(self) -> str:
        return self.path.name


def scan(source: Source) -> pl.LazyFrame:
    """The file's columns (headers trimmed) plus ``__row``, ready for lazy parsing."""
    if not source.path.is_file():
        msg = (
            f"{source.label}: input file {source.path} not found (named at {source.where}). "
            "Check the path; it is relative to the config file's folder."
        )
        raise InputError(msg)
    if source.is_parquet:
        return _scan_parquet(source)
    return _scan_csv(source)


def _scan_parquet(source: Source) -> pl.LazyFrame:
    frame = pl.scan_parquet(source.path)
    try:
        names = frame.collect_schema().names()
    except pl.exceptions.PolarsError as err:
        msg = f"{source.path}: cannot be read as Parquet ({_first_line(err)}). Export it again."
        raise InputError(msg) from None
    _check_header(source, names)
    frame = frame.rename({n: n.strip() for n in names})
    return frame.with_row_index(ROW, offset=1).with_columns(pl.lit(False).alias(MAYBE_SHORT))


def _scan_csv(source: Source) -> pl.LazyFrame:
    data = _utf8_bytes(source)
    header = _header(source, data)
    _check_header(source, header)
    frame = pl.scan_csv(
        data if data is not None else source.path,
        separator=source.delimiter,
        infer_schema=False,
        null_values=list(source.null_values) or None,
        with_column_names=lambda cols: [c.strip() for c in cols],
        row_index_name=ROW,
        row_index_offset=1,
        raise_if_empty=False,
        skip_rows=source.skip_rows,
    )
    return frame.with_columns(pl.col(header[-1].strip()).is_null().alias(MAYBE_SHORT))


def verify_structure(source: Source) -> None:
    """Raise an InputError naming the first ragged row or unterminated quote, if any.

    A full line-by-line pass: run only when a file has rows with an empty last cell or
    polars could not read it (both rare), so that clean files are read once.
    """
    if source.is_parquet:
        return
    data = _utf8_bytes(source)
    _check_structure(source, data, len(_header(source, data)))


def _utf8_bytes(source: Source) -> bytes | None:
    """None when polars can read the file as is; else its contents transcoded to UTF-8."""
    try:
        name = codecs.lookup(source.encoding).name
    except LookupError:
        msg = f"{source.label}: unknown encoding {source.encoding!r} (set at {source.where})."
        raise InputError(msg) from None
    if name.replace("_", "-") in _UTF8:
        return None
    try:
        return source.path.read_bytes().decode(name).encode("utf-8")
    except UnicodeDecodeError as err:
        row = source.path.read_bytes()[: err.start].count(b"\n")
        msg = f"{source.path}: row {row}: bytes that are not valid {source.encoding}."
        raise InputError(msg + " Set the input's encoding: to the file's real encoding.") from None


def _header(source: Source, data: bytes | None) -> list[str]:
    """The header row's cells (csv module on the first 64 KiB: quoted names work)."""
    raw = data if data is not None else _head_bytes(source.path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        _raise_not_utf8(source)
    rows = csv.reader(io.StringIO(text), delimiter=source.delimiter)
    for _ in range(source.skip_rows):
        next(rows, None)
    first = next(rows, None)
    if not first:
        msg = f"{source.path}: the file is empty; it needs a header row and data rows."
        raise InputError(msg)
    return first


def _head_bytes(path: Path, size: int = 1 << 16) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(size)
    # Cut at the last newline so that a multi-byte character is never split.
    return head if len(head) < size else head[: head.rfind(b"\n") + 1] or head


def _check_header(source: Source, names: list[str]) -> None:
    trimmed = [n.strip() for n in names]
    blank = [i + 1 for i, n in enumerate(trimmed) if not n]
    if blank:
        msg = f"{source.path}: header column {blank[0]} has no name. Name every column."
        raise InputError(msg)
    seen: set[str] = set()
    for name in trimmed:
        if name in seen:
            msg = f"{source.path}: the header names column '{name}' twice. Rename one of them."
            raise InputError(msg)
        seen.add(name)


def _check_structure(source: Source, data: bytes | None, width: int) -> None:
    """Find the first row whose cell count differs from the header's (one vectorised pass)."""
    lines = pl.scan_lines(data if data is not None else source.path)
    # Only lines with a quote need the (slower) regex; the others reach it as nulls.
    line = pl.col("line")
    quoted = pl.when(line.str.contains('"', literal=True)).then(line)
    quote_free = pl.coalesce(quoted.str.replace_all(r'"[^"]*"', ""), line)
    # Row numbers stay data-row numbers: line i (0-based) after the skipped lines is row i.
    lines = lines.slice(source.skip_rows)
    checked = lines.with_row_index("i").select(
        pl.col("i"),
        pl.col("line").str.count_matches('"').alias("quotes"),
        (quote_free.str.count_matches(source.delimiter, literal=True) + 1).alias("cells"),
        (pl.col("line").str.strip_chars() == "").alias("blank"),
    )
    try:
        stats = checked.select(
            pl.col("i").filter(pl.col("quotes") % 2 == 1).first().alias("multiline"),
            pl.col("i").filter((pl.col("cells") != width) & ~pl.col("blank")).first().alias("bad"),
            pl.col("cells").filter((pl.col("cells") != width) & ~pl.col("blank")).first(),
        ).collect()
    except pl.exceptions.ComputeError:
        _raise_not_utf8(source)
    multiline, bad, cells = stats.row(0)
    if multiline is not None:
        _check_quotes(source, data, multiline)
    elif bad is not None and bad > 0:
        msg = (
            f"{source.path}: row {bad} has {cells} cells but the header has {width}. "
            "Fix the export (a stray delimiter or an unquoted value?) and run again."
        )
        raise InputError(msg)


def _check_quotes(source: Source, data: bytes | None, line: int) -> None:
    """Files with quoted line breaks: let polars parse, and explain if it cannot."""
    frame = pl.scan_csv(
        data if data is not None else source.path,
        separator=source.delimiter,
        infer_schema=False,
        skip_rows=source.skip_rows,
    )
    try:
        frame.collect()
    except pl.exceptions.PolarsError as err:
        msg = (
            f"{source.path}: cannot be read as CSV ({_first_line(err)}); the quote opened on "
            f"line {line + 1} (data row {line}) may be unterminated. Fix the export."
        )
        raise InputError(msg) from None


def _raise_not_utf8(source: Source) -> NoReturn:
    with source.path.open("rb") as handle:
        for row, line in enumerate(handle):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = line[err.start : err.start + 1].hex()
                msg = (
                    f"{source.path}: row {row}: byte 0x{bad} is not valid UTF-8. Set the input's "
                    "encoding: (for example latin-1 or cp1252) in the config."
                )
                raise InputError(msg) from None
    msg = f"{source.path}: not valid UTF-8. Set the input's encoding: in the config."
    raise InputError(msg)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
