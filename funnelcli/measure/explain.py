"""Why a lead is where it is: the scoring rules that fired, the ``requires`` that failed, the
CRM evidence per stage — for one lead (``score --explain``), as a ``reasons`` column for every
lead, and as per-rule conversion lift (``score --rules``)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import polars as pl

from funnelcli.errors import UsageError
from funnelcli.inputs.dataset import Dataset
from funnelcli.inputs.load import FILE
from funnelcli.inputs.readers import ROW
from funnelcli.measure.prepared import Prepared
from funnelcli.measure.qualify import (
    at_col,
    crm_col,
    crm_columns,
    first_col,
    ok_col,
    reached_col,
    score_leads,
)
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import SCORE_COL, CompiledPolicy, dim_col

DIM_PREFIX = dim_col("")


def _rule_col(i: int) -> str:
    return f"__rule_{i}"


def _part_col(stage: str, i: int) -> str:
    return f"__part_{stage}_{i}"


def rule_hits(leads: pl.DataFrame, compiled: CompiledPolicy) -> pl.LazyFrame:
    """Per lead (by ROW): whether each scoring rule fired and each ``requires`` part held."""
    scored = score_leads(leads.lazy(), compiled)
    cols = [pl.col(ROW)]
    cols += [r.fires.alias(_rule_col(i)) for i, r in enumerate(compiled.rules)]
    cols += [
        part.holds.alias(_part_col(stage, i))
        for stage, parts in compiled.parts.items()
        for i, part in enumerate(parts)
    ]
    return scored.select(cols)


def reasons(policy: Policy, compiled: CompiledPolicy) -> pl.Expr:
    """One text per lead: the rules that fired with their points, then where it stopped and
    why. Reads the columns of :func:`rule_hits` joined to the qualified leads."""
    fired = [
        pl.when(pl.col(_rule_col(i))).then(pl.lit(f"{r.dimension}: {r.label} ({r.points:+g})"))
        for i, r in enumerate(compiled.rules)
    ]
    scoring = (
        pl.concat_list(fired).list.drop_nulls().list.join("; ") if fired else pl.lit("", pl.String)
    )
    stops = []
    for prev, stage in itertools.pairwise(policy.stages):
        stuck = pl.col(reached_col(prev.id)) & ~pl.col(reached_col(stage.id))
        stops.append(
            pl.when(stuck).then(pl.lit(f"not {stage.label}: ") + _why_not(stage, compiled))
        )
    last = policy.stages[-1].label
    stop = pl.coalesce(*stops, pl.lit(f"reached {last}")) if stops else pl.lit("")
    return pl.when(scoring == "").then(stop).otherwise(scoring + pl.lit(" | ") + stop)


# Why a lead that reached the stage before did not reach this one: the same words in the
# per-lead CSV (`score`, vectorised) and in one lead's explanation (`score --explain`).
REQUIRES_FAILED = "requires failed: "
NO_RECORD = "no CRM record of this stage or a later one"
TOO_LATE = "reached too late for the conversion window"


def _disagreement(evidence: str) -> str:
    return f"the CRM says so ({evidence}) but the policy does not agree"


def _why_not(stage: Any, compiled: CompiledPolicy) -> pl.Expr:
    """The reasons of ``_why`` for a lead that is stuck before ``stage``, as an expression
    over every lead (without the values the explanation adds to each failed part)."""
    failed = [
        pl.when(~pl.col(_part_col(stage.id, i))).then(pl.lit(part.label))
        for i, part in enumerate(compiled.parts.get(stage.id, []))
    ]
    reasons = []
    if failed:
        parts = pl.concat_list(failed).list.drop_nulls().list.join(", ")
        reasons.append(pl.when(~pl.col(ok_col(stage.id))).then(pl.lit(REQUIRES_FAILED) + parts))
    if stage.evidence == "crm":
        crm = pl.col(crm_col(stage.id))
        reasons.append(pl.when(crm.is_null()).then(pl.lit(NO_RECORD)))
        if failed:
            stamp = crm.dt.strftime("%Y-%m-%d %H:%M")
            said = pl.format(_disagreement("CRM record {}"), stamp)
            reasons.append(pl.when(crm.is_not_null() & ~pl.col(ok_col(stage.id))).then(said))
    joined = pl.concat_str(reasons, separator="; ", ignore_nulls=True) if reasons else None
    return pl.coalesce(joined, pl.lit(TOO_LATE)) if joined is not None else pl.lit(TOO_LATE)


@dataclass(frozen=True)
class RuleHit:
    dimension: str
    label: str
    points: float
    fired: bool
    values: dict[str, Any]  # the lead's values of the fields the rule reads


@dataclass(frozen=True)
class StageWhy:
    stage: str
    name: str
    reached: bool
    at: dt.datetime | None
    why: str


@dataclass(frozen=True)
class Explanation:
    lead_id: str
    file: str
    row: int
    created_at: dt.datetime
    channel: str
    score: float
    cap: float | None
    dimensions: dict[str, float]
    rules: list[RuleHit]
    stages: list[StageWhy]


def explain_lead(ready: Prepared, lead_id: str) -> Explanation:
    """Everything that decided one lead's score and stages."""
    policy, data, compiled, qualified = ready.policy, ready.data, ready.compiled, ready.qualified
    found = qualified.filter(pl.col("lead_id") == lead_id)
    found = found.with_columns(crm_columns(policy.stage_ids))
    if found.height == 0:
        raise UsageError(_not_found(data, lead_id))
    q = found.row(0, named=True)
    lead = data.leads.filter(pl.col(ROW) == q[ROW])
    hits = rule_hits(lead, compiled).collect()
    h = hits.row(0, named=True)
    rules = [
        RuleHit(r.dimension, r.label, r.points, h[_rule_col(i)], _values(lead, r.fields))
        for i, r in enumerate(compiled.rules)
    ]
    return Explanation(
        lead_id=lead_id,
        file=q[FILE],
        row=q[ROW],
        created_at=q["created_at"],
        channel=q["channel"],
        score=q[SCORE_COL],
        cap=policy.scoring.cap,
        dimensions={d: q[dim_col(d)] for d in policy.scoring.dimensions},
        rules=rules,
        stages=_stages(policy, compiled, q, h, lead),
    )


def _values(lead: pl.DataFrame, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: lead[f][0] for f in fields if f in lead.columns}


@dataclass(frozen=True)
class _Lead:
    """One lead's qualified values (q), rule/part hits (h) and raw row (frame)."""

    q: dict[str, Any]
    h: dict[str, Any]
    frame: pl.DataFrame


def _stages(
    policy: Policy,
    compiled: CompiledPolicy,
    q: dict[str, Any],
    h: dict[str, Any],
    lead: pl.DataFrame,
) -> list[StageWhy]:
    first = policy.stages[0]
    state = _Lead(q, h, lead)
    out = [StageWhy(first.id, first.label, True, q["created_at"], "created")]
    for prev, stage in itertools.pairwise(policy.stages):
        reached, at = q[reached_col(stage.id)], q[at_col(stage.id)]
        out.append(StageWhy(stage.id, stage.label, reached, at, _why(prev, stage, compiled, state)))
    return out


def _why(prev: Any, stage: Any, compiled: CompiledPolicy, lead: _Lead) -> str:
    q, parts = lead.q, compiled.parts.get(stage.id, [])
    failed = [
        f"{p.label}{_shown_values(lead, p.fields)}"
        for i, p in enumerate(parts)
        if not lead.h[_part_col(stage.id, i)]
    ]
    crm, own = q[crm_col(stage.id)], q[first_col(stage.id)]
    evidence = ""
    if stage.evidence == "crm" and crm is not None:
        later = "" if own is not None else " (a later stage's record: back-filled)"
        evidence = f"CRM record {_stamp(crm)}{later}"
    elif stage.evidence == "policy":
        evidence = "decided by the policy alone"
    if q[reached_col(stage.id)]:
        held = f"; requires hold ({', '.join(p.label for p in parts)})" if parts else ""
        return evidence + held
    if not q[reached_col(prev.id)]:
        return f"needs {prev.label} first"
    reasons = []
    if failed:
        reasons.append(REQUIRES_FAILED + ", ".join(failed))
    if stage.evidence == "crm" and crm is None:
        reasons.append(NO_RECORD)
    elif stage.evidence == "crm" and failed:
        reasons.append(_disagreement(evidence))
    return "; ".join(reasons) or TOO_LATE


def _shown_values(lead: _Lead, fields: tuple[str, ...]) -> str:
    """The lead's values of ``fields``: its columns, or its score and dimension points."""
    known = {"score": lead.q[SCORE_COL], **_values(lead.frame, fields)}
    known |= {k.removeprefix(DIM_PREFIX): v for k, v in lead.q.items() if k.startswith(DIM_PREFIX)}
    values = {f: known[f] for f in fields if f in known}
    if not values:
        return ""
    return " (" + ", ".join(f"{k} = {_fmt(v)}" for k, v in values.items()) + ")"


def _fmt(value: Any) -> str:
    return "empty" if value is None else repr(value) if isinstance(value, str) else str(value)


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def _not_found(data: Dataset, lead_id: str) -> str:
    name = data.leads[FILE][0] if data.leads.height else "the leads file"
    return (
        f"no lead with id '{lead_id}' among the {data.leads.height:,} usable leads of {name} "
        "(ids match exactly after trimming; rows dropped while loading are listed by "
        "`funnel check`)."
    )


@dataclass(frozen=True)
class RuleInsight:
    """How a scoring rule relates to later conversion: who it fires on and how they convert."""

    dimension: str
    label: str
    points: float
    fires: int
    leads: int
    converted: dict[
        str, tuple[int, int, int, int]
    ]  # stage → (with hits, with n, without hits, without n)

    @property
    def share(self) -> float | None:
        return self.fires / self.leads if self.leads else None

    def rates(self, stage: str) -> tuple[float | None, float | None, float | None]:
        """(rate with the rule, rate without, lift = with ÷ without)."""
        hit_with, n_with, hit_without, n_without = self.converted[stage]
        with_rate = hit_with / n_with if n_with else None
        without = hit_without / n_without if n_without else None
        lift = with_rate / without if with_rate is not None and without else None
        return with_rate, without, lift


def insight_stages(policy: Policy) -> list[str]:
    """The later stages rule insight reports conversion to: the third stage (typically SQL,
    the first one sales decides) and the last; the second is skipped, as the score itself
    usually decides it."""
    ids = policy.stage_ids
    picked = [ids[2]] if len(ids) > 3 else []
    return [*picked, ids[-1]]


def rule_insight(ready: Prepared) -> list[RuleInsight]:
    """Each scoring rule's reach and the conversion of the leads it fires on."""
    policy, data, compiled, qualified = ready.policy, ready.data, ready.compiled, ready.qualified
    stages = insight_stages(policy)
    frame = rule_hits(data.leads, compiled).join(
        qualified.lazy().select(ROW, *(reached_col(s) for s in stages)), on=ROW
    )
    aggs: list[pl.Expr] = [pl.len().alias("leads")]
    for i, _ in enumerate(compiled.rules):
        fires = pl.col(_rule_col(i))
        aggs.append(fires.sum().alias(f"{i}_n"))
        for s in stages:
            reached = pl.col(reached_col(s))
            aggs.append((reached & fires).sum().alias(f"{i}_{s}_with"))
            aggs.append((reached & ~fires).sum().alias(f"{i}_{s}_without"))
    got = frame.select(aggs).collect().row(0, named=True)
    leads = got["leads"]
    out = []
    for i, r in enumerate(compiled.rules):
        n = got[f"{i}_n"]
        converted = {
            s: (got[f"{i}_{s}_with"], n, got[f"{i}_{s}_without"], leads - n) for s in stages
        }
        out.append(RuleInsight(r.dimension, r.label, r.points, n, leads, converted))
    return out
