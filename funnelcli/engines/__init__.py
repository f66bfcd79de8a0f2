"""The report computed as SQL by an engine where the data lives (DuckDB, PostgreSQL,
Spark), and printed as SQL for warehouses funnel cannot reach (``funnel sql``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
from sqlglot import exp

from funnelcli.catalogue import CLICKS, IMPRESSIONS, MONEY, REVENUE, SALES, VISITS
from funnelcli.engines.conditions import Kinds, compile_sql
from funnelcli.engines.connect import Session, source_table
from funnelcli.engines.report import Inputs, build
from funnelcli.engines.staged import TABLES, Staged
from funnelcli.engines.tables import table_sources
from funnelcli.measure.metrics import Query
from funnelcli.policy.config import Policy

Measurer = Callable[[Query], tuple[pl.DataFrame, pl.DataFrame]]


def staged_sources(staged: Staged) -> dict[str, exp.Select]:
    """``in_<name>`` for each staged file, as loaded into the engine."""
    return {
        f"in_{name}": exp.select(exp.Star()).from_(source_table(name))
        for name in TABLES
        if name in staged.files
    }


def measurer(policy: Policy, staged: Staged, engine: Session) -> Measurer:
    """What measures a query in ``engine`` from staged files: the rows and the total, as
    ``measure.metrics.aggregate`` gives them."""
    return _measurer(policy, staged_sources(staged), staged.inputs, staged.kinds, engine)


def table_measurer(
    policy: Policy, engine: Session, as_of: dt.date | None, extras: set[str]
) -> tuple[Measurer, frozenset[str], list[str]]:
    """The same over the policy's tables; with what the tables carry (``Dataset.features``)
    and the leads table's columns."""
    tables = table_sources(policy, engine.columns, engine.spec.dialect, as_of, extras)
    measure = _measurer(policy, tables.sources, tables.inputs, tables.kinds, engine)
    features = _features(tables.sources, tables.inputs, engine)
    return measure, features, list(engine.columns(str(policy.inputs.leads.table)))


def _measurer(
    policy: Policy,
    sources: dict[str, exp.Select],
    inputs: Inputs,
    kinds: Kinds,
    engine: Session,
) -> Measurer:
    dialect = engine.spec.dialect
    rules = compile_sql(policy, kinds, dialect)

    def measure(query: Query) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows, total = build(policy, rules, query, inputs, dialect, sources=sources)
        return engine.query(rows.sql(dialect=dialect)), engine.query(total.sql(dialect=dialect))

    return measure


def _features(sources: dict[str, exp.Select], inputs: Inputs, engine: Session) -> frozenset[str]:
    """What the tables carry, as ``inputs.dataset`` judges it for files."""
    found = set()
    if inputs.spend:
        counts = exp.select(
            *(exp.alias_(exp.Count(this=exp.column(c)), c) for c in ("impressions", "clicks"))
        ).from_("in_spend")
        counts = counts.with_("in_spend", as_=sources["in_spend"])
        row = engine.query(counts.sql(dialect=engine.spec.dialect)).row(0, named=True)
        found |= {name for name, c in ((IMPRESSIONS, "impressions"), (CLICKS, "clicks")) if row[c]}
    if inputs.traffic:
        found.add(VISITS)
    if inputs.revenue:
        found.add(REVENUE)
    if inputs.sales:
        found.add(SALES)
    if found & {REVENUE, SALES}:
        found.add(MONEY)
    return frozenset(found)
