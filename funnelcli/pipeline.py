"""The one-way flow the commands share: policy → inputs → compile → qualify → measure.

Every function takes a validated ``Policy`` (``load_policy`` for a file,
``Policy.from_dict`` for code and tests)."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from funnelcli.checks import run_checks, sort_findings
from funnelcli.columns import REVENUE
from funnelcli.engines.spec import EngineSpec
from funnelcli.errors import InputError, UsageError
from funnelcli.findings import Finding
from funnelcli.inputs.dataset import Dataset, Step, load_dataset, quiet, read_leads
from funnelcli.inputs.load import FILE
from funnelcli.inputs.readers import ROW
from funnelcli.measure.compare import attach
from funnelcli.measure.explain import (
    Explanation,
    RuleInsight,
    explain_lead,
    insight_stages,
    reasons,
    rule_hits,
    rule_insight,
)
from funnelcli.measure.insights import DEFAULT_TREND_PERIODS, with_insights
from funnelcli.measure.metrics import PERIOD, Query, assemble, build_report, check_groups
from funnelcli.measure.prepared import Prepared
from funnelcli.measure.qualify import (
    at_col,
    crm_columns,
    decide,
    qualify,
    reached_col,
    requalify,
)
from funnelcli.measure.targets import evaluate, missed_finding
from funnelcli.measure.windows import (
    Span,
    Window,
    last,
    parse_as_of,
    parse_span,
    previous,
    series_every,
    year_before,
)
from funnelcli.model import CheckResult, Comparison, Report
from funnelcli.policy.config import Policy, input_specs, uses_tables
from funnelcli.policy.rules import (
    SCORE_COL,
    compile_policy,
    dim_col,
    referenced_fields,
)


def prepare(
    policy: Policy,
    extra_columns: Iterable[str] = (),
    step: Step = quiet,
    *,
    rules: bool = False,
    as_of: dt.date | None = None,
) -> Prepared:
    """Read the inputs of a validated policy, compile the rules, qualify every lead once (the
    report, the checks and `score` all read that one frame).

    Without ``rules``, ``data.leads`` becomes a view of the qualified frame's lead columns,
    so that each lead is held once; ``rules`` keeps the columns the rules read, for the
    commands that show them (``score``)."""
    extra = sorted(set(extra_columns))
    fields = referenced_fields(policy)
    leads = read_leads(policy, fields | set(extra), step, as_of)
    compiled = compile_policy(policy, leads.frame.schema)
    step(f"scoring {leads.frame.height:,} leads")
    decided = decide(leads.frame, compiled, policy, scores=rules)
    # Carry only what reports, checks and `score` read, not every column the rules used.
    base = [FILE, ROW, "lead_id", "created_at", "channel", "campaign", REVENUE, *extra]
    if not rules:
        # Done with as soon as the rules are decided: freed before the other inputs are
        # read (100M leads, Parquet: peak RSS 17.9 → 14.3 GiB).
        leads.frame = leads.frame.drop(fields.difference(base), strict=False)
    data = load_dataset(policy, leads, step, as_of)
    step(f"qualifying {data.leads.height:,} leads")
    keep = list(dict.fromkeys(c for c in base if c in data.leads.columns))
    qualified = qualify(data.leads, decided, data.transitions, policy, keep)
    if not rules:
        data = replace(data, leads=qualified.select(keep))
    return Prepared(policy, data, compiled, qualified)


@dataclass(frozen=True)
class Summary:
    """The cron-friendly extras around a report query (issue: weekly summaries)."""

    last: str | None = None  # --last 4w
    as_of: str | None = None  # --as-of DATE|today|yesterday
    compare: str | None = None  # previous | year
    trend_periods: int = DEFAULT_TREND_PERIODS
    engine: EngineSpec | None = None  # None: the embedded polars engine


def run_report(
    policy: Policy,
    query: Query,
    *,
    summary: Summary = Summary(),
    strict: bool = False,
    now: dt.datetime | None = None,
    step: Step = quiet,
) -> Report:
    """The report, compared and annotated as asked; its warnings are every finding of the
    data-quality checks. ``query`` and ``summary`` are valid (``request.ReportRequest``)."""
    span = parse_span(summary.last) if summary.last else None
    now = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(policy.timezone))
    with _on_the_calendar(summary.as_of):
        as_of = parse_as_of(summary.as_of, now.date())
        window = last(span, as_of) if span else Window(query.since, query.until)
        query = replace(query, since=window.since, until=window.until, as_of=as_of)
        against = _comparison(summary.compare, window, span)
        _ = query.maturity_cutoff
    # An explicit --as-of is a point in time: later events are set aside as files are read.
    cut = as_of if summary.as_of is not None else None
    by = {c for c in query.by if c != PERIOD}
    tables = uses_tables(policy)
    with contextlib.ExitStack() as stack:
        if summary.engine is None:
            ready = prepare(policy, by, step, as_of=cut)
        elif tables:
            ready = _tables_on_engine(policy, by, summary.engine, stack, step=step, as_of=cut)
        else:
            ready = _on_engine(policy, by, summary.engine, stack, step=step, as_of=cut)
        return _reported(
            ready, query, summary, against, strict=strict, now=now, step=step, checked=not tables
        )


def report_sql(policy: Policy, query: Query, summary: Summary, dialect: str) -> str:
    """``funnel sql``: the report of ``query`` as one statement over the policy's tables.
    With ``--as-of``, its days are dates; without, they count from the warehouse's current
    date, so a scheduled query stays current."""
    # sqlglot takes 0.2 s to load; only funnel sql and the SQL engines need it.
    from funnelcli.engines.statement import report_sql as statement_sql  # noqa: PLC0415

    span = parse_span(summary.last) if summary.last else None
    if summary.as_of is None:
        return statement_sql(policy, query, dialect, span=span, as_of=None)
    today = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(policy.timezone)).date()
    with _on_the_calendar(summary.as_of):
        as_of = parse_as_of(summary.as_of, today)
        window = last(span, as_of) if span else Window(query.since, query.until)
        query = replace(query, since=window.since, until=window.until, as_of=as_of)
        _ = query.maturity_cutoff, as_of + dt.timedelta(days=1)  # the statement's own days
    return statement_sql(policy, query, dialect, span=None, as_of=as_of)


@contextlib.contextmanager
def _on_the_calendar(as_of: str | None) -> Iterator[None]:
    """Date arithmetic past year 9999 or before year 1 (a window, a month or a year back,
    the day after --as-of) is the user's choice of day, said as such."""
    try:
        yield
    except (OverflowError, ValueError):
        msg = (
            f"as of {as_of or 'today'}, the dates of the window, its comparison or its "
            "conversion window run off the calendar; pick an as-of day within years 2 to 9998."
        )
        raise UsageError(msg) from None


def _on_engine(
    policy: Policy,
    by: set[str],
    spec: EngineSpec,
    stack: contextlib.ExitStack,
    *,
    step: Step,
    as_of: dt.date | None,
) -> Prepared:
    """The inputs read by funnel's own reader (its checks stay here), handed to the engine
    as typed Parquet; the returned ``Prepared`` measures every query there."""
    from funnelcli.engines.conditions import compile_sql  # noqa: PLC0415 - sqlglot: see report_sql
    from funnelcli.engines.connect import session  # noqa: PLC0415
    from funnelcli.engines.measurers import measurer  # noqa: PLC0415
    from funnelcli.engines.staged import stage as stage_files  # noqa: PLC0415

    compile_sql(policy, None, spec.dialect)  # a rule the engine cannot run: said before reading
    engine = stack.enter_context(session(spec))
    ready = prepare(policy, by, step, rules=True, as_of=as_of)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="funnel-")))
    step(f"loading the inputs into {spec.kind}")
    staged = stage_files(ready.data, referenced_fields(policy) | by, policy.timezone, folder)
    engine.load(staged)
    ready.measurer = measurer(policy, staged, engine)
    return ready


def _tables_on_engine(
    policy: Policy,
    by: set[str],
    spec: EngineSpec,
    stack: contextlib.ExitStack,
    *,
    step: Step,
    as_of: dt.date | None,
) -> Prepared:
    """Inputs that are tables of the engine: prepared and measured there, in SQL. Nothing
    is read here, so there are no data-quality findings (``funnel check`` reads exports)."""
    from funnelcli.engines.connect import session  # noqa: PLC0415 - sqlglot: see report_sql
    from funnelcli.engines.measurers import table_measurer  # noqa: PLC0415

    engine = stack.enter_context(session(spec))
    step(f"preparing the tables in {spec.kind}")
    measure, features, columns = table_measurer(
        policy, engine, as_of, referenced_fields(policy) | by
    )
    data = Dataset(
        leads=pl.DataFrame(),
        spend=None,
        transitions=pl.DataFrame(),
        findings=[],
        rows={},
        lead_columns=columns,
        features=features,
    )
    return Prepared(policy, data, compiled=None, qualified=pl.DataFrame(), measurer=measure)


def _reported(
    ready: Prepared,
    query: Query,
    summary: Summary,
    against: Comparison | None,
    *,
    strict: bool,
    now: dt.datetime,
    step: Step,
    checked: bool,
) -> Report:
    """The report of ``ready``; its warnings are the data-quality findings when the data
    was read here (``checked``)."""
    policy, as_of = ready.policy, query.as_of
    check_groups(query, ready.data.lead_columns)
    warnings: list[Finding] = []
    if checked:
        step("checking data quality")
        # An open window (no --since/--until/--last/--as-of) does not end, so it cannot
        # outrun the data; a window that ends is judged against the data's last day.
        until = query.until or (as_of if summary.as_of is not None else None)
        warnings = _findings(ready, now, until)
    # Only qualifying and the checks read the stage entries: freed before measuring, in
    # place, as the caller still holds ``ready`` (10M leads' 5.5M entries: 110 MiB).
    data = ready.data
    data.transitions = data.transitions.clear()
    if strict:
        refuse_errors(warnings)
    step("measuring")
    report = _measure(ready, query)
    if against is not None:
        earlier = _measure(ready, replace(query, since=against.since, until=against.until))
        report = attach(report, earlier, against)
    report = replace(report, **_series(ready, query, against, report))
    report = with_insights(report, policy.targets, summary.trend_periods)
    return replace(report, warnings=warnings)


def _measure(ready: Prepared, query: Query) -> Report:
    """A report from the qualified leads: qualified again only for a conversion window, once
    per window however many reports (comparison, trend series) use it. On a SQL engine,
    the engine sums and qualifies; the ratios are worked out here all the same."""
    if ready.measurer is not None:
        rows, total = ready.measurer(query)
        data = ready.data
        return assemble(
            ready.policy, query, rows, total, features=data.features, warnings=data.findings
        )
    days = query.within_days
    if days is None:
        qualified = ready.qualified
    else:
        if days not in ready.within:
            ready.within[days] = requalify(ready.qualified, ready.policy, days)
        qualified = ready.within[days]
    return build_report(replace(ready, qualified=qualified), query)


def _comparison(mode: str | None, window: Window, span: Span | None) -> Comparison | None:
    if mode is None:
        return None
    if not window.bounded:
        raise UsageError(f"a comparison with the {mode} window needs a closed window.")
    other = previous(window, span) if mode == "previous" else year_before(window)
    assert other.since is not None and other.until is not None
    return Comparison(mode, other.since, other.until)


def _series(
    ready: Prepared, query: Query, against: Comparison | None, report: Report
) -> dict[str, Report]:
    """Per-period rows behind trends and charts: the report itself with --every; otherwise
    the window (and a previous window just before it) in day, week or month buckets."""
    if query.every:
        return {"series": report, "series_total": _measure(ready, replace(query, by=[PERIOD]))}
    if query.since is None or query.until is None:
        return {}
    since = query.since
    if against is not None and against.mode == "previous":
        since = against.since
    series = replace(query, since=since, every=series_every(Window(since, query.until)))
    return {
        "series": _measure(ready, series),
        "series_total": _measure(ready, replace(series, by=[PERIOD])),
    }


def run_check(
    policy: Policy,
    *,
    targets: bool = False,
    as_of: str | None = None,
    now: dt.datetime | None = None,
    step: Step = quiet,
) -> CheckResult:
    """All data-quality findings; with ``targets``, also the policy's targets on the report.
    ``as_of``: check the data as exported at the end of that day (later events set aside)."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(policy.timezone))
    day = parse_as_of(as_of, now.date()) if as_of is not None else None
    ready = prepare(policy, step=step, as_of=day)
    step("checking data quality")
    findings = _findings(ready, now, day)
    if targets:
        report = build_report(ready, Query())
        results = evaluate(ready.policy.targets, report.total)
        missed = missed_finding(results, ready.policy.source.path.name)
        findings = sort_findings(findings + ([missed] if missed else []))
    config = str(policy.source.path)
    return CheckResult(findings, _input_paths(ready.policy), ready.data.rows, config)


def _findings(
    ready: Prepared, now: dt.datetime | None, until: dt.date | None = None
) -> list[Finding]:
    now = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(ready.policy.timezone))
    return run_checks(ready, now=now, until=until)


def protected_paths(policy: Policy) -> list[Path]:
    """The policy file and every input file it names: what an output must never replace
    (a table is not a file: nothing to protect)."""
    specs = [spec for _, _, spec in input_specs(policy) if spec.path is not None]
    return [policy.source.path, *(policy.resolve(spec) for spec in specs)]


def _input_paths(policy: Policy) -> dict[str, str]:
    specs = [spec for _, _, spec in input_specs(policy)]
    paths = {}
    for spec in specs:
        path = policy.resolve(spec)
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(Path.cwd())
        paths[path.name] = str(path)
    return paths


def refuse_errors(findings: list[Finding]) -> None:
    """--strict: any finding of error severity in the data is fatal (exit 3), before
    anything is written: dropped rows, excluded currencies, negative amounts, summary rows…"""
    errors = [f for f in findings if f.level == "error"]
    if not errors:
        return
    lines = []
    for f in errors:
        first = f.examples[0] if f.examples else None
        where = f" (first: {first.file} row {first.row}, value {first.value!r})" if first else ""
        lines.append(f"  {f.id}: {f.message}{where}")
    msg = "--strict: the data has errors:\n" + "\n".join(lines)
    raise InputError(msg + "\nFix the export, or drop --strict to report with them.")


def score_csv(policy: Policy) -> str:
    """``score_table`` as CSV text, dates in ISO 8601 with the business time zone's offset."""
    table = score_table(policy)
    stamps = [c for c, t in table.schema.items() if isinstance(t, pl.Datetime)]
    table = table.with_columns(pl.col(c).dt.to_string("%Y-%m-%dT%H:%M:%S%:z") for c in stamps)
    return table.write_csv()


def score_table(policy: Policy) -> pl.DataFrame:
    """One row per lead: id, each dimension, score, each stage reached with its date, and
    the reasons (rules that fired, where the lead stopped and why)."""
    ready = prepare(policy, rules=True)
    hits = rule_hits(ready.data.leads, ready.compiled)
    funnel = ready.qualified.lazy().join(hits, on=ROW, how="left")
    funnel = funnel.with_columns(crm_columns(policy.stage_ids))
    cols = [pl.col("lead_id"), pl.col("created_at"), pl.col("channel")]
    cols += [pl.col(dim_col(d)).alias(d) for d in policy.scoring.dimensions]
    cols.append(pl.col(SCORE_COL).alias("score"))
    for stage in policy.stages[1:]:
        cols.append(pl.col(reached_col(stage.id)).alias(f"{stage.id}_reached"))
        cols.append(pl.col(at_col(stage.id)).alias(f"{stage.id}_at"))
    cols.append(reasons(policy, ready.compiled).alias("reasons"))
    return funnel.sort(ROW).select(cols).collect()  # file order, as the CRM exported it


def explain(policy: Policy, lead_id: str) -> Explanation:
    """``score --explain``: why one lead has its score and stages."""
    ready = prepare(policy, rules=True)
    return explain_lead(ready, lead_id.strip())


def rules_report(policy: Policy) -> tuple[list[RuleInsight], list[tuple[str, str]]]:
    """``score --rules``: each scoring rule's reach and the conversion lift of its leads,
    with the (id, name) of the stages conversion is measured to."""
    ready = prepare(policy, rules=True)
    if not ready.compiled.rules:
        raise UsageError(f"{policy.source.path}: the policy has no scoring rules to assess.")
    names = {s.id: s.label for s in ready.policy.stages}
    stages = [(s, names[s]) for s in insight_stages(ready.policy)]
    return rule_insight(ready), stages
