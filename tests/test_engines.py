"""SQL engines (DuckDB, PostgreSQL, Spark) give the embedded engine's report.

The engines are real: DuckDB embedded, a PostgreSQL server and Spark in local mode started
for the session (tests/servers.py). The differential test draws random data, policies and
report options and compares every engine's ``rows`` and ``total`` with the polars engine's
to 1e-9."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from typer.testing import CliRunner

from funnelcli.catalogue import GROUP_METRICS, STAGE_METRICS
from funnelcli.cli import app
from funnelcli.engines.report import quantile_by_rank
from funnelcli.engines.spec import parse_engine
from funnelcli.engines.statement import GROUP_SQL, STAGE_SQL
from funnelcli.measure.metrics import Query
from funnelcli.pipeline import Summary, run_report
from funnelcli.policy.config import load_policy
from tests.conftest import ROOT, invoke, same

GOLDEN = ROOT / "tests" / "golden" / "sample_report.json"
EXAMPLE = ROOT / "config.example.yaml"
NOW = dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC)


def funnel(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "funnelcli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_sample_report_through_each_engine_equals_the_golden_file(engine: str) -> None:
    run = funnel("report", "--config", EXAMPLE, "--format", "json", "--engine", engine, "-q")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == json.loads(GOLDEN.read_text())
    assert run.stderr == ""  # -q: not a line, not even the JVM launcher's


# --- random projects --------------------------------------------------------------------

BASE = dt.datetime(2026, 3, 1)
RULES = [
    "{field: size, gte: 50}",
    "{field: title, matches: '(?i)head|vp'}",
    "{field: title, contains: 'Sales'}",
    "{field: flag, eq: true}",
    "{field: size, between: [10, 100]}",
    "{field: title, is_null: true}",
    "{not: {field: size, lt: 5}}",
    "{any: [{field: flag, eq: false}, {field: title, in: [intern, VP Sales]}]}",
    "{field: joined, gte: '2026-03-20'}",
    "{field: title, ne: intern}",
]
REQUIRES = [
    "{score: {gte: 10}}",
    "{fit: {gt: 0}}",
    "{all: [{field: size, gt: 0}, {field: flag, not_null: true}]}",
    "{field: title, not_in: [intern]}",
    "{engagement: {lte: 30}}",
]


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "seed": draw(st.integers(0, 10**6)),
        "leads": draw(st.integers(0, 40)),
        "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
        "rules": draw(st.lists(st.sampled_from(range(len(RULES))), max_size=5)),
        "cap": draw(st.none() | st.integers(5, 60)),
        "requires": draw(st.lists(st.none() | st.sampled_from(REQUIRES), min_size=3, max_size=3)),
        "policy_sql": draw(st.booleans()),
        "sales": draw(st.booleans()),
        "traffic": draw(st.booleans()),
        "revenue": draw(st.booleans()),
    }


@st.composite
def requests(draw: st.DrawFn) -> tuple[Query, Summary]:
    by = draw(st.sampled_from([["channel"], ["campaign"], ["channel", "campaign"], ["title"]]))
    every = draw(st.none() | st.sampled_from(["day", "week", "month", "quarter"]))
    basis = draw(st.sampled_from(["cohort", "period"]))
    within = draw(st.none() | st.sampled_from([3, 7.5, 30]))
    window = draw(st.sampled_from(["open", "since", "both", "last"]))
    since = until = last = compare = None
    if window in ("since", "both"):
        since = (BASE + dt.timedelta(days=draw(st.integers(0, 40)))).date()
    if window == "both":
        until = since + dt.timedelta(days=draw(st.integers(0, 40)))  # type: ignore[operator]
    if window == "last":
        last = draw(st.sampled_from(["2w", "1m", "10d"]))
        compare = draw(st.none() | st.sampled_from(["previous", "year"]))
    as_of = draw(st.none() | st.sampled_from(["2026-04-20", "2026-05-31"]))
    immature = within is not None and draw(st.booleans())  # --include-immature
    query = Query(since, until, by, every, within, basis=basis, include_immature=immature)
    return query, Summary(last=last, as_of=as_of, compare=compare)


def write_project(root: Path, p: dict[str, Any]) -> Path:
    rnd = random.Random(p["seed"])
    channels = ["web", "ads", "Google Ads", "email", ""]
    campaigns = ["", "spring", "Summer "]
    titles = ["Head of Growth", "VP Sales", "intern", "", "sales lead"]
    leads = ["lead_id,created_at,channel,campaign,size,title,flag,joined,revenue"]
    # Distinct creation times: which duplicate row is kept never rests on the file's order.
    for minute in rnd.sample(range(90 * 24 * 60), p["leads"]):
        created = BASE + dt.timedelta(minutes=minute)
        revenue = "" if rnd.random() < 0.4 else f"{rnd.randint(0, 500000) / 100:.2f}"
        leads.append(
            ",".join(
                [
                    f"L{rnd.randint(0, p['leads'] + 3)}",
                    created.strftime("%Y-%m-%d %H:%M:%S"),
                    rnd.choice(channels),
                    rnd.choice(campaigns),
                    rnd.choice(["", "3", "20", "75", "400"]),
                    rnd.choice(titles),
                    rnd.choice(["true", "false", ""]),
                    (BASE + dt.timedelta(days=rnd.randint(0, 60))).date().isoformat(),
                    revenue,
                ]
            )
        )
    stages = ["mql", "MQL", "sql", "won", "customer", "lost"]
    entries = ["lead_id,stage,entered_at"]
    for _ in range(rnd.randint(0, 2 * p["leads"] + 2)):
        at = BASE + dt.timedelta(minutes=rnd.randint(-600, 120 * 24 * 60))
        lead = f"L{rnd.randint(0, p['leads'] + 5)}"
        entries.append(f"{lead},{rnd.choice(stages)},{at:%Y-%m-%dT%H:%M:%S}")
    spend = ["date,date_end,channel,campaign,amount,impressions,clicks"]
    for _ in range(rnd.randint(0, 25)):
        day = (BASE + dt.timedelta(days=rnd.randint(-5, 95))).date()
        ranged = p.get("ranges", True) and rnd.random() < 0.2
        end = (day + dt.timedelta(days=rnd.randint(1, 20))).isoformat() if ranged else ""
        clicks = "" if rnd.random() < 0.2 else str(rnd.randint(0, 900))
        spend.append(
            f"{day},{end},{rnd.choice([*channels[:-1], 'display'])},{rnd.choice(campaigns)},"
            f"{rnd.randint(0, 900000) / 100:.2f},{rnd.randint(0, 90000)},{clicks}"
        )
    files = {"leads.csv": leads, "transitions.csv": entries, "spend.csv": spend}
    extra_inputs = ""
    if p["sales"]:
        sales = ["date,channel,amount"]
        for _ in range(rnd.randint(1, 8)):
            day = (BASE + dt.timedelta(days=rnd.randint(0, 90))).date()
            sales.append(f"{day},{rnd.choice(['web', 'ads', ''])},{rnd.randint(0, 300000) / 100}")
        files["sales.csv"] = sales
    if p["traffic"]:
        traffic = ["date,channel,campaign,visits"]
        for _ in range(rnd.randint(1, 15)):
            day = (BASE + dt.timedelta(days=rnd.randint(0, 90))).date()
            row = f"{day},{rnd.choice(channels[:-1])},{rnd.choice(campaigns)},{rnd.randint(0, 999)}"
            traffic.append(row)
        files["traffic.csv"] = traffic
        extra_inputs += "  traffic: {path: traffic.csv}\n"
    for name, lines in files.items():
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    spend_input = (
        "[{path: spend.csv}, {path: sales.csv, kind: sales}]" if p["sales"] else "{path: spend.csv}"
    )
    revenue = "{revenue: revenue}" if p["revenue"] else "{}"
    rules = "".join(
        f"    - {{when: {RULES[r]}, points: {(-1) ** i * (5 + 5 * i)}}}\n"
        for i, r in enumerate(p["rules"])
    )
    half = len(p["rules"]) // 2
    fit, engagement = rules.splitlines(keepends=True)[:half], rules.splitlines(keepends=True)[half:]
    scoring = "scoring:\n"
    scoring += "  fit:\n" + "".join(fit) if fit else "  fit: []\n"
    scoring += "  engagement:\n" + "".join(engagement) if engagement else "  engagement: []\n"
    if p["cap"] is not None:
        scoring += f"  cap: {p['cap']}\n"

    def requires(i: int) -> str:
        return f", requires: {p['requires'][i]}" if p["requires"][i] else ""

    evidence = ", evidence: policy" if p["policy_sql"] else ""
    policy = f"""\
version: 1
currency: USD
timezone: {p["timezone"]}
inputs:
  leads: {{path: leads.csv, columns: {revenue}, types: {{joined: date}}}}
  spend: {spend_input}
  transitions: {{path: transitions.csv}}
{extra_inputs}channels:
  aliases: {{paid_search: ["Google Ads"]}}
{scoring}stages:
  - {{id: lead, name: Lead}}
  - {{id: mql, name: MQL{requires(0)}}}
  - {{id: sql, name: SQL{requires(1)}{evidence}}}
  - {{id: won, name: Customer, aliases: [customer]{requires(2)}}}
exits: [lost]
"""
    (root / "funnel.yaml").write_text(policy, encoding="utf-8")
    return root / "funnel.yaml"


def report(config: Path, query: Query, summary: Summary) -> dict[str, Any]:
    return run_report(load_policy(config), query, summary=summary, now=NOW).as_dict()


def differential(engine: str, root: Path, project: dict[str, Any], request: Any) -> None:
    config = write_project(root, project)
    query, summary = request
    want = report(config, query, summary)
    on_engine = Summary(summary.last, summary.as_of, summary.compare, engine=parse_engine(engine))
    got = report(config, query, on_engine)
    same(got["rows"], want["rows"], "rows")
    same(got["total"], want["total"], "total")
    for key in ("series", "comparison"):
        same(got.get(key), want.get(key), key)


ENGINE_SETTINGS = {"max_examples": 40, "deadline": None}


@settings(**ENGINE_SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=projects(), request=requests())
def test_duckdb_gives_the_embedded_report(
    tmp_path_factory: pytest.TempPathFactory, project: dict[str, Any], request: Any
) -> None:
    pytest.importorskip("duckdb")
    differential("duckdb", tmp_path_factory.mktemp("duck"), project, request)


@settings(**ENGINE_SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=projects(), request=requests())
def test_postgres_gives_the_embedded_report(
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    project: dict[str, Any],
    request: Any,
) -> None:
    differential(postgres_url, tmp_path_factory.mktemp("pg"), project, request)


# Spark answers in ~0.3 s a query at best: fewer examples, within CI's time.
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(project=projects(), request=requests())
def test_spark_gives_the_embedded_report(
    spark_engine: str,
    tmp_path_factory: pytest.TempPathFactory,
    project: dict[str, Any],
    request: Any,
) -> None:
    differential(spark_engine, tmp_path_factory.mktemp("spark"), project, request)


# --- warehouse tables: the same data as typed tables, prepared in SQL -------------------

TABLE_TYPES = {
    "leads": {
        "lead_id": "VARCHAR",
        "created_at": "TIMESTAMP",
        "channel": "VARCHAR",
        "campaign": "VARCHAR",
        "size": "BIGINT",
        "title": "VARCHAR",
        "flag": "BOOLEAN",
        "joined": "DATE",
        "revenue": "DECIMAL(18, 2)",
    },
    "transitions": {"lead_id": "VARCHAR", "stage": "VARCHAR", "entered_at": "TIMESTAMP"},
    "spend": {
        "date": "DATE",
        "channel": "VARCHAR",
        "campaign": "VARCHAR",
        "amount": "DECIMAL(18, 2)",
        "impressions": "BIGINT",
        "clicks": "BIGINT",
    },
    "sales": {"date": "DATE", "channel": "VARCHAR", "amount": "DECIMAL(18, 2)"},
    "traffic": {"date": "DATE", "channel": "VARCHAR", "campaign": "VARCHAR", "visits": "BIGINT"},
}


def _rows(path: Path, types: dict[str, str]) -> list[tuple[Any, ...]]:
    """A CSV's rows typed as the table holds them (a blank cell is NULL)."""

    def typed(cell: str, kind: str) -> Any:
        if cell == "":
            return None if kind != "VARCHAR" else cell
        if kind == "TIMESTAMP":
            return dt.datetime.fromisoformat(cell)
        if kind == "DATE":
            return dt.date.fromisoformat(cell)
        if kind == "BIGINT":
            return int(cell)
        if kind == "BOOLEAN":
            return cell == "true"
        if kind.startswith("DECIMAL"):
            return decimal.Decimal(cell)
        return cell

    with path.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return [tuple(typed(row[c], t) for c, t in types.items()) for row in reader]


def load_tables(engine: str, root: Path, prefix: str) -> str:
    """The project's CSVs as typed tables named ``<prefix>_<input>`` in ``engine``; the
    engine value that reaches them."""
    tables = {n: t for n, t in TABLE_TYPES.items() if (root / f"{n}.csv").exists()}
    data = {n: _rows(root / f"{n}.csv", t) for n, t in tables.items()}
    if engine == "duckdb":
        duckdb = pytest.importorskip("duckdb")

        target = root / "crm.duckdb"
        with duckdb.connect(str(target)) as con:
            for name, types in tables.items():
                cols = ", ".join(f'"{c}" {t}' for c, t in types.items())
                con.execute(f"CREATE TABLE {prefix}_{name} ({cols})")
                marks = ", ".join("?" for _ in types)
                if data[name]:
                    con.executemany(f"INSERT INTO {prefix}_{name} VALUES ({marks})", data[name])
        return f"duckdb:{target}"
    if engine.startswith("postgresql"):
        psycopg = pytest.importorskip("psycopg")

        with psycopg.connect(engine, autocommit=True) as con:
            for name, types in tables.items():
                cols = ", ".join(f'"{c}" {t}' for c, t in types.items())
                con.execute(f"CREATE TABLE {prefix}_{name} ({cols})")
                with con.cursor().copy(f"COPY {prefix}_{name} FROM STDIN") as copy:
                    for row in data[name]:
                        copy.write_row(row)
        return engine
    spark = pytest.importorskip("pyspark.sql").SparkSession.builder.getOrCreate()
    for name, types in tables.items():
        # Wall-clock times of the business zone: TIMESTAMP_NTZ (Spark's TIMESTAMP is an instant).
        schema = ", ".join(
            f"`{c}` {t.replace('VARCHAR', 'STRING').replace('TIMESTAMP', 'TIMESTAMP_NTZ')}"
            for c, t in types.items()
        )
        spark.createDataFrame(data[name], schema).createOrReplaceTempView(f"{prefix}_{name}")
    return engine


def as_tables(config: Path, prefix: str) -> Path:
    """The project's policy with each input a table instead of a file."""
    text = config.read_text(encoding="utf-8")
    for name in TABLE_TYPES:
        text = text.replace(f"path: {name}.csv", f"table: {prefix}_{name}")
    text = text.replace(", types: {joined: date}", "")
    tables = config.with_name("tables.yaml")
    tables.write_text(text, encoding="utf-8")
    return tables


_COUNTER = iter(range(10**9))


def tables_differential(engine: str, root: Path, project: dict[str, Any], request: Any) -> None:
    config = write_project(root, {**project, "ranges": False})
    query, summary = request
    want = report(config, query, summary)
    prefix = f"t{next(_COUNTER)}"
    target = load_tables(engine, root, prefix)
    on_engine = Summary(summary.last, summary.as_of, summary.compare, engine=parse_engine(target))
    got = report(as_tables(config, prefix), query, on_engine)
    same(got["rows"], want["rows"], "rows")
    same(got["total"], want["total"], "total")


@settings(**ENGINE_SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=projects(), request=requests())
def test_duckdb_tables_give_the_files_report(
    tmp_path_factory: pytest.TempPathFactory, project: dict[str, Any], request: Any
) -> None:
    pytest.importorskip("duckdb")
    tables_differential("duckdb", tmp_path_factory.mktemp("duckt"), project, request)


@settings(**ENGINE_SETTINGS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=projects(), request=requests())
def test_postgres_tables_give_the_files_report(
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    project: dict[str, Any],
    request: Any,
) -> None:
    tables_differential(postgres_url, tmp_path_factory.mktemp("pgt"), project, request)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(project=projects(), request=requests())
def test_spark_tables_give_the_files_report(
    spark_engine: str,
    tmp_path_factory: pytest.TempPathFactory,
    project: dict[str, Any],
    request: Any,
) -> None:
    tables_differential(spark_engine, tmp_path_factory.mktemp("sparkt"), project, request)


# --- funnel sql -------------------------------------------------------------------------

SQL_OPTIONS = [
    ["--as-of", "2026-05-31"],
    ["--as-of", "2026-05-31", "--within", "14"],
    ["--as-of", "2026-05-31", "--basis", "period", "--every", "month"],
    ["--as-of", "2026-05-31", "--by", "channel,campaign", "--every", "week"],
    ["--as-of", "2026-05-31", "--last", "4w"],
    ["--within", "7"],  # no --as-of: the statement counts from the current date
]
SQL_PROJECT = {
    "seed": 3,
    "leads": 40,
    "timezone": "UTC",
    "rules": [0, 1, 3],
    "cap": 50,
    "requires": [REQUIRES[0], None, REQUIRES[2]],
    "policy_sql": False,
    "sales": True,
    "traffic": True,
    "revenue": True,
    "ranges": False,
}
# funnel sql cannot look at the tables: the optional columns it reads are the mapped ones.
MAPPED = {
    "{table: t_leads, columns: {revenue: revenue}": "{table: t_leads, columns: {revenue: revenue, campaign: campaign}",
    "{table: t_spend}": "{table: t_spend, columns: {campaign: campaign, impressions: impressions, clicks: clicks}}",
    "{table: t_sales, kind: sales}": "{table: t_sales, kind: sales, columns: {channel: channel}}",
    "table: t_traffic}": "table: t_traffic, columns: {campaign: campaign}}",
}


def flat(row: dict[str, Any], stages: list[str]) -> dict[str, Any]:
    """A JSON report row under the CSV's (and funnel sql's) column names."""
    names = ["leads", "spend", "cpl", "impressions", "clicks", "ctr", "cpc", "click_to_lead"]
    names += ["visits", "visit_to_lead", "sales_cost", "revenue", "avg_deal", "roas", "roi"]
    out = {n: row[n] for n in [*names, "cac", "ltv_cac"]}
    for i, s in enumerate(stages):
        m = row["stages"][s]
        out[f"{s}_count"] = m["count"]
        if i:
            for key in ("rate", "rate_from_lead", "cost_per"):
                out[f"{s}_{key}"] = m[key]
            out[f"{s}_days_median"] = m["days"]["median"]
            out[f"{s}_days_p90"] = m["days"]["p90"]
    return out


def run_statement(engine: str, root: Path, sql: str) -> list[dict[str, Any]]:
    if engine == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        with duckdb.connect(str(root / "crm.duckdb"), read_only=True) as con:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    if engine.startswith("postgresql"):
        psycopg = pytest.importorskip("psycopg")
        with psycopg.connect(engine) as con:
            cur = con.execute(sql)
            names = [d.name for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    spark = pytest.importorskip("pyspark.sql").SparkSession.builder.getOrCreate()
    return [r.asDict() for r in spark.sql(sql.rstrip().rstrip(";")).collect()]


@pytest.fixture
def sql_project(engine: str, tmp_path: Path) -> tuple[str, Path, Path]:
    """The SQL_PROJECT as files and, in ``engine``, as tables ``t_*``."""
    config = write_project(tmp_path, SQL_PROJECT)
    prefix = f"t{next(_COUNTER)}"
    load_tables(engine, tmp_path, prefix)
    text = as_tables(config, "t").read_text(encoding="utf-8")
    for plain, mapped in MAPPED.items():
        text = text.replace(plain, mapped)
    tables = tmp_path / "warehouse.yaml"
    tables.write_text(text.replace("table: t_", f"table: {prefix}_"), encoding="utf-8")
    return engine, config, tables


@pytest.mark.parametrize("options", SQL_OPTIONS, ids=" ".join)
def test_funnel_sql_statement_gives_the_report(
    sql_project: tuple[str, Path, Path], options: list[str]
) -> None:
    engine, files, tables = sql_project
    dialect = "duckdb" if engine == "duckdb" else "postgres" if "postgres" in engine else "spark"
    run = funnel("sql", "--config", tables, "--dialect", dialect, *options)
    assert run.returncode == 0, run.stderr
    got = run_statement(engine, files.parent, run.stdout)
    wanted = funnel("report", "--config", files, "--format", "json", "--quiet", *options)
    assert wanted.returncode == 0, wanted.stderr
    report = json.loads(wanted.stdout)
    stages = [s["id"] for s in report["stages"]]
    want = [flat(r, stages) for r in report["rows"]] + [flat(report["total"], stages)]
    assert [g["row_type"] for g in got] == ["row"] * len(report["rows"]) + ["total"]
    for g, w, r in zip(got, want, [*report["rows"], None], strict=True):
        for key, value in (r["group"] if r else {}).items():
            assert (str(g[key]) if g[key] is not None else None) == value, key
        for key, value in w.items():
            found = None if g[key] is None else float(g[key])
            if value is None:
                assert found is None, key
            else:
                assert found == pytest.approx(value, rel=1e-9, abs=1e-9), key


@pytest.mark.parametrize(
    "dialect",
    ["duckdb", "postgres", "spark", "bigquery", "snowflake", "databricks", "redshift", "trino"],
)
def test_funnel_sql_writes_each_dialect(tmp_path: Path, dialect: str) -> None:
    config = as_tables(write_project(tmp_path, SQL_PROJECT), "crm")
    run = funnel("sql", "--config", config, "--dialect", dialect, "--last", "4w", "--within", "7")
    assert run.returncode == 0, run.stderr
    statements = sqlglot.parse(run.stdout, read=dialect)
    assert len([s for s in statements if s is not None]) == 1  # one statement
    assert "crm_leads" in run.stdout
    assert "CURRENT_DATE" in run.stdout.upper()  # no --as-of: the warehouse's today
    assert "-- stage mql: MQL" in run.stdout.replace("/*", "--").replace(" */", "")


def test_funnel_sql_quotes_table_names_as_the_warehouse_reads_them(tmp_path: Path) -> None:
    """A schema named ``sample`` (a keyword in Snowflake) is quoted, in the case the
    warehouse gives an unquoted name; BigQuery measures DATETIME values with DATETIME_DIFF
    (its DATE_DIFF takes dates only)."""
    config = as_tables(write_project(tmp_path, SQL_PROJECT), "crm")
    config.write_text(config.read_text().replace("table: crm_", "table: sample.crm_"))
    snowflake = invoke("sql", "--config", config, "--dialect", "snowflake")
    assert snowflake.exit_code == 0, snowflake.stderr
    assert 'FROM "SAMPLE"."CRM_LEADS"' in snowflake.stdout
    out = tmp_path / "bigquery.sql"
    bigquery = invoke("sql", "--config", config, "--dialect", "bigquery", "--output", out)
    assert bigquery.exit_code == 0, bigquery.stderr
    text = out.read_text(encoding="utf-8")
    assert "FROM `sample`.`crm_leads`" in text
    assert "DATETIME_DIFF(CAST(`created_at` AS DATETIME)" in text
    assert "DATE_DIFF(CAST(`created_at`" not in text
    assert "MATERIALIZED" not in text  # PostgreSQL's keyword only
    postgres = invoke("sql", "--config", config, "--dialect", "postgres")
    assert "scored AS MATERIALIZED (" in postgres.stdout  # the score's rules computed once


@settings(max_examples=60, deadline=None)
@given(st.lists(st.none() | st.floats(-1e9, 1e9), max_size=30), st.sampled_from([0.5, 0.9]))
def test_quantile_by_rank_is_quantile_cont(values: list[float | None], q: float) -> None:
    """The interpolation written out for BigQuery and Trino, run on DuckDB's lists."""
    duckdb = pytest.importorskip("duckdb")
    by_rank = quantile_by_rank(exp.column("x"), q, "duckdb").sql("duckdb")
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t (x DOUBLE)")
        if values:
            con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
        got, want = con.execute(f"SELECT {by_rank}, QUANTILE_CONT(x, {q}) FROM t").fetchone()
    assert (got is None) == (want is None)
    if want is not None:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-6)


# --- what a user sees when something is wrong -------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql://ann:s3cret@db.example/crm", "postgresql://ann@db.example/crm?password=s3cret"],
)
def test_a_password_on_the_command_line_is_refused(url: str) -> None:
    run = invoke("report", "--config", EXAMPLE, "--engine", url)
    assert run.exit_code == 2
    assert "a password on the command line is refused" in run.stderr
    assert "PGPASSWORD" in run.stderr
    assert "s3cret" not in run.stderr


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://ann:s3cret@db.example:abc/crm", "Port could not be cast to integer value"),
        ("postgresql://ann@db.example:99999999/crm", "Port out of range 0-65535"),
    ],
)
def test_a_database_url_with_a_bad_port_is_a_usage_error(url: str, why: str) -> None:
    runner = CliRunner(env={"FUNNEL_DATABASE_URL": url, "COLUMNS": "200"})
    run = runner.invoke(app, ["report", "--config", str(EXAMPLE), "--engine", "postgresql"])
    assert run.exit_code == 2, run.stderr
    assert "FUNNEL_DATABASE_URL: the URL 'postgresql://" in run.stderr
    assert why in run.stderr and "s3cret" not in run.stderr
    if "s3cret" not in url:  # on the command line too (one with a password is refused first)
        direct = invoke("report", "--config", EXAMPLE, "--engine", url)
        assert direct.exit_code == 2 and "--engine: the URL" in direct.stderr
        assert why in direct.stderr


def test_a_failed_connection_names_the_host_and_the_reason_never_the_password() -> None:
    pytest.importorskip("psycopg")
    env_url = "postgresql://ann:s3cret@127.0.0.1:9/crm"
    command = [sys.executable, "-m", "funnelcli", "report", "--config", str(EXAMPLE)]
    run = subprocess.run(
        [*command, "--engine", "postgresql"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "FUNNEL_DATABASE_URL": env_url},
    )
    assert run.returncode == 2, run.stderr
    assert "cannot connect to PostgreSQL at postgresql://ann@127.0.0.1:9/crm" in run.stderr
    assert "s3cret" not in run.stderr
    assert "Traceback" not in run.stderr


def test_an_unknown_engine_is_a_usage_error() -> None:
    run = funnel("report", "--config", EXAMPLE, "--engine", "oracle")
    assert run.returncode == 2
    assert "use polars (the default), duckdb" in run.stderr


def _table_config(tmp_path: Path, leads: str = "{table: crm_leads}") -> Path:
    config = tmp_path / "funnel.yaml"
    config.write_text(
        f"""\
version: 1
currency: USD
inputs:
  leads: {leads}
  transitions: {{table: crm_transitions}}
stages:
  - {{id: lead, name: Lead}}
  - {{id: won, name: Customer}}
""",
        encoding="utf-8",
    )
    return config


def test_tables_without_an_engine_say_to_use_one(tmp_path: Path) -> None:
    run = funnel("report", "--config", _table_config(tmp_path))
    assert run.returncode == 2
    assert (
        "the input table crm_leads is read by a SQL engine: run the report with --engine"
        in run.stderr
    )


def test_files_and_tables_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("lead_id,created_at,channel\n", encoding="utf-8")
    config = _table_config(tmp_path, leads="{path: leads.csv}")
    run = funnel("report", "--config", config, "--engine", "duckdb")
    assert run.returncode == 2
    assert "some inputs are files (path:) and some tables (table:)" in run.stderr


def test_funnel_sql_needs_tables() -> None:
    run = funnel("sql", "--config", EXAMPLE, "--dialect", "bigquery")
    assert run.returncode == 2
    assert "funnel sql writes SQL over tables" in run.stderr


def test_a_regex_outside_the_shared_subset_names_the_dialect_and_the_rule(tmp_path: Path) -> None:
    config = write_project(tmp_path, {**SQL_PROJECT, "rules": []})
    text = config.read_text(encoding="utf-8").replace(
        "  fit: []\n",
        "  fit:\n    - {when: {field: title, matches: '\\bvp\\b'}, points: 5}\n",
    )
    config.write_text(text, encoding="utf-8")
    run = funnel("report", "--config", config, "--engine", "duckdb", "--quiet")
    assert run.returncode == 2, run.stderr
    assert "scoring.fit[0].when.matches" in run.stderr
    assert "uses the escapes \\b" in run.stderr and "(duckdb)" in run.stderr
    assert funnel("report", "--config", config, "--quiet").returncode == 0  # polars reads it


def test_a_table_without_a_required_column_is_named(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("CREATE TABLE crm_leads (lead_id VARCHAR, created TIMESTAMP, channel VARCHAR)")
        con.execute(
            "CREATE TABLE crm_transitions (lead_id VARCHAR, stage VARCHAR, entered_at TIMESTAMP)"
        )
    run = funnel(
        "report",
        "--config",
        _table_config(tmp_path),
        "--engine",
        f"duckdb:{tmp_path / 'crm.duckdb'}",
    )
    assert run.returncode == 3, run.stderr
    assert "the table crm_leads (leads) has no column 'created_at' for created_at" in run.stderr
    assert "Map it under inputs.leads.columns" in run.stderr
    mapped = _table_config(
        tmp_path, leads="{table: crm_leads, columns: {created_at: created, channel: source}}"
    )
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("ALTER TABLE crm_leads RENAME channel TO source")
        con.execute("INSERT INTO crm_leads VALUES ('a', '2026-03-01 10:00', ' Web ')")
    engine = f"duckdb:{tmp_path / 'crm.duckdb'}"
    run = funnel("report", "--config", mapped, "--engine", engine, "-f", "json", "--by", "channel")
    assert run.returncode == 0, run.stderr
    assert [r["group"] for r in json.loads(run.stdout)["rows"]] == [{"channel": "web"}]


def test_a_table_of_the_wrong_type_is_an_input_error(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("CREATE TABLE crm_leads (lead_id VARCHAR, created_at BOOLEAN, channel VARCHAR)")
        con.execute("INSERT INTO crm_leads VALUES ('a', true, 'web')")
        con.execute(
            "CREATE TABLE crm_transitions (lead_id VARCHAR, stage VARCHAR, entered_at TIMESTAMP)"
        )
    run = funnel(
        "report",
        "--config",
        _table_config(tmp_path),
        "--engine",
        f"duckdb:{tmp_path / 'crm.duckdb'}",
    )
    assert run.returncode == 3, run.stderr
    assert "could not report on the input tables" in run.stderr
    assert "Traceback" not in run.stderr


def test_every_csv_metric_has_its_sql() -> None:
    """funnel sql ends with the CSV's columns: a metric added to the catalogue needs its SQL."""
    assert {m.name for m in GROUP_METRICS if m.csv} <= set(GROUP_SQL)
    assert {m.name for m in STAGE_METRICS if m.csv} <= set(STAGE_SQL)


@pytest.mark.parametrize(
    ("engine", "extra"), [("duckdb", "duckdb"), ("postgresql://a@b/c", "postgres")]
)
def test_a_missing_driver_names_the_extra(engine: str, extra: str) -> None:
    module = "psycopg" if extra == "postgres" else "duckdb"
    code = (
        f"import sys; sys.modules[{module!r}] = None; from funnelcli.entry import main; "
        f"sys.argv = ['funnel', 'report', '--config', {str(EXAMPLE)!r}, '--engine', {engine!r}]; "
        "main()"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 2, run.stderr
    assert f"pip install 'funnel-report[{extra}]'" in run.stderr


def test_the_embedded_engine_never_loads_sqlglot(tmp_path: Path) -> None:
    """sqlglot takes a fifth of a second to import: a report on the embedded engine must not
    pay it (a missing sqlglot stands for it here: the report still runs, exit 0)."""
    out = tmp_path / "r.json"
    code = (
        "import sys; sys.modules['sqlglot'] = None; from funnelcli.entry import main; "
        f"sys.argv = ['funnel', 'report', '--config', {str(EXAMPLE)!r}, '--as-of', '2026-06-30', "
        f"'-f', 'json', '-o', {str(out)!r}, '--quiet']; main()"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["rows"]


def test_a_date_column_stage_on_tables_is_the_files_report(tmp_path: Path) -> None:
    """HubSpot's wide layout: the customer stage's date from a leads column, in a table."""
    duckdb = pytest.importorskip("duckdb")
    leads = [
        ("a", "2026-03-01 09:00:00", "web", "2026-03-20 10:00:00"),
        ("b", "2026-03-02 09:00:00", "ads", None),
        ("a", "2026-03-05 09:00:00", "ads", "2026-03-06 10:00:00"),  # a later duplicate
        ("c", "2026-03-03 12:00:00", "web", "2026-03-04 12:00:00"),
    ]
    lines = ["lead_id,created_at,channel,won_at"]
    lines += [",".join(v or "" for v in row) for row in leads]
    (tmp_path / "leads.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "transitions.csv").write_text(
        "lead_id,stage,entered_at\nb,mql,2026-03-03 10:00:00\nc,MQL,2026-03-03 13:00:00\n",
        encoding="utf-8",
    )
    policy = """\
version: 1
currency: USD
inputs:
  leads: {{{leads}}}
  transitions: {{{transitions}}}
stages:
  - {{id: lead, name: Lead}}
  - {{id: mql, name: MQL}}
  - {{id: won, name: Customer, date_column: won_at}}
"""
    files = tmp_path / "files.yaml"
    files.write_text(
        policy.format(leads="path: leads.csv", transitions="path: transitions.csv"), "utf-8"
    )
    tables = tmp_path / "tables.yaml"
    tables.write_text(
        policy.format(leads="table: crm_leads", transitions="table: crm_transitions"), "utf-8"
    )
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute(
            "CREATE TABLE crm_leads AS SELECT * FROM read_csv(?)", [str(tmp_path / "leads.csv")]
        )
        con.execute(
            "CREATE TABLE crm_transitions AS SELECT * FROM read_csv(?)",
            [str(tmp_path / "transitions.csv")],
        )
    want = report(files, Query(), Summary(as_of="2026-03-31"))
    engine = parse_engine(f"duckdb:{tmp_path / 'crm.duckdb'}")
    got = report(tables, Query(), Summary(as_of="2026-03-31", engine=engine))
    same(got["rows"], want["rows"], "rows")
    same(got["total"], want["total"], "total")
    won = want["total"]["stages"]["won"]
    assert won["count"] == 2  # a (its skipped MQL back-filled) and c
    # a: 03-01 09:00 → 03-20 10:00, c: one day; the dropped duplicate's won_at is not read.
    assert won["days_from_lead"]["median"] == pytest.approx((19 + 1 / 24 + 1) / 2, abs=1e-9)


def test_spark_without_java_is_a_usage_error_that_says_so() -> None:
    pytest.importorskip("pyspark")
    env = {**os.environ, "JAVA_HOME": "/nonexistent", "PATH": str(Path(sys.executable).parent)}
    command = [sys.executable, "-m", "funnelcli", "report", "--config", str(EXAMPLE)]
    run = subprocess.run(
        [*command, "--engine", "spark:local", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env=env,
    )
    assert run.returncode == 2, run.stderr
    assert "cannot start Spark (local[*])" in run.stderr
    assert "Spark needs a Java runtime" in run.stderr


def test_a_duckdb_database_that_is_not_there_is_named(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    missing = tmp_path / "nope.duckdb"
    run = funnel("report", "--config", EXAMPLE, "--engine", f"duckdb:{missing}", "--quiet")
    assert run.returncode == 2, run.stderr
    assert f"cannot open the DuckDB database {missing}:" in run.stderr
    assert not missing.exists()  # opened read-only: nothing created


TIED_LEADS = [  # lead_id, created_at, channel, won_at
    ("a", "2026-03-01 09:00:00", "ads", "2026-03-10 10:00:00"),
    ("a", "2026-03-01 09:00:00", "Web", None),  # ties with the row above on created_at
    ("b", "2026-03-02 09:00:00", "web", "2026-04-20 10:00:00"),  # won after --as-of
    ("c", "2026-03-03 12:00:00", "web", "2026-03-04 12:00:00"),
]


@pytest.mark.parametrize("kind", ["duckdb", "postgres", "spark"])
def test_tables_break_ties_by_the_rows_values_and_set_aside_later_stage_dates(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two rows of lead a with one created_at: a table has no file order, so the row whose
    values come first column by column is kept — 'Web' before 'ads' by code point (on
    PostgreSQL too, where the column's own collation would sort 'ads' first). b's won_at is
    after --as-of: set aside, as the file reader does."""
    policy = """\
version: 1
currency: USD
inputs:
  leads: {table: crm_leads}
stages:
  - {id: lead, name: Lead}
  - {id: won, name: Customer, date_column: won_at}
"""
    config = tmp_path / "tables.yaml"
    config.write_text(policy, encoding="utf-8")
    rows = [(i, c, ch, w and dt.datetime.fromisoformat(w)) for i, c, ch, w in TIED_LEADS]
    rows = [(i, dt.datetime.fromisoformat(c), ch, w) for i, c, ch, w in rows]
    if kind == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        target = tmp_path / "crm.duckdb"
        with duckdb.connect(str(target)) as con:
            con.execute(
                "CREATE TABLE crm_leads (lead_id VARCHAR, created_at TIMESTAMP, "
                "channel VARCHAR, won_at TIMESTAMP)"
            )
            con.executemany("INSERT INTO crm_leads VALUES (?, ?, ?, ?)", rows)
        engine = f"duckdb:{target}"
    elif kind == "spark":
        engine = str(request.getfixturevalue("spark_engine"))
        spark = pytest.importorskip("pyspark.sql").SparkSession.builder.getOrCreate()
        schema = "lead_id STRING, created_at TIMESTAMP_NTZ, channel STRING, won_at TIMESTAMP_NTZ"
        spark.createDataFrame(rows, schema).createOrReplaceTempView("crm_leads")
    else:
        engine = str(request.getfixturevalue("postgres_url"))
        psycopg = pytest.importorskip("psycopg")
        with psycopg.connect(engine, autocommit=True) as con:
            con.execute("DROP TABLE IF EXISTS crm_leads")
            con.execute(
                'CREATE TABLE crm_leads (lead_id TEXT, created_at TIMESTAMP, channel TEXT COLLATE "und-x-icu", '
                "won_at TIMESTAMP)"
            )
            with con.cursor().copy("COPY crm_leads FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    out = tmp_path / "report.json"  # an output beside table inputs: nothing to protect
    run = invoke(
        "report", "-c", config, "--engine", engine, "--as-of", "2026-03-31", "-f", "json", "-o", out
    )
    assert run.exit_code == 0, run.stderr
    got = json.loads(out.read_text(encoding="utf-8"))
    assert [(r["group"], r["leads"]) for r in got["rows"]] == [({"channel": "web"}, 3)]
    assert got["total"]["stages"]["won"]["count"] == 1  # c only: a's kept row has no won_at


def test_postgres_privileges_are_named_with_the_servers_reason(
    postgres_url: str, tmp_path: Path
) -> None:
    """File inputs need temporary tables (the TEMP privilege); a table needs SELECT. Both
    are the world's faults: exit 3 saying which, never an internal error."""
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS notemp")
        con.execute("CREATE DATABASE notemp")
        con.execute("REVOKE TEMP ON DATABASE notemp FROM PUBLIC")
        con.execute("DROP TABLE IF EXISTS hidden_leads")
        con.execute("CREATE TABLE hidden_leads (lead_id TEXT, created_at TIMESTAMP, channel TEXT)")
        con.execute("DROP ROLE IF EXISTS reader")
        con.execute("CREATE ROLE reader LOGIN")
    reader = postgres_url.replace("funnel@", "reader@")
    files = invoke(
        "report", "-c", EXAMPLE, "--engine", reader.replace("/postgres?", "/notemp?"), "-q"
    )
    assert files.exit_code == 3, files.stderr
    assert "could not take the input files as temporary tables" in files.stderr
    assert "permission denied" in files.stderr and "TEMP privilege" in files.stderr
    config = tmp_path / "tables.yaml"
    config.write_text(
        "version: 1\ninputs:\n  leads: {table: hidden_leads}\n"
        "stages:\n  - {id: lead}\n  - {id: won, evidence: policy}\n",
        encoding="utf-8",
    )
    tables = invoke("report", "-c", config, "--engine", reader)
    assert tables.exit_code == 3, tables.stderr
    assert "the table hidden_leads exists, but the user reader may not read it" in tables.stderr
    assert "GRANT SELECT ON hidden_leads TO reader" in tables.stderr
