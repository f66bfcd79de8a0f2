"""What ``--engine`` names: the embedded polars engine (None), DuckDB, PostgreSQL or Spark,
and the SQL dialects ``funnel sql`` writes. Parsing it needs no driver and no SQL library,
so the commands that never leave polars do not load them.

Credentials never come from the command line or the policy file: a database URL on the
command line must not carry a password (the driver's own ``PGPASSWORD`` / ``.pgpass`` then
supply it), or the whole URL comes from ``FUNNEL_DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from funnelcli.errors import UsageError

DIALECTS = (
    "duckdb",
    "postgres",
    "spark",
    "bigquery",
    "snowflake",
    "databricks",
    "redshift",
    "trino",
)
DATABASE_URL = "FUNNEL_DATABASE_URL"
_SPARK_LOCAL = re.compile(r"^spark:(local(\[(\d+|\*)\])?)$")


@dataclass(frozen=True)
class EngineSpec:
    """A parsed ``--engine``: the kind, its SQL dialect and where it is (no password)."""

    kind: str  # duckdb | postgres | spark
    target: str  # "" for DuckDB; the database URL; the Spark master

    @property
    def dialect(self) -> str:
        return self.kind

    @property
    def shown(self) -> str:
        """The engine as a message may show it: the URL without user info's password."""
        return self.kind if not self.target else f"{self.kind} ({without_password(self.target)})"


def parse_engine(text: str | None, environ: dict[str, str] | None = None) -> EngineSpec | None:
    """``--engine``'s value → an EngineSpec, None for the embedded polars engine."""
    env = os.environ if environ is None else environ
    value = (text or "polars").strip()
    lowered = value.lower()
    if lowered == "polars":
        return None
    if lowered == "duckdb":
        return EngineSpec("duckdb", "")
    if lowered.startswith("duckdb:"):  # a database file holding the input tables
        return EngineSpec("duckdb", value[len("duckdb:") :])
    if lowered in ("postgresql", "postgres"):
        url = env.get(DATABASE_URL, "")
        if not url:
            msg = (
                f"--engine {value} takes its URL from {DATABASE_URL} (unset); give "
                "--engine postgresql://USER@HOST:PORT/DB, the password in PGPASSWORD or ~/.pgpass."
            )
            raise UsageError(msg)
        return EngineSpec("postgres", _checked_url(url, DATABASE_URL))
    if lowered.startswith(("postgresql://", "postgres://")):
        _checked_url(value, "--engine")
        if urlsplit(value).password is not None or _query_password(value):
            msg = (
                "--engine: a password on the command line is refused (it ends up in shell "
                "history and process lists). Drop it from the URL and set PGPASSWORD, use "
                f"~/.pgpass, or put the whole URL in {DATABASE_URL}."
            )
            raise UsageError(msg)
        return EngineSpec("postgres", value)
    local = _SPARK_LOCAL.match(lowered)
    if local:
        return EngineSpec("spark", local.group(1) if local.group(2) else "local[*]")
    if lowered.startswith("spark://"):
        return EngineSpec("spark", value)
    msg = (
        f"--engine {value!r}: use polars (the default), duckdb, postgresql://USER@HOST/DB, "
        "spark:local or spark://HOST:PORT."
    )
    raise UsageError(msg)


def _checked_url(url: str, where: str) -> str:
    """The URL, or a UsageError naming what in it cannot be read (a port that is no number)."""
    try:
        urlsplit(url).port  # noqa: B018 (parsing it is the check)
    except ValueError as err:
        msg = (
            f"{where}: the URL {without_password(url, checked=False)!r} cannot be read "
            f"({err}). Write it as postgresql://USER@HOST:PORT/DB."
        )
        raise UsageError(msg) from None
    return url


def _query_password(url: str) -> bool:
    return any(k.lower() == "password" for k, _ in parse_qsl(urlsplit(url).query))


def without_password(url: str, *, checked: bool = True) -> str:
    parts = urlsplit(url)
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else f"{k}={v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    if parts.password is None:
        return urlunsplit(parts._replace(query=query)) if _query_password(url) else url
    if not checked:
        return f"{parts.scheme}://…@{parts.hostname or ''}"
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
