"""Load the leads table: parse, normalise, type the extra columns, drop bad and duplicate rows."""

from __future__ import annotations

import datetime as dt

import polars as pl

from funnelcli.columns import FILE, RAW_REVENUE, REVENUE, date_col, raw_date_col
from funnelcli.errors import InputError, listed
from funnelcli.findings import Finding
from funnelcli.inputs import parse
from funnelcli.inputs.load import (
    LEADS_REQUIRED,
    Loaded,
    Opened,
    date_formats,
    date_order,
    decimal_mark,
    empty_input,
    file_label,
    flagged,
    keep_findings,
    open_table,
    reading_findings,
    repeated_rows,
    set_aside,
    shown_only,
    source_for,
)
from funnelcli.inputs.readers import MAYBE_SHORT, ROW, collect, file_columns, reading
from funnelcli.policy.config import InputSpec, Policy

CANONICAL = ("lead_id", "created_at", "channel", "campaign", "email")
RAW_CREATED = "__raw_created_at"
NO_CHANNEL = "__no_channel"
RAW_CHANNEL = "__raw_channel"
RAW_CAMPAIGN = "__raw_campaign"
RAW_CURRENCY = "__raw_revenue_currency"
EMAIL_HASH = "__email_hash"


def load_leads(policy: Policy, extras: set[str], as_of: dt.date | None = None) -> Loaded:
    """Leads with canonical columns, ``__date_<stage>`` columns and the ``extras`` asked for.

    ``extras`` are lead columns read by rules or ``--by``; those absent from the file are
    left out here (the rules compiler and the CLI report them with their own context).
    ``as_of``: leads created after that day, and stage dates after it, are set aside before
    anything else looks at them, as if the file had been exported at the end of that day.
    """
    spec = policy.inputs.leads
    source = source_for(policy, spec, ("inputs", "leads"))
    opened = open_table(source, spec, LEADS_REQUIRED, "leads", tuple(sorted(extras)))
    with reading(opened.scanned):  # a file polars cannot parse: its bad row named
        frame = opened.frame
        schema = frame.collect_schema()
        for i, stage in enumerate(policy.stages):
            if stage.date_column and stage.date_column not in schema:
                where = policy.source.where(("stages", i, "date_column"))
                msg = (
                    f"{source.path}: has no column '{stage.date_column}', named as the date "
                    f"column of stage '{stage.id}' at {where}. Its headers: "
                    f"{listed(file_columns(schema.names()))}."
                )
                raise InputError(msg)
        stamps = {"created_at": (RAW_CREATED, schema["created_at"])}
        for stage in policy.stages:
            if stage.date_column:
                stamps[date_col(stage.id)] = (raw_date_col(stage.id), schema[stage.date_column])
        formats = date_formats(spec, "leads")
        dated = ["created_at", *(s.date_column for s in policy.stages if s.date_column)]
        dayfirst = date_order(opened, spec, dated, "leads")
        few = _few_valued_text(frame, schema, extras)
        # A Parquet or Excel file gives one column back cheaply: the e-mails are then read as
        # hashes and only the rows whose hash repeats are read again (see shared_emails).
        hashed = "email" in schema and "email" not in extras and opened.scanned.text is None
        columns = _columns(policy, schema, extras, few, hashed=hashed)
        if "revenue" in schema:
            columns += revenue_cells(schema)
        query = parse.with_timestamps(
            frame.select(columns),
            stamps,
            policy.timezone,
            formats,
            dayfirst,
        )
        # The raw cell stays only where an example shows it: no id, or a time that did not parse.
        unusable = pl.col("lead_id").is_null() | pl.col("created_at").is_null()
        query = query.with_columns(shown_only(RAW_CREATED, unusable), file_label(source.name))
        raw = collect(query, opened.scanned)
        # The e-mails another row repeats are all the duplicate check needs: the column goes
        # before the rows are cleaned and copied, unless a rule or --by names it.
        shared = shared_emails(raw, opened)
        if "email" in extras and "email" in raw.columns:
            raw = raw.with_columns(normal_email(pl.col("email")))
        else:
            raw = raw.drop("email", EMAIL_HASH, strict=False)
        empty = empty_input(source.name, raw.height)
        later: list[Finding] = []
        if as_of is not None:
            raw, count = _before(raw, as_of, [s.id for s in policy.stages if s.date_column])
            later = set_aside(source.name, count, as_of)
        raw = _normalised(raw, policy.channels.aliases)
        raw = _type_extras(raw, schema, (extras, few), spec.types, policy.timezone)
        loaded = _clean(raw)
        if loaded.rows_read and loaded.frame.height == 0 and not later:
            raise InputError(_none_usable(source.path, loaded))
        if RAW_REVENUE in loaded.frame.columns:  # before the reading notes: it may add one
            with_revenue(loaded, opened, spec, policy.currency)
        loaded.findings += reading_findings(opened) + later + empty
        loaded.findings += keep_findings(duplicate_emails(loaded.frame, shared))
        loaded.headers = file_columns(schema.names())
        return loaded


def _none_usable(path: object, loaded: Loaded) -> str:
    """Every data row of the leads file was dropped: a report of zeros would hide it."""
    why = "; ".join(
        f"{f.id}: {f.count:,}"
        + (f" (first: row {f.examples[0].row}, {f.examples[0].value!r})" if f.examples else "")
        for f in loaded.findings
    )
    return (
        f"{path}: none of its {loaded.rows_read:,} lead rows can be used ({why}). Check the "
        "column mapping and the date format (date_format:) of inputs.leads."
    )


def _before(raw: pl.DataFrame, as_of: dt.date, dated: list[str]) -> tuple[pl.DataFrame, int]:
    """The rows created on or before ``as_of`` (or with no readable date: those are checked
    as they are), their stage dates after it removed; and how many rows and values went."""
    after = (pl.col("created_at").dt.date() > as_of).fill_null(False)
    counts = raw.select(
        after.sum().alias("rows"),
        *[((pl.col(date_col(s)).dt.date() > as_of) & ~after).sum().alias(s) for s in dated],
    ).row(0)
    kept = raw.filter(~after)
    cleared = {}
    for stage in dated:
        late = pl.col(date_col(stage)).dt.date() > as_of
        cleared[date_col(stage)] = pl.when(late).then(None).otherwise(pl.col(date_col(stage)))
        cleared[raw_date_col(stage)] = (
            pl.when(late).then(None).otherwise(pl.col(raw_date_col(stage)))
        )
    return (kept.with_columns(**cleared) if cleared else kept), sum(c or 0 for c in counts)


def _extra_names(schema: pl.Schema, extras: set[str]) -> list[str]:
    return sorted(n for n in extras if n in schema and n not in CANONICAL)


def _few_valued_text(frame: pl.LazyFrame, schema: pl.Schema, extras: set[str]) -> set[str]:
    """The extra text columns whose first rows repeat a few values (lead type, job title,
    yes/no, small counts in a CSV): read as categoricals, four bytes a row instead of the
    text, and typed once per distinct value (``_type_extras``)."""
    text = [n for n in _extra_names(schema, extras) if schema[n] == pl.String]
    if not text:
        return set()
    try:
        head = frame.select(text).head(parse.FEW_HEAD).collect()
    except pl.exceptions.PolarsError:
        return set()  # the full read names the problem
    return {n for n in text if parse.few_valued(head[n])}


def _columns(
    policy: Policy, schema: pl.Schema, extras: set[str], few: set[str], *, hashed: bool
) -> list[pl.Expr]:
    """Canonical columns normalised; raw time cells kept for parsing and for examples;
    the e-mails as text or, ``hashed``, as the hashes of their normal form."""
    col = pl.col
    exprs = [
        col(ROW),
        col(MAYBE_SHORT),
        parse.blank_to_null(col("lead_id")).alias("lead_id"),
        # Normalised after collecting, once per distinct value (see _normalised).
        col("channel").cast(pl.String).cast(pl.Categorical).alias(RAW_CHANNEL),
        col("created_at").alias(RAW_CREATED),
    ]
    if "campaign" in schema:
        exprs.append(col("campaign").cast(pl.String).cast(pl.Categorical).alias(RAW_CAMPAIGN))
    if hashed:
        exprs.append(email_hash(col("email")).alias(EMAIL_HASH))
    elif "email" in schema:
        exprs.append(col("email").cast(pl.String))  # normalised after reading, see below
    for stage in policy.stages:
        if stage.date_column:
            exprs.append(col(stage.date_column).alias(raw_date_col(stage.id)))
    exprs += [
        col(name).cast(pl.Categorical) if name in few else col(name)
        for name in _extra_names(schema, extras)
    ]
    return exprs


def revenue_cells(schema: pl.Schema) -> list[pl.Expr]:
    """What a read keeps of revenue: the cells as written, parsed after the read (so that
    the decimal mark is judged on the column in memory, not on a second pass of the file)."""
    cells = [pl.col("revenue").alias(RAW_REVENUE)]
    if "revenue_currency" in schema:
        cells.append(pl.col("revenue_currency").cast(pl.String).alias(RAW_CURRENCY))
    return cells


def with_revenue(loaded: Loaded, opened: Opened, spec: InputSpec, currency: str) -> None:
    """``loaded`` with each row's revenue in micro-units (the amount grammar of spend), its
    problems as findings. With a ``revenue_currency`` column (Pipedrive's deal currency,
    Salesforce's amount currency) a value in another currency than the policy's counts no
    revenue: it is flagged, never added to the others as if it were the same money."""
    frame = loaded.frame
    cells = frame[RAW_REVENUE]
    # Only customers have a deal value, so the cells are mostly blank: the amount grammar
    # (a regex) runs on those present only, and their results are put back in place.
    present = cells.is_not_null()
    values = cells.filter(present).to_frame("revenue")
    decimal = decimal_mark(opened, spec, "revenue", within=values.lazy())
    parsed = values.select(parse.amount_micros(pl.col("revenue"), cells.dtype, decimal))
    placed = pl.repeat(None, frame.height, dtype=pl.Int64, eager=True).scatter(
        present.arg_true(), parsed.to_series()
    )
    micros = pl.lit(placed)
    written = pl.col(RAW_REVENUE).cast(pl.String)
    given = parse.blank_to_null(written).is_not_null()
    if RAW_CURRENCY not in frame.columns:
        frame = frame.with_columns(micros.alias(REVENUE))
        found = flagged(frame, "revenue.bad_amount", micros.is_null() & given, written)
        loaded.findings += keep_findings(found)
        loaded.frame = frame.drop(RAW_REVENUE)
        return
    code = parse.blank_to_null(pl.col(RAW_CURRENCY)).str.strip_chars()
    other = (code.str.to_uppercase() != currency.upper()).fill_null(False)
    frame = frame.with_columns(pl.when(~other).then(micros).alias(REVENUE))
    loaded.findings += keep_findings(
        flagged(frame, "revenue.bad_amount", micros.is_null() & given & ~other, written),
        flagged(frame, "revenue.mixed_currency", other, code, context={"currency": currency}),
    )
    loaded.frame = frame.drop(RAW_REVENUE, RAW_CURRENCY, strict=False)


def _normalised(raw: pl.DataFrame, aliases: dict[str, list[str]]) -> pl.DataFrame:
    """``channel`` and ``campaign`` normalised, once per distinct cell, and ``NO_CHANNEL``
    (the channel cell was missing or blank)."""
    cell = pl.col("cell")
    parts = [
        parse.by_distinct(
            raw[RAW_CHANNEL],
            parse.normalise_channel(cell, aliases).alias("channel"),
            parse.blank_to_null(cell).is_null().alias(NO_CHANNEL),
        )
    ]
    if RAW_CAMPAIGN in raw.columns:
        campaign = parse.normalise_campaign(cell).alias("campaign")
        parts.append(parse.by_distinct(raw[RAW_CAMPAIGN], campaign))
    return raw.drop(RAW_CHANNEL, RAW_CAMPAIGN, strict=False).hstack(
        [c for part in parts for c in part.get_columns()]
    )


def _type_extras(
    frame: pl.DataFrame,
    schema: pl.Schema,
    extras: tuple[set[str], set[str]],
    forced: dict[str, str],
    tz: str,
) -> pl.DataFrame:
    """Give each extra column the type its whole column supports (or the forced one).

    ``extras`` is (the names, those read as categoricals): for those, the type is judged
    from the distinct values and each is converted once; text stays a categorical, which
    conditions also decide per value."""
    names, few = extras
    wanted = [n for n in _extra_names(schema, names) if n in frame.columns]
    text = [n for n in wanted if n not in forced and schema[n] == pl.String]
    kinds = {**parse.infer_types(frame, text), **{n: forced[n] for n in wanted if n in forced}}
    casts = {
        name: parse.as_type(pl.col(name), kind, tz)
        for name, kind in kinds.items()
        if name not in few
    }
    frame = frame.with_columns(**casts) if casts else frame
    cell = pl.col("cell").cast(pl.String)
    for name in sorted(few & set(kinds)):
        kind = kinds[name]
        typed = (
            parse.blank_to_null(cell).cast(pl.Categorical)
            if kind == "str"
            else parse.as_type(cell, kind, tz)
        )
        frame = frame.with_columns(parse.by_distinct(frame[name], typed.alias(name)))
    return frame


def _clean(raw: pl.DataFrame) -> Loaded:
    total = raw.height
    missing_id = pl.col("lead_id").is_null()
    bad_created = pl.col("created_at").is_null() & ~missing_id
    findings = keep_findings(
        flagged(raw, "leads.missing_id", missing_id, pl.col(RAW_CREATED), total=total),
        flagged(raw, "leads.bad_created_at", bad_created, pl.col(RAW_CREATED), total=total),
    )
    usable = ~missing_id & pl.col("created_at").is_not_null()
    # Earliest created_at wins; file order breaks ties (docs/inputs.md). Only the rows whose
    # id repeats need sorting, so the usual export with unique ids costs one hash pass.
    # Unusable rows take no part: their key is null and they are filtered out.
    key = pl.when(usable).then(pl.col("lead_id"))
    repeated = repeated_rows(raw, key).filter(usable).sort("created_at", ROW)
    later = ~pl.col("lead_id").is_first_distinct()
    duplicates = flagged(repeated, "leads.duplicate_id", later, pl.col("lead_id"), total=total)
    dropped = repeated.filter(later)[ROW]
    keep = usable & ~pl.col(ROW).is_in(dropped.implode()) if dropped.len() else usable
    # One copy at most: none when every row is kept.
    leads = raw.filter(keep) if findings or duplicates else raw
    findings += keep_findings(duplicates)
    no_value = pl.lit(None, pl.String)
    findings += keep_findings(
        flagged(leads, "leads.missing_channel", pl.col(NO_CHANNEL), no_value, total=total)
    )
    return Loaded(leads.drop(RAW_CREATED, NO_CHANNEL), findings, rows_read=total)


def shared_emails(raw: pl.DataFrame, opened: Opened) -> pl.DataFrame | None:
    """``ROW`` and normalised ``email`` of the rows whose e-mail may repeat another row's
    (usually a few); None when the file has no e-mail column.

    From hashes (:func:`_columns`), those are the rows whose hash repeats, their e-mails
    read again from the file: a hash collision only adds a row, which
    :func:`duplicate_emails` then compares as text. The text of every e-mail is never
    held: reading a 10M-lead Parquet file topped at 1,463-1,532 MiB with it, at
    1,075-1,100 MiB without (bench/phases.py); its 20,002 rows whose hash repeats were
    read again in 0.20-0.22 s."""
    email = normal_email(pl.col("email").cast(pl.String))
    if EMAIL_HASH in raw.columns:
        twins = repeated_rows(raw.select(ROW, EMAIL_HASH), pl.col(EMAIL_HASH))
        rows = twins.filter(pl.col(EMAIL_HASH).is_not_null())[ROW].implode()
        again = opened.frame.select(ROW, MAYBE_SHORT, email).filter(pl.col(ROW).is_in(rows))
        shared = collect(again, opened.scanned)
    elif "email" in raw.columns:
        shared = repeated_rows(raw.select(ROW, "email"), email).select(ROW, email)
    else:
        return None
    return shared.filter(pl.col("email").is_not_null())


def email_hash(cells: pl.Expr) -> pl.Expr:
    """The 64-bit hash of an e-mail's normal form (:func:`normal_email`), null for none;
    the e-mails are first compared by it (a test makes it collide). Blanks told by their
    length: 10M e-mails hashed in 0.9 s, 1.5 s through normal_email's comparison."""
    text = cells.cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_bytes() > 0).then(text.str.to_lowercase().hash())


def duplicate_emails(leads: pl.DataFrame, shared: pl.DataFrame | None) -> Finding | None:
    """``leads.duplicate_email``: usable leads whose e-mail an earlier lead already has.

    ``shared``: the rows of the file whose e-mail repeats (:func:`shared_emails`); a
    repeat among the leads kept is one among the file's rows, so only those are looked at.
    The earliest created is the original; file order breaks ties."""
    if shared is None:
        return None
    rows = pl.col(ROW).is_in(shared[ROW].implode())
    kept = leads.lazy().select(FILE, ROW, "created_at").filter(rows).collect()
    candidates = kept.join(shared, on=ROW).sort("created_at", ROW)
    return flagged(
        candidates,
        "leads.duplicate_email",
        ~pl.col("email").is_first_distinct(),
        pl.col("email"),
        total=leads.height,
    )


def normal_email(cells: pl.Expr) -> pl.Expr:
    """An e-mail as compared: blank is none, case does not count."""
    return parse.blank_to_null(cells).str.to_lowercase().alias("email")
