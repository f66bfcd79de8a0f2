"""`funnel score`: the reasons column, --explain for one lead, --rules (lift per rule)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import BASE_POLICY, Project, invoke

POLICY = (
    BASE_POLICY.format(timezone="UTC")
    .replace(
        "  - {id: mql, name: MQL, aliases: [Marketing Qualified Lead]}",
        "  - {id: mql, name: MQL, requires: {score: {gte: 40}}}",
    )
    .replace(
        "  - {id: sql, name: SQL}",
        "  - {id: sql, name: SQL, requires: {all: [{field: budget, gt: 0}, {field: timeline, lte: 90}]}}",
    )
    + """scoring:
  fit:
    - {when: {field: size, gte: 50}, points: 20}
  engagement:
    - {when: {field: kind, eq: demo}, points: 40}
    - {when: {field: bounced, eq: true}, points: -20}
"""
)
# A: 20 + 40 = 60; MQL Jan 2, SQL Jan 3 with budget and timeline; no won record.
# B: 40 - 20 = 20: the CRM says MQL, the policy does not (score < 40).
# C: 20, nothing in the CRM.
# D: 60, only a won record on Jan 5 (back-filled), but no budget: stops before SQL.
# E: 40 (small company, demo): MQL and SQL.
LEADS = """
lead_id,created_at,channel,size,kind,bounced,budget,timeline
A,2026-01-01,web,100,demo,false,1000,30
B,2026-01-01,web,10,demo,true,,
C,2026-01-01,ads,100,ebook,false,,
D,2026-01-01,ads,60,demo,false,,30
E,2026-01-01,web,10,demo,false,100,10
"""
TRANSITIONS = """
lead_id,stage,entered_at
A,mql,2026-01-02
A,sql,2026-01-03
B,mql,2026-01-02
D,customer,2026-01-05
E,mql,2026-01-02
E,sql,2026-01-04
"""


@pytest.fixture
def scored(project: Project) -> Project:
    project.policy(POLICY)
    project.write("leads.csv", LEADS)
    project.write("transitions.csv", TRANSITIONS)
    return project


def test_reasons_column(scored: Project) -> None:
    run = invoke("score", "-c", scored.config)
    assert run.exit_code == 0, run.stderr
    reasons = {r["lead_id"]: r["reasons"] for r in csv.DictReader(io.StringIO(run.stdout))}
    assert reasons == {
        # The same words as --explain (the CSV used to say "no CRM record of it or a later
        # stage" and left out the CRM/policy disagreement that --explain names).
        "A": "fit: size ≥ 50 (+20); engagement: kind = demo (+40) | not Customer: no CRM record of this stage or a later one",
        "B": "engagement: kind = demo (+40); engagement: bounced = true (-20) | not MQL: requires failed: score ≥ 40; the CRM says so (CRM record 2026-01-02 00:00) but the policy does not agree",
        "C": "fit: size ≥ 50 (+20) | not MQL: requires failed: score ≥ 40; no CRM record of this stage or a later one",
        "D": "fit: size ≥ 50 (+20); engagement: kind = demo (+40) | not SQL: requires failed: budget > 0; the CRM says so (CRM record 2026-01-05 00:00) but the policy does not agree",
        "E": "engagement: kind = demo (+40) | not Customer: no CRM record of this stage or a later one",
    }


def test_explain_one_lead(scored: Project) -> None:
    run = invoke("score", "-c", scored.config, "--explain", "D")
    assert run.exit_code == 0, run.stderr
    out = " ".join(run.stdout.split())  # table cells wrap; compare the words
    assert "Lead D leads.csv row 4 · created 2026-01-01 00:00 · ads" in out
    assert "Score 60 = fit 20 + engagement 40" in out
    assert "✓ fit +20 size ≥ 50 size = 60" in out
    assert "✗ engagement (-20) bounced = true bounced = false" in out
    assert (
        "✓ MQL 2026-01-05 00:00 CRM record 2026-01-05 00:00 (a later stage's record: "
        "back-filled); requires hold (score ≥ 40)"
    ) in out
    assert "✗ SQL — requires failed: budget > 0 (budget = empty)" in out
    assert "but the policy does not agree" in out
    assert "✗ Customer — needs SQL first" in out


def test_explain_json_and_crm_disagreement(scored: Project) -> None:
    run = invoke("score", "-c", scored.config, "--explain", " B ", "--format", "json")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["lead_id"], data["score"], data["dimensions"]) == (
        "B",
        20,
        {"fit": 0, "engagement": 20},
    )
    assert [(r["rule"], r["fired"]) for r in data["rules"]] == [
        ("size ≥ 50", False),
        ("kind = demo", True),
        ("bounced = true", True),
    ]
    mql = data["stages"][1]
    assert mql["reached"] is False
    assert mql["why"] == (
        "requires failed: score ≥ 40 (score = 20); the CRM says so (CRM record 2026-01-02 00:00) "
        "but the policy does not agree"
    )


def test_explain_unknown_lead_and_flag_clash(scored: Project) -> None:
    run = invoke("score", "-c", scored.config, "--explain", "Z")
    assert run.exit_code == 2
    assert "no lead with id 'Z' among the 5 usable leads of leads.csv" in run.stderr
    run = invoke("score", "-c", scored.config, "--explain", "A", "--rules")
    assert run.exit_code == 2 and "separate views" in run.stderr
    run = invoke("score", "-c", scored.config, "--format", "json")
    assert run.exit_code == 2 and "per-lead scores are CSV" in run.stderr
    run = invoke("score", "-c", scored.config, "--explain", "A", "--format", "csv")
    assert run.exit_code == 2 and "as a table or json, not csv" in run.stderr


def test_rules_lift(scored: Project) -> None:
    # size ≥ 50 fires on A, C, D: SQL 1 of 3 (A); without it (B, E) 1 of 2 → lift 2/3.
    # kind = demo fires on A, B, D, E: SQL 2 of 4; without (C) 0 of 1 → lift undefined.
    # bounced fires on B: 0 of 1; without: 2 of 4 → lift 0. Nobody reached Customer.
    run = invoke("score", "-c", scored.config, "--rules", "--format", "json")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["stages"] == ["sql", "won"]
    size, demo, bounced = data["rules"]
    assert (size["rule"], size["fires"], size["share"]) == ("size ≥ 50", 3, 0.6)
    sql = size["conversion"]["sql"]
    assert sql["with"] == {"converted": 1, "leads": 3, "rate": pytest.approx(1 / 3)}
    assert sql["without"] == {"converted": 1, "leads": 2, "rate": 0.5}
    assert sql["lift"] == pytest.approx(2 / 3)
    assert demo["conversion"]["sql"]["lift"] is None
    assert bounced["conversion"]["sql"]["lift"] == 0.0
    assert size["conversion"]["won"]["lift"] is None
    table = invoke("score", "-c", scored.config, "--rules").stdout
    assert "fit: size ≥ 50" in table and "0.67×" in table and "3 (60.0%)" in table
    rows = list(
        csv.DictReader(
            io.StringIO(invoke("score", "-c", scored.config, "--rules", "-f", "csv").stdout)
        )
    )
    assert rows[0]["sql_lift"] == str(2 / 3)


def test_rules_without_scoring_is_a_usage_error(project: Project) -> None:
    run = invoke("score", "-c", project.config, "--rules")
    assert run.exit_code == 2
    assert "has no scoring rules to assess" in run.stderr


def test_the_score_csv_gives_the_same_reason_as_the_explanation() -> None:
    # "Why not reached" is worded once: the per-lead CSV says what --explain says, less the
    # lead's values after each failed part.
    example = Path(__file__).parent.parent / "config.example.yaml"
    rows = list(csv.DictReader(io.StringIO(invoke("score", "-c", example).stdout)))
    stuck = [r for r in rows if " | not " in r["reasons"] or r["reasons"].startswith("not ")]
    picked = {r["lead_id"]: r for r in stuck[:: max(1, len(stuck) // 40)]}
    disagree = [r for r in stuck if "but the policy does not agree" in r["reasons"]]
    picked |= {r["lead_id"]: r for r in disagree[:5]}
    assert disagree, "the sample has CRM/policy disagreements to compare"
    for lead_id, row in picked.items():
        said = row["reasons"].split("not ", 1)[1].split(": ", 1)[1]
        explained = invoke("score", "-c", example, "--explain", lead_id, "-f", "json").json()
        why = next(s["why"] for s in explained["stages"] if not s["reached"])
        assert re.sub(r" \([^()]*=[^()]*\)", "", why) == said, lead_id
