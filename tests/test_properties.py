"""Properties over random small datasets, and agreement with the plain-Python oracle."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelcli.inputs import dataset
from funnelcli.inputs.dataset import LEAD_KEY, _with_leads
from funnelcli.inputs.load import repeated_rows
from funnelcli.measure.metrics import Query
from funnelcli.measure.qualify import first_entries
from funnelcli.pipeline import run_report
from funnelcli.policy.config import load_policy
from tests import oracle
from tests.conftest import BASE_POLICY

STAGES = ["lead", "mql", "sql", "won"]
BASE = dt.datetime(2026, 1, 1)
CHANNELS = ["web", "ads", "email"]

lead_rows = st.lists(
    st.tuples(
        st.integers(0, 30),  # lead id number (repeats make duplicates)
        st.integers(0, 60 * 24),  # created, hours after BASE
        st.sampled_from(CHANNELS),
        st.none() | st.integers(0, 10_000_000),  # revenue in cents (blank: none)
    ),
    max_size=40,
)
transition_rows = st.lists(
    st.tuples(
        st.integers(0, 35), st.sampled_from([*STAGES[1:], "lost"]), st.integers(-48, 90 * 24)
    ),
    max_size=60,
)
spend_rows = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.sampled_from([*CHANNELS, "display"]),
        st.integers(0, 50_000),
        st.integers(0, 90_000),  # impressions
        st.none() | st.integers(0, 900),  # clicks (blank now and then)
    ),
    max_size=20,
)
windows = st.tuples(st.none() | st.integers(0, 60), st.none() | st.integers(0, 60)).filter(
    lambda w: w[0] is None or w[1] is None or w[0] <= w[1]
)


def _write(root: Path, leads: list, transitions: list, spend: list) -> dict[str, Any]:
    """Write the CSVs (shuffled copies are written by the caller) and the parsed rows."""
    (root / "funnel.yaml").write_text(BASE_POLICY.format(timezone="UTC"))
    parsed_leads = [
        {
            "lead_id": f"L{i}",
            "created_at": BASE + dt.timedelta(hours=h),
            "channel": c,
            "revenue": None if cents is None else cents / 100,
        }
        for i, h, c, cents in leads
    ]
    lines = [
        f"{r['lead_id']},{r['created_at']:%Y-%m-%d %H:%M},{r['channel']},"
        + ("" if r["revenue"] is None else f"{r['revenue']:.2f}")
        for r in parsed_leads
    ]
    (root / "leads.csv").write_text(
        "lead_id,created_at,channel,revenue\n" + "".join(f"{x}\n" for x in lines)
    )
    parsed_trans = [(f"L{i}", s, BASE + dt.timedelta(hours=h)) for i, s, h in transitions]
    lines = [f"{i},{s},{at:%Y-%m-%dT%H:%M:%S}" for i, s, at in parsed_trans]
    (root / "transitions.csv").write_text(
        "lead_id,stage,entered_at\n" + "".join(f"{x}\n" for x in lines)
    )
    parsed_spend = [
        {
            "date": (BASE + dt.timedelta(days=d)).date(),
            "channel": c,
            "amount": cents / 100,
            "impressions": impressions,
            "clicks": clicks,
        }
        for d, c, cents, impressions, clicks in spend
    ]
    lines = [
        f"{r['date']},{r['channel']},{r['amount']:.2f},{r['impressions']},"
        + ("" if r["clicks"] is None else str(r["clicks"]))
        for r in parsed_spend
    ]
    (root / "spend.csv").write_text(
        "date,channel,amount,impressions,clicks\n" + "".join(f"{x}\n" for x in lines)
    )
    return {"leads": parsed_leads, "transitions": parsed_trans, "spend": parsed_spend}


def _day(offset: int | None) -> dt.date | None:
    return None if offset is None else (BASE + dt.timedelta(days=offset)).date()


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("basis", ["cohort", "period"])
@SETTINGS
@given(leads=lead_rows, transitions=transition_rows, spend=spend_rows, window=windows)
def test_report_agrees_with_oracle(
    tmp_path_factory: pytest.TempPathFactory,
    basis: str,
    leads: list,
    transitions: list,
    spend: list,
    window: tuple,
) -> None:
    root = tmp_path_factory.mktemp("prop")
    parsed = _write(root, leads, transitions, spend)
    since, until = _day(window[0]), _day(window[1])
    query = Query(since=since, until=until, basis=basis)
    report = run_report(load_policy(root / "funnel.yaml"), query).as_dict()
    measure = oracle.cohort if basis == "cohort" else oracle.period
    expected = measure(
        parsed["leads"], parsed["spend"], parsed["transitions"], STAGES, since=since, until=until
    )
    _assert_matches(report["total"], expected["total"])
    rows = {r["group"]["channel"]: r for r in report["rows"]}
    assert set(rows) == set(expected["groups"])
    for channel, want in expected["groups"].items():
        _assert_matches(rows[channel], want)
    for row in [*report["rows"], report["total"]]:  # a Wilson interval holds its rate
        for s in STAGES[1:]:
            m = row["stages"][s]
            if m["rate_ci"] is not None:
                assert m["rate_ci"][0] - 1e-12 <= m["rate"] <= m["rate_ci"][1] + 1e-12
    for s in STAGES[1:]:  # disjoint groups add up to the total on both bases
        counts = sum(r["stages"][s]["count"] for r in report["rows"])
        assert counts == report["total"]["stages"][s]["count"]


def _assert_matches(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["leads"] == want["leads"]
    if want["spend"] is None:
        assert got["spend"] is None
    else:
        assert got["spend"] == pytest.approx(want["spend"], abs=1e-9)
    assert got["revenue"] == pytest.approx(want["revenue"], abs=1e-6)
    for count in ("impressions", "clicks"):
        assert got[count] == (None if want[count] == "unknown" else want[count]), count
    for s in STAGES[1:]:
        assert got["stages"][s]["count"] == want["counts"][s], s
        days = got["stages"][s]["days"]
        assert days["median"] == pytest.approx(oracle.quantile(want["days"][s], 0.5))
        assert days["p90"] == pytest.approx(oracle.quantile(want["days"][s], 0.9))


@SETTINGS
@given(leads=lead_rows, transitions=transition_rows, spend=spend_rows, seed=st.integers(0, 99))
def test_invariants_and_row_order_independence(
    tmp_path_factory: pytest.TempPathFactory,
    leads: list,
    transitions: list,
    spend: list,
    seed: int,
) -> None:
    root = tmp_path_factory.mktemp("prop")
    _write(root, leads, transitions, spend)
    report = run_report(load_policy(root / "funnel.yaml"), Query()).as_dict()
    for row in [*report["rows"], report["total"]]:
        counts = [row["stages"][s]["count"] for s in STAGES]
        assert counts == sorted(counts, reverse=True)  # non-increasing along the funnel
        for s in STAGES[1:]:
            for key in ("rate", "rate_from_lead"):
                value = row["stages"][s][key]
                assert value is None or 0.0 <= value <= 1.0
                ci = row["stages"][s][f"{key}_ci"]
                assert (ci is None) == (value is None)
                assert ci is None or ci[0] - 1e-12 <= value <= ci[1] + 1e-12
        if row["spend"] is not None and row["leads"]:
            assert row["cpl"] * row["leads"] == pytest.approx(row["spend"])
        if row["roas"] is not None:  # ROAS × spend = revenue
            assert row["roas"] * row["spend"] == pytest.approx(row["revenue"])
        if row["cpc"] is not None:
            assert row["cpc"] * row["clicks"] == pytest.approx(row["spend"])
    # Channels partition the cohort: their revenue adds up to the total's.
    assert sum(r["revenue"] or 0 for r in report["rows"]) == pytest.approx(
        report["total"]["revenue"]
    )
    # Disjoint groups: their counts add up to the total.
    for s in STAGES:
        assert (
            sum(r["stages"][s]["count"] for r in report["rows"])
            == (report["total"]["stages"][s]["count"])
        )
    # Shuffling every file's rows changes nothing when lead ids are unique per created_at.
    rng = random.Random(seed)
    unique = {}
    for i, h, c, cents in leads:
        unique.setdefault(i, (i, h, c, cents))
    shuffled = _write(root, list(unique.values()), transitions, spend)
    before = run_report(load_policy(root / "funnel.yaml"), Query()).as_dict()
    for name in ("leads.csv", "transitions.csv", "spend.csv"):
        path = root / name
        head, *body = path.read_text().splitlines()
        rng.shuffle(body)
        path.write_text("\n".join([head, *body]) + "\n")
    after = run_report(load_policy(root / "funnel.yaml"), Query()).as_dict()
    assert shuffled is not None
    assert _without_examples(before) == _without_examples(after)


def _without_examples(report: dict[str, Any]) -> dict[str, Any]:
    return {**report, "warnings": sorted((w["code"], w["count"]) for w in report["warnings"])}


def _length_hash(ids: pl.Expr) -> pl.Expr:
    """A hash that collides all the time: ids of the same length share it."""
    return ids.str.len_bytes().cast(pl.UInt64).alias(dataset.HASH)


@pytest.mark.parametrize("hash_ids", [dataset.id_hash, _length_hash], ids=["real", "colliding"])
@settings(max_examples=100, deadline=None)
@given(
    lead_ids=st.lists(st.text(max_size=4), unique=True, max_size=30),
    entry_ids=st.lists(st.text(max_size=4), max_size=40),
)
def test_hash_join_of_entries_to_leads_equals_the_string_join(
    hash_ids: Callable[[pl.Expr], pl.Expr], lead_ids: list[str], entry_ids: list[str]
) -> None:
    ids = pl.Series("lead_id", lead_ids, dtype=pl.String)
    entries = pl.DataFrame(
        {"lead_id": entry_ids, "n": range(len(entry_ids))},
        schema={"lead_id": pl.String, "n": pl.Int64},
    )
    # With colliding hashes, both fall-backs run: leads sharing a matched hash (the strings
    # are joined) and an unknown id that shares a lead's hash (left unmatched).
    with mock.patch.object(dataset, "id_hash", hash_ids):
        got = _with_leads(entries, ids)
    # Each entry, in its own place, carries its lead's position among the ids.
    position = pl.int_range(pl.len(), dtype=pl.UInt32).alias(LEAD_KEY)
    keys = ids.to_frame().with_columns(position)
    want = entries.join(keys, on="lead_id", how="left", maintain_order="left")
    assert got.to_dicts() == want.to_dicts()


@settings(max_examples=100, deadline=None)
@given(keys=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=40))
def test_repeated_rows_are_exactly_the_rows_whose_key_repeats(keys: list[str | None]) -> None:
    frame = pl.DataFrame(
        {"key": keys, "n": range(len(keys))}, schema={"key": pl.String, "n": pl.Int64}
    )
    got = sorted(repeated_rows(frame, pl.col("key"))["n"].to_list())
    assert got == [i for i, k in enumerate(keys) if keys.count(k) > 1]


@settings(max_examples=100, deadline=None)
@given(
    leads=st.integers(0, 12),
    entries=st.lists(
        st.tuples(st.integers(0, 11), st.sampled_from(["mql", "sql"]), st.integers(0, 99)),
        max_size=40,
    ),
)
def test_first_entries_are_each_leads_earliest_in_the_leads_order(
    leads: int, entries: list[tuple[int, str, int]]
) -> None:
    entries = [e for e in entries if e[0] < leads]
    transitions = pl.DataFrame(
        {
            LEAD_KEY: [e[0] for e in entries],
            "stage": [e[1] for e in entries],
            "entered_at": [e[2] for e in entries],
        },
        schema={LEAD_KEY: pl.UInt32, "stage": pl.String, "entered_at": pl.Int64},
    )
    got = first_entries(transitions, ["mql", "sql"], leads)
    assert got.height == leads
    for stage in ("mql", "sql"):
        want = [
            min((at for key, s, at in entries if key == i and s == stage), default=None)
            for i in range(leads)
        ]
        assert got[f"__first_{stage}"].to_list() == want
