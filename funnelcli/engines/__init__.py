"""The report computed as SQL by an engine where the data lives (DuckDB, PostgreSQL,
Spark), and printed as SQL for warehouses funnel cannot reach (``funnel sql``).

Only ``spec`` is light: the other modules load sqlglot (and a driver), which the embedded
engine never needs, so callers import them when an engine or ``funnel sql`` is asked for."""
