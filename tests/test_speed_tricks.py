"""Each speed trick beside the plain version it stands for, compared on random data.

by_distinct works a categorical out once per distinct value; repeated_rows sorts a
whole-number key as it is and any other key's 64-bit hashes before comparing values;
first_rows picks each group's first row by a packed (file, row) key; the leads-to-entries
join goes through id hashes (its colliding fall-back is exercised by
tests/test_properties.py); the rules are decided a part of the leads at a time;
whole_by_counts stands in for the line-by-line check of a CSV
when byte counts prove it would pass. The plain versions are what the code would be
without them."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from funnelcli.columns import FILE, ROW
from funnelcli.errors import InputError
from funnelcli.inputs import detect
from funnelcli.inputs import leads as leads_module
from funnelcli.inputs.load import first_rows, repeated_rows
from funnelcli.inputs.parse import blank_to_null, by_distinct, cut_like
from funnelcli.inputs.readers import Scanned, Source, whole_by_counts
from funnelcli.measure import qualify
from funnelcli.pipeline import read_leads
from funnelcli.policy.config import load_policy
from funnelcli.policy.rules import compile_policy, referenced_fields
from tests.conftest import BASE_POLICY

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"

VALUES = st.lists(
    st.one_of(st.none(), st.sampled_from(["a", " A", "b", "", "Ç", "a "])), max_size=60
)


@settings(max_examples=60, deadline=None)
@given(VALUES, st.integers(1, 4))
def test_by_distinct_equals_working_every_row(values: list[str | None], chunks: int) -> None:
    series = pl.Series("cell", values, dtype=pl.String)
    parts = [
        series.slice(i * len(values) // chunks, len(values) // chunks + 1) for i in range(chunks)
    ]
    cells = (
        pl.concat([p for p in parts if p.len()], rechunk=False)[: len(values)] if values else series
    )
    cells = cells.cast(pl.Categorical)
    expr = blank_to_null(pl.col("cell")).str.to_lowercase().alias("out")
    fast = by_distinct(cells, expr)
    plain = cells.to_frame("cell").select(expr)
    assert_frame_equal(fast, plain)


FRAMES = st.lists(
    st.tuples(
        st.sampled_from(["x.csv", "y.csv"]),
        st.integers(1, 30),
        st.sampled_from(["k1", "k2", "k3", None]),
    ),
    max_size=40,
    unique_by=lambda t: (t[0], t[1]),
)


def _frame(rows: list[tuple[str, int, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {FILE: [r[0] for r in rows], ROW: [r[1] for r in rows], "key": [r[2] for r in rows]},
        schema={FILE: pl.Categorical, ROW: pl.UInt32, "key": pl.String},
    )


@settings(max_examples=60, deadline=None)
@given(FRAMES)
def test_repeated_rows_equals_is_duplicated(rows: list[tuple[str, int, str | None]]) -> None:
    frame = _frame(rows)
    fast = repeated_rows(frame, pl.col("key"))
    plain = frame.filter(pl.col("key").is_duplicated())
    assert_frame_equal(fast.sort(FILE, ROW), plain.sort(FILE, ROW), categorical_as_str=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=40))
def test_repeated_rows_of_packed_whole_numbers_equals_is_duplicated(
    pairs: list[tuple[int, int]],
) -> None:
    # The (lead position, stage code) key of the duplicate-entry check: sorted unhashed.
    frame = pl.DataFrame(
        {"lead": [p[0] for p in pairs], "stage": [p[1] for p in pairs], "n": range(len(pairs))},
        schema={"lead": pl.UInt32, "stage": pl.UInt8, "n": pl.Int64},
    )
    key = pl.col("lead").cast(pl.UInt64) * (1 << 32) + pl.col("stage")
    fast = repeated_rows(frame, key)
    plain = frame.filter(pl.struct("lead", "stage").is_duplicated())
    assert_frame_equal(fast.sort("n"), plain.sort("n"))


WHERE = {
    "every row": pl.lit(True),
    "odd rows": pl.col(ROW) % 2 == 1,
    "a key": pl.col("key").is_in(["k1", "k3"]),
    "no row": pl.lit(False),
}


@settings(max_examples=60, deadline=None)
@given(FRAMES, st.sampled_from(sorted(WHERE)))
def test_first_rows_equals_sorting_then_taking_the_first(
    rows: list[tuple[str, int, str | None]], where: str
) -> None:
    frame = _frame(rows).sample(fraction=1.0, shuffle=True, seed=1)
    fast = first_rows(frame, "key", WHERE[where])
    plain = (
        frame.with_columns(pl.col(FILE).cast(pl.String))
        .filter(WHERE[where])
        .sort(FILE, ROW)
        .group_by("key", maintain_order=True)
        .first()
        .sort(FILE, ROW)
    )
    assert_frame_equal(fast.with_columns(pl.col(FILE).cast(pl.String)).select(plain.columns), plain)


@settings(max_examples=80, deadline=None)
@given(
    cells=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    quoted=st.booleans(),
    blank=st.booleans(),
    ending=st.sampled_from(["\n", "\r\n"]),
    final=st.booleans(),
    titles=st.integers(0, 2),
    chunk=st.integers(1, 7),
)
# A short row made up by a separator inside quotes: the sum holds, the quote must refuse it.
@example(cells=[4, 3], quoted=True, blank=False, ending="\n", final=True, titles=1, chunk=5)
def test_counting_bytes_never_passes_a_file_the_line_check_fails(
    cells: list[int], quoted: bool, blank: bool, ending: str, final: bool, titles: int, chunk: int
) -> None:
    # Lines of at most the header's 4 cells: polars refuses a longer one before this runs.
    lines = [f"Report {i}, exported" for i in range(titles)] + ["a,b,c,d"]
    lines += [",".join(["x"] * n) for n in cells]
    if quoted:
        lines[-1] = '"q,r"' + lines[-1][1:]
    if blank:
        lines.insert(titles + 2, "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes((ending.join(lines) + (ending if final else "")).encode())
        source = Source(path, "inputs.leads", "funnel.yaml:3", skip_rows=titles)
        text = detect.read_text(path, encoding=None, delimiter=",", skip_rows=titles, label="t")
        proved = whole_by_counts(source, text, 4)
        # Counted in chunks of a few bytes, shared by threads: the same answer.
        with mock.patch("funnelcli.inputs.readers.COUNT_CHUNK", chunk):
            assert whole_by_counts(source, text, 4) == proved
        try:
            Scanned(pl.LazyFrame(), source, text=text).verify()
            passed = True
        except InputError:
            passed = False
    assert passed or not proved
    if all(n == 4 for n in cells) and not quoted and not blank:
        assert proved  # the clean file the trick is for is proved whole, not re-read


@pytest.mark.parametrize("part", [1, 7, 250, 1000])
def test_rules_decided_in_parts_equal_deciding_every_lead_at_once(part: int) -> None:
    policy = load_policy(EXAMPLE)
    leads = read_leads(policy, referenced_fields(policy)).frame.head(3000)
    # Chunked as a large read is, in parts of uneven length.
    cuts = [0, 100, 130, 900, 1000, 2999, 3000]
    leads = pl.concat([leads[a:b] for a, b in itertools.pairwise(cuts)], rechunk=False)
    compiled = compile_policy(policy, leads.schema)
    with mock.patch.object(qualify, "RULE_PART", leads.height + 1):
        whole = qualify.decide(leads, compiled, policy)
    with mock.patch.object(qualify, "RULE_PART", part):
        parts = qualify.decide(leads, compiled, policy)
    assert whole.height == 3000
    assert whole["__ok_mql"].sum() > 0
    assert_frame_equal(parts, whole)
    # Without the scores (a report's case), the same verdicts, a value for every lead.
    verdicts = qualify.decide(leads, compiled, policy, scores=False)
    assert_frame_equal(verdicts, whole.select(c for c in whole.columns if c.startswith("__ok_")))
    # Parts end where the leads' chunks end: cut like the leads, every column of the
    # result has exactly their chunks, so it stands beside them without a copy (a rule
    # that is a constant stays one value for all rows).
    lengths = leads["lead_id"].chunk_lengths()
    aligned = cut_like(parts, lengths)
    chunked = {c: aligned[c].chunk_lengths() for c in aligned.columns}
    assert all(n in (lengths, [leads.height]) for n in chunked.values())
    assert chunked["__score"] == lengths


LEAD_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L2", "L3", "L4", "L5", ""]),  # "" is a lead with no id
        st.sampled_from(["2026-01-01", "2026-01-02", "2026-01-03", "soon"]),  # "soon": bad
        st.sampled_from(["a@x.com", " A@X.com", "b@y.org", "B@y.ORG ", "c@z.net", "", None]),
    ),
    max_size=25,
)


def _constant_hash(cells: pl.Expr) -> pl.Expr:
    """A hash every cell shares, blank or not: every row is read again and compared."""
    return pl.lit(7, pl.UInt64)


def _plain_duplicate_emails(rows: list[tuple[str, str, str | None]]) -> tuple[int, list]:
    """leads.duplicate_email as docs/checks.md defines it, row by row: among the usable
    leads (an id, a readable date) kept after the duplicate ids (the earliest created,
    then the first in the file), each lead whose normal e-mail an earlier one has."""
    usable = [(n, *r) for n, r in enumerate(rows, start=1) if r[0] and r[1] != "soon"]
    kept = {}
    for n, lead, created, email in sorted(usable, key=lambda r: (r[2], r[0])):
        kept.setdefault(lead, (created, n, email))
    seen, repeats = set(), []
    for _created, n, email in sorted(kept.values()):
        normal = (email or "").strip().lower() or None
        if normal is not None and normal in seen:
            repeats.append((n, normal))
        seen.add(normal)
    return len(repeats), sorted(repeats)[:5]


@pytest.mark.parametrize("hash_emails", [leads_module.email_hash, _constant_hash])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@settings(max_examples=40, deadline=None)
@given(rows=LEAD_ROWS)
def test_duplicate_emails_from_hashes_equal_comparing_every_email(
    fmt: str, hash_emails: Callable[[pl.Expr], pl.Expr], rows: list[tuple[str, str, str | None]]
) -> None:
    # A Parquet file is read with its e-mails hashed, the repeated hashes' rows read again
    # and compared as text; a CSV keeps the text. Both find exactly the plain answer, also
    # when every e-mail shares one hash.
    frame = pl.DataFrame(
        rows,
        schema={"lead_id": pl.String, "created_at": pl.String, "email": pl.String},
        orient="row",
    ).with_columns(pl.lit("web").alias("channel"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"leads.{fmt}"
        frame.write_csv(path) if fmt == "csv" else frame.write_parquet(path)
        config = Path(folder) / "funnel.yaml"
        text = BASE_POLICY.format(timezone="UTC").replace("leads.csv", path.name)
        config.write_text(text.replace("  spend: {path: spend.csv}\n", ""), encoding="utf-8")
        (Path(folder) / "transitions.csv").write_text("lead_id,stage,entered_at\n")
        with mock.patch.object(leads_module, "email_hash", hash_emails):
            try:
                loaded = leads_module.load_leads(load_policy(config), set())
            except InputError:  # no usable row at all
                assert all(not r[0] or r[1] == "soon" for r in rows)
                return
    found = [f for f in loaded.findings if f.id == "leads.duplicate_email"]
    count, examples = _plain_duplicate_emails(rows)
    got = (found[0].count, [(e.row, e.value) for e in found[0].examples]) if found else (0, [])
    assert got == (count, examples)
    assert (
        "email" not in loaded.frame.columns and leads_module.EMAIL_HASH not in loaded.frame.columns
    )
