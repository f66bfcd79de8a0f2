"""Files → LazyFrames of the raw cells, or one clear InputError saying why not.

Text cells are read as text (parsing is ``parse.py``'s job) with a 1-based ``__row`` data-row
number; Parquet columns keep their types; Excel sheets are read as text like CSV. What a
text file is — compression, encoding, delimiter, line endings, footer — is found by
``detect.py``. Structural faults — ragged rows, unterminated quotes, undecodable bytes —
make the file unusable (exit 3). A blank or repeated header name gets a name of its own
(``(column 13)``, ``notes (2)``) and is reported; it stops the run only when funnel reads
that column.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import stat
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

import numpy as np
import polars as pl

from funnelcli.columns import MAYBE_SHORT, ROW
from funnelcli.errors import InputError, excerpt
from funnelcli.inputs import detect, workbook

# True where the file's last column is empty: a row with too few cells is always such a
# row, so only files that have some are re-read line by line to look for ragged rows.


def file_columns(names: list[str]) -> list[str]:
    """The file's own column names, without the ones the reader adds."""
    return [n for n in names if n not in (ROW, MAYBE_SHORT)]


@dataclass(frozen=True)
class Source:
    """One input file as the config describes it."""

    path: Path
    label: str  # "inputs.leads", for messages
    where: str  # "funnel.yaml:5", where the config names it
    encoding: str | None = None  # None: detected
    delimiter: str | None = None  # None: detected
    null_values: tuple[str, ...] = ()
    skip_rows: int = 0  # lines above the header (report titles)
    sheet: str | int | None = None  # Excel: the sheet's name or 1-based number

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Scanned:
    """A file opened for reading: its frame, what was detected, its odd header names."""

    frame: pl.LazyFrame
    source: Source
    notes: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # new name → why ("blank", "notes")
    text: detect.Text | None = None

    def verify(self) -> None:
        """Raise an InputError naming the first ragged row or unterminated quote, if any.

        A full line-by-line pass: run only when a file has rows with an empty last cell or
        polars could not read it, so that clean files are read once."""
        if self.text is not None:
            _check_structure(self.source, self.text, len(self.text.header))
            _check_quoting(self.source, self.text)

    def verify_short_rows(self) -> None:
        """:meth:`verify` for a file polars read whole, some of whose rows have an empty last
        cell (CRM exports with a sparse last column): skipped when counting bytes proves
        every line has the header's cell count (:func:`whole_by_counts`)."""
        text = self.text
        if text is not None and not whole_by_counts(self.source, text, len(text.header)):
            _check_structure(self.source, text, len(text.header))


def scan(source: Source) -> Scanned:
    """The file's columns (headers trimmed) plus ``__row``, ready for lazy parsing."""
    _check_readable(source)
    kind = detect.kind_of(source.path)
    if kind == "parquet":
        return _scan_parquet(source)
    if kind == "excel":
        return _scan_excel(source)
    return _scan_csv(source)


def _check_readable(source: Source) -> None:
    path = source.path
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        msg = (
            f"{source.label}: input file {path} not found (named at {source.where}). "
            "Check the path; it is relative to the config file's folder."
        )
        raise InputError(msg) from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror}).") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder, not a file ({source.label}, {source.where}).")
    if not stat.S_ISREG(mode):
        msg = f"{path}: is not a regular file ({source.label}); export the data to a file."
        raise InputError(msg)
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied; make the file readable.")


def _scan_parquet(source: Source) -> Scanned:
    # glob=False: a path is a path, even with [ ] * ? in its name.
    frame = pl.scan_parquet(source.path, glob=False)
    try:
        names = frame.collect_schema().names()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as err:
        msg = f"{source.path}: cannot be read as Parquet ({_first_line(err)}). Export it again."
        raise InputError(msg) from None
    fixed, renamed = unique_names(names)
    frame = frame.rename(dict(zip(names, fixed, strict=True)))
    # Text written as plain BINARY (Hive, older Spark) is read as text; bytes that are not
    # UTF-8 make the file unreadable (exit 3, see load.reading).
    binary = [n for n, t in frame.collect_schema().items() if t == pl.Binary]
    if binary:
        frame = frame.with_columns(pl.col(binary).cast(pl.String))
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.lit(False).alias(MAYBE_SHORT))
    return Scanned(frame, source, renamed=renamed)


def _scan_excel(source: Source) -> Scanned:
    sheet = source.sheet
    extent = workbook.sheet_extent(source.path, sheet if sheet is not None else 1)
    problem = extent.problem() if extent is not None else None
    if problem is not None:
        msg = (
            f"{source.path}: the sheet cannot be read: {problem}. The workbook is damaged or "
            "has a stray cell far from the data: open and save it again, or export the sheet "
            "as CSV."
        )
        raise InputError(msg)
    options: dict[str, object] = {"header_row": source.skip_rows}
    try:
        table = pl.read_excel(
            source.path,
            sheet_name=sheet if isinstance(sheet, str) else None,
            sheet_id=sheet if isinstance(sheet, int) else (None if sheet else 1),
            engine="calamine",
            infer_schema_length=0,
            read_options=options,
            raise_if_empty=False,
        )
    except ModuleNotFoundError:
        msg = (
            f"{source.path}: reading Excel workbooks needs the fastexcel package: "
            "pip install fastexcel (or export the sheet as CSV)."
        )
        raise InputError(msg) from None
    except Exception as err:  # fastexcel raises its own types for a missing sheet or bad file
        msg = f"{source.path}: cannot be read as a workbook ({_first_line(err)})."
        if sheet is not None:
            msg += f" Check {source.label}.sheet ({sheet!r})."
        raise InputError(msg) from None
    names = table.columns
    fixed, renamed = unique_names([n.strip() for n in names])
    table = table.rename(dict(zip(names, fixed, strict=True))).cast(pl.String)
    table = _blank_rows_dropped(table)
    note = [f"sheet {sheet!r}" if sheet is not None else "Excel workbook, first sheet"]
    frame = (
        table.lazy().with_row_index(ROW, offset=1).with_columns(pl.lit(False).alias(MAYBE_SHORT))
    )
    return Scanned(frame, source, notes=note, renamed=renamed)


def _blank_rows_dropped(table: pl.DataFrame) -> pl.DataFrame:
    """Trailing empty rows (formatted but empty cells at a sheet's end) are not data."""
    if table.height == 0 or table.width == 0:
        return table
    filled = table.select(pl.any_horizontal(pl.all().str.strip_chars().fill_null("") != ""))
    last = filled.to_series().arg_true()
    return table.head(int(last[-1]) + 1 if last.len() else 0)


def _scan_csv(source: Source) -> Scanned:
    text = detect.read_text(
        source.path,
        encoding=source.encoding,
        delimiter=source.delimiter,
        skip_rows=source.skip_rows,
        label=source.label,
    )
    names, renamed = unique_names([c.strip() for c in text.header])
    frame = pl.scan_csv(
        text.data if text.data is not None else source.path,
        separator=text.delimiter,
        infer_schema=False,
        null_values=list(source.null_values) or None,
        with_column_names=lambda cols: _renamed_like(cols, names),
        row_index_name=ROW,
        row_index_offset=1,
        raise_if_empty=False,
        skip_rows=source.skip_rows,
        glob=False,
    )
    frame = frame.with_columns(pl.col(names[-1]).is_null().alias(MAYBE_SHORT))
    return Scanned(frame, source, notes=text.notes, renamed=renamed, text=text)


def _renamed_like(cols: list[str], names: list[str]) -> list[str]:
    # polars' own header (it may differ from the csv module's for odd quoting) keeps its
    # width; the names are ours, so that duplicates and blanks are named as reported.
    if len(cols) == len(names):
        return names
    fixed, _ = unique_names([c.strip() for c in cols])
    return fixed


def unique_names(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Names with every blank and repeated one made unique, and {new name: old name}."""
    out: list[str] = []
    renamed: dict[str, str] = {}
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        new = name
        if not name:
            new = f"(column {i})"
        elif name in seen:
            copy = 2
            while f"{name} ({copy})" in seen or f"{name} ({copy})" in names:
                copy += 1
            new = f"{name} ({copy})"
        if new != name:
            renamed[new] = name
        seen.add(new)
        out.append(new)
    return out, renamed


COUNT_CHUNK = 1 << 20


def whole_by_counts(source: Source, text: detect.Text, width: int) -> bool:
    """True when every line from the header on holds exactly ``width`` cells, proved by
    counting three bytes (a third of the time of the line-by-line pass on 10M leads: 0.7
    against 1.5 s); False when the counts cannot prove it, and the full pass must look.

    Sound only for a file polars read without error, which it does not for a line with
    too many cells: with no line above ``width`` cells, separators adding up to exactly
    ``width - 1`` a line leave no line below. A quote anywhere (a separator inside quotes
    is not one), a blank line or a lone CR line ending fail the sum, never prove."""
    sep = text.delimiter.encode()
    if len(sep) != 1:
        return False
    workers = os.cpu_count() or 1
    chunks = _past_titles(_chunks(source, text, 2 * workers + 1), source.skip_rows)
    counts = _counted(chunks, sep[0], workers)
    if counts is None:
        return False
    seps, newlines, last = counts
    lines = newlines + (last != b"\n")
    return lines > 0 and seps == lines * (width - 1)


def _chunks(source: Source, text: detect.Text, buffers: int) -> Iterator[memoryview]:
    """The bytes polars read, a part at a time: the detected text in memory, else the file
    read into ``buffers`` buffers in turn (not mapped: mapped pages would count in the
    process's resident memory; nor a new buffer a part, each costing fresh pages). A part
    is overwritten ``buffers`` parts later: the caller must be done with it by then."""
    if text.data is not None:
        view = memoryview(text.data)
        for start in range(0, len(view), COUNT_CHUNK):
            yield view[start : start + COUNT_CHUNK]
        return
    ring = [bytearray(COUNT_CHUNK) for _ in range(buffers)]
    with source.path.open("rb", buffering=0) as handle:
        for turn in itertools.count():
            buffer = ring[turn % buffers]
            size = handle.readinto(buffer)
            if not size:
                return
            yield memoryview(buffer)[:size]


def _past_titles(chunks: Iterator[memoryview], skip: int) -> Iterator[memoryview]:
    """``chunks`` from the header on: the ``skip`` title lines above it left out. When the
    data has fewer lines than that, nothing is left."""
    for chunk in chunks:
        rest = chunk
        while skip and rest:
            end = bytes(rest).find(b"\n")
            rest = rest[end + 1 :] if end >= 0 else rest[:0]
            skip -= end >= 0
        if not skip and rest:
            yield rest


def _counted(chunks: Iterator[memoryview], sep: int, workers: int) -> tuple[int, int, bytes] | None:
    """(separators, line feeds, the last byte) of ``chunks``; None when they hold a quote
    or nothing.

    Counts add up whatever the cut, so each part is counted by a thread of its own while
    the next is read: numpy and file reads let go of the interpreter (10M-lead CSV, 2
    cores: 0.57 s in one thread, 0.36 s in two). At most two parts a core wait, so the
    memory used stays a few parts whatever the file's size (and a part is counted before
    ``_chunks`` reads into its buffer again)."""
    seps = newlines = 0
    last = b""
    waiting: deque[Future[tuple[int, int, int]]] = deque()

    def settle(future: Future[tuple[int, int, int]]) -> bool:
        nonlocal seps, newlines
        quotes, found_seps, found_lines = future.result()
        seps, newlines = seps + found_seps, newlines + found_lines
        return quotes == 0

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for chunk in chunks:
            last = bytes(chunk[-1:])
            waiting.append(pool.submit(_count, chunk, sep))
            if len(waiting) > 2 * workers and not settle(waiting.popleft()):
                return None
        clean = [settle(future) for future in waiting]
    return (seps, newlines, last) if last and all(clean) else None


def _count(chunk: memoryview, sep: int) -> tuple[int, int, int]:
    """(quotes, separators, line feeds) in one part."""
    data = np.frombuffer(chunk, np.uint8)
    quotes = int(np.count_nonzero(data == ord('"')))
    if quotes:
        return quotes, 0, 0
    return quotes, int(np.count_nonzero(data == sep)), int(np.count_nonzero(data == ord("\n")))


def _check_structure(source: Source, text: detect.Text, width: int) -> None:
    """Find the first row whose cell count differs from the header's (one vectorised pass)."""
    data = text.data
    lines = pl.scan_lines(data if data is not None else source.path, glob=False)
    # Only lines with a quote need the (slower) regex; the others reach it as nulls.
    line = pl.col("line")
    quoted = pl.when(line.str.contains('"', literal=True)).then(line)
    quote_free = pl.coalesce(quoted.str.replace_all(r'"[^"]*"', ""), line)
    # Row numbers stay data-row numbers: line i (0-based) after the skipped lines is row i.
    lines = lines.slice(source.skip_rows)
    sep = text.delimiter
    checked = lines.with_row_index("i").select(
        pl.col("i"),
        pl.col("line").str.count_matches('"').alias("quotes"),
        (quote_free.str.count_matches(sep, literal=True) + 1).alias("cells"),
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
        _check_quotes(source, text, multiline)
    elif bad is not None and bad > 0:
        msg = (
            f"{source.path}: row {bad} has {cells} cells but the header has {width}. "
            "Fix the export (a stray delimiter or an unquoted value?) and run again."
        )
        raise InputError(msg)


def _check_quoting(source: Source, text: detect.Text) -> None:
    """A quote in the middle of a field (``"x"y``, ``5" screen``) that polars refuses although
    every row has its cells: the csv module, strict, names the row. Only run once polars has
    failed on the file, so its pace does not matter."""
    with contextlib.ExitStack() as stack:
        if text.data is not None:
            lines: IO[str] = io.StringIO(text.data.decode("utf-8", errors="replace"), newline="")
        else:  # UTF-8 as it is on disk: read a line at a time
            lines = stack.enter_context(
                source.path.open(encoding="utf-8", errors="replace", newline="")
            )
        for _ in range(source.skip_rows):
            lines.readline()
        rows = csv.reader(lines, delimiter=text.delimiter, strict=True)
        try:
            for _ in rows:
                pass
        except csv.Error as err:
            row = max(rows.line_num - 1, 1)  # the header is line 1
            msg = (
                f"{source.path}: row {row}: a quote inside a field ({err}). Quote the whole "
                'field and double the quotes inside it ("5"" screen"), or export it again.'
            )
            raise InputError(msg) from None


def _check_quotes(source: Source, text: detect.Text, line: int) -> None:
    """Files with quoted line breaks: let polars parse, and explain if it cannot."""
    frame = pl.scan_csv(
        text.data if text.data is not None else source.path,
        separator=text.delimiter,
        infer_schema=False,
        skip_rows=source.skip_rows,
        with_column_names=lambda cols: unique_names(cols)[0],
        glob=False,
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
                    f"{source.path}: row {row}: byte 0x{bad} is not valid UTF-8 (a big file's "
                    "encoding is judged on a sample of its lines, which did not include this "
                    "one). Set the input's encoding: to the file's real one, for example "
                    "cp1252."
                )
                raise InputError(msg) from None
    msg = f"{source.path}: not valid UTF-8. Set the input's encoding: in the config."
    raise InputError(msg)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def collect(frame: pl.LazyFrame, scanned: Scanned) -> pl.DataFrame:
    """Run a table's one query (it must carry MAYBE_SHORT); an unreadable or ragged file
    is an InputError naming the first bad row."""
    with reading(scanned):
        table = frame.collect()
    if table[MAYBE_SHORT].any():
        scanned.verify_short_rows()
    return table.drop(MAYBE_SHORT)


@contextmanager
def reading(scanned: Scanned) -> Iterator[None]:
    """Every query on one opened file: polars' own parse errors (broken quoting, a field it
    finds not properly escaped, a cell of a type it cannot cast) become one InputError that
    names the file and, when the structure is at fault, its first bad row."""
    try:
        yield
    except pl.exceptions.PanicException as err:
        if scanned.text is not None:
            raise
        # The Parquet reader asserts on a file whose byte ranges point past its end.
        msg = (
            f"{scanned.source.path}: cannot be read: the file is damaged ({_first(err)}). "
            "Export it again."
        )
        raise InputError(msg) from None
    except pl.exceptions.PolarsError as err:
        # A CSV is all text: only the parser's own errors are the file's fault; any other
        # error on it is funnel's (exit 70, not hidden as a bad file). Parquet and Excel
        # columns come typed, and a type funnel cannot read is the file's.
        if scanned.text is not None and not isinstance(err, pl.exceptions.ComputeError):
            raise
        scanned.verify()  # names the ragged row or open quote when there is one
        msg = (
            f"{scanned.source.path}: cannot be read ({_first(err)}). "
            "Check the file is a complete export of one table."
        )
        raise InputError(msg) from None


def _first(err: BaseException) -> str:
    """An error's first line, at most 200 characters."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else type(err).__name__
    return excerpt(first, 200)[1:-1]
