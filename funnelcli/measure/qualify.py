"""Per-lead qualification (docs/metrics.md): score, ``reached[s]`` and ``at[s]`` for every stage."""

from __future__ import annotations

import itertools

import polars as pl

from funnelcli.columns import at_col, crm_col, first_col, ok_col, reached_col
from funnelcli.inputs.dataset import LEAD_KEY
from funnelcli.inputs.parse import cut_like
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import SCORE_COL, CompiledPolicy, dim_col

RULE_PART = 1_250_000  # leads the rules are decided for at once (see decide)


def score_leads(leads: pl.LazyFrame, compiled: CompiledPolicy) -> pl.LazyFrame:
    """Add one column per scoring dimension and the (capped) total score."""
    dims = {dim_col(name): expr for name, expr in compiled.dimensions.items()}
    return leads.with_columns(**dims).with_columns(compiled.score.alias(SCORE_COL))


def crm_columns(stage_ids: list[str]) -> list[pl.Expr]:
    """``crm[s] = min(first[t] for t ≥ s)``: a later stage's record implies the earlier
    ones. Derived when needed rather than stored: a timestamp column per stage saved."""
    return [
        pl.min_horizontal(first_col(t) for t in stage_ids[i:]).alias(crm_col(s))
        for i, s in enumerate(stage_ids)
        if i > 0
    ]


def first_entries(transitions: pl.DataFrame, stage_ids: list[str], leads: int) -> pl.DataFrame:
    """``first[s]``: each lead's earliest entry into each stage, one row per lead in the
    leads' order (LEAD_KEY, which the dataset attached to every entry, is the lead's
    position); null where the lead has no entry."""
    at = pl.col("entered_at")
    entries = transitions.lazy()
    # One small group-by per stage, run together by the streaming engine: 10M leads, 5.5M
    # entries, 0.38-0.40 s against 0.62-0.72 s for one group-by with a filtered min per stage.
    per_stage = pl.collect_all(
        entries.filter(pl.col("stage") == s).group_by(LEAD_KEY).agg(at.min()) for s in stage_ids
    )
    dtype = transitions.schema["entered_at"]
    # Placed by position rather than joined: no hash table, and the leads keep their order.
    # Each lead appears once per stage's group-by, so no position is written twice.
    return pl.DataFrame(
        pl.repeat(None, leads, dtype=dtype, eager=True)
        .scatter(found[LEAD_KEY], found["entered_at"])
        .alias(first_col(s))
        for s, found in zip(stage_ids, per_stage, strict=True)
    )


def decide(
    leads: pl.DataFrame, compiled: CompiledPolicy, policy: Policy, *, scores: bool = True
) -> pl.DataFrame:
    """What the rules say of each lead, in the leads' order: ``__ok_<s>`` (the stage's
    ``requires`` holds) for every stage, and with ``scores`` the score and one column per
    scoring dimension (only ``score`` and ``explain`` show them; a report and the checks
    read the verdicts; three 4-byte columns are 114 MiB for 10M leads).

    Worked out as soon as the leads are read, so that the columns only the rules read can
    be dropped before the other inputs take memory."""
    computed = [SCORE_COL, *(dim_col(d) for d in compiled.dimensions)] if scores else []
    ok = [compiled.requires[s].fill_null(False).alias(ok_col(s)) for s in policy.stage_ids[1:]]
    # Rules look at one lead at a time, so they can run a part of the leads at a time: the
    # scratch columns of a rule then exist for one part, not for every lead (10M leads:
    # top 1,471-1,502 -> 1,045-1,054 MiB; 0.67-0.88 against 0.71-0.81 s). The parts end
    # where the leads' chunks end, so that `qualify` can place the result beside them
    # without copying either (a part cut inside a chunk cost a copy of every column).
    parts = [
        score_leads(leads.slice(start, length).lazy(), compiled)
        .with_columns(ok)  # a rule that is a constant is still one value a lead
        .select(*computed, *(ok_col(s) for s in policy.stage_ids[1:]))
        .collect(engine="in-memory")
        for start, length in _runs(leads["lead_id"].chunk_lengths(), RULE_PART)
    ]
    return pl.concat(parts, rechunk=False)


def _runs(lengths: list[int], size: int) -> list[tuple[int, int]]:
    """(start, length) of consecutive runs of whole chunks, each of at least ``size`` rows
    but the last; one run (possibly empty) at least."""
    runs, start, end = [], 0, 0
    for length in lengths:
        end += length
        if end - start >= size:
            runs.append((start, end - start))
            start = end
    if end > start or not runs:
        runs.append((start, end - start))
    return runs


def qualify(
    leads: pl.DataFrame,
    decided: pl.DataFrame,
    transitions: pl.DataFrame,
    policy: Policy,
    keep: list[str],
) -> pl.DataFrame:
    """The ``keep`` lead columns with the ``decided`` ones (:func:`decide`), ``__reached_<s>``
    and ``__at_<s>`` for every stage (no conversion window), and the CRM evidence they were
    decided on: ``__first_<s>``, read by the checks that compare the CRM's word with the
    policy's, by ``score --explain`` and by :func:`requalify`. Rows stay in the leads'
    order; the kept columns are the leads' own, not copies.
    """
    ids = policy.stage_ids
    firsts = first_entries(transitions, ids[1:], leads.height)
    lengths = leads["lead_id"].chunk_lengths()
    frame = pl.concat(
        [leads.select(keep), cut_like(decided, lengths), cut_like(firsts, lengths)],
        how="horizontal",
    )
    # The in-memory engine adds columns beside the existing ones; the streaming engine
    # would copy every column of the frame into new chunks.
    return _reach(frame.lazy(), policy, within_days=None).collect(engine="in-memory")


def evidence_columns(stage_ids: list[str]) -> list[str]:
    return [c for s in stage_ids[1:] for c in (first_col(s), ok_col(s))]


def requalify(qualified: pl.DataFrame, policy: Policy, within_days: float) -> pl.DataFrame:
    """``qualified`` (kept with its evidence) decided again with a conversion window: the
    score, ``requires`` and CRM records do not depend on it, only which entries count."""
    ids = policy.stage_ids
    stale = [c for s in ids for c in (reached_col(s), at_col(s))]
    frame = _reach(qualified.lazy().drop(stale), policy, within_days)
    return frame.drop(evidence_columns(ids)).collect()


def _reach(frame: pl.LazyFrame, policy: Policy, within_days: float | None) -> pl.LazyFrame:
    """``reached``/``at`` for every stage, from ``created_at``, ``ok`` and ``first``."""
    ids = policy.stage_ids
    frame = frame.with_columns(crm_columns(ids))
    created = pl.col("created_at")
    frame = frame.with_columns(
        pl.lit(True).alias(reached_col(ids[0])), created.alias(at_col(ids[0]))
    )
    for prev, stage in itertools.pairwise(policy.stages):
        frame = frame.with_columns(_step(prev.id, stage.id, stage.evidence, created, within_days))
    return frame.drop(crm_col(s) for s in ids[1:])


def _step(
    prev: str, stage: str, evidence: str, created: pl.Expr, within_days: float | None
) -> list[pl.Expr]:
    crm = pl.col(crm_col(stage))
    at_prev = pl.col(at_col(prev))
    if evidence == "policy":
        at, evidence_ok = at_prev, pl.lit(True)
    else:
        at, evidence_ok = pl.max_horizontal(at_prev, crm), crm.is_not_null()
    reached = pl.col(reached_col(prev)) & pl.col(ok_col(stage)) & evidence_ok
    if within_days is not None:
        reached = reached & (
            (at - created) <= pl.duration(microseconds=int(within_days * 86_400e6))
        )
    return [reached.alias(reached_col(stage)), pl.when(reached).then(at).alias(at_col(stage))]
