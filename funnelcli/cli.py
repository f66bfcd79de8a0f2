"""The Typer app: parse options, call the library, render, exit. Nothing else lives here."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from polars.exceptions import PanicException
from rich.console import Console
from rich.text import Text

from funnelcli import __version__, scaffold, schemas
from funnelcli.engines.spec import DIALECTS
from funnelcli.errors import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    ExistsError,
    FunnelError,
    Terminated,
    UsageError,
)
from funnelcli.measure.insights import DEFAULT_TREND_PERIODS
from funnelcli.model import Report
from funnelcli.output import check_writable, refuse_clobber, write_text
from funnelcli.pipeline import explain as explain_lead
from funnelcli.pipeline import (
    protected_paths,
    report_sql,
    rules_report,
    run_check,
    run_report,
    score_csv,
)
from funnelcli.policy.config import Policy, load_policy
from funnelcli.render import check as check_render
from funnelcli.render import csv as csv_render
from funnelcli.render import explain as explain_render
from funnelcli.render import html as html_render
from funnelcli.render import json as json_render
from funnelcli.render import mail as mail_render
from funnelcli.render import markdown as md_render
from funnelcli.render import table as table_render
from funnelcli.render.progress import progress
from funnelcli.request import ReportRequest, as_of_flag, preset_flag

EXIT_BUG = 70
REPORT_WIDTH = 100
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Marketing-funnel reports from CRM and ad-platform exports.",
)
stderr = Console(stderr=True)


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"
    email = "email"


class History(StrEnum):
    light = "light"
    heavy = "heavy"


class Basis(StrEnum):
    cohort = "cohort"
    period = "period"


class CompareTo(StrEnum):
    previous = "previous"
    year = "year"


class CheckFormat(StrEnum):
    table = "table"
    json = "json"
    junit = "junit"
    github = "github"


class Every(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"


class DataFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Policy file (YAML).", dir_okay=False)
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here (atomically), not stdout.")
]
# The report options `funnel report` and `funnel sql` share, declared once.
SinceOpt = Annotated[str | None, typer.Option(help="First cohort day (YYYY-MM-DD).")]
UntilOpt = Annotated[str | None, typer.Option(help="Last cohort day, inclusive.")]
ByOpt = Annotated[str, typer.Option(help="Group by these lead columns, comma-separated.")]
WithinOpt = Annotated[
    float | None, typer.Option(min=0, help="Count a stage only within DAYS of creation.")
]
BasisOpt = Annotated[
    Basis, typer.Option(help="cohort: leads created in the window; period: stage entries.")
]
ImmatureOpt = Annotated[
    bool, typer.Option(help="With --within: keep leads younger than the window in the rates.")
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"funnel {__version__}")
        raise typer.Exit


@app.callback()
def _main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    ctx.obj = {"debug": debug}


def _guard(ctx: typer.Context, work: Callable[[], Any]) -> Any:
    """Run a command body; turn domain errors into one message and the documented exit code."""
    debug = bool(ctx.obj and ctx.obj.get("debug"))
    try:
        return work()
    except FunnelError as err:
        if debug:
            traceback.print_exc()
        # The message holds the user's text (paths, headers, values): never read as markup.
        stderr.print(Text.assemble(("error:", "red"), f" {err}"), highlight=False, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt:
        stderr.print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Terminated:
        stderr.print("terminated")
        raise typer.Exit(EXIT_TERMINATED) from None
    except (Exception, PanicException) as err:  # a bug: say so briefly (--debug: traceback)
        if debug:
            traceback.print_exc()
        text = f" {type(err).__name__}: {err} (rerun with --debug)"
        stderr.print(Text.assemble(("internal error:", "red"), text), highlight=False)
        raise typer.Exit(EXIT_BUG) from None


@app.command()
def report(
    ctx: typer.Context,
    config: ConfigOpt = Path("funnel.yaml"),
    since: SinceOpt = None,
    until: UntilOpt = None,
    by: ByOpt = "channel",
    every: Annotated[Every | None, typer.Option(help="Bucket by period of created_at.")] = None,
    within: WithinOpt = None,
    basis: BasisOpt = Basis.cohort,
    last: Annotated[
        str | None, typer.Option(help="Window of the last 7d, 4w, 1m or 1q ending on --as-of.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Report as of this day (YYYY-MM-DD, today, yesterday). Default today."),
    ] = None,
    compare: Annotated[
        CompareTo | None,
        typer.Option(help="Compare with the window just before, or a year earlier."),
    ] = None,
    include_immature: ImmatureOpt = False,
    trend_periods: Annotated[
        int, typer.Option(min=1, help="Flag a metric that worsened this many periods in a row.")
    ] = DEFAULT_TREND_PERIODS,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
    output: OutputOpt = None,
    strict: Annotated[bool, typer.Option(help="Exit 3 on any unparseable input row.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No warnings on stderr.")] = False,
    mail_to: Annotated[
        list[str] | None,
        typer.Option(metavar="ADDRESS", help="--format email: a To: address (repeatable)."),
    ] = None,
    mail_from: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="--format email: the From: address.")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            metavar="ENGINE",
            help="polars (default), duckdb, postgresql://USER@HOST/DB, spark:local, spark://HOST:PORT.",
        ),
    ] = None,
) -> None:
    """Per-group cost per lead, stage conversion, cost per stage and time in funnel."""

    request = ReportRequest(
        since=since,
        until=until,
        last=last,
        as_of=as_of,
        by=by,
        every=every.value if every else None,
        within=within,
        basis=basis.value,
        compare=compare.value if compare else None,
        include_immature=include_immature,
        trend_periods=trend_periods,
        engine=engine,
    )

    def work() -> None:
        query, summary = request.resolve()  # every flag checked before anything is read
        mail = _mail_headers(fmt, mail_to or [], mail_from)
        policy = _policy_for(output, config)
        with progress(stderr, enabled=not quiet) as step:
            result = run_report(policy, query, summary=summary, strict=strict, step=step)
        _emit_report(result, fmt, output, mail)
        if not quiet:
            table_render.render_warnings(stderr, result.warnings)

    _guard(ctx, work)


def _policy_for(output: Path | None, config: Path) -> Policy:
    """The validated policy, after making sure the output can be written and is none of the
    files the run reads — all before any data is read."""
    if output is not None:
        check_writable(output)
    policy = load_policy(config)
    if output is not None:
        refuse_clobber(output, protected_paths(policy))
    return policy


def _mail_headers(
    fmt: ReportFormat, to: list[str], sender: str | None
) -> tuple[list[str], str | None]:
    """The To: and From: of ``--format email``, checked before anything is read."""
    if fmt is not ReportFormat.email:
        if to or sender:
            raise UsageError("--mail-to and --mail-from go with --format email.")
        return [], None
    if not to:
        msg = (
            "--format email needs --mail-to ADDRESS (repeatable): the To: header that "
            "`sendmail -t` sends the message to."
        )
        raise UsageError(msg)
    senders = mail_render.addresses([sender], "--mail-from") if sender else [None]
    return mail_render.addresses(to, "--mail-to"), senders[0]


def _emit_report(
    result: Report, fmt: ReportFormat, output: Path | None, mail: tuple[list[str], str | None]
) -> None:
    if fmt is ReportFormat.table and output is None and sys.stdout.isatty():
        Console().print(table_render.renderable(result))
        return
    if fmt is ReportFormat.email:
        write_text(mail_render.render(result, *mail), output)
        return
    renderers = {"json": json_render, "csv": csv_render, "markdown": md_render, "html": html_render}
    renderer = renderers.get(fmt.value)
    text = renderer.render(result) if renderer else table_render.render_text(result)
    write_text(text, output)


@app.command()
def check(
    ctx: typer.Context,
    config: ConfigOpt = Path("funnel.yaml"),
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.table,
    output: OutputOpt = None,
    targets: Annotated[bool, typer.Option(help="Also fail on a missed target.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option(help="Check as exported at the end of this day (YYYY-MM-DD, yesterday)."),
    ] = None,
) -> None:
    """Data-quality gate: exit 1 when any finding is an error (checks: docs/checks.md)."""

    def work() -> str:
        as_of_flag(as_of)
        policy = _policy_for(output, config)
        with progress(stderr, enabled=True) as step:
            result = run_check(policy, targets=targets, as_of=as_of, step=step)
        if fmt is CheckFormat.table and output is None and sys.stdout.isatty():
            Console().print(check_render.renderable(result))
        else:
            renderers = {
                CheckFormat.json: check_render.render_json,
                CheckFormat.junit: check_render.render_junit,
                CheckFormat.github: check_render.render_github,
            }
            render = renderers.get(fmt, lambda r: check_render.render_text(r, REPORT_WIDTH))
            write_text(render(result), output)
        return result.status

    if _guard(ctx, work) == "fail":
        raise typer.Exit(EXIT_FINDINGS)


class ScoreFormat(StrEnum):
    csv = "csv"
    table = "table"
    json = "json"


@app.command()
def score(
    ctx: typer.Context,
    config: ConfigOpt = Path("funnel.yaml"),
    output: OutputOpt = None,
    explain: Annotated[
        str | None,
        typer.Option(metavar="LEAD_ID", help="Why this lead has its score and stages."),
    ] = None,
    rules: Annotated[
        bool, typer.Option("--rules", help="Each scoring rule's reach and conversion lift.")
    ] = False,
    fmt: Annotated[
        ScoreFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv for per-lead scores; table (default) or json for --explain/--rules.",
        ),
    ] = None,
) -> None:
    """Per-lead scores, dimensions, stages reached with dates and reasons, as CSV for your
    CRM; or one lead explained (--explain), or how well each rule predicts conversion (--rules)."""

    def work() -> None:
        if explain is not None and rules:
            raise UsageError("--explain and --rules are separate views; use one of them.")
        policy = _policy_for(output, config)
        chosen = fmt or (ScoreFormat.csv if explain is None and not rules else ScoreFormat.table)
        if explain is not None:
            if chosen is ScoreFormat.csv:
                raise UsageError("--explain shows one lead as a table or json, not csv.")
            found = explain_lead(policy, explain)
            if chosen is ScoreFormat.json:
                write_text(explain_render.explanation_json(found), output)
            else:
                _emit(explain_render.explanation(found), output)
        elif rules:
            insights, stages = rules_report(policy)
            text = {
                ScoreFormat.json: explain_render.rules_json,
                ScoreFormat.csv: explain_render.rules_csv,
            }.get(chosen)
            if text is not None:
                write_text(text(insights, stages), output)
            else:
                _emit(explain_render.rules_table(insights, stages), output)
        else:
            if chosen is not ScoreFormat.csv:
                raise UsageError(
                    "per-lead scores are CSV; --format table/json go with --explain or --rules."
                )
            write_text(score_csv(policy), output)

    _guard(ctx, work)


def _emit(renderable: Any, output: Path | None) -> None:
    """A rich renderable on the terminal, or as plain text to a pipe or file."""
    if output is None and sys.stdout.isatty():
        Console().print(renderable)
        return
    write_text(table_render.plain(renderable), output)


Dialect = StrEnum("Dialect", {name: name for name in DIALECTS})  # type: ignore[misc]


@app.command("sql")
def sql_command(
    ctx: typer.Context,
    config: ConfigOpt = Path("funnel.yaml"),
    dialect: Annotated[Dialect, typer.Option(help="The warehouse's SQL dialect.")] = Dialect.duckdb,  # type: ignore[attr-defined]
    since: SinceOpt = None,
    until: UntilOpt = None,
    last: Annotated[
        str | None,
        typer.Option(help="Window of the last 7d, 4w, 1m or 1q ending on --as-of (or today)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="As of this day (YYYY-MM-DD). Default: the warehouse's current date."),
    ] = None,
    by: ByOpt = "channel",
    every: Annotated[Every | None, typer.Option(help="Bucket by period of created_at.")] = None,
    within: WithinOpt = None,
    basis: BasisOpt = Basis.cohort,
    include_immature: ImmatureOpt = False,
    output: OutputOpt = None,
) -> None:
    """Print the report as one SQL statement over the policy's tables, for a scheduled query
    in a warehouse funnel cannot reach (BigQuery, Snowflake, Databricks, Redshift, Trino…)."""
    request = ReportRequest(
        since=since,
        until=until,
        last=last,
        as_of=as_of,
        by=by,
        every=every.value if every else None,
        within=within,
        basis=basis.value,
        include_immature=include_immature,
    )

    def work() -> None:
        query, summary = request.resolve()
        policy = _policy_for(output, config)
        write_text(report_sql(policy, query, summary, dialect.value), output)

    _guard(ctx, work)


class SchemaName(StrEnum):
    config = "config"
    report = "report"
    check = "check"


@app.command("schema")
def schema_command(
    name: Annotated[SchemaName, typer.Argument(help="config, report or check.")],
) -> None:
    """Print the JSON Schema of the policy file (config) or of a JSON output."""
    write_text(json.dumps(schemas.schema(name.value), indent=2) + "\n", None)


@app.command()
def init(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Where to write funnel.yaml.")] = Path(),
    preset: Annotated[
        str | None,
        typer.Option(
            help="Start from an export: hubspot, salesforce, salesforce_opportunity or "
            "pipedrive, plus google_ads and/or meta for spend and ga4 for traffic "
            "(comma-separated)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing funnel.yaml.")] = False,
) -> None:
    """Write a commented starter policy (funnel.yaml); never overwrites without --force."""
    path = _guard(
        ctx,
        lambda: _forcible(lambda: scaffold.write_starter(folder, preset_flag(preset), force=force)),
    )
    text = f"wrote {path} — edit inputs: and stages:, then run `funnel report -c {path}`"
    stderr.print(Text(text), highlight=False)


@app.command()
def sample(
    ctx: typer.Context,
    leads: Annotated[int, typer.Option(min=1, help="How many leads.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 7,
    out: Annotated[Path, typer.Option(help="Folder for leads/spend/transitions.")] = Path(
        "sample_data"
    ),
    months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 6,
    data_format: Annotated[DataFormat, typer.Option("--format")] = DataFormat.csv,
    force: Annotated[bool, typer.Option(help="Replace tables already in --out.")] = False,
    history: Annotated[
        History,
        typer.Option(help="light: a few stage rows a lead; heavy: a CRM's full lifecycle history."),
    ] = History.light,
) -> None:
    """Write synthetic, realistic leads, spend and transitions of any size."""
    # Imported here: only this command needs numpy, and importing it costs every other
    # command a tenth of a second.
    from funnelcli.sample import SampleSpec, write_sample  # noqa: PLC0415

    spec = SampleSpec(
        leads=leads,
        seed=seed,
        months=months,
        fmt=data_format.value,
        force=force,
        history=history.value,
    )
    with progress(stderr, enabled=True) as step:
        paths = _guard(ctx, lambda: _forcible(lambda: write_sample(spec, out, step)))
    stderr.print(Text("wrote " + ", ".join(str(p) for p in paths)), highlight=False)


def _forcible(work: Callable[[], Any]) -> Any:
    """``init`` and ``sample``: a file already there is refused, and the message says the
    flag that replaces it."""
    try:
        return work()
    except ExistsError as err:
        raise ExistsError(f"{err} Add --force to replace it.") from None


def run() -> None:
    """The app, with the signal handlers already installed (``funnelcli.entry``)."""
    app()
