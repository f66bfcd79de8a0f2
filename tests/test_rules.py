"""Rule cases as data (tests/cases/*.yaml): condition, rows, expected, run by one test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from funnelcli.errors import ConfigError
from funnelcli.inputs.parse import blank_to_null, by_distinct, few_valued, normalise_channel
from funnelcli.measure.qualify import score_leads
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import SCORE_COL, compile_policy, dim_col, referenced_fields
from tests.conftest import BASE_POLICY, Project, invoke

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
SCHEMA = {
    "lead_type": pl.String,
    "title": pl.String,
    "size": pl.Int64,
    "ratio": pl.Float64,
    "bounced": pl.Boolean,
    "signup": pl.Date,
}


def _cases() -> list[Any]:
    out = []
    for path in CASES:
        for case in yaml.safe_load(path.read_text()):
            out.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return out


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    cols = {name: [r.get(name) for r in rows] for name in SCHEMA}
    return pl.DataFrame(cols, schema=SCHEMA)


def _evaluate(tmp_path: Path, condition: Any, frame: pl.DataFrame) -> list[bool]:
    # A policy built in memory (Policy.from_dict): no YAML file to write for one condition.
    policy = Policy.from_dict(
        {
            "version": 1,
            "inputs": {"leads": {"path": "l.csv"}},
            "stages": [
                {"id": "lead"},
                {"id": "mql", "evidence": "policy", "requires": condition},
            ],
        },
        base_dir=tmp_path,
    )
    compiled = compile_policy(policy, frame.schema)
    assert referenced_fields(policy) <= set(SCHEMA)
    return frame.select(compiled.requires["mql"].alias("ok"))["ok"].to_list()


@pytest.mark.parametrize("text", [pl.String, pl.Categorical])
@pytest.mark.parametrize("case", _cases())
def test_rule_case(tmp_path: Path, case: dict[str, Any], text: type[pl.DataType]) -> None:
    # Few-valued text columns are loaded as categoricals, whose conditions are decided per
    # distinct value: every case must come out as it does on plain text.
    rows = [
        {k: (v if not isinstance(v, dt.datetime) else v.date()) for k, v in r.items()}
        for r in case["rows"]
    ]
    frame = _frame(rows).with_columns(pl.col(pl.String).cast(text))
    assert _evaluate(tmp_path, case["condition"], frame) == case["expected"]


def _with_fit_rules(*rules: str) -> str:
    """The base policy scoring ``fit`` by these rules (YAML flow mappings)."""
    lines = "".join(f"    - {rule}\n" for rule in rules)
    return BASE_POLICY.format(timezone="UTC").replace(
        "stages:", "scoring:\n  fit:\n" + lines + "stages:"
    )


def test_rules_read_the_normalised_channel_as_text(project: Project) -> None:
    # Channels are stored as a categorical once normalised (aliases applied, lower-cased);
    # text operators still apply to them.
    policy = _with_fit_rules(
        '{when: {field: channel, matches: "^paid_"}, points: 30}',
        "{when: {field: channel, in: [web]}, points: 5}",
        "{when: {field: channel, eq: unknown}, points: 1}",
    )
    project.policy(policy)
    project.write(
        "leads.csv",
        "lead_id,created_at,channel\n"
        "L1,2026-01-01, Google Ads \nL2,2026-01-01,WEB\nL3,2026-01-01,\nL4,2026-01-01,adwords\n",
    )
    run = invoke("score", "--config", project.config)
    assert run.exit_code == 0, run.stderr
    scores = {
        r["lead_id"]: (r["channel"], r["score"]) for r in csv.DictReader(io.StringIO(run.stdout))
    }
    assert scores == {
        "L1": ("paid_search", "30"),
        "L2": ("web", "5"),
        "L3": ("unknown", "1"),
        "L4": ("paid_search", "30"),
    }


def test_campaigns_are_read_as_text_and_matched_to_spend(project: Project) -> None:
    # Campaigns, like channels, are normalised once per distinct cell into a categorical:
    # rules still see text, and the report still matches them to the spend's campaigns.
    policy = _with_fit_rules(
        '{when: {field: campaign, matches: "^spring"}, points: 30}',
        "{when: {field: campaign, eq: brand}, points: 5}",
    )
    project.policy(policy)
    project.write(
        "leads.csv",
        "lead_id,created_at,channel,campaign\n"
        "L1,2026-01-01,web, Spring_Sale \nL2,2026-01-01,web,BRAND\nL3,2026-01-01,web,  \n"
        "L4,2026-01-02,web,spring_sale\n",
    )
    project.write(
        "spend.csv",
        "date,channel,campaign,amount\n2026-01-01,web,SPRING_SALE,30\n2026-01-01,web,brand,10\n",
    )
    run = invoke("score", "--config", project.config)
    assert run.exit_code == 0, run.stderr
    scores = {r["lead_id"]: r["score"] for r in csv.DictReader(io.StringIO(run.stdout))}
    assert scores == {"L1": "30", "L2": "5", "L3": "0", "L4": "30"}
    run = invoke("report", "--config", project.config, "--by", "campaign", "-f", "json", "-q")
    rows = {
        r["group"]["campaign"]: (r["leads"], r["spend"]) for r in json.loads(run.stdout)["rows"]
    }
    assert rows == {"brand": (1, 10.0), "spring_sale": (2, 30.0), None: (1, None)}


def test_few_valued_text_is_a_categorical_trimmed_per_value(project: Project) -> None:
    # 50 leads, three distinct lead types (and blanks): a few-valued column, loaded as a
    # categorical (trimmed once per distinct cell, blanks empty) and scored as text.
    types = [" Demo ", "ebook", "", "demo", "ebook"] * 10
    rows = "".join(f"L{i},2026-01-01,web,{t}\n" for i, t in enumerate(types))
    project.write("leads.csv", "lead_id,created_at,channel,lead_type\n" + rows)
    policy = _with_fit_rules(
        "{when: {field: lead_type, in: [demo, Demo]}, points: 10}",
        '{when: {field: lead_type, matches: "^e"}, points: 1}',
        "{when: {field: lead_type, is_null: true}, points: 100}",
    )
    project.policy(policy)
    run = invoke("score", "--config", project.config)
    assert run.exit_code == 0, run.stderr
    got = [r["score"] for r in csv.DictReader(io.StringIO(run.stdout))]
    assert got == ["10", "1", "100", "10", "1"] * 10
    run = invoke("report", "--config", project.config, "--by", "lead_type", "-f", "json", "-q")
    leads = {r["group"]["lead_type"]: r["leads"] for r in json.loads(run.stdout)["rows"]}
    assert leads == {"Demo": 10, "demo": 10, "ebook": 20, None: 10}


@pytest.mark.parametrize(
    ("values", "few"),
    [
        (["a", "b"] * 10, True),  # 2 distinct of 20
        (["a", None] * 10, True),  # nulls do not count
        ([str(i % 11) for i in range(100)], False),  # 11 of 100: more than one in ten
        ([str(i) for i in range(100)], False),
        ([None, None], False),
    ],
)
def test_few_valued_means_at_most_one_distinct_value_in_ten(
    values: list[str | None], few: bool
) -> None:
    assert few_valued(pl.Series(values, dtype=pl.String)) is few


_HELD: list[pl.Series] = []  # categories forget values no series holds any more


def _categorical(known: int) -> pl.Categorical:
    """A categorical type of its own, already knowing ``known`` unrelated values."""
    categories = pl.Categories.random()
    _HELD.append(pl.Series([f"other {i}" for i in range(known)]).cast(pl.Categorical(categories)))
    return pl.Categorical(categories)


# by_distinct works from every category its type knows when they are no more than the
# rows, else from the rows' own distinct values: both ways must give the same rows.
KNOWN = pytest.mark.parametrize("known", [0, 100], ids=["all-categories", "rows-values"])


@KNOWN
def test_by_distinct_spreads_each_values_result_to_its_rows(known: int) -> None:
    cells = pl.Series([" Google Ads ", "web", None, "  ", "WEB", "adwords", "web"])
    cell = pl.col("cell")
    got = by_distinct(
        cells.cast(_categorical(known)),
        normalise_channel(cell, {"paid_search": ["Google Ads", "adwords"]}).alias("channel"),
        blank_to_null(cell).is_null().alias("blank"),
    )
    assert got["channel"].dtype == pl.Categorical
    assert got.rows() == [
        ("paid_search", False),
        ("web", False),
        ("unknown", True),
        ("unknown", True),
        ("web", False),
        ("paid_search", False),
        ("web", False),
    ]
    empty = by_distinct(pl.Series([], dtype=_categorical(known)), cell.alias("x"))
    assert empty.height == 0


@KNOWN
def test_by_distinct_keeps_the_chunks_of_its_input(known: int) -> None:
    parts = [pl.Series(["a", "B", None]), pl.Series(["b", "A"]), pl.Series(["c"])]
    dtype = _categorical(known)
    cells = pl.concat([p.cast(dtype) for p in parts], rechunk=False)
    got = by_distinct(cells, pl.col("cell").cast(pl.String).str.to_lowercase().alias("low"))
    assert got["low"].to_list() == ["a", "b", None, "b", "a", "c"]
    assert got["low"].chunk_lengths() == [3, 2, 1]


@pytest.mark.parametrize(
    ("points", "dtype", "scores"),
    [
        ([40, -20], pl.Int32, [40, 20, 0]),  # held in four bytes a lead
        ([2_000_000_000, 1_500_000_000], pl.Int64, [2_000_000_000, 3_500_000_000, 0]),
        ([2.5, 1], pl.Float64, [2.5, 3.5, 0.0]),
    ],
)
def test_scores_take_the_smallest_type_that_holds_every_sum(
    tmp_path: Path, points: list[float], dtype: type[pl.DataType], scores: list[float]
) -> None:
    rules = [
        {"when": {"field": "size", "gte": 50}, "points": points[0]},
        {"when": {"field": "bounced", "eq": False}, "points": points[1]},
    ]
    policy = Policy.from_dict(
        {
            "version": 1,
            "inputs": {"leads": {"path": "l.csv"}},
            "scoring": {"fit": rules},
            "stages": [{"id": "lead"}, {"id": "mql", "evidence": "policy"}],
        }
    )
    frame = _frame([{"size": 60, "bounced": True}, {"size": 60, "bounced": False}, {"size": 1}])
    scored = score_leads(frame.lazy(), compile_policy(policy, frame.schema)).collect()
    for column in (dim_col("fit"), SCORE_COL):
        assert scored[column].dtype == dtype()
        assert scored[column].to_list() == scores


def test_a_policy_from_data_is_validated_like_a_file() -> None:
    with pytest.raises(ConfigError, match=r"stages\[1\]\.requires\.gte: 'gte' compares with 'x'"):
        compile_policy(
            Policy.from_dict(
                {
                    "version": 1,
                    "inputs": {"leads": {"path": "l.csv"}},
                    "stages": [
                        {"id": "lead"},
                        {
                            "id": "mql",
                            "evidence": "policy",
                            "requires": {"field": "size", "gte": "x"},
                        },
                    ],
                }
            ),
            pl.Schema({"size": pl.Int64}),
        )
    with pytest.raises(ConfigError, match=r"stagez"):
        Policy.from_dict({"version": 1, "inputs": {"leads": {"path": "l.csv"}}, "stagez": []})
