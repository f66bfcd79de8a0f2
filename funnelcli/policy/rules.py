"""The condition grammar (docs/policy.md) compiled to polars expressions.

Nothing in the YAML is evaluated as Python: each condition becomes a boolean polars
expression, two-valued (a comparison on a null is false, so ``not`` of it is true).
Type mismatches, unknown fields and operators and bad regexes are config errors that
name the rule's key path and YAML line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from funnelcli.columns import SCORE_COL, dim_col
from funnelcli.errors import ConfigError, excerpt, listed
from funnelcli.policy.config import Policy
from funnelcli.policy.yamlsrc import Key, format_problems

COMPARE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
OPERATORS = (*COMPARE_OPS, "in", "not_in", "between", "matches", "contains", "is_null", "not_null")
TEXT_HINT = (
    "If it is a number column with stray text (N/A, Select…), set the leads input's "
    "null_values: or types: {<column>: float}."
)


Fields = dict[str, tuple[pl.Expr, pl.DataType]]  # condition field name → (expression, dtype)


class _Problem(Exception):
    def __init__(self, loc: Key, text: str) -> None:
        super().__init__(text)
        self.problems = [(loc, text)]


ConditionProblem = _Problem  # what ``parse`` raises, for other compilers of the tree


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


# The grammar, parsed once into a small tree that everything else walks: the fields a
# condition reads, its readable form and its polars expression.


@dataclass(frozen=True)
class Leaf:
    """``{field: NAME, OP: VALUE}`` (or the shorthand ``{NAME: {OP: VALUE}}``)."""

    field: str
    op: str
    value: Any
    loc: Key  # where the operator is, for messages


@dataclass(frozen=True)
class Logic:
    """``all:`` or ``any:`` of a non-empty list of conditions."""

    kind: str
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


Cond = Leaf | Logic | Not


def parse(cond: Any, loc: Key) -> Cond:
    """A raw condition → its tree; a structural problem (not a mapping, unknown key or
    operator, not exactly one operator, an empty list) is a _Problem with its key path.
    Every problem in the condition is reported, not only the first."""
    if not isinstance(cond, dict) or not cond:
        text = f"a condition must be a mapping such as {{field: score, gte: 40}}, got {cond!r}."
        raise _Problem(loc, text)
    if "field" in cond:
        return _parse_leaf(cond, loc)
    if len(cond) != 1:
        keys = ", ".join(map(str, cond))
        raise _Problem(loc, f"expected one of all/any/not or {{field: …, OP: …}}, got keys {keys}.")
    ((key, value),) = cond.items()
    if key in ("all", "any"):
        return _parse_logic(key, value, (*loc, key))
    if key == "not":
        return Not(parse(value, (*loc, key)))
    if isinstance(value, dict):  # shorthand {NAME: {OP: V}}
        return _parse_leaf({"field": str(key), **value}, (*loc, key))
    raise _Problem(loc, f"unknown condition key '{key}'; use field:, all:, any: or not:.")


def _parse_logic(kind: str, value: Any, loc: Key) -> Logic:
    if not isinstance(value, list) or not value:
        raise _Problem(loc, f"'{kind}' takes a non-empty list of conditions.")
    items = _every([lambda c=c, i=i: parse(c, (*loc, i)) for i, c in enumerate(value)])
    return Logic(kind, tuple(items))


def _every(steps: list[Callable[[], Any]]) -> list[Any]:
    """Each step's result; when any raise _Problem, one _Problem holding all their problems
    (a policy's mistakes are reported together, not one per run)."""
    results, problems = [], []
    for step in steps:
        try:
            results.append(step())
        except _Problem as p:
            problems += p.problems
    if problems:
        err = _Problem(*problems[0])
        err.problems = problems
        raise err
    return results


def _parse_leaf(cond: dict[str, Any], loc: Key) -> Leaf:
    name = cond["field"]
    ops = [k for k in cond if k != "field"]
    if not isinstance(name, str):
        raise _Problem(loc, f"field must be a column name, got {name!r}.")
    unknown = [o for o in ops if o not in OPERATORS]
    if unknown or len(ops) != 1:
        got = ", ".join(map(str, ops)) or "none"
        raise _Problem(loc, f"needs exactly one operator of {', '.join(OPERATORS)}; got {got}.")
    op, value = ops[0], cond[ops[0]]
    _check_shape(op, value, (*loc, op))
    return Leaf(name, op, value, (*loc, op))


_SCALAR = (str, int, float, dt.date)  # bool is an int


def _check_shape(op: str, value: Any, loc: Key) -> None:
    """The value an operator takes, whatever the column: a list for in/not_in/between,
    text for matches/contains, one value for a comparison. Checked once here for every
    compiler (the SQL one of ``funnel sql`` sees no column types)."""
    if op in ("in", "not_in", "between"):
        items = _list_value(op, value, loc)
        odd = [v for v in items if not isinstance(v, _SCALAR)]
        if odd:
            raise _Problem(
                loc, f"'{op}' takes plain values (text, numbers, dates), got {odd[0]!r}."
            )
    elif op in ("matches", "contains") and not isinstance(value, str):
        raise _Problem(loc, f"'{op}' takes text, got {value!r}.")
    elif op == "matches" and (problem := regex_problem(value)):
        raise _Problem(loc, f"bad regex {excerpt(value)}: {excerpt(problem, 200)}")
    elif op in SYMBOLS and not isinstance(value, _SCALAR):
        raise _Problem(
            loc, f"'{op}' compares with one value (text, a number, a date), got {value!r}."
        )


def fields_of(cond: Cond) -> tuple[str, ...]:
    """The field names a condition reads, sorted."""
    if isinstance(cond, Leaf):
        return (cond.field,)
    items = cond.items if isinstance(cond, Logic) else (cond.item,)
    return tuple(sorted({f for item in items for f in fields_of(item)}))


def referenced_fields(policy: Policy) -> set[str]:
    """Lead columns the policy's conditions read (a condition that does not parse is left
    out here: compile_policy reports it with every other problem)."""
    found: set[str] = set()
    for loc, raw in condition_sources(policy):
        try:
            found.update(fields_of(parse(raw, loc)))
        except _Problem:
            continue
    return found - {"score", *policy.scoring.dimensions}


def compile_policy(policy: Policy, schema: pl.Schema) -> CompiledPolicy:
    """Compile every condition against the leads ``schema``; raise all problems at once."""
    score_dtype = _score_dtype(policy)
    fields: Fields = {name: _field(name, dtype) for name, dtype in schema.items()}
    # The policy's own numbers shadow lead columns of the same name.
    fields["score"] = (pl.col(SCORE_COL), score_dtype)
    fields.update({d: (pl.col(dim_col(d)), score_dtype) for d in policy.scoring.dimensions})
    problems: list[tuple[Key, str]] = []
    compiled: dict[Key, pl.Expr] = {}
    trees: dict[Key, Cond] = {}
    for loc, raw in condition_sources(policy):
        try:
            trees[loc] = parse(raw, loc)
            compiled[loc] = _compile(trees[loc], fields)
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
            describe(trees[("scoring", dim, i, "when")]),
            compiled[("scoring", dim, i, "when")].fill_null(False),
            fields_of(trees[("scoring", dim, i, "when")]),
        )
        for dim, dim_rules in policy.scoring.dimensions.items()
        for i, r in enumerate(dim_rules)
    ]
    parts = {
        stage.id: [
            Part(describe(c), _compile(c, fields).fill_null(False), fields_of(c))
            for c in _top_parts(trees[("stages", i, "requires")])
        ]
        for i, stage in enumerate(policy.stages)
        if stage.requires is not None
    }
    return replace(policy_exprs, rules=rules, parts=parts)


def _top_parts(cond: Cond) -> tuple[Cond, ...]:
    """The items of a top-level ``all:``, else the condition itself."""
    return cond.items if isinstance(cond, Logic) and cond.kind == "all" else (cond,)


SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def describe(cond: Cond) -> str:
    """A condition in short readable form: ``company_size ≥ 50``, ``any(a; b)``."""
    if isinstance(cond, Leaf):
        return _describe_leaf(cond.field, cond.op, cond.value)
    if isinstance(cond, Not):
        return f"not({describe(cond.item)})"
    return f"{cond.kind}({'; '.join(describe(c) for c in cond.items)})"


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


def _compile(cond: Cond, fields: Fields) -> pl.Expr:
    """A parsed condition → a boolean expression; type problems (unknown field, operator
    that does not fit the column) are _Problems, all of them reported."""
    if isinstance(cond, Leaf):
        return _leaf(cond, fields)
    if isinstance(cond, Not):
        return ~_compile(cond.item, fields)
    parts = _every([lambda item=item: _compile(item, fields) for item in cond.items])
    return pl.all_horizontal(parts) if cond.kind == "all" else pl.any_horizontal(parts)


def _leaf(leaf: Leaf, fields: Fields) -> pl.Expr:
    if leaf.field not in fields:
        shown = listed(sorted(f for f in fields if not f.startswith("__")))
        raise _Problem(leaf.loc[:-1], f"unknown field '{leaf.field}'. Known fields: {shown}.")
    col, dtype = fields[leaf.field]
    try:
        return _operator(leaf.op, leaf.value, col, dtype, leaf.loc)
    except _Problem as problem:
        # The operator's checks speak of "this field": say which one.
        named = [
            (where, text.replace("this field", f"'{leaf.field}'"))
            for where, text in problem.problems
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
            expr = _is_in(col, dtype, checked)
            expr = ~expr if op == "not_in" else expr
        return (expr & col.is_not_null()).fill_null(False)
    lit = _literal(value, dtype, loc, op)
    compare = {"eq": col.eq, "ne": col.ne, "gt": col.gt, "gte": col.ge, "lt": col.lt, "lte": col.le}
    return compare[op](lit).fill_null(False)


def _is_in(col: pl.Expr, dtype: pl.DataType, values: list[Any]) -> pl.Expr:
    """``col`` in ``values``, with numbers compared as numbers: polars wants one type on
    both sides, so an integer column meets a list with a fraction (or a value beyond 64
    bits) as floats, and a float column meets whole numbers as floats."""
    if _kind(dtype) != "a number":
        return col.is_in(pl.Series(values).implode())
    if dtype.is_integer() and all(isinstance(v, int) and -(2**63) <= v < 2**63 for v in values):
        return col.cast(pl.Int64).is_in(pl.Series(values, dtype=pl.Int64).implode())
    floats = pl.Series([float(v) for v in values], dtype=pl.Float64)
    return col.cast(pl.Float64).is_in(floats.implode())


def _list_value(op: str, value: Any, loc: Key) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Problem(loc, f"'{op}' takes a list of values, got {value!r}.")
    if op == "between" and len(value) != 2:
        raise _Problem(loc, f"'between' takes [low, high], got {value!r}.")
    return value


def _text_op(op: str, value: Any, col: pl.Expr, dtype: pl.DataType, loc: Key) -> pl.Expr:
    if dtype != pl.String:
        raise _Problem(loc, f"'{op}' needs a text column, but this field is {_kind(dtype)}.")
    if op == "contains":  # the value's shape and the regex are checked by parse()
        return col.str.contains(value, literal=True).fill_null(False)
    return col.str.contains(value).fill_null(False)


def regex_problem(pattern: str) -> str | None:
    """Why polars' (Rust) regex engine rejects ``pattern``, or None when it accepts it."""
    try:
        pl.Series([""]).str.contains(pattern)
    except pl.exceptions.PolarsError as err:
        # "regex parse error: … error: unclosed group", then the expression polars ran.
        text = str(err).split("This error occurred")[0].strip()
        said = [line.strip() for line in text.splitlines() if line.strip().startswith("error:")]
        return said[-1].removeprefix("error:").strip() if said else "invalid"
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
