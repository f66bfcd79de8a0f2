"""Tables never cut a figure: at any terminal width and written to a file, every money
figure of the JSON appears to the cent, every count whole, and no cell ends in an ellipsis.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from funnelcli.measure.metrics import Query
from funnelcli.pipeline import Summary, rules_report, run_report
from funnelcli.policy.config import load_policy
from funnelcli.render import fmt
from funnelcli.render.explain import rules_table
from funnelcli.render.table import plain, renderable
from tests.conftest import invoke

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.yaml"
WIDTHS = [60, 80, 100, 120]
VIEWS = {
    "default": [],
    "every month": ["--every", "month"],
    "compare previous": ["--last", "4w", "--as-of", "2026-06-30", "--compare", "previous"],
}


def _figures(report: dict[str, Any]) -> set[str]:
    """Every money figure and count the tables show, as the table writes them."""
    out: set[str] = set()
    cur = report["currency"]
    for row in [*report["rows"], report["total"]]:
        for value in (row["spend"], row["cpl"]):
            if value is not None:
                out.add(fmt.money(value, cur))
        out.add(fmt.count(row["leads"]))
        for metric in row["stages"].values():
            out.add(fmt.count(metric["count"]))
            if metric.get("cost_per") is not None:
                out.add(fmt.money(metric["cost_per"], cur))
    return out


def _text_of(args: list[str], width: int | None) -> tuple[str, dict[str, Any]]:
    data = invoke("report", "-c", EXAMPLE, "-f", "json", "-q", *args).json()
    every = args[args.index("--every") + 1] if "--every" in args else None
    summary = Summary(
        last=args[args.index("--last") + 1] if "--last" in args else None,
        as_of=args[args.index("--as-of") + 1] if "--as-of" in args else None,
        compare="previous" if "--compare" in args else None,
    )
    report = run_report(load_policy(EXAMPLE), Query(by=["channel"], every=every), summary=summary)
    return plain(renderable(report), width), data


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_figure_is_whole_at_every_width(view: str) -> None:
    for width in [*WIDTHS, None]:
        text, data = _text_of(VIEWS[view], width)
        assert "…" not in text, (view, width)
        missing = sorted(f for f in _figures(data) if f not in text)
        assert not missing, (view, width, missing[:5])
        if width is not None:
            assert max(len(line) for line in text.splitlines()) <= width, (view, width)


def test_report_written_to_a_file_is_whole(tmp_path: Path) -> None:
    out = tmp_path / "month.txt"
    run = subprocess.run(
        [sys.executable, "-m", "funnelcli", "report", "-c", str(EXAMPLE), "--every", "month",
         "-q", "--output", str(out)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    data = invoke("report", "-c", EXAMPLE, "--every", "month", "-f", "json", "-q").json()
    assert "…" not in text
    assert not sorted(f for f in _figures(data) if f not in text)
    # Stacked tables repeat their label column; off a terminal none is stacked.
    assert text.count("Volume & cost") == 1


@pytest.mark.parametrize("width", [*WIDTHS, None])
def test_score_rules_keeps_every_column(width: int | None) -> None:
    insights, stages = rules_report(load_policy(EXAMPLE))
    text = plain(rules_table(insights, stages), width)
    data = json.loads(invoke("score", "-c", EXAMPLE, "--rules", "-f", "json").stdout)
    assert "…" not in text
    for rule in data["rules"]:
        for stage in data["stages"]:
            conv = rule["conversion"][stage]
            shown = f"{fmt.pct(conv['with']['rate'])} / {fmt.pct(conv['without']['rate'])}"
            assert shown in text, (width, rule["rule"], stage)
            if conv["lift"] is not None:
                assert f"{conv['lift']:.2f}×" in text, (width, rule["rule"], stage)
