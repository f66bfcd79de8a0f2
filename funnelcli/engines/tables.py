"""Warehouse tables as the report SQL's inputs: the preparation funnel's reader does for
files, done in SQL for typed tables (docs/engines.md, "What a table must look like").

Per input: columns mapped by ``columns:`` as for files; timestamps to microseconds since
1970 (a naive timestamp is in the business time zone); channels trimmed, lower-cased and
mapped by the aliases, blank ``unknown``; campaigns trimmed and lower-cased; stage
spellings looked up (exit stages and unknown spellings left out); amounts to exact
micro-units; leads deduplicated, the earliest ``created_at`` kept; with an explicit
``--as-of``, every event after that day set aside first. Back-filling skipped stages and
clamping an entry before its lead's creation are the report's own (``engines.report``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from funnelcli.columns import EXIT, REVENUE, date_col
from funnelcli.engines.conditions import Kinds
from funnelcli.engines.report import EPOCH, Inputs, col, day_number, days_since_epoch, local_day
from funnelcli.errors import ConfigError, InputError, listed
from funnelcli.inputs.load import LEADS_REQUIRED, SPEND_REQUIRED, TRAFFIC_REQUIRED
from funnelcli.inputs.transitions import stage_lookup
from funnelcli.policy.config import InputSpec, Policy, input_specs

Columns = Callable[[str], dict[str, str]] | None  # table → column → SQL type; None: unknown
_TEXT = ("char", "text", "string", "varchar")


@dataclass(frozen=True)
class TableSources:
    sources: dict[str, exp.Select]  # in_leads, in_entries, in_spend, …
    inputs: Inputs
    kinds: Kinds


def table_sources(
    policy: Policy, columns_of: Columns, dialect: str, as_of: dt.date | None, extras: set[str]
) -> TableSources:
    """The prepared relations over the policy's tables. ``columns_of`` tells each table's
    columns and types (None for ``funnel sql``, which assumes the documented types);
    ``extras``: the lead columns the rules and ``--by`` read."""
    reader = _Reader(policy, columns_of, dialect, as_of)
    leads_spec = policy.inputs.leads
    leads, kinds, revenue = reader.leads(leads_spec, extras)
    sources = {"in_leads": leads, "in_entries": reader.entries()}
    spend = [s for s in policy.inputs.spend_inputs() if s.kind == "marketing"]
    sales = [s for s in policy.inputs.spend_inputs() if s.kind == "sales"]
    traffic = policy.inputs.traffic_inputs()
    if spend:
        sources["in_spend"] = _union([reader.dated(s, "spend") for s in spend])
    if sales:
        sources["in_sales"] = _union([reader.dated(s, "sales") for s in sales])
    if traffic:
        sources["in_traffic"] = _union([reader.dated(s, "traffic") for s in traffic])
    by_campaign = all(reader.has(s, "campaign") for s in traffic)
    inputs = Inputs(
        spend=bool(spend),
        sales=bool(sales),
        traffic=bool(traffic),
        traffic_by_campaign=by_campaign,
        revenue=revenue,
        timezone=policy.timezone,
    )
    return TableSources(sources, inputs, kinds)


def _union(parts: list[exp.Select]) -> exp.Select:
    if len(parts) == 1:
        return parts[0]
    union: exp.Expression = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False, copy=False)
    return exp.select(exp.Star()).from_(exp.alias_(exp.paren(union), "u"), copy=False)


def kind_of(sql_type: str) -> str:
    """A column type as the engine names it → the kind a condition compares with."""
    t = sql_type.lower()
    if t.startswith("bool"):
        return "bool"
    if t == "date":
        return "date"
    if "timestamp" in t or "datetime" in t:
        return "timestamp"
    if t.startswith(_TEXT) or "char" in t:
        return "text"
    return "number"


_NUMBERS = ("int", "bigint", "smallint", "tinyint", "hugeint", "integer", "numeric", "decimal",
            "double", "float", "real", "long", "short", "byte")  # fmt: skip


def _orderable(sql_type: str) -> bool:
    """A column every engine can sort: text, numbers, booleans, dates, timestamps (not
    JSON, arrays, maps, structs or binary)."""
    return kind_of(sql_type) != "number" or sql_type.lower().startswith(_NUMBERS)


def _aware(sql_type: str | None, dialect: str) -> bool:
    """A timestamp that is an instant (with time zone): Spark's plain TIMESTAMP is one."""
    if sql_type is None:
        return False
    t = sql_type.lower()
    if "with time zone" in t or t in ("timestamptz", "timestamp_ltz"):
        return True
    return dialect == "spark" and t == "timestamp"


class _Reader:
    def __init__(
        self, policy: Policy, columns_of: Columns, dialect: str, as_of: dt.date | None
    ) -> None:
        self.policy, self.columns_of, self.dialect, self.as_of = policy, columns_of, dialect, as_of
        self._seen: dict[str, dict[str, str] | None] = {}
        self._dated_stages: list[str] = []  # stages with a date_column, set by leads()

    def _types(self, spec: InputSpec) -> dict[str, str] | None:
        table = str(spec.table)
        if table not in self._seen:
            self._seen[table] = None if self.columns_of is None else self.columns_of(table)
            if self._seen[table] == {}:
                raise InputError(f"the table {table} does not exist (or has no columns).")
        return self._seen[table]

    def _table(self, spec: InputSpec) -> exp.Table:
        """The input's table, every part quoted as the dialect would read it unquoted
        (Snowflake upper-cases, PostgreSQL lower-cases): a schema named ``sample`` or
        ``order``, keywords in some dialects, then reads as a name."""
        table = exp.to_table(str(spec.table), dialect=self.dialect)
        table = normalize_identifiers(table, dialect=self.dialect)
        for part in table.find_all(exp.Identifier):
            part.set("quoted", True)
        return table

    def _name(self, spec: InputSpec, canonical: str) -> str:
        return spec.columns.get(canonical, canonical)

    def has(self, spec: InputSpec, canonical: str) -> bool:
        """Whether the table has an optional column. Without a look at the table (``funnel
        sql``), only the optional columns mapped under ``columns:`` are read."""
        types = self._types(spec)
        if types is None:
            return canonical in spec.columns
        return self._name(spec, canonical) in types

    def _column(self, spec: InputSpec, canonical: str, what: str) -> exp.Expression:
        name = self._name(spec, canonical)
        types = self._types(spec)
        if types is not None and name not in types:
            shown = listed(types)
            msg = (
                f"the table {spec.table} ({what}) has no column '{name}' for {canonical}. "
                f"Columns: {shown}. Map it under inputs.{what}.columns."
            )
            raise InputError(msg)
        return col(name)

    def _type(self, spec: InputSpec, canonical: str) -> str | None:
        types = self._types(spec)
        return None if types is None else types.get(self._name(spec, canonical))

    def _instant(self, spec: InputSpec, canonical: str, what: str) -> exp.Expression:
        """Microseconds since 1970 of a timestamp (or date, or ISO text) column."""
        value = exp.cast(self._column(spec, canonical, what), "TIMESTAMP")
        tz = self.policy.timezone
        if not _aware(self._type(spec, canonical), self.dialect) and tz != "UTC":
            value = exp.ConvertTimezone(
                source_tz=exp.Literal.string(tz),
                target_tz=exp.Literal.string("UTC"),
                timestamp=value,
            )
        epoch = exp.cast(exp.Literal.string(f"{EPOCH} 00:00:00"), "TIMESTAMP")
        # BigQuery's DATE_DIFF takes dates only; its TIMESTAMP here is a DATETIME.
        diff = exp.DatetimeDiff if self.dialect == "bigquery" else exp.DateDiff
        micros = diff(this=value, expression=epoch, unit=exp.var("MICROSECOND"))
        return exp.cast(micros, "BIGINT")

    def _not_after(self, us: exp.Expression) -> list[exp.Expression]:
        if self.as_of is None:
            return []
        day = local_day(us, self.policy.timezone, self.dialect)
        return [exp.LTE(this=day, expression=day_number(self.as_of))]

    def _channel(self, value: exp.Expression, blank: str | None) -> exp.Expression:
        text = exp.Lower(this=exp.Trim(this=exp.cast(value, "VARCHAR")))
        mapping = {
            a.strip().lower(): target.strip().lower()
            for target, aliases in self.policy.channels.aliases.items()
            for a in aliases
        }
        mapped: exp.Expression = text
        if mapping:
            case = exp.Case()
            for alias, target in mapping.items():
                case = case.when(
                    exp.EQ(this=text.copy(), expression=exp.Literal.string(alias)),
                    exp.Literal.string(target),
                )
            mapped = case.else_(text.copy())
        empty = exp.or_(
            exp.Is(this=text.copy(), expression=exp.null()),
            exp.EQ(this=text.copy(), expression=exp.Literal.string("")),
        )
        missing = exp.null() if blank is None else exp.Literal.string(blank)
        return exp.Case().when(empty, missing).else_(mapped)

    def _campaign(self, spec: InputSpec) -> exp.Expression:
        if not self.has(spec, "campaign"):
            return exp.cast(exp.null(), "VARCHAR")
        text = exp.Lower(
            this=exp.Trim(this=exp.cast(self._column(spec, "campaign", ""), "VARCHAR"))
        )
        return exp.Nullif(this=text, expression=exp.Literal.string(""))

    def leads(self, spec: InputSpec, extras: set[str]) -> tuple[exp.Select, Kinds, bool]:
        for name in LEADS_REQUIRED:
            self._column(spec, name, "leads")
        lead_id = exp.Trim(this=exp.cast(self._column(spec, "lead_id", "leads"), "VARCHAR"))
        created = self._instant(spec, "created_at", "leads")
        revenue = self.has(spec, "revenue")
        cols = [
            exp.alias_(lead_id, "lead_id", quoted=True),
            exp.alias_(created, "created_us", quoted=True),
            exp.alias_(
                self._channel(self._column(spec, "channel", "leads"), "unknown"),
                "channel",
                quoted=True,
            ),
            exp.alias_(self._campaign(spec), "campaign", quoted=True),
        ]
        if revenue:
            cols.append(
                exp.alias_(_micros(self._column(spec, "revenue", "leads")), REVENUE, quoted=True)
            )
        keep = sorted(extras - {"lead_id", "channel", "campaign", "created_at"})
        kinds: Kinds = {}
        for name in keep:
            value = self._column(spec, name, "leads")
            sql_type = self._type(spec, name)
            kinds[name] = "number" if sql_type is None else kind_of(sql_type)
            if kinds[name] == "text":  # as for files: trimmed, a blank cell is no value
                value = exp.Nullif(this=exp.Trim(this=value), expression=exp.Literal.string(""))
            cols.append(exp.alias_(value, name, quoted=True))
        dated = [s for s in self.policy.stages if s.date_column]
        for stage in dated:
            value = self._instant(spec, str(stage.date_column), "leads")
            if self.as_of is not None:  # a stage date after --as-of is set aside, as in files
                value = exp.Case().when(exp.and_(*self._not_after(value.copy())), value)
            cols.append(exp.alias_(value, date_col(stage.id), quoted=True))
        where = [
            exp.not_(exp.Is(this=lead_id.copy(), expression=exp.null())),
            exp.NEQ(this=lead_id.copy(), expression=exp.Literal.string("")),
            exp.not_(exp.Is(this=created.copy(), expression=exp.null())),
            *self._not_after(created.copy()),
        ]
        names = [c.alias for c in cols]
        read = [self._name(spec, "channel")]
        read += [self._name(spec, "campaign")] if self.has(spec, "campaign") else []
        read += [*keep, *(str(s.date_column) for s in dated)]
        ties = self._tie_columns(spec, read, kinds)
        tie_cols = [exp.alias_(v, f"__tie_{i}", quoted=True) for i, (v, _) in enumerate(ties)]
        raw = exp.select(*cols, *tie_cols).from_(self._table(spec), copy=False)
        raw = raw.where(exp.and_(*where), copy=False)
        order = exp.Order(
            expressions=[
                exp.Ordered(this=col("created_us"), nulls_first=False),
                *(self._tie_order(f"__tie_{i}", text) for i, (_, text) in enumerate(ties)),
            ]
        )
        rank = exp.Window(this=exp.RowNumber(), partition_by=[col("lead_id")], order=order)
        ranked = exp.select(*(col(n) for n in names), exp.alias_(rank, "__rank", quoted=True))
        ranked = ranked.from_(exp.alias_(exp.paren(raw), "raw"), copy=False)
        first = exp.select(*(col(n) for n in names)).from_(
            exp.alias_(exp.paren(ranked), "ranked"), copy=False
        )
        first = first.where(
            exp.EQ(this=col("__rank"), expression=exp.Literal.number(1)), copy=False
        )
        self._dated_stages = [s.id for s in dated]
        return first, kinds, revenue

    def _tie_columns(
        self, spec: InputSpec, read: list[str], kinds: Kinds
    ) -> list[tuple[exp.Expression, bool]]:
        """What breaks a tie between rows of one lead with the same earliest ``created_at``
        (a table has no file order): the row's values column by column in the table's own
        column order, nulls last, text by code point (docs/engines.md). ``funnel sql`` does
        not see the table: it orders by the table columns it reads (``read``: channel,
        campaign, the rule and ``--by`` columns, stage dates), in that order. Each value with
        whether it is text."""
        types = self._types(spec)
        if types is not None:
            return [(col(name), kind_of(t) == "text") for name, t in types.items() if _orderable(t)]
        text = {self._name(spec, "channel"), self._name(spec, "campaign")}
        text |= {name for name, kind in kinds.items() if kind == "text"}
        return [(col(name), name in text) for name in dict.fromkeys(read)]

    def _tie_order(self, name: str, text: bool) -> exp.Ordered:
        # PostgreSQL's default collation sorts text by locale; the others by code point.
        this: exp.Expression = col(name)
        if text and self.dialect == "postgres":
            this = exp.Collate(this=this, expression=exp.Identifier(this="C", quoted=True))
        return exp.Ordered(this=this, nulls_first=False)

    def entries(self) -> exp.Select:
        lookup = stage_lookup(self.policy)
        parts: list[exp.Select] = []
        for _, kind, spec in input_specs(self.policy):
            if kind != "transitions":
                continue
            at = self._instant(spec, "entered_at", "transitions")
            if spec.stage:
                stage: exp.Expression = exp.Literal.string(
                    lookup.get(spec.stage.strip().lower(), "")
                )
            else:
                spelling = exp.Lower(
                    this=exp.Trim(
                        this=exp.cast(self._column(spec, "stage", "transitions"), "VARCHAR")
                    )
                )
                case = exp.Case()
                for text, stage_id in lookup.items():
                    if stage_id != EXIT:
                        case = case.when(
                            exp.EQ(this=spelling.copy(), expression=exp.Literal.string(text)),
                            exp.Literal.string(stage_id),
                        )
                stage = case
            lead = exp.Trim(this=exp.cast(self._column(spec, "lead_id", "transitions"), "VARCHAR"))
            select = exp.select(
                exp.alias_(lead, "lead_id", quoted=True),
                exp.alias_(stage, "stage", quoted=True),
                exp.alias_(at, "entered_us", quoted=True),
            ).from_(self._table(spec), copy=False)
            tests = [
                exp.not_(exp.Is(this=at.copy(), expression=exp.null())),
                *self._not_after(at.copy()),
            ]
            parts.append(select.where(exp.and_(*tests), copy=False))
        for stage_id in self._dated_stages:
            value = col(date_col(stage_id))
            parts.append(
                exp.select(
                    col("lead_id"),
                    exp.alias_(exp.Literal.string(stage_id), "stage", quoted=True),
                    exp.alias_(value, "entered_us", quoted=True),
                )
                .from_("in_leads", copy=False)
                .where(exp.not_(exp.Is(this=value.copy(), expression=exp.null())), copy=False)
            )
        if not parts:  # no transitions at all: an empty relation of the right shape
            empty = exp.select(
                exp.alias_(exp.cast(exp.null(), "VARCHAR"), "lead_id", quoted=True),
                exp.alias_(exp.cast(exp.null(), "VARCHAR"), "stage", quoted=True),
                exp.alias_(exp.cast(exp.null(), "BIGINT"), "entered_us", quoted=True),
            )
            return empty.where(exp.false(), copy=False)
        union = _union(parts)
        known = exp.not_(exp.Is(this=col("stage"), expression=exp.null()))
        return (
            exp.select(exp.Star())
            .from_(exp.alias_(exp.paren(union), "e"), copy=False)
            .where(known, copy=False)
        )

    def dated(self, spec: InputSpec, what: str) -> exp.Select:
        """A spend, sales-cost or traffic table: one row a day (ranges are spread only for
        files), in the config's currency when it has a currency column."""
        required = TRAFFIC_REQUIRED if what == "traffic" else SPEND_REQUIRED
        label = "traffic" if what == "traffic" else "spend"
        for name in required:
            if not (what == "sales" and name == "channel"):
                self._column(spec, name, label)
        if "date_end" in spec.columns or (self._types(spec) or {}).get("date_end"):
            msg = (
                f"the table {spec.table} has a date_end: a table must hold one row a day "
                "(ranges are spread over their days only for files)."
            )
            raise ConfigError(msg)
        day = days_since_epoch(exp.cast(self._column(spec, "date", label), "DATE"))
        blank = None if what == "sales" else "unknown"
        channel: exp.Expression = exp.cast(exp.null(), "VARCHAR")  # sales cost may have none
        if what != "sales" or self.has(spec, "channel"):
            channel = self._channel(self._column(spec, "channel", label), blank)
        cols = [
            exp.alias_(day, "day", quoted=True),
            exp.alias_(channel, "channel", quoted=True),
            exp.alias_(self._campaign(spec), "campaign", quoted=True),
        ]
        tests: list[exp.Expression] = [exp.not_(exp.Is(this=day.copy(), expression=exp.null()))]
        if what == "traffic":
            visits = exp.cast(self._column(spec, "visits", label), "BIGINT")
            cols.append(exp.alias_(visits, "visits", quoted=True))
        else:
            amount = self._column(spec, "amount", label)
            cols.append(exp.alias_(_micros(amount), "micros", quoted=True))
            tests.append(exp.not_(exp.Is(this=amount.copy(), expression=exp.null())))
            if what == "spend":
                for name in ("impressions", "clicks"):
                    value = (
                        exp.cast(self._column(spec, name, label), "BIGINT")
                        if self.has(spec, name)
                        and (self._types(spec) is not None or name in spec.columns)
                        else exp.cast(exp.null(), "BIGINT")
                    )
                    cols.append(exp.alias_(value, name, quoted=True))
            if self.has(spec, "currency"):
                currency = exp.Upper(this=exp.Trim(this=self._column(spec, "currency", label)))
                ours = exp.EQ(
                    this=currency, expression=exp.Literal.string(self.policy.currency.upper())
                )
                tests.append(exp.or_(exp.Is(this=currency.copy(), expression=exp.null()), ours))
        if self.as_of is not None:
            tests.append(exp.LTE(this=day.copy(), expression=day_number(self.as_of)))
        select = exp.select(*cols).from_(self._table(spec), copy=False)
        return select.where(exp.and_(*tests), copy=False)


def _micros(amount: exp.Expression) -> exp.Expression:
    """An amount in exact micro-units (a DECIMAL, never a float, on the way)."""
    exact = exp.cast(amount, "DECIMAL(38, 6)")
    scaled = exp.Mul(this=exact, expression=exp.Literal.number(1_000_000))
    return exp.cast(scaled, "BIGINT")
