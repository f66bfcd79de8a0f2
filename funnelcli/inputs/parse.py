"""Cell parsing as polars expressions: timestamps, amounts, channels, typed extra columns.

A value that cannot be parsed becomes null; callers compare with the raw cell to flag it.
"""

from __future__ import annotations

import itertools

import polars as pl

# ISO 8601: a date, optionally a time (minutes, seconds, fraction), optionally Z or ±hh:mm.
# Also the year-first layout Excel writes on Chinese, Japanese and Korean Windows
# (2026/3/2 9:15): the year first, it reads one way only.
_TS = (
    r"^\s*(?<date>\d{4}-\d{2}-\d{2}|\d{4}/\d{1,2}/\d{1,2})"
    r"(?:[T ](?<h>\d{1,2}):(?<m>\d{2})(?::(?<s>\d{2})(?<f>[.,]\d{1,9})?)?)?"
    r"\s*(?<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# A currency before or after the number: a symbol (€, $, R$, US$) or an ISO code (EUR).
_CUR = r"(?:[A-Z]{1,3}\p{Sc}|\p{Sc}|[A-Z]{3})"
# An optional sign and currency, digits with optional thousands groups, an optional
# decimal part and exponent. Anything else (N/A, 1.2.3, NaN, inf) fails. With the default
# "." decimal mark thousands are ","; with "," they are ".", a space or "'".
_AMOUNT = {
    ".": (
        rf"^\s*(?<sign>[+-]?)\s*{_CUR}?\s*(?<sign2>[+-]?)"
        r"(?<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?<exp>[eE][+-]?\d+)?"
        rf"\s*{_CUR}?\s*$"
    ),
    ",": (
        rf"^\s*(?<sign>[+-]?)\s*{_CUR}?\s*(?<sign2>[+-]?)"
        r"(?<num>(?:\d{1,3}(?:[.\s']\d{3})+|\d+)(?:,\d*)?|,\d+)(?<exp>[eE][+-]?\d+)?"
        rf"\s*{_CUR}?\s*$"
    ),
}
# What proves a column's decimal mark (docs/inputs.md, "What is detected"): the mark
# followed by one, two, or four or more digits at the end of the number.
_PROVES = {",": r"\d,(?:\d{1,2}|\d{4,})$", ".": r"\d\.(?:\d{1,2}|\d{4,})$"}
# Day/month layouts: 3/2/2026, 02.03.2026 09:15, 3/2/2026, 9:15 AM, 2/3/26 14:05.
_DM = (
    r"^\s*(?<a>\d{1,2})(?<sep>[/.\-])(?<b>\d{1,2})[/.\-](?<y>\d{4}|\d{2})"
    r"(?:,?\s+(?<h>\d{1,2})[:.](?<m>\d{2})(?:[:.](?<s>\d{2}))?\s*(?<ap>[AaPp]\.?[Mm]\.?)?)?\s*$"
)
MICROS = 1_000_000
AMOUNT_LIMIT = 9e13  # currency units: beyond it a float no longer holds the cents
TRUE_WORDS = ("true", "yes", "y", "t", "1")
FALSE_WORDS = ("false", "no", "n", "f", "0")


def blank_to_null(col: pl.Expr) -> pl.Expr:
    """Text with surrounding spaces trimmed; empty becomes null."""
    # Not replace("", None): in a streaming scan it cuts its column's chunks apart from the
    # others', and the next frame operation then copies the whole frame into one chunk
    # (10M-lead CSV report: 0.9 GB higher peak, ~1 s slower than this).
    text = col.cast(pl.String).str.strip_chars()
    return pl.when(text != "").then(text)


MICROSECONDS = pl.Datetime("us")
TIME_OF_DAY = ("%H", "%I", "%M", "%S", "%T", "%R", "%r", "%X", "%c", "%s")  # strftime codes


def strptime(text: pl.Expr, fmt: str, dtype: pl.DataType = MICROSECONDS) -> pl.Expr:
    """``text`` parsed by ``fmt``; a cell that does not match becomes null.

    polars caches each distinct cell's parse by default: worth it for dates alone (a few
    hundred days), a loss for times, nearly all distinct (24.6M ISO times: 0.63 s cached
    against 0.39 s uncached; 24.6M dates: 0.18 against 0.27 s)."""
    timed = any(part in fmt for part in TIME_OF_DAY)
    return text.str.strptime(dtype, fmt, strict=False, cache=not timed)


def timestamp(col: pl.Expr, dtype: pl.DataType, tz: str) -> pl.Expr:
    """Any accepted date/datetime cell → Datetime(us) in the business time zone ``tz``."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return _localize(col.cast(pl.Datetime("us")), tz)
        return col.cast(pl.Datetime("us", dtype.time_zone)).dt.convert_time_zone(tz)
    if dtype == pl.Date:
        return _localize(col.cast(pl.Datetime("us")), tz)
    return _parse_iso(col.cast(pl.String), tz)


def with_timestamps(
    frame: pl.LazyFrame,
    columns: dict[str, tuple[str, pl.DataType]],
    tz: str,
    formats: tuple[str, ...] | list[str] = (),
    dayfirst: bool | None = None,
) -> pl.LazyFrame:
    """Add ``out`` columns parsed from ``(source column, its dtype)`` by :func:`timestamp`.

    Text goes through the input's own ``formats`` (strptime, naive in ``tz``), then the
    common fixed formats (fast); the general ISO parser (a regex) only sees the cells they
    missed, the others reaching it as nulls, which cost nothing. Each step is its own
    projection so that no sub-expression is evaluated twice.
    """
    text_cols = {o: src for o, (src, dtype) in columns.items() if not dtype.is_temporal()}
    direct = {
        o: _in_calendar(timestamp(pl.col(src), dtype, tz))
        for o, (src, dtype) in columns.items()
        if dtype.is_temporal()
    }
    frame = frame.with_columns(**direct) if direct else frame
    if not text_cols:
        return frame
    common = {}
    for out, src in text_cols.items():
        text = pl.col(src).cast(pl.String)
        naive, utc = _parse_common(text)
        trimmed = text.str.strip_chars()
        own = [strptime(trimmed, f) for f in formats]
        if dayfirst is not None:
            own.append(day_month(text, dayfirst=dayfirst))
        common[f"__n_{out}"], common[f"__u_{out}"] = pl.coalesce(*own, naive), utc
    frame = frame.with_columns(**common)
    rest = {
        f"__r_{out}": pl.when(pl.col(f"__n_{out}").is_null() & pl.col(f"__u_{out}").is_null())
        .then(pl.col(src).cast(pl.String))
        .str.extract_groups(_TS)
        for out, src in text_cols.items()
    }
    frame = frame.with_columns(**rest)
    final = {
        out: _in_calendar(
            pl.coalesce(
                _localize(pl.col(f"__n_{out}"), tz),
                pl.col(f"__u_{out}").dt.convert_time_zone(tz),
                _from_parts(pl.col(f"__r_{out}"), tz),
            )
        )
        for out in text_cols
    }
    temps = [f"__{k}_{out}" for out in text_cols for k in "nur"]
    return frame.with_columns(**final).drop(temps)


def _in_calendar(stamp: pl.Expr) -> pl.Expr:
    """Years 1 to 9999 only: polars reads year 0 (``0000-01-01``) and beyond, which no
    date of the rest of the program can hold — such a value is a bad date, not a crash."""
    return pl.when(stamp.dt.year().is_between(1, 9999)).then(stamp)


def day_month(text: pl.Expr, *, dayfirst: bool) -> pl.Expr:
    """A day/month layout (see ``_DM``) read in the given order → naive Datetime(us)."""
    f = text.str.extract_groups(_DM).struct.field
    day, month = (f("a"), f("b")) if dayfirst else (f("b"), f("a"))
    year = f("y").cast(pl.Int32)
    year = pl.when(year < 100).then(year + 2000).otherwise(year)
    hour = f("h").cast(pl.Int32).fill_null(0)
    pm = f("ap").str.to_lowercase().str.starts_with("p")
    twelve = f("ap").is_not_null()
    hour = (
        pl.when(~twelve)
        .then(hour)
        .when((hour >= 1) & (hour <= 12))
        .then(hour % 12 + pl.when(pm).then(12).otherwise(0))
    )
    iso = pl.format(
        "{}-{}-{} {}:{}:{}",
        year.cast(pl.String).str.zfill(4),
        month.str.zfill(2),
        day.str.zfill(2),
        hour.cast(pl.String).str.zfill(2),
        f("m").fill_null("00"),
        f("s").fill_null("00"),
    )
    return strptime(iso, "%Y-%m-%d %H:%M:%S")


def day_month_evidence(frame: pl.LazyFrame, columns: list[str]) -> dict[str, list[str]] | None:
    """Cells of ``columns`` in a day/month layout, by what they prove (up to three each):
    ``day`` (a valid date only day-first), ``month`` (only month-first), ``both`` (valid
    either way). None when the first rows have no such cell, so ISO exports cost one
    head read. A cell valid neither way (31/02/2026) proves nothing: it is a bad row."""
    if not columns:
        return None
    cells = pl.concat(
        [frame.select(pl.col(c).cast(pl.String).alias("cell")) for c in columns], how="vertical"
    )
    shaped = pl.col("cell").str.contains(_DM)
    if not cells.head(FEW_HEAD).select(shaped.any()).collect().item():
        return None
    text = pl.col("cell").str.strip_chars()
    as_day = day_month(text, dayfirst=True).is_not_null()
    as_month = day_month(text, dayfirst=False).is_not_null()
    groups = {"day": as_day & ~as_month, "month": as_month & ~as_day, "both": as_day & as_month}
    found = (
        cells.filter(shaped)
        .select(
            **{
                name: text.filter(mask).unique(maintain_order=True).head(3).implode()
                for name, mask in groups.items()
            }
        )
        .collect()
    )
    return {name: found[name][0].to_list() for name in groups}


def decimal_evidence(frame: pl.LazyFrame, column: str) -> dict[str, list[str]]:
    """Up to three values of a text amount column proving each decimal mark."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    number = text.str.replace_all(r"[^\d.,]", "")
    proofs = {
        mark: text.filter(number.str.contains(rx)).unique(maintain_order=True).head(3).implode()
        for mark, rx in _PROVES.items()
    }
    row = frame.select(**{("comma" if m == "," else "dot"): e for m, e in proofs.items()}).collect()
    return {",": row["comma"][0].to_list(), ".": row["dot"][0].to_list()}


def _parse_common(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The shapes exports use most, parsed by fixed formats (fast): (naive, UTC) datetimes."""
    size = text.str.len_bytes()

    def shaped(length: int, fmt: str, source: pl.Expr = text) -> pl.Expr:
        return strptime(pl.when(size == length).then(source), fmt)

    day = shaped(10, "%Y-%m-%d")
    # The two 19-character shapes each see only their own cells: a failed attempt costs as
    # much as a parse (CRM histories with a T: 0.52 → 0.23 s for 4.9M cells).
    has_t = text.str.contains("T", literal=True)
    spaced = shaped(19, "%Y-%m-%d %H:%M:%S", pl.when(~has_t).then(text))
    tee = shaped(19, "%Y-%m-%dT%H:%M:%S", pl.when(has_t).then(text))
    minutes = shaped(16, "%Y-%m-%d %H:%M")
    zulu = shaped(20, "%Y-%m-%dT%H:%M:%SZ").dt.replace_time_zone("UTC")
    return pl.coalesce(day, spaced, tee, minutes), zulu


def _parse_iso(text: pl.Expr, tz: str) -> pl.Expr:
    return _from_parts(text.str.extract_groups(_TS), tz)


def _from_parts(parts: pl.Expr, tz: str) -> pl.Expr:
    """A datetime in ``tz`` from the named groups of the ISO regex."""
    f = parts.struct.field
    date = f("date").str.replace_all("/", "-", literal=True)
    day = strptime(date, "%Y-%m-%d", pl.Date).cast(pl.Datetime("us"))
    hour, minute = f("h").cast(pl.Int64), f("m").cast(pl.Int64)
    second = f("s").cast(pl.Int64).fill_null(0)
    frac = f("f").str.slice(1).str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64).fill_null(0)
    valid_time = f("h").is_null() | ((hour < 24) & (minute < 60) & (second < 60))
    naive = day + pl.duration(
        hours=hour.fill_null(0), minutes=minute.fill_null(0), seconds=second, microseconds=frac
    )
    naive = pl.when(valid_time).then(naive)
    offset = _offset_minutes(f("tz"))
    utc = (naive - pl.duration(minutes=offset)).dt.replace_time_zone("UTC")
    return (
        pl.when(f("tz").is_null())
        .then(_localize(naive, tz))
        .otherwise(utc.dt.convert_time_zone(tz))
    )


def _offset_minutes(tz: pl.Expr) -> pl.Expr:
    digits = tz.str.replace_all(r"[:Zz+-]", "")
    hours = digits.str.slice(0, 2).cast(pl.Int64, strict=False).fill_null(0)
    minutes = digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)
    sign = pl.when(tz.str.starts_with("-")).then(-1).otherwise(1)
    return sign * (hours * 60 + minutes)


def _localize(naive: pl.Expr, tz: str) -> pl.Expr:
    # A wall-clock time skipped by a DST change (e.g. midnight on 2017-10-15 in São Paulo)
    # is moved forward by the usual one-hour gap, to the first instant that exists.
    exact = naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    gap = pl.when(exact.is_null()).then(naive) + pl.duration(hours=1)
    shifted = gap.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return pl.coalesce(exact, shifted)


def amount_micros(col: pl.Expr, dtype: pl.DataType, decimal: str = ".") -> pl.Expr:
    """An amount in millionths of the currency (Int64), so that sums are exact to the cent.
    ``decimal`` is the decimal mark of text cells ("." or ",")."""
    if dtype.is_numeric():
        value = col.cast(pl.Float64)
    else:
        parts = col.cast(pl.String).str.extract_groups(_AMOUNT[decimal])
        f = parts.struct.field
        digits = (
            f("num").str.replace_all(",", "")
            if decimal == "."
            else f("num").str.replace_all(r"[.\s']", "").str.replace(",", ".", literal=True)
        )
        number = (digits + f("exp").fill_null("")).cast(pl.Float64, strict=False)
        negative = (f("sign") == "-") ^ (f("sign2") == "-")
        bad_signs = (f("sign") != "") & (f("sign2") != "")
        value = pl.when(~bad_signs).then(pl.when(negative).then(-number).otherwise(number))
    # Up to the exact range of sums (docs/inputs.md): a float holds such an amount to the
    # cent, and 128 bits its millionths.
    finite = value.is_finite() & (value.abs() < AMOUNT_LIMIT)
    return pl.when(finite).then((value * MICROS).round(0).cast(pl.Int128))


def whole_number(cell: pl.Expr, dtype: pl.DataType, decimal: str = ".") -> pl.Expr:
    """A count ≥ 0 (impressions, clicks, visits): ``1,234``, or ``1.234`` where the decimal
    mark is a comma; anything else is null."""
    micros = amount_micros(cell, dtype, decimal)
    whole = (micros % MICROS == 0) & (micros >= 0)
    return pl.when(whole).then((micros // MICROS).cast(pl.Int64))


def normalise_channel(col: pl.Expr, aliases: dict[str, list[str]]) -> pl.Expr:
    """Trim, lower-case, map aliases; missing or blank → ``unknown`` (docs/inputs.md).

    A categorical: a handful of channels over millions of leads, so four bytes a row, and
    grouping and joining on it compare integers (rules still see it as text)."""
    text = blank_to_null(col).str.to_lowercase()
    mapping = {
        a.strip().lower(): target.strip().lower() for target, al in aliases.items() for a in al
    }
    mapping.update({t.strip().lower(): t.strip().lower() for t in aliases})
    mapped = text.replace(mapping) if mapping else text
    return mapped.fill_null("unknown").cast(pl.Categorical)


def by_distinct(cells: pl.Series, *exprs: pl.Expr) -> pl.DataFrame:
    """``exprs`` (over ``pl.col("cell")``) worked out once per distinct value of the
    categorical ``cells`` and spread to its rows, in order.

    For the few-valued columns of big exports (channel, stage): a handful of string
    operations instead of millions, and the rows look their result up by integer code."""
    values, index = _distinct_values(cells)
    table = values.to_frame("cell").select(*exprs)
    return cut_like(table[index], cells.chunk_lengths())


def _distinct_values(cells: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(values, the position of each cell's value among them).

    Usually the values are every category the process knows (a few hundred: channels,
    campaigns, stages…), in code order, so a row's code is its position: nothing to hash
    or search. Only when they outnumber the rows are the rows' own distinct values used."""
    known = cells.dtype.categories.to_series()
    if known.len() <= cells.len():
        # One more value, null, at the end, for the missing cells.
        values = known.extend_constant(None, 1)
        codes = cells.to_physical()
        return values, codes.fill_null(known.len()) if codes.null_count() else codes
    distinct = cells.unique()
    # Each row finds its value's position through an array indexed by category code.
    codes = distinct.to_physical()
    positions = pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True)
    present = codes.is_not_null()
    lookup = pl.repeat(None, (codes.max() or 0) + 1, dtype=pl.UInt32, eager=True)
    lookup = lookup.scatter(codes.filter(present), positions.filter(present))
    index = lookup.gather(cells.to_physical())
    if distinct.null_count():  # a null code is not looked up: send it to the null's row
        index = index.fill_null(distinct.is_null().arg_max())
    return distinct.cast(pl.String), index


def cut_like(frame: pl.DataFrame, lengths: list[int]) -> pl.DataFrame:
    """``frame`` in chunks of ``lengths`` (those of the columns it will stand beside): a
    frame whose columns are chunked differently is copied whole to align them by the next
    operation that works across its columns."""
    if len(lengths) < 2:
        return frame
    starts = itertools.accumulate(lengths[:-1], initial=0)
    return pl.concat(
        [frame.slice(s, n) for s, n in zip(starts, lengths, strict=True)], rechunk=False
    )


def normalise_campaign(col: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased, blank → null; a categorical like the channel."""
    return blank_to_null(col).str.to_lowercase().cast(pl.Categorical)


def infer_types(frame: pl.DataFrame, names: list[str]) -> dict[str, str]:
    """The type each text column supports over every value: int, float, bool or str."""
    return {name: _infer(_values(frame[name]).drop_nulls()) for name in names}


def _values(cells: pl.Series) -> pl.Series:
    """The cells to judge a type from: a categorical's distinct values suffice, since each
    test asks whether every value fits."""
    return cells.unique().cast(pl.String) if cells.dtype == pl.Categorical else cells


FEW_HEAD = 10_000


def few_valued(cells: pl.Series) -> bool:
    """Whether a text column repeats its values: at most one in ten of its first values
    distinct. Such a column is cheaper as a categorical; one of mostly distinct values
    (names, notes) would only fill the category table, so it stays text."""
    head = cells.head(FEW_HEAD).drop_nulls()
    return head.len() > 0 and head.n_unique() * 10 <= head.len()


INFER_HEAD = 1000


def _infer(present: pl.Series) -> str:
    """The narrowest type every value fits. Each test runs on the first values before the
    whole column: one value that fails disproves a type, so a text column such as job
    titles is settled by its head instead of three passes over millions of rows."""
    if present.len() == 0:
        return "null"  # no value at all: no type, and every comparison is simply false
    head = present.head(INFER_HEAD)
    for kind, fits in (("int", _all_int), ("float", _all_float), ("bool", _all_bool)):
        if fits(head) and (present.len() <= INFER_HEAD or fits(present)):
            return kind
    return "str"


def _all_int(values: pl.Series) -> bool:
    return values.cast(pl.Int64, strict=False).null_count() == 0


def _all_float(values: pl.Series) -> bool:
    # Polars reads "inf" and "nan" as floats; a real number never contains an "n".
    floats = values.cast(pl.Float64, strict=False)
    return floats.null_count() == 0 and not values.str.contains("(?i)n").any()


def _all_bool(values: pl.Series) -> bool:
    short = (values.str.len_bytes().max() or 0) <= len("false")
    return short and bool(values.str.to_lowercase().is_in(["true", "false"]).all())


def as_type(col: pl.Expr, kind: str, tz: str) -> pl.Expr:
    """Cast a text cell to ``kind``; unparsable values become null."""
    if kind == "null":
        return pl.lit(None, pl.Null)
    if kind == "int":
        return col.cast(pl.Int64, strict=False)
    if kind == "float":
        return col.cast(pl.Float64, strict=False)
    text = blank_to_null(col)
    if kind == "bool":
        words = dict.fromkeys(TRUE_WORDS, True) | dict.fromkeys(FALSE_WORDS, False)
        return text.str.to_lowercase().replace_strict(words, default=None, return_dtype=pl.Boolean)
    if kind == "date":
        return timestamp(text, pl.String(), tz).dt.date()
    return text
