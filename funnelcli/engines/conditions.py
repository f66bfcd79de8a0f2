"""The policy's conditions compiled to SQL (sqlglot trees), for every dialect.

The same parsed tree that becomes polars expressions (``policy.rules``) becomes SQL here:
two-valued like there (a comparison on a null is false, so ``not`` of it is true), and
``matches`` an unanchored regex search within the subset every engine shares. A rule one
dialect cannot express is a config error naming the dialect and the rule.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from funnelcli.columns import SCORE_COL, dim_col, ok_col
from funnelcli.errors import ConfigError, listed
from funnelcli.policy.config import Policy
from funnelcli.policy.rules import (
    Cond,
    ConditionProblem,
    Leaf,
    Not,
    condition_sources,
    parse,
)
from funnelcli.policy.yamlsrc import Key, format_problems

Kinds = dict[str, str]  # lead column → "number" | "text" | "bool" | "date" | "timestamp"

# What every engine's regex dialect reads alike (RE2 in DuckDB and BigQuery, Java in Spark,
# POSIX ARE in PostgreSQL and Redshift): no look-around, back-references, named groups,
# atomic groups, \b (a backspace to PostgreSQL) or inline flags other than a leading (?i).
_OUTSIDE_SUBSET = [
    (re.compile(r"\(\?[=!<>]"), "look-around, atomic or named groups"),
    (re.compile(r"\\[1-9]"), "back-references"),
    (re.compile(r"\\[bBAzZGpPQEkK]"), "the escapes \\b \\B \\A \\z \\Z \\G \\p \\Q \\E \\k"),
    (re.compile(r"(?<!^)\(\?i\)|\(\?[a-hj-z]"), "inline flags other than a leading (?i)"),
]
# Dialects where a leading (?i) becomes their case-insensitive operator (~*).
_FLAG_ARGUMENT = {"redshift", "postgres"}


@dataclass(frozen=True)
class SqlPolicy:
    """The policy's points and requirements as SQL over the leads' columns."""

    dimensions: dict[str, exp.Expression]  # name → points
    requires: dict[str, exp.Expression]  # stage id → boolean (never null)


def regex_subset_problem(pattern: str) -> str | None:
    """Why ``pattern`` is outside the regex subset all SQL engines share, or None."""
    for found, what in _OUTSIDE_SUBSET:
        if found.search(pattern):
            return f"uses {what}, which not every SQL engine reads alike"
    return None


def compile_sql(policy: Policy, kinds: Kinds | None, dialect: str) -> SqlPolicy:
    """Every condition of ``policy`` as SQL for ``dialect``; all problems raised together.

    ``kinds``: each lead column's kind (a date compares with a date; a column with no value
    at all fails every comparison); None when the types are not known (``funnel sql``). A
    comparison that does not fit its column is refused by ``compile_policy`` for files and
    by the engine for tables (exit 3 with its reason)."""
    problems: list[tuple[Key, str]] = []
    compiled: dict[Key, exp.Expression] = {}
    fields = {"score", *policy.scoring.dimensions}
    for loc, raw in condition_sources(policy):
        try:
            compiled[loc] = _compile(parse(raw, loc), _Fields(fields, kinds), dialect)
        except _Problem as p:
            problems.append((p.loc, p.text))
        except ConditionProblem as p:
            problems += p.problems
    if problems:
        raise ConfigError(format_problems(policy.source, problems))
    dims = {}
    for dim, rules in policy.scoring.dimensions.items():
        terms: list[exp.Expression] = [
            exp.Case()
            .when(compiled[("scoring", dim, i, "when")], _number(r.points))
            .else_(exp.Literal.number(0))
            for i, r in enumerate(rules)
        ]
        dims[dim] = _sum(terms) if terms else exp.Literal.number(0)
    requires = {
        s.id: compiled.get(("stages", i, "requires"), exp.true())
        for i, s in enumerate(policy.stages)
    }
    return SqlPolicy(dims, requires)


def score_expr(policy: Policy) -> exp.Expression:
    """The capped total score over the dimension columns."""
    dims = [exp.column(dim_col(d), quoted=True) for d in policy.scoring.dimensions]
    score: exp.Expression = _sum(dims) if dims else exp.Literal.number(0)
    if policy.scoring.cap is not None:
        cap = _number(policy.scoring.cap)
        score = exp.Case().when(exp.GT(this=score, expression=cap), cap).else_(score)
    return score


def ok_columns(sql: SqlPolicy, stage_ids: list[str]) -> list[exp.Expression]:
    return [exp.alias_(sql.requires[s], ok_col(s), quoted=True) for s in stage_ids[1:]]


class _Problem(Exception):
    def __init__(self, loc: Key, text: str) -> None:
        super().__init__(text)
        self.loc, self.text = loc, text


@dataclass(frozen=True)
class _Fields:
    computed: set[str]  # score and the dimensions
    kinds: Kinds | None

    def column(self, name: str, loc: Key) -> tuple[exp.Expression, str | None]:
        if name == "score":
            return exp.column(SCORE_COL, quoted=True), "number"
        if name in self.computed:
            return exp.column(dim_col(name), quoted=True), "number"
        if self.kinds is not None and name not in self.kinds:
            known = listed(sorted(self.kinds))
            raise _Problem(loc, f"unknown field '{name}'. Known fields: {known}.")
        return exp.column(name, quoted=True), None if self.kinds is None else self.kinds[name]


def _compile(cond: Cond, fields: _Fields, dialect: str) -> exp.Expression:
    if isinstance(cond, Leaf):
        return _leaf(cond, fields, dialect)
    if isinstance(cond, Not):
        return exp.not_(_compile(cond.item, fields, dialect))
    parts = [_compile(item, fields, dialect) for item in cond.items]
    joined = exp.and_(*parts) if cond.kind == "all" else exp.or_(*parts)
    return exp.paren(joined)


def _leaf(leaf: Leaf, fields: _Fields, dialect: str) -> exp.Expression:
    col, kind = fields.column(leaf.field, leaf.loc[:-1])
    op, value = leaf.op, leaf.value
    if op in ("is_null", "not_null"):
        test = exp.Is(this=col, expression=exp.null())
        return test if op == "is_null" else exp.not_(test)
    if kind == "null":  # a column with no value at all: every comparison is false
        return exp.false()
    if op in ("matches", "contains"):
        return _never_null(_text(op, value, col, dialect, leaf.loc))
    if op in ("in", "not_in", "between"):
        values = [_literal(v, kind, leaf.loc) for v in value]
        if op == "between":
            test: exp.Expression = exp.Between(this=col, low=values[0], high=values[1])
        else:
            test = exp.In(this=col, expressions=values)
            test = exp.not_(test) if op == "not_in" else test
        return _never_null(exp.and_(test, exp.not_(exp.Is(this=col, expression=exp.null()))))
    compare = {
        "eq": exp.EQ,
        "ne": exp.NEQ,
        "gt": exp.GT,
        "gte": exp.GTE,
        "lt": exp.LT,
        "lte": exp.LTE,
    }[op]
    return _never_null(compare(this=col, expression=_literal(value, kind, leaf.loc)))


def _text(op: str, value: str, col: exp.Expression, dialect: str, loc: Key) -> exp.Expression:
    if op == "contains":
        found = exp.StrPosition(this=col, substr=exp.Literal.string(value))
        return exp.GT(this=found, expression=exp.Literal.number(0))
    problem = regex_subset_problem(value)
    if problem:
        raise _Problem(loc, f"the regex {value!r} {problem} ({dialect}); rewrite it without.")
    insensitive = value.startswith("(?i)")
    bare = exp.Literal.string(value[len("(?i)") :] if insensitive else value)
    if dialect == "snowflake":  # REGEXP_LIKE matches the whole text there: count matches
        flags = [exp.Literal.number(1), exp.Literal.string("i")] if insensitive else []
        count = exp.Anonymous(this="REGEXP_COUNT", expressions=[col, bare, *flags])
        return exp.GT(this=count, expression=exp.Literal.number(0))
    if insensitive and dialect in _FLAG_ARGUMENT:
        return exp.RegexpILike(this=col, expression=bare)
    return exp.RegexpLike(this=col, expression=exp.Literal.string(value))


def _literal(value: Any, kind: str | None, loc: Key) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, dt.date) or (kind in ("date", "timestamp") and _is_date(value)):
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
        target = "TIMESTAMP" if kind == "timestamp" else "DATE"
        return exp.cast(exp.Literal.string(day.isoformat()), target)
    return exp.Literal.string(str(value))


def _is_date(value: Any) -> bool:
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _number(value: float) -> exp.Expression:
    if float(value).is_integer():
        return exp.Literal.number(int(value))
    return exp.Literal.number(repr(float(value)))


def _never_null(test: exp.Expression) -> exp.Expression:
    """Two-valued: a comparison with a null is false (and ``not`` of it then true)."""
    return exp.Coalesce(this=exp.paren(test), expressions=[exp.false()])


def _sum(terms: list[exp.Expression]) -> exp.Expression:
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return exp.paren(total)
