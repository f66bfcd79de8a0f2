"""Rule cases as data (tests/cases/*.yaml): condition, rows, expected, run by one test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from funnelcli.config import load_policy
from funnelcli.rules import compile_policy, referenced_fields

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
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "inputs": {"leads": {"path": "l.csv"}},
                "stages": [
                    {"id": "lead"},
                    {"id": "mql", "evidence": "policy", "requires": condition},
                ],
            }
        )
    )
    policy = load_policy(policy_file)
    compiled = compile_policy(policy, frame.schema)
    assert referenced_fields(policy) <= set(SCHEMA)
    return frame.select(compiled.requires["mql"].alias("ok"))["ok"].to_list()


@pytest.mark.parametrize("case", _cases())
def test_rule_case(tmp_path: Path, case: dict[str, Any]) -> None:
    rows = [
        {k: (v if not isinstance(v, dt.datetime) else v.date()) for k, v in r.items()}
        for r in case["rows"]
    ]
    assert _evaluate(tmp_path, case["condition"], _frame(rows)) == case["expected"]
