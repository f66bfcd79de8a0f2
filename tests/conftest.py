"""Shared helpers: tiny hand-made projects written to tmp_path, and a CLI runner."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from funnelcli.cli import app
from tests import servers

ROOT = Path(__file__).resolve().parent.parent

BASE_POLICY = """\
version: 1
currency: USD
timezone: {timezone}
inputs:
  leads: {{path: leads.csv}}
  spend: {{path: spend.csv}}
  transitions: {{path: transitions.csv}}
channels:
  aliases: {{paid_search: ["Google Ads", "adwords"]}}
stages:
  - {{id: lead, name: Lead}}
  - {{id: mql, name: MQL, aliases: [Marketing Qualified Lead]}}
  - {{id: sql, name: SQL}}
  - {{id: won, name: Customer, aliases: [customer]}}
exits: [lost]
"""


@dataclass
class Project:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "funnel.yaml"

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def policy(self, text: str) -> Path:
        return self.write("funnel.yaml", text)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with the base policy and empty-but-valid inputs; tests overwrite files."""
    p = Project(tmp_path)
    p.policy(BASE_POLICY.format(timezone="UTC"))
    p.write("leads.csv", "lead_id,created_at,channel\n")
    p.write("spend.csv", "date,channel,amount\n")
    p.write("transitions.csv", "lead_id,stage,entered_at\n")
    return p


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def invoke(*args: str | Path) -> Run:
    runner = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"})
    result = runner.invoke(app, [str(a) for a in args])
    return Run(result.exit_code, result.stdout, result.stderr)


def report_json(project: Project, *args: str) -> dict[str, Any]:
    run = invoke("report", "--config", project.config, "--format", "json", *args)
    assert run.exit_code == 0, run.stderr
    return run.json()


def row(report: dict[str, Any], **group: Any) -> dict[str, Any]:
    """The report row whose group equals ``group``."""
    matches = [r for r in report["rows"] if r["group"] == group]
    assert len(matches) == 1, [r["group"] for r in report["rows"]]
    return matches[0]


def warning(report: dict[str, Any], code: str) -> dict[str, Any]:
    """The report warning with this code (reports carry every check's findings)."""
    matches = [w for w in report["warnings"] if w["code"] == code]
    assert len(matches) == 1, [w["code"] for w in report["warnings"]]
    return matches[0]


def codes(report: dict[str, Any]) -> set[str]:
    return {w["code"] for w in report["warnings"]}


# Findings that tiny fixtures raise by nature (a stage nobody reaches, a channel without
# spend, a lead after the last spend day, the header-only spend file of the `project`
# fixture); tests about other findings ignore them.
AMBIENT = {
    "input.empty",
    "policy.stage_never_reached",
    "leads.channel_without_spend",
    "spend.channel_without_leads",
    "leads.after_last_spend",
}


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the session (tests/servers.py)."""
    yield from servers.postgres()


@pytest.fixture(scope="session")
def spark_engine() -> str:
    return servers.spark()


@pytest.fixture(params=["duckdb", "postgres", "spark"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each SQL engine's ``--engine`` value."""
    if request.param == "duckdb":
        pytest.importorskip("duckdb")
        return "duckdb"
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("spark_engine"))


def same(got: Any, want: Any, where: str = "") -> None:
    """Equal, floats to 1e-9 (relative for large values)."""
    if isinstance(want, float) and isinstance(got, float | int):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), where
    elif isinstance(want, dict):
        assert isinstance(got, dict), where
        assert got.keys() == want.keys(), where
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list), where
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where
