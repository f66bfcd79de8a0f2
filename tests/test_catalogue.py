"""Every metric of the catalogue reaches every output it claims: the JSON of each row and
stage, the CSV columns, the comparison deltas, and the tables where it is shown."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from funnelcli.catalogue import (
    CLICKS,
    GROUP_METRICS,
    GROUP_TARGETS,
    IMPRESSIONS,
    MONEY,
    REVENUE,
    STAGE_METRICS,
    TARGET_METRICS,
    VISITS,
    Metric,
    csv_column,
    has_data,
)
from funnelcli.render import fmt
from tests.conftest import invoke

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config.example.yaml"
ARGS = ["--last", "4w", "--as-of", "2026-06-30", "--compare", "previous"]


def _json_value(holder: dict[str, Any], metric: Metric) -> Any:
    for part in metric.path:
        holder = holder[part]
    return holder


def _shown(metric: Metric, value: Any, currency: str) -> str:
    return fmt.metric(metric, value, currency)


# The sample carries impressions, clicks, visits and revenue, but no sales cost.
SAMPLE_FEATURES = frozenset({IMPRESSIONS, CLICKS, VISITS, REVENUE, MONEY})


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return invoke("report", "-c", EXAMPLE, "-f", "json", "-q", *ARGS).json()


def test_every_metric_is_in_the_json_with_its_delta(report: dict[str, Any]) -> None:
    total = report["total"]
    for metric in GROUP_METRICS:
        _json_value(total, metric)  # present, even when null
        assert metric.name in total["delta"]
    stages = [s["id"] for s in report["stages"]][1:]
    for stage in stages:
        for metric in STAGE_METRICS:
            _json_value(total["stages"][stage], metric)
            _json_value(total["delta"]["stages"][stage], metric)


def test_every_csv_metric_is_a_column_with_the_jsons_value(report: dict[str, Any]) -> None:
    text = invoke("report", "-c", EXAMPLE, "-f", "csv", "-q", *ARGS).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    total_csv, total = rows[-1], report["total"]
    for metric in GROUP_METRICS:
        written = metric.csv and has_data(metric, SAMPLE_FEATURES)
        assert (metric.name in total_csv) == written, metric.name
        value = _json_value(total, metric)
        if written and value is not None:
            assert float(total_csv[metric.name]) == pytest.approx(value, abs=1e-4), metric.name
    for stage in [s["id"] for s in report["stages"]][1:]:
        for metric in STAGE_METRICS:
            column = csv_column(stage, metric)
            assert (column in total_csv) == metric.csv, column
            value = _json_value(total["stages"][stage], metric)
            if metric.csv and value is not None:
                assert float(total_csv[column]) == pytest.approx(value, abs=1e-4), column


@pytest.mark.parametrize("fmt_name", ["table", "markdown"])
def test_every_shown_metric_is_in_the_tables(report: dict[str, Any], fmt_name: str) -> None:
    text = invoke("report", "-c", EXAMPLE, "-f", fmt_name, "-q", *ARGS).stdout
    total, currency = report["total"], report["currency"]
    for metric in GROUP_METRICS:
        value = _json_value(total, metric)
        if metric.shown and value is not None:
            assert _shown(metric, value, currency) in text, metric.name
    for stage in [s["id"] for s in report["stages"]][1:]:
        for metric in STAGE_METRICS:
            value = _json_value(total["stages"][stage], metric)
            if metric.shown and value is not None and metric.unit != "rate":
                # Rates of small samples are shown as their interval instead.
                assert _shown(metric, value, currency) in text, (stage, metric.name)


def test_targets_accept_exactly_the_catalogues_target_metrics(tmp_path: Path) -> None:
    for metric in STAGE_METRICS:
        config = tmp_path / "funnel.yaml"
        text = EXAMPLE.read_text().replace("sample_data/", f"{ROOT}/sample_data/")
        config.write_text(
            text.replace("sql.cost_per: {lte: 500}", f"sql.{metric.name}: {{lte: 5}}")
        )
        run = invoke("report", "-c", config, "-f", "json", "-q")
        assert (run.exit_code == 0) == (metric.name in TARGET_METRICS), metric.name


def test_report_wide_targets_are_the_catalogues(tmp_path: Path) -> None:
    config = tmp_path / "funnel.yaml"
    text = EXAMPLE.read_text().replace("sample_data/", f"{ROOT}/sample_data/")
    for metric in GROUP_METRICS:
        config.write_text(text.replace("roas: {gte: 2}", f"{metric.name}: {{gte: 1}}"))
        run = invoke("report", "-c", config, "-f", "json", "-q")
        assert (run.exit_code == 0) == (metric.name in GROUP_TARGETS), metric.name
        if run.exit_code:
            assert f"target '{metric.name}' must be a report metric" in run.stderr
