"""The condition grammar (docs/policy.md) compiled to polars expressions.

Nothing in the YAML is evaluated as Python: each condition becomes a boolean polars
expression, two-valued (a comparison on a null is false, so ``not`` of it is true).
Type mismatches, unknown fields and operators and bad regexes are config errors that
name the rule's key path and YAML line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from funnelcli.columns import SCORE_COL, dim_col
from funnelcli.errors import ConfigError, excerpt
from funnelcli.policy.config import Policy
from funnelcli.policy.yamlsrc import Key, format_problems

COMPARE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
OPERATORS = (*COMPARE_OPS, "in", "not_in", "between", "matches", "contains", "is_null", "not_null")
LOGIC = ("all", "any", "not")
TEXT_HINT = (
    "If it is a number column with stray text (N/A, Select…), set the leads input's "
    "null_values: or types: {<column>: float}."
)


Fields = dict[str, tuple[pl.Expr, pl.DataType]]  # condition field name → (expression, dtype)


class _Problem(Exception):
    def __init__(self, loc: Key, text: str) -> None:
        super().__init__(text)
        self.problems = [(loc, text)]


@dataclass(frozen=True)
class Rule:
    """One scoring rule, for explanations and the rule-insight table."""

    dimension: str
    index: int
    points: float
    label: str  # "company_size ≥ 50"
    fires: pl.Expr  # boolean, never null
    fields: tuple[str, ...] = ()  # the lead columns it reads


@dataclass(frozen=True)
class Part:
    """One top-level part of a stage's ``requires`` (each item of an ``all:``)."""

    label: str
    holds: pl.Expr  # boolean, never null; may read score columns
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledPolicy:
    """Polars expressions for the policy, ready to apply to the typed leads frame."""

    dimensions: dict[str, pl.Expr]  # name → points expression
    score: pl.Expr
    requires: dict[str, pl.Expr]  # stage id → boolean expression (lit(True) when none)
    score_dtype: pl.DataType
    rules: list[Rule] = field(default_factory=list)
    parts: dict[str, list[Part]] = field(default_factory=dict)  # stage id → requires parts


def condition_sources(policy: Policy) -> Iterator[tuple[Key, Any]]:
    """Every raw condition in the policy with its key path."""
    for dim, rules in policy.scoring.dimensions.items():
        for i, rule in enumerate(rules):
            yield ("scoring", dim, i, "when"), rule.when
    for i, stage in enumerate(policy.stages):
        if stage.requires is not None:
            yield ("stages", i, "requires"), stage.requires


def referenced_fields(policy: Policy) -> set[str]:
    """Lead columns the policy's conditions read (tolerant: errors surface at compile)."""
    found: set[str] = set()
    for _, cond in condition_sources(policy):
        _collect_fields(cond, found)
    return found - {"score", *policy.scoring.dimensions}


def fields_of(cond: Any) -> tuple[str, ...]:
    """The field names one condition reads, in first-seen order."""
    found: set[str] = set()
    _collect_fields(cond, found)
    return tuple(sorted(found))


def _collect_fields(cond: Any, found: set[str]) -> None:
    if isinstance(cond, list):
        for c in cond:
            _collect_fields(c, found)
    elif isinstance(cond, dict):
        if isinstance(cond.get("field"), str):
            found.add(cond["field"])
        for key, value in cond.items():
            if key in LOGIC:
                _collect_fields(value, found)
            elif key != "field" and isinstance(value, dict) and len(cond) == 1:
                found.add(str(key))


def compile_policy(policy: Policy, schema: pl.Schema) -> CompiledPolicy:
    """Compile every condition against the leads ``schema``; raise all problems at once."""
    score_dtype = _score_dtype(policy)
    fields: Fields = {name: _field(name, dtype) for name, dtype in schema.items()}
    # The policy's own numbers shadow lead columns of the same name.
    fields["score"] = (pl.col(SCORE_COL), score_dtype)
    fields.update({d: (pl.col(dim_col(d)), score_dtype) for d in policy.scoring.dimensions})
    problems: list[tuple[Key, str]] = []
    compiled: dict[Key, pl.Expr] = {}
    for loc, cond in condition_sources(policy):
        try:
            compiled[loc] = _compile(cond, loc, fields)
        except _Problem as p:
            problems += p.problems
    if problems:
        raise ConfigError(format_problems(policy.source, problems))
    policy_exprs = _assemble(policy, compiled, score_dtype)
    rules = [
        Rule(
            dim,
            i,
            r.points,
            describe(r.when),
            compiled[("scoring", dim, i, "when")].fill_null(False),
            fields_of(r.when),
        )
        for dim, dim_rules in policy.scoring.dimensions.items()
        for i, r in enumerate(dim_rules)
    ]
    parts = {
        stage.id: [
            Part(
                describe(c),
                _compile(c, ("stages", i, "requires"), fields).fill_null(False),
                fields_of(c),
            )
            for c in _top_parts(stage.requires)
        ]
        for i, stage in enumerate(policy.stages)
        if stage.requires is not None
    }
    return replace(policy_exprs, rules=rules, parts=parts)


def _top_parts(cond: Any) -> list[Any]:
    """The items of a top-level ``all:``, else the condition itself."""
    if isinstance(cond, dict) and list(cond) == ["all"] and isinstance(cond["all"], list):
        return list(cond["all"])
    return [cond]


SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def describe(cond: Any) -> str:
    """A condition in short readable form: ``company_size ≥ 50``, ``any(a; b)``."""
    if not isinstance(cond, dict) or not cond:
        return repr(cond)
    if "field" in cond:
        ops = [k for k in cond if k != "field"]
        return _describe_leaf(str(cond["field"]), ops[0], cond[ops[0]]) if ops else str(cond)
    ((key, value),) = list(cond.items())[:1]
    if key in ("all", "any") and isinstance(value, list):
        return f"{key}({'; '.join(describe(c) for c in value)})"
    if key == "not":
        return f"not({describe(value)})"
    if isinstance(value, dict) and value:
        op = next(iter(value))
        return _describe_leaf(str(key), op, value[op])
    return repr(cond)


def _describe_leaf(name: str, op: str, value: Any) -> str:
    if op in SYMBOLS:
        return f"{name} {SYMBOLS[op]} {_shown(value)}"
    if op in ("is_null", "not_null"):
        return f"{name} {'is empty' if op == 'is_null' else 'is set'}"
    if op in ("in", "not_in") and isinstance(value, list):
        word = "in" if op == "in" else "not in"
        return f"{name} {word} [{', '.join(_shown(v) for v in value)}]"
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{name} {_shown(value[0])}…{_shown(value[1])}"
    return f"{name} {op} {_shown(value)}"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _field(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.DataType]:
    """A lead column as conditions see it (categoricals are text: see ``_operator``)."""
    return pl.col(name), dtype


def _score_dtype(policy: Policy) -> pl.DataType:
    values = [r.points for rules in policy.scoring.dimensions.values() for r in rules]
    values += [policy.scoring.cap] if policy.scoring.cap is not None else []
    if not all(float(v).is_integer() for v in values):
        return pl.Float64()
    # A score and each dimension are held for every lead: four bytes, not eight, whenever
    # no sum of the points can leave the 32-bit range.
    return pl.Int32() if sum(abs(v) for v in values) < 2**31 else pl.Int64()


def _assemble(policy: Policy, compiled: dict[Key, pl.Expr], dtype: pl.DataType) -> CompiledPolicy:
    dims: dict[str, pl.Expr] = {}
    for dim, rules in policy.scoring.dimensions.items():
        terms = [
            pl.when(compiled[("scoring", dim, i, "when")]).then(pl.lit(r.points)).otherwise(0.0)
            for i, r in enumerate(rules)
        ]
        dims[dim] = pl.sum_horizontal(terms).cast(dtype) if terms else pl.lit(0, dtype)
    score = pl.sum_horizontal([pl.col(dim_col(d)) for d in dims]) if dims else pl.lit(0)
    if policy.scoring.cap is not None:
        score = pl.min_horizontal(score, pl.lit(policy.scoring.cap))
    requires = {
        s.id: compiled.get(("stages", i, "requires"), pl.lit(True))
        for i, s in enumerate(policy.stages)
    }
    return CompiledPolicy(dims, score.cast(dtype), requires, dtype)


def _compile(cond: Any, loc: Key, fields: Fields) -> pl.Expr:
    if not isinstance(cond, dict) or not cond:
        text = f"a condition must be a mapping such as {{field: score, gte: 40}}, got {cond!r}."
        raise _Problem(loc, text)
    if "field" in cond:
        return _leaf(cond, loc, fields)
    if len(cond) != 1:
        keys = ", ".join(map(str, cond))
        raise _Problem(loc, f"expected one of all/any/not or {{field: …, OP: …}}, got keys {keys}.")
    ((key, value),) = cond.items()
    if key in ("all", "any"):
        return _logic(key, value, (*loc, key), fields)
    if key == "not":
        return ~_compile(value, (*loc, key), fields)
    if isinstance(value, dict):  # shorthand {NAME: {OP: V}}
        return _leaf({"field": str(key), **value}, (*loc, key), fields)
    raise _Problem(loc, f"unknown condition key '{key}'; use field:, all:, any: or not:.")


def _logic(key: str, value: Any, loc: Key, fields: Fields) -> pl.Expr:
    if not isinstance(value, list) or not value:
        raise _Problem(loc, f"'{key}' takes a non-empty list of conditions.")
    parts, problems = [], []
    for i, c in enumerate(value):
        try:
            parts.append(_compile(c, (*loc, i), fields))
        except _Problem as p:
            problems += p.problems
    if problems:
        err = _Problem(*problems[0])
        err.problems = problems
        raise err
    return pl.all_horizontal(parts) if key == "all" else pl.any_horizontal(parts)


def _leaf(cond: dict[str, Any], loc: Key, fields: Fields) -> pl.Expr:
    name = cond["field"]
    ops = [k for k in cond if k != "field"]
    if not isinstance(name, str):
        raise _Problem(loc, f"field must be a column name, got {name!r}.")
    if name not in fields:
        shown = ", ".join(sorted(f for f in fields if not f.startswith("__"))[:25])
        raise _Problem(loc, f"unknown field '{name}'. Known fields: {shown}.")
    unknown = [o for o in ops if o not in OPERATORS]
    if unknown or len(ops) != 1:
        got = ", ".join(map(str, ops)) or "none"
        raise _Problem(loc, f"needs exactly one operator of {', '.join(OPERATORS)}; got {got}.")
    op = ops[0]
    col, dtype = fields[name]
    try:
        return _operator(op, cond[op], col, dtype, (*loc, op))
    except _Problem as problem:
        # The operator's checks speak of "this field": say which one.
        named = [
            (where, text.replace("this field", f"'{name}'")) for where, text in problem.problems
        ]
        problem.problems = named
        raise


def _operator(op: str, value: Any, col: pl.Expr, dtype: pl.DataType, loc: Key) -> pl.Expr:
    if dtype == pl.Null and op not in ("is_null", "not_null"):
        # A column with no value at all (an empty export, a field nobody fills) has no
        # type to check against: every comparison with its nulls is false.
        return pl.lit(False)
    if isinstance(dtype, pl.Categorical) and op not in ("is_null", "not_null"):
        # A categorical (channel, campaign, few-valued text) is text to conditions. The
        # condition is decided once per distinct value and rows are looked up by code: a
        # regex over a handful of values instead of millions of rows. A null row is in no
        # set, so it fails every text operator, as with text.
        distinct = col.unique()
        holds = _operator(op, value, distinct.cast(pl.String), pl.String(), loc)
        return col.is_in(distinct.filter(holds).implode()).fill_null(False)
    if op in ("is_null", "not_null"):
        if value is not True:
            raise _Problem(loc, f"'{op}' takes the value true, got {value!r}.")
        return col.is_null() if op == "is_null" else col.is_not_null()
    if op in ("matches", "contains"):
        return _text_op(op, value, col, dtype, loc)
    if op in ("in", "not_in", "between"):
        values = _list_value(op, value, loc)
        checked = [_literal(v, dtype, (*loc, i), op) for i, v in enumerate(values)]
        if op == "between":
            expr = col.is_between(checked[0], checked[1], closed="both")
        else:
            expr = col.is_in(checked)
            expr = ~expr if op == "not_in" else expr
        return (expr & col.is_not_null()).fill_null(False)
    lit = _literal(value, dtype, loc, op)
    compare = {"eq": col.eq, "ne": col.ne, "gt": col.gt, "gte": col.ge, "lt": col.lt, "lte": col.le}
    return compare[op](lit).fill_null(False)


def _list_value(op: str, value: Any, loc: Key) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Problem(loc, f"'{op}' takes a list of values, got {value!r}.")
    if op == "between" and len(value) != 2:
        raise _Problem(loc, f"'between' takes [low, high], got {value!r}.")
    return value


def _text_op(op: str, value: Any, col: pl.Expr, dtype: pl.DataType, loc: Key) -> pl.Expr:
    if dtype != pl.String:
        raise _Problem(loc, f"'{op}' needs a text column, but this field is {_kind(dtype)}.")
    if not isinstance(value, str):
        raise _Problem(loc, f"'{op}' takes text, got {value!r}.")
    if op == "contains":
        return col.str.contains(value, literal=True).fill_null(False)
    problem = regex_problem(value)
    if problem:
        raise _Problem(loc, f"bad regex {excerpt(value)}: {excerpt(problem, 200)}")
    return col.str.contains(value).fill_null(False)


def regex_problem(pattern: str) -> str | None:
    """Why polars' (Rust) regex engine rejects ``pattern``, or None when it accepts it."""
    try:
        pl.Series([""]).str.contains(pattern)
    except pl.exceptions.PolarsError as err:
        return str(err).strip().splitlines()[-1] if str(err).strip() else "invalid"
    return None


def _literal(value: Any, dtype: pl.DataType, loc: Key, op: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Problem(loc, f"'{op}' compares with {value!r}; use a finite number.")
    kind = _kind(dtype)
    ok = {
        "a number": isinstance(value, int | float) and not isinstance(value, bool),
        "text": isinstance(value, str),
        "true/false": isinstance(value, bool),
        "a date": isinstance(value, dt.date) or _iso_date(value) is not None,
    }[kind]
    if not ok:
        hint = f" {TEXT_HINT}" if kind == "text" else ""
        raise _Problem(loc, f"'{op}' compares with {value!r}, but this field holds {kind}.{hint}")
    if kind == "text" and op in ("gt", "gte", "lt", "lte", "between"):
        raise _Problem(
            loc, f"'{op}' needs a number or date column; this field holds text. {TEXT_HINT}"
        )
    if kind == "a date":
        return _as_date(value)
    return value


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "a number"
    if dtype == pl.Boolean:
        return "true/false"
    if dtype.is_temporal():
        return "a date"
    return "text"


def _iso_date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else _iso_date(value)  # type: ignore[return-value]
