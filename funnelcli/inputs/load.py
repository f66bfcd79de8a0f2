"""The three inputs → typed, normalised DataFrames plus the row-level findings (docs/inputs.md).

Each file is scanned once: mapping, parsing and flagging happen in one lazy query that is
collected once; every later step works on these in-memory frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from funnelcli.columns import FILE
from funnelcli.errors import ConfigError, InputError, excerpt, listed
from funnelcli.findings import MAX_EXAMPLES, Example, Finding
from funnelcli.inputs import detect, parse
from funnelcli.inputs.readers import ROW, Scanned, Source, file_columns, scan
from funnelcli.policy.config import InputSpec, Policy
from funnelcli.policy.presets import Pick, Preset, preset_for
from funnelcli.policy.rules import regex_problem
from funnelcli.policy.yamlsrc import Key

Table = Literal["leads", "spend", "transitions", "traffic"]
LEADS_REQUIRED = ("lead_id", "created_at", "channel")
SPEND_REQUIRED = ("date", "channel", "amount")
TRANSITIONS_REQUIRED = ("lead_id", "stage", "entered_at")
TRAFFIC_REQUIRED = ("date", "channel", "visits")


def shown_only(cell: str, unusable: pl.Expr) -> pl.Expr:
    """The raw text column ``cell`` kept only on the ``unusable`` rows, whose findings show
    it as written, as a categorical: four bytes a row where the text took 16 to 36 (24.6M
    entry times: 1.9 → 1.1 GB at the read's peak, no slower).

    The others get an empty cell, not null: a part of the file with no such row would
    otherwise come out as one null constant, and the whole frame be copied into one chunk."""
    text = pl.col(cell).cast(pl.String)
    return pl.when(unusable).then(text).otherwise(text.str.head(0)).cast(pl.Categorical).alias(cell)


def file_label(name: str) -> pl.Expr:
    """The ``__file`` column: the file's name on every row, as a categorical (four bytes a
    row instead of the name's length, in every frame that carries it)."""
    return pl.lit(name, pl.Categorical).alias(FILE)


@dataclass
class Loaded:
    """A table's kept rows and what was flagged on the way."""

    frame: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    rows_read: int = 0
    headers: list[str] = field(default_factory=list)  # the file's columns, canonical names


def source_for(policy: Policy, spec: InputSpec, loc: Key) -> Source:
    preset = preset_for(spec.preset, str(loc[1]))
    for key, patterns in (("skip_where", spec.skip_where), ("keep_where", spec.keep_where)):
        for column, pattern in patterns.items():
            _check_regex(pattern, policy.source.where((*loc, key, column)))
    return Source(
        path=policy.resolve(spec),
        label=".".join(str(p) for p in loc),
        where=policy.source.where((*loc, "path")),
        encoding=spec.encoding,
        delimiter=spec.delimiter,
        null_values=(*spec.null_values, *(preset.null_values if preset else ())),
        skip_rows=spec.skip_rows or _preset_skip(preset, policy.resolve(spec)),
        sheet=spec.sheet,
    )


def _preset_skip(preset: Preset | None, path: Path) -> int:
    if preset is None:
        return 0
    if preset.comment_range:
        return len(detect.comment_lines(path))
    return preset.skip_rows


RANGE_NOTE = re.compile(r"^#\s*(Start|End) date:\s*(\S+)\s*$", re.IGNORECASE)


def _comment_range(path: Path) -> dict[str, str]:
    """``date`` and ``date_end`` from an export's "# Start date: 20260301" notes."""
    found = {}
    for line in detect.comment_lines(path):
        match = RANGE_NOTE.match(line.strip())
        if match:
            found["date" if match[1].lower() == "start" else "date_end"] = match[2]
    return found


def _check_regex(pattern: str, where: str) -> None:
    problem = regex_problem(pattern)
    if problem:
        raise ConfigError(
            f"{where}: bad regular expression {excerpt(pattern)} ({excerpt(problem, 200)})."
        )


def date_formats(spec: InputSpec, kind: str) -> list[str]:
    """The input's own date formats, else its preset's (tried before ISO 8601)."""
    preset = preset_for(spec.preset, kind)
    return spec.date_formats or list(preset.date_formats if preset else ())


@dataclass
class Opened:
    """A table's lazy frame with canonical names, and what reading it found out."""

    frame: pl.LazyFrame
    scanned: Scanned
    headers: dict[str, str] = field(default_factory=dict)  # canonical → the file's header


def open_table(
    source: Source,
    spec: InputSpec,
    required: tuple[str, ...],
    kind: str,
    reads: tuple[str, ...] = (),
) -> Opened:
    """Scan a file, keep the rows the input's filters select, rename mapped headers (the
    config's, else its preset's) to canonical names, fill defaults; check required ones.

    ``reads``: other file columns the caller needs (rule fields): like the mapped ones,
    they must not be a blank or repeated header."""
    scanned = scan(source)
    frame = scanned.frame
    names = frame.collect_schema().names()
    preset = preset_for(spec.preset, kind)
    frame = _filtered(frame, source, names, spec, preset)
    renames = {header.strip(): canon for canon, header in spec.columns.items()}
    missing_maps = [h for h in renames if h not in names]
    if missing_maps:
        have = listed(file_columns(names))
        msg = (
            f"{source.path}: the config maps a column named '{missing_maps[0]}' "
            f"({source.label}.columns) but the file has no such header. Its headers: {have}."
        )
        raise InputError(msg)
    picks: dict[str, pl.Expr] = {}
    if preset is not None:
        # The user's mapping wins, both for the canonical name and for the header it uses.
        renames = _preset_renames(preset, names, set(spec.columns), set(renames)) | renames
        picks = {
            c: _picked(p, names, renames)
            for c, p in preset.picks.items()
            if c not in spec.columns and c not in renames.values()
        }
    _refuse_odd_headers(scanned, [*renames, *reads, *required])
    _refuse_nested(scanned, [*renames, *reads, *required])
    # A canonical name that is both mapped and present as a header: the mapping wins.
    # A picked column replaces a file header of its name (it was chosen from the others).
    clash = [c for c in renames.values() if c in names and c not in renames]
    frame = frame.with_columns(**picks) if picks else frame
    frame = frame.drop(clash).rename(renames)
    present = set(frame.collect_schema().names())
    defaults = {**(preset.defaults if preset else {}), **spec.defaults}
    if preset is not None and preset.currency_from_header:
        header = next((h for h, c in renames.items() if c == preset.currency_from_header), "")
        found = re.search(r"\(([A-Za-z]{3})\)\s*$", header)
        if found:
            defaults.setdefault("currency", found.group(1).upper())
    if preset is not None and preset.comment_range and "date" not in present:
        # No date column: every row covers the range the export's notes name.
        defaults = {**_comment_range(source.path), **defaults}
    fills = {c: pl.lit(v) for c, v in defaults.items() if c not in present}
    frame = frame.with_columns(**fills) if fills else frame
    present |= set(fills)
    for col in required:
        if col not in present:
            raise InputError(_missing_column(source, col, names))
    return Opened(frame, scanned, {c: h for h, c in renames.items()})


def _picked(pick: Pick, names: list[str], renames: dict[str, str]) -> pl.Expr:
    """The column chosen per row by ``pick`` (see presets.Pick), as text."""
    by_header = next((h for h, c in renames.items() if c == pick.by), pick.by)
    if by_header not in names:
        return pl.lit(None, pl.String)
    by = pl.col(by_header).cast(pl.String).fill_null("")
    chosen = None
    for pattern, candidates in pick.rules:
        header = next((h for h in candidates if h in names), None)
        if header is None:
            continue
        value = pl.col(header).cast(pl.String)
        chosen = (
            pl.when(by.str.contains(pattern)).then(value)
            if chosen is None
            else chosen.when(by.str.contains(pattern)).then(value)
        )
    return chosen if chosen is not None else pl.lit(None, pl.String)


def _refuse_nested(scanned: Scanned, used: list[str]) -> None:
    """A column funnel reads holds one value a cell: a Parquet column of lists or structs
    is refused by name (other columns may hold anything)."""
    schema = scanned.frame.collect_schema()
    for name in used:
        dtype = schema.get(name)
        if dtype is not None and (dtype.is_nested() or dtype == pl.Object):
            msg = (
                f"{scanned.source.path}: column '{name}' holds {dtype} values, and funnel reads "
                "one number, date or text a cell. Export it as a plain column."
            )
            raise InputError(msg)


def _refuse_odd_headers(scanned: Scanned, used: list[str]) -> None:
    """A column funnel reads must have one clear header; odd names elsewhere are noted."""
    repeated = set(scanned.renamed.values())
    for name in used:
        if name in repeated:
            msg = (
                f"{scanned.source.path}: the header names column '{name}' twice, and funnel "
                "reads it, so which one is meant is unclear. Rename one of them in the export "
                "(or map another header in columns:)."
            )
            raise InputError(msg)


def _preset_renames(
    preset: Preset, names: list[str], mapped: set[str], used: set[str]
) -> dict[str, str]:
    """Header → canonical name for the preset's columns the user did not map: the first of
    its candidate headers (or the first header its pattern matches) that the file has and
    the user's mapping does not already use."""
    out: dict[str, str] = {}
    candidates = {c: [h for h in hs if h in names] for c, hs in preset.columns.items()}
    for canon, pattern in preset.patterns.items():
        candidates[canon] = [n for n in names if re.search(pattern, n)]
    for canon, headers in candidates.items():
        voided = preset.unless.get(canon)
        if canon in mapped or (voided is not None and voided in names):
            continue
        header = next((h for h in headers if h not in used and h not in out), None)
        if header is not None:
            out[header] = canon
    return out


def _filtered(
    frame: pl.LazyFrame, source: Source, names: list[str], spec: InputSpec, preset: Preset | None
) -> pl.LazyFrame:
    """Rows left after ``skip_where`` (any match drops) and ``keep_where`` (all must match),
    and a preset's summary rows. A preset's filter column missing from the file is ignored
    (the export variant without it); a missing column of the user's own is an error, since
    the filter could not do its job."""
    for column in [*spec.skip_where, *spec.keep_where]:
        if column not in names:
            have = listed(file_columns(names))
            msg = (
                f"{source.path}: {source.label} filters rows on column '{column}', but the file "
                f"has no such header. Its headers: {have}."
            )
            raise InputError(msg)
    skip = {**(preset.skip_where if preset else {}), **spec.skip_where}
    keep = {**(preset.keep_where if preset else {}), **spec.keep_where}
    cell = {c: pl.col(c).cast(pl.String).fill_null("") for c in [*skip, *keep] if c in names}
    drop = [cell[c].str.contains(rx) for c, rx in skip.items() if c in cell]
    need = [cell[c].str.contains(rx) for c, rx in keep.items() if c in cell]
    if preset is not None:
        drop += _summary_rows(preset, file_columns(names))
    if drop:
        frame = frame.filter(~pl.any_horizontal(drop))
    if need:
        frame = frame.filter(pl.all_horizontal(need))
    return frame


def _summary_rows(preset: Preset, names: list[str]) -> list[pl.Expr]:
    """Masks of a platform's total rows: a cell of any column matching ``skip_any``, or
    every name column present blank (``skip_blank``)."""
    masks = []
    if preset.skip_any:
        text = [pl.col(n).cast(pl.String).fill_null("") for n in names]
        masks.append(pl.any_horizontal([t.str.contains(preset.skip_any) for t in text]))
    blank_cols = [n for n in preset.skip_blank if n in names]
    if blank_cols:
        blank = [
            pl.col(n).cast(pl.String).fill_null("").str.strip_chars() == "" for n in blank_cols
        ]
        masks.append(pl.all_horizontal(blank))
    return masks


def empty_input(name: str, rows: int) -> list[Finding]:
    """``input.empty`` for a leads or spend file with a header and no data rows."""
    if rows:
        return []
    return [Finding("input.empty", 1, [Example(name, None, "header only")])]


def set_aside(name: str, count: int, as_of: object) -> list[Finding]:
    """``input.after_as_of`` for ``count`` rows or values of file ``name`` dated after
    ``as_of`` (none when there are none)."""
    if not count:
        return []
    example = Example(name, None, f"{count:,} after {as_of}")
    return [Finding("input.after_as_of", count, [example], context={"as_of": str(as_of)})]


def reading_findings(opened: Opened) -> list[Finding]:
    """``input.detected`` (what detection decided) and ``input.header_names`` for a file."""
    scanned = opened.scanned
    name = scanned.source.name
    found = []
    if scanned.notes:
        found.append(Finding("input.detected", 1, [Example(name, None, "; ".join(scanned.notes))]))
    control = scanned.text.control_lines if scanned.text is not None else 0
    if control:
        found.append(Finding("input.control_chars", control, context={"file": name}))
    if scanned.renamed:
        examples = [
            Example(name, None, f"{old!r} read as {new!r}" if old else f"blank, read as {new!r}")
            for new, old in scanned.renamed.items()
        ]
        found.append(
            Finding(
                "input.header_names", len(examples), examples[:MAX_EXAMPLES], context={"file": name}
            )
        )
    return found


DM_ORDER = {"dmy": True, "mdy": False}


def date_order(opened: Opened, spec: InputSpec, columns: list[str], kind: str) -> bool | None:
    """Whether the input's day/month dates are day-first (None: it has none, or its own
    ``date_format`` decides). Proof in the data (a part above 12) wins over the preset's
    usual order; no proof and no preset order is an InputError naming ``date_format``."""
    if spec.date_formats:
        return None
    schema = opened.frame.collect_schema()
    text = [c for c in columns if c in schema and schema[c] == pl.String]
    evidence = parse.day_month_evidence(opened.frame, text)
    if evidence is None or not any(evidence.values()):
        return None
    source = opened.scanned.source
    day, month, both = evidence["day"], evidence["month"], evidence["both"]
    if day and month:
        msg = (
            f"{source.path}: its dates mix day-first values ({_quoted(day)}) and "
            f"month-first values ({_quoted(month)}). Fix the export, or set "
            f'{source.label}.date_format (e.g. "%d/%m/%Y %H:%M"): values it cannot read are '
            "then bad rows."
        )
        raise InputError(msg)
    if day or month:
        dayfirst = bool(day)
        why = f"proven by {(day or month)[0]!r}"
    else:
        dayfirst = _preset_order(spec, kind, both, source)
        why = f"the {spec.preset} preset's usual order; no value proves either"
    opened.scanned.notes.append(f"dates {'day' if dayfirst else 'month'}-first ({why})")
    return dayfirst


def _quoted(values: list[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _preset_order(spec: InputSpec, kind: str, both: list[str], source: Source) -> bool:
    """The preset's usual order for these values' separators, else an InputError."""
    preset = preset_for(spec.preset, kind)
    seps = {re.sub(r"[\d\s]", "", value)[:1] for value in both}
    orders = {(preset.date_order if preset else {}).get(sep) for sep in seps}
    if len(orders) != 1 or None in orders:
        shown = _quoted(both)
        msg = (
            f"{source.path}: dates such as {shown} read as day-first or month-first alike "
            f"(no day above 12), so their order is unknown. Set {source.label}.date_format, "
            'e.g. "%d/%m/%Y %H:%M" (day first) or "%m/%d/%Y %H:%M" (month first).'
        )
        raise InputError(msg)
    return DM_ORDER[orders.pop()]


def decimal_mark(
    opened: Opened, spec: InputSpec, column: str, within: pl.LazyFrame | None = None
) -> str:
    """The decimal mark of a text amount column: the input's ``decimal``, else "," when a
    value proves it (``parse.decimal_evidence``), else "."; proof of both is an
    InputError naming ``decimal:``. ``within``: the column already read (no second pass
    over the file), else the file is scanned for it."""
    if spec.decimal is not None:
        return spec.decimal
    frame = opened.frame if within is None else within
    schema = frame.collect_schema()
    if column not in schema or schema[column] != pl.String:
        return "."
    proofs = parse.decimal_evidence(frame, column)
    source = opened.scanned.source
    if proofs[","] and proofs["."]:
        msg = (
            f"{source.path}: column '{opened.headers.get(column, column)}' has amounts with a "
            f"decimal comma ({', '.join(proofs[','])}) and with a decimal point "
            f'({", ".join(proofs["."])}). Set {source.label}.decimal to "," or ".".'
        )
        raise InputError(msg)
    if proofs[","]:
        opened.scanned.notes.append(f"decimal comma (proven by {proofs[','][0]!r})")
        return ","
    return "."


def _missing_column(source: Source, col: str, names: list[str]) -> str:
    have = listed(file_columns(names))
    return (
        f"{source.path}: required column '{col}' is missing. Its headers are: {have}. "
        f'Map one of them in the config: {source.label}.columns: {{{col}: "<header>"}}.'
    )


def flagged(
    frame: pl.DataFrame,
    code: str,
    mask: pl.Expr,
    value: pl.Expr,
    *,
    total: int | None = None,
    context: dict[str, str] | None = None,
) -> Finding | None:
    """A Finding for the rows of ``frame`` where ``mask`` holds, with its first examples."""
    hit = frame.with_columns(mask.alias("__hit"))["__hit"]  # a literal mask broadcast
    count = hit.sum()
    if not count:
        return None
    # Counted from the mask; only the examples' columns are filtered. A copy of every
    # flagged row took +824-825 MiB when 9.9M of 10M leads came after the last spend day
    # (+1,525-1,527 MiB for the same mask over the qualified leads); +12-14 MiB now.
    head = (
        frame.lazy()
        .filter(pl.lit(hit))
        .bottom_k(MAX_EXAMPLES, by=[FILE, ROW])
        .sort(FILE, ROW)
        .select(pl.col(FILE), pl.col(ROW), value.cast(pl.String).alias("value"))
        .collect()
    )
    examples = [Example(f, r, v) for f, r, v in head.iter_rows()]
    return Finding(code, count, examples, total=total or frame.height, context=context or {})


def first_rows(frame: pl.DataFrame, by: str, where: pl.Expr) -> pl.DataFrame:
    """``FILE``, ``ROW`` and ``by`` of the first row of each ``by`` value among the rows
    where ``where`` holds, in file order (file name, then row), sorted so.

    Frames need not be in file order (joins do not keep it): each group's first row has
    the smallest (file, row) key, the rank of its file's name (few) times 2³² plus its row
    number. Only that key's minimum is kept per group as the rows are filtered, so no row
    is copied out (10M leads, 2.7M in a channel without spend: the check took +214 MiB
    when those rows were copied and grouped, +3 MiB now)."""
    files = frame[FILE].unique().cast(pl.String).sort()  # distinct first: a few names
    key = pl.col(ROW).cast(pl.UInt64)
    if files.len() > 1:
        ranks = pl.int_range(files.len(), dtype=pl.UInt64, eager=True)
        key = key + pl.col(FILE).cast(pl.String).replace_strict(files, ranks) * (1 << 32)
    firsts = frame.lazy().filter(where).group_by(by).agg(key.min().alias("__first"))
    firsts = firsts.collect(engine="streaming").sort("__first")  # file order, as the key is
    return pl.DataFrame(
        {
            FILE: files.gather(firsts["__first"] // (1 << 32)).cast(pl.Categorical),
            ROW: (firsts["__first"] % (1 << 32)).cast(pl.UInt32),
            by: firsts[by],
        }
    )


def repeated_rows(frame: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    """The rows of ``frame`` whose ``key`` occurs more than once.

    Sorted, a repeated key sits next to its twin, which takes a fifth of the time of
    ``is_duplicated`` on millions of rows. A whole-number key with no nulls (a lead's
    position with a stage's code) is sorted as it is; any other is sorted as 64-bit hashes,
    and only the rows with a repeated hash (usually a few) are then compared exactly, so a
    hash collision never counts as a repeat.
    """
    exact = False
    if frame.lazy().select(key).collect_schema().dtypes()[0].is_integer():
        keys = frame.select(key).to_series()
        exact = keys.null_count() == 0
    # Hashed by the streaming engine: a key worked out of a column (a lower-cased e-mail)
    # is made a part at a time, never as a whole second copy of the column.
    hashes = keys if exact else frame.lazy().select(key.hash()).collect(engine="streaming")[:, 0]
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.len() == 0:
        return frame.clear()
    hits = frame.filter(hashes.is_in(repeated.unique().implode()))
    return hits if exact else hits.filter(key.is_duplicated())


def combined(parts: list[Loaded]) -> Loaded | None:
    """The inputs of one table (several spend files, say) as one; None when there are none."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    frame = pl.concat([p.frame for p in parts], how="vertical_relaxed")
    findings = [f for p in parts for f in p.findings]
    return Loaded(frame, findings, rows_read=sum(p.rows_read for p in parts))


def keep_findings(*found: Finding | None) -> list[Finding]:
    return [f for f in found if f is not None]
