"""What measures a report's queries in an engine: the SQL built, run, its rows returned."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl
from sqlglot import exp

from funnelcli.catalogue import CLICKS, IMPRESSIONS
from funnelcli.engines.conditions import Kinds, compile_sql
from funnelcli.engines.connect import QueryFailed, Session, source_table
from funnelcli.engines.report import Bounds, Inputs, Plan, build
from funnelcli.engines.staged import TABLES, Staged
from funnelcli.engines.tables import table_sources
from funnelcli.errors import InputError
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

    def refused(query: Query) -> tuple[pl.DataFrame, pl.DataFrame]:
        # The SQL is the same that runs on staged files; on tables it fails on their types.
        try:
            return measure(query)
        except QueryFailed as err:
            raise _table_error(engine, err) from None

    try:
        features = _features(tables.sources, tables.inputs, engine)
    except QueryFailed as err:
        raise _table_error(engine, err) from None
    return refused, features, _lead_columns(policy, engine)


def _lead_columns(policy: Policy, engine: Session) -> list[str]:
    """The leads table's columns under funnel's names (``columns:`` maps them)."""
    spec = policy.inputs.leads
    named = {table: ours for ours, table in spec.columns.items()}
    found = [named.get(c, c) for c in engine.columns(str(spec.table))]
    return list(dict.fromkeys([*found, "campaign"]))


def _table_error(engine: Session, err: QueryFailed) -> InputError:
    msg = (
        f"{engine.spec.shown} could not report on the input tables: {err}. Check the "
        "columns' types against docs/engines.md (timestamps, dates, numbers) and the "
        "columns: mapping."
    )
    return InputError(msg)


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
        plan = Plan(policy, query, inputs, dialect, Bounds.of(query))
        rows, total = build(plan, rules, sources).statements()
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
    return inputs.features(found)
