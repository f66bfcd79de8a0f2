"""Sessions on the engine ``--engine`` names (``engines.spec``): DuckDB, PostgreSQL, Spark.

A failed connection names the host and the driver's reason, never a password. Each
engine's driver is an optional extra; a missing one is a usage error naming it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import polars as pl

from funnelcli.engines.spec import EngineSpec, without_password
from funnelcli.engines.staged import TABLES, Staged
from funnelcli.errors import InputError, UsageError


class QueryFailed(Exception):
    """The engine refused or failed a statement; the driver's first line of reason."""


def _reason(err: BaseException) -> str:
    """The driver's first line, without a closing full stop (messages add their own)."""
    text = str(err).strip()
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__


class Session(Protocol):
    spec: EngineSpec

    def load(self, staged: Staged) -> None: ...

    def query(self, sql: str) -> pl.DataFrame: ...

    def columns(self, table: str) -> dict[str, str]: ...

    def close(self) -> None: ...


def source_table(name: str) -> str:
    """The name a staged input gets in the engine."""
    return f"funnel_{name}"


@contextlib.contextmanager
def session(spec: EngineSpec) -> Iterator[Session]:
    opened: Session = {"duckdb": _DuckDB, "postgres": _Postgres, "spark": _Spark}[spec.kind](spec)
    try:
        yield opened
    finally:
        opened.close()


def _driver(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        msg = (
            f"the {extra} engine needs its driver, which is not installed: "
            f"pip install 'funnel-report[{extra}]'."
        )
        raise UsageError(msg) from None


def _frame(names: list[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    return tidy(pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None))


def tidy(frame: pl.DataFrame) -> pl.DataFrame:
    """A result as the embedded engine's: exact decimals as 128-bit integers (money sums
    in micro-units), other numbers as they came."""
    casts = [
        pl.col(c).cast(pl.Int128) for c, t in frame.schema.items() if isinstance(t, pl.Decimal)
    ]
    return frame.with_columns(casts) if casts else frame


class _DuckDB:
    def __init__(self, spec: EngineSpec) -> None:
        duckdb = _driver("duckdb", "duckdb")
        self.spec = spec
        try:
            self.con = duckdb.connect(spec.target or ":memory:", read_only=bool(spec.target))
        except duckdb.Error as err:
            msg = f"cannot open the DuckDB database {spec.target}: {_reason(err)}."
            raise UsageError(msg) from None
        self.con.execute("SET TimeZone = 'UTC'")

    def load(self, staged: Staged) -> None:
        for name, path in staged.files.items():
            literal = str(path).replace("'", "''")
            self.con.execute(
                f"CREATE VIEW {source_table(name)} AS SELECT * FROM read_parquet('{literal}')"
            )

    def query(self, sql: str) -> pl.DataFrame:
        duckdb = _driver("duckdb", "duckdb")
        try:
            cur = self.con.execute(sql)
            rows = cur.fetchall()
        except duckdb.Error as err:
            raise QueryFailed(_reason(err)) from err
        # A report's rows are few: fetched as Python values (no pyarrow needed).
        return _frame([d[0] for d in cur.description], rows)

    def columns(self, table: str) -> dict[str, str]:
        try:
            rows = self.con.execute(f"DESCRIBE {table}").fetchall()
        except Exception:  # no such table: said by the caller
            return {}
        return {r[0]: str(r[1]) for r in rows}

    def close(self) -> None:
        self.con.close()


class _Postgres:
    def __init__(self, spec: EngineSpec) -> None:
        psycopg = _driver("psycopg", "postgres")
        self.spec = spec
        where = without_password(spec.target)
        try:
            self.con = psycopg.connect(spec.target, connect_timeout=10, autocommit=True)
        except psycopg.Error as err:
            msg = f"cannot connect to PostgreSQL at {where}: {_reason(err)}"
            raise UsageError(msg) from None
        # A SQL_ASCII database would hand text back as bytes: ask for UTF-8 text.
        self.con.execute("SET TIME ZONE 'UTC'")
        self.con.execute("SET client_encoding TO 'UTF8'")

    def load(self, staged: Staged) -> None:
        psycopg = _driver("psycopg", "postgres")
        try:
            self._load(staged)
        except psycopg.Error as err:  # no TEMP privilege, a full disk, a dropped connection
            msg = (
                f"PostgreSQL at {without_password(self.spec.target)} could not take the input "
                f"files as temporary tables: {_reason(err)}. File inputs need the TEMP privilege "
                "on the database (GRANT TEMP ON DATABASE …), or name tables with table:."
            )
            raise InputError(msg) from None

    def _load(self, staged: Staged) -> None:
        for name, path in staged.files.items():
            table = source_table(name)
            cols = ", ".join(f'"{c}" {t}' for c, t in staged.schemas[name].items())
            self.con.execute(f"CREATE TEMP TABLE {table} ({cols})")
            frame = pl.read_parquet(path)
            with self.con.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as copy:
                for part in frame.iter_slices(500_000):
                    copy.write(part.write_csv(include_header=False))
            self.con.execute(f"ANALYZE {table}")

    def query(self, sql: str) -> pl.DataFrame:
        psycopg = _driver("psycopg", "postgres")
        try:
            cur = self.con.execute(sql)
            rows = cur.fetchall()
        except psycopg.Error as err:
            raise QueryFailed(_reason(err)) from err
        return _frame([d.name for d in cur.description], rows)

    def columns(self, table: str) -> dict[str, str]:
        schema, _, name = table.rpartition(".")
        cur = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = "
            "COALESCE(NULLIF(%s, ''), (SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s))) "
            "ORDER BY ordinal_position",
            (name, schema, table),
        )
        found = {r[0]: r[1] for r in cur.fetchall()}
        if not found:  # information_schema hides a table the user may not read
            self._refuse_unreadable(table)
        return found

    def _refuse_unreadable(self, table: str) -> None:
        psycopg = _driver("psycopg", "postgres")
        try:
            row = self.con.execute(
                "SELECT to_regclass(%s) IS NOT NULL AND NOT has_table_privilege(%s, 'SELECT')",
                (table, table),
            ).fetchone()
        except psycopg.Error:
            return  # a name PostgreSQL cannot parse: "does not exist" says enough
        if row and row[0]:
            user = self.con.info.user
            msg = (
                f"the table {table} exists, but the user {user} may not read it (no SELECT "
                f"privilege). Ask for GRANT SELECT ON {table} TO {user}."
            )
            raise InputError(msg)

    def close(self) -> None:
        self.con.close()


@contextlib.contextmanager
def _stderr_to(log: IO[bytes]) -> Iterator[None]:
    """File descriptor 2 pointed at ``log`` while a child process is started (it keeps it)."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _tail(log: IO[bytes], lines: int = 3) -> str:
    """The last lines a child wrote to ``log``, on one line."""
    log.seek(0)
    text = log.read()[-4000:].decode("utf-8", "replace")
    return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])


class _Spark:
    def __init__(self, spec: EngineSpec) -> None:
        with warnings.catch_warnings():  # pyspark's note about the pandas version
            warnings.simplefilter("ignore", FutureWarning)
            spark_sql = _driver("pyspark.sql", "spark")
        self.spec = spec
        if spec.target.startswith("local"):  # no hostname lookup warning for a local run
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        logging = Path(__file__).with_name("spark-log4j2.properties").as_uri()
        builder = (
            spark_sql.SparkSession.builder.master(spec.target)
            .appName("funnel")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={logging}")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", os.environ.get("FUNNEL_SPARK_PARTITIONS", "8"))
        )
        # The JVM writes its launcher's lines to the stderr it inherits ("Using incubator
        # modules", "Setting default log level"), even with -q and on success: it gets a
        # file of its own instead, shown only when Spark cannot start.
        self.jvm_log = tempfile.TemporaryFile()  # noqa: SIM115 (open as long as the JVM)
        try:
            with warnings.catch_warnings(), _stderr_to(self.jvm_log):
                warnings.simplefilter("ignore", FutureWarning)
                self.spark = builder.getOrCreate()
        except Exception as err:  # the JVM did not start: Java missing or the master unreachable
            said = _tail(self.jvm_log)
            msg = (
                f"cannot start Spark ({spec.target}): {_reason(err)}. Spark needs a Java runtime "
                "(java on PATH or JAVA_HOME) and, for spark://, a reachable master."
            )
            raise UsageError(msg + (f" Spark said: {said}" if said else "")) from None
        self.spark.sparkContext.setLogLevel("ERROR")

    def load(self, staged: Staged) -> None:
        for name, path in staged.files.items():
            self.spark.read.parquet(str(path)).createOrReplaceTempView(source_table(name))

    def query(self, sql: str) -> pl.DataFrame:
        try:
            result = self.spark.sql(sql)
            names = result.columns
            rows = [tuple(r) for r in result.collect()]
        except Exception as err:  # pyspark's AnalysisException and the JVM's errors
            if type(err).__module__.startswith("pyspark"):
                raise QueryFailed(_reason(err)) from err
            raise
        return _frame(names, rows)

    def columns(self, table: str) -> dict[str, str]:
        try:
            fields = self.spark.table(table).schema.fields
        except Exception:  # no such table: said by the caller
            return {}
        return {f.name: f.dataType.simpleString() for f in fields}

    def close(self) -> None:
        # The session is kept for the process: starting a JVM again costs seconds.
        for name in TABLES:
            self.spark.catalog.dropTempView(source_table(name))
