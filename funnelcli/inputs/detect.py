"""What a text export is, found from its bytes: compression, encoding, delimiter, line
endings, title and footer lines. Never a guess: what cannot be decided is an InputError
naming the option that decides it.

The result says whether polars can read the file as it is (the fast path for big UTF-8
exports) or needs the text this module prepared (transcoded, line endings unified, footer
cut), and what was detected, for the ``input.detected`` finding.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from funnelcli.errors import InputError
from funnelcli.inputs import charsets

DELIMITERS = (",", ";", "\t", "|")
# Files up to this size are checked whole (encoding, lone CRs, control characters); bigger
# ones by a sample of whole lines from the start, the end and sixteen places between
# (checking a 110 MB export whole cost a quarter of a second, a fifth of the report). A bad
# byte the sample missed still fails the read with the row named: never a wrong number.
WHOLE_CHECK = 16 << 20
HEAD = 1 << 20
SAMPLE_CHUNK = 64 << 10
SAMPLE_PLACES = 16
FOOTER_MAX_LINES = 12
# Damaged UTF-8: at least this many non-ASCII characters decode, four for each that does not
# (text in a CJK code page decodes one character in ten or so, by chance).
UTF8_GOOD, UTF8_SHARE = 10, 4
_MAGIC = {
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"7z\xbc\xaf\x27\x1c": "7z",
    b"Rar!": "rar",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Text:
    """A text table ready for polars: ``data`` (UTF-8 bytes) or None to read ``path``."""

    data: bytes | None
    delimiter: str
    header: list[str]
    notes: list[str] = field(default_factory=list)  # what was detected, for input.detected
    control_lines: int = 0  # lines whose control characters were removed


def kind_of(path: Path) -> str:
    """``parquet``, ``excel`` or ``text``, by the file's first bytes, then its name."""
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in (".parquet", ".pq"):
        return "parquet"  # a .parquet file that is not one fails there, with that said
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods") and not head.startswith(b"\x1f\x8b"):
        return "excel"
    if head.startswith(b"\xd0\xcf\x11\xe0") or (
        head.startswith(b"PK\x03\x04") and _is_workbook(path)
    ):
        return "excel"
    if head.startswith(b"PK\x03\x04"):
        msg = f"{path}: is a zip archive, not a table. Unzip it and point the input at the file."
        raise InputError(msg)
    return "text"


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "xl/workbook.xml" in names or "content.xml" in names


def read_text(
    path: Path,
    *,
    encoding: str | None,
    delimiter: str | None,
    skip_rows: int,
    label: str,
) -> Text:
    """Detect and prepare a text table (see the module docstring)."""
    raw, notes = _raw_bytes(path)
    size = len(raw) if raw is not None else path.stat().st_size
    whole_seen = raw is not None or size <= WHOLE_CHECK
    if raw is not None:
        sample = raw
    else:
        sample = _read_head(path, WHOLE_CHECK) if whole_seen else _spread_sample(path, size)
    text_bytes, enc_note = _to_utf8(path, raw, sample, encoding, label, whole=whole_seen)
    notes += enc_note
    # What the checks below look at: every byte when the file is held or small enough to
    # have been read whole, else the sample.
    seen = text_bytes if text_bytes is not None else sample
    if b"\r" in seen and _LONE_CR.search(seen):  # the `in` is ten times cheaper than the regex
        # Old Mac "CSV", or line endings mixed: polars only knows \n, so unify them.
        text_bytes = _LONE_CR.sub(b"\n", _held(path, raw, text_bytes)).replace(b"\r\n", b"\n")
        notes.append("line endings CR")
    control = _control_lines(seen)
    if control:
        text_bytes = _held(path, raw, text_bytes)
        control = _control_lines(text_bytes)  # counted over the whole file, not the sample
        text_bytes = _CONTROL.sub(b"", text_bytes)
    if text_bytes is not None:
        text = text_bytes.decode("utf-8-sig")
    else:
        text = _head_text(path, skip_rows + 1)
    lines = text.split("\n", skip_rows + 2)
    if len(lines) <= skip_rows or not lines[skip_rows].strip():
        msg = f"{path}: the file is empty; it needs a header row (and data rows)."
        raise InputError(msg)
    following = lines[skip_rows + 1] if len(lines) > skip_rows + 1 else ""
    sep = delimiter or _delimiter(lines[skip_rows], following)
    if delimiter is None and sep != ",":
        notes.append(f"delimiter {_show(sep)}")
    header = _header_cells(path, text, sep, skip_rows)
    cut = _footer(text_bytes if text_bytes is not None else _tail(path), sep, len(header))
    if cut is not None:
        text_bytes = _held(path, raw, text_bytes)
        kept, dropped = _footer(text_bytes, sep, len(header)) or (len(text_bytes), 0)
        text_bytes = text_bytes[:kept]
        notes.append(f"{dropped} footer lines dropped")
    return Text(text_bytes, sep, header, notes, control)


_LONE_CR = re.compile(rb"\r(?!\n)")
# Control characters other than tab and line ends: never meant in a cell (a NUL inside
# "face\0book" would make a channel of its own).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_CONTROL_BYTES = bytes([*range(9), 11, 12, *range(14, 32), 127])


def _control_lines(data: bytes) -> int:
    """How many lines hold a control character. Whether there is any is one pass of
    ``bytes.translate`` (0.1 s on 110 MB, against 0.23 s for the regex); lines are split
    and counted only then."""
    if len(data.translate(None, _CONTROL_BYTES)) == len(data):
        return 0
    return sum(1 for line in data.split(b"\n") if _CONTROL.search(line))


def _held(path: Path, raw: bytes | None, text_bytes: bytes | None) -> bytes:
    """The UTF-8 bytes to change: those already held, else the whole file."""
    return text_bytes if text_bytes is not None else _whole(path, raw)


def _raw_bytes(path: Path) -> tuple[bytes | None, list[str]]:
    """The file's bytes when they must be held (compressed), else None; refuses other
    compressed and binary content."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x1f\x8b"):
        try:
            return gzip.decompress(path.read_bytes()), ["gzip"]
        except (OSError, EOFError, zlib.error) as err:
            msg = f"{path}: a gzip file that cannot be decompressed ({err}). Export it again."
            raise InputError(msg) from None
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            msg = (
                f"{path}: is {name}-compressed. funnel reads plain and gzip-compressed "
                f"files: decompress it first (e.g. with {name if name != '7z' else '7z x'})."
            )
            raise InputError(msg)
    return None, []


def _whole(path: Path, raw: bytes | None) -> bytes:
    return raw if raw is not None else path.read_bytes()


def _to_utf8(
    path: Path, raw: bytes | None, sample: bytes, encoding: str | None, label: str, *, whole: bool
) -> tuple[bytes | None, list[str]]:
    """(UTF-8 bytes, or None when the file is UTF-8 and polars can read it as is; notes).
    ``sample`` is the whole file when ``whole``, else whole lines from places in it."""
    bom = next((name for mark, name in _BOMS if sample.startswith(mark)), None)
    if encoding is not None:
        return _forced(path, raw, sample, encoding, bom=bom, label=label)
    if bom == "utf-16":
        return _decode(path, _whole(path, raw), "utf-16", label), ["encoding UTF-16"]
    if b"\x00" in sample[:4096]:
        _refuse_nul(path, sample)
    try:
        sample.decode("utf-8-sig") if whole else _decode_head(sample)
    except UnicodeDecodeError as err:
        _refuse_damaged_utf8(path, sample, err, label, exact=whole or err.start < HEAD)
        found = charsets.guess(sample)
        if found is None:
            msg = (
                f"{path}: is not UTF-8, and its bytes fit no encoding funnel knows well enough "
                f"to be sure (Windows-1252, GB18030, Big5, Shift_JIS, EUC-KR). Set "
                f"{label}.encoding to the file's encoding, or save it as UTF-8."
            )
            raise InputError(msg) from None
        data = _decode(path, _whole(path, raw), found.codec, label)
        return data, [f"encoding {found.shown}"]
    return raw, []


def _forced(
    path: Path, raw: bytes | None, sample: bytes, encoding: str, *, bom: str | None, label: str
) -> tuple[bytes | None, list[str]]:
    name = codecs.lookup(encoding).name
    if bom == "utf-16" and "utf_16" not in name and "utf-16" not in name:
        msg = (
            f"{path}: starts with a UTF-16 byte-order mark, but {label} sets encoding "
            f"{encoding!r}. Remove encoding: (funnel detects UTF-16) or set it to utf-16."
        )
        raise InputError(msg)
    if "utf" not in name and b"\x00" in sample[:4096]:
        msg = (
            f"{path}: has NUL bytes, which {encoding!r} text never has (UTF-16, or not a "
            f"text file). Remove {label}.encoding to let funnel detect it."
        )
        raise InputError(msg)
    if name in ("utf-8", "utf_8") and raw is None:
        return None, []
    return _decode(path, _whole(path, raw), name, label), []


def _decode(path: Path, data: bytes, encoding: str, label: str) -> bytes:
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as err:
        row = data[: err.start].count(b"\n")
        msg = (
            f"{path}: row {row}: bytes that are not valid {encoding}. Set "
            f"{label}.encoding to the file's real encoding, or remove it to let funnel detect it."
        )
        raise InputError(msg) from None


def _decode_head(sample: bytes) -> None:
    """UTF-8 check of a cut sample: a character split at the cut is not an error."""
    codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)


def _refuse_damaged_utf8(
    path: Path, sample: bytes, err: UnicodeDecodeError, label: str, *, exact: bool
) -> None:
    """Text whose non-ASCII characters nearly all decode as UTF-8 — a stray byte among many
    good characters — is a damaged UTF-8 file, not a legacy code page, which would read every
    good character wrong. A code page's text decodes as UTF-8 only by chance (a GBK pair
    such as 展's D5 B9 does), mostly not. ``exact``: the sample is the file up to the byte,
    so its row can be named."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    if good < UTF8_GOOD or bad * UTF8_SHARE > good:
        return
    rows = sample[: err.start].count(b"\n")
    where = f"row {rows}" if exact else "a row past the first MiB"
    bad = sample[err.start : err.start + 1].hex()
    msg = (
        f"{path}: {where}: byte 0x{bad} is not valid UTF-8, though the text before it is. "
        f"Fix that byte in the export, or set {label}.encoding if the file is in another one."
    )
    raise InputError(msg)


def _refuse_nul(path: Path, sample: bytes) -> None:
    """NUL bytes: UTF-16 without a BOM, or a binary file, refused; a few in a text file are
    control characters, removed later and reported."""
    head = sample[:4096]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 4
    if len(_CONTROL.findall(head)) * 10 < len(head):
        return
    if odd > half or even > half:
        order = "little" if odd > even else "big"
        msg = (
            f"{path}: looks like UTF-16 ({order}-endian) without a byte-order mark. Set "
            f"encoding: utf-16-{'le' if order == 'little' else 'be'} on the input."
        )
    else:
        msg = f"{path}: is a binary file, not a CSV/TSV export (it has NUL bytes)."
    raise InputError(msg)


def _spread_sample(path: Path, size: int) -> bytes:
    """The first MiB, then whole lines from sixteen evenly spread places and the end: what
    a big file's encoding, line endings and control characters are judged on."""
    parts = [_read_head(path, HEAD)]
    with path.open("rb") as handle:
        for i in range(1, SAMPLE_PLACES + 2):
            handle.seek(max(HEAD, min(size - SAMPLE_CHUNK, size * i // (SAMPLE_PLACES + 1))))
            chunk = handle.read(SAMPLE_CHUNK)
            start, end = chunk.find(b"\n") + 1, chunk.rfind(b"\n") + 1
            if 0 < start < end:
                parts.append(chunk[start:end])
    return b"".join(parts)


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


HEADER_MAX = 64 << 20


def _head_text(path: Path, lines: int) -> str:
    """The start of the file, at least its first ``lines`` lines (a header of 100,000
    columns is megabytes long), read up to HEADER_MAX."""
    size = HEAD
    while True:
        data = _read_head(path, size)
        text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(data, False)
        if text.count("\n") >= lines or len(data) < size or size >= HEADER_MAX:
            return text
        size *= 4


def comment_lines(path: Path, prefix: str = "#") -> list[str]:
    """The lines at the top of a text file that start with ``prefix`` (an export's notes
    above its header, as GA4 writes them), with any blank lines among or after them; none
    for a file that cannot be read as text."""
    try:
        head = _head_text(path, 64)
    except OSError:
        return []
    found = []
    for line in head.splitlines():
        # A blank line between the notes and the header belongs to the notes.
        if not line.startswith(prefix) and line.strip():
            break
        found.append(line)
    return found


def _tail(path: Path, size: int = 1 << 16) -> bytes:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        end = handle.tell()
        handle.seek(max(0, end - size))
        return handle.read()


def _delimiter(line: str, following: str = "") -> str:
    """The delimiter of the header line: the most frequent of , ; tab | outside quotes; on
    a tie (a header such as ``Cost, USD<TAB>Clicks``), the one the next line has as often."""
    counts = _counts(line)
    best = max(counts.values())
    if not best:
        return ","
    tied = [d for d in DELIMITERS if counts[d] == best]
    if len(tied) > 1 and following:
        after = _counts(following)
        tied = [d for d in tied if after[d] == best] or tied
    return tied[0]


def _counts(line: str) -> dict[str, int]:
    bare, quoted = [], False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            bare.append(char)
    return {d: bare.count(d) for d in DELIMITERS}


def _header_cells(path: Path, text: str, sep: str, skip_rows: int) -> list[str]:
    rows = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        for _ in range(skip_rows):
            next(rows, None)
        first = next(rows, None)
    except csv.Error as err:
        msg = f"{path}: the header row cannot be read as CSV ({err}). Fix the export."
        raise InputError(msg) from None
    if not first:
        msg = f"{path}: the file is empty; it needs a header row (and data rows)."
        raise InputError(msg)
    return first


def _footer(data: bytes, sep: str, width: int) -> tuple[int, int] | None:
    """(byte offset where the footer starts, its line count), when the data ends with a
    blank line followed by a few one-cell lines (Salesforce: report name, copyright,
    "Confidential Information", "Generated By: …", company). ``data`` may be the tail."""
    if width < 2:
        return None
    body = data.rstrip(b"\r\n")
    lines = body.split(b"\n")[-(FOOTER_MAX_LINES + 2) :]
    blank = next((i for i in range(len(lines) - 1, -1, -1) if not lines[i].strip(b"\r \t")), None)
    if blank is None or blank == len(lines) - 1:
        return None
    footer = lines[blank + 1 :]
    for line in footer:
        text = line.decode("utf-8", errors="replace")
        cells = next(csv.reader([text], delimiter=sep), [])
        if len([c for c in cells if c.strip()]) > 1:
            return None
    tail_len = sum(len(x) + 1 for x in lines[blank:]) - 1
    start = len(body) - tail_len
    return start, len(footer)


def _show(sep: str) -> str:
    return {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[sep]
