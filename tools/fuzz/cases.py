"""One case: the base project copied, one or two of its files or its policy mutated, and
a random command line over it."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tools.fuzz.files import mutate_bytes, mutate_csv, mutate_parquet, mutate_workbook
from tools.fuzz.policy import TABLES, mutate_yaml, policy_text

SENTINEL = "an earlier report that a failed run must leave alone\n"
FORMATS = {
    "report": ["table", "json", "csv", "markdown", "html", "email"],
    "check": ["table", "json", "junit", "github"],
}


@dataclass
class Case:
    """One generated case: what was mutated, and the command line that runs it."""

    seed: int
    mutations: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    output: Path | None = None
    fmt: str = "table"


def make_base(folder: Path, *, leads: int = 300, seed: int = 3) -> Path:
    """The clean project every case starts from; returns its folder."""
    from funnelcli.sample import SampleSpec, write_sample  # noqa: PLC0415 (slow import)

    data = folder / "data"
    write_sample(SampleSpec(leads=leads, seed=seed, months=3), data)
    for table in TABLES:  # each table also as Parquet (typed) and as a workbook (text)
        frame = pl.read_csv(data / f"{table}.csv", infer_schema=False)
        frame.write_parquet(data / f"{table}.parquet")
        frame.write_excel(data / f"{table}.xlsx", worksheet=table.capitalize())
    return folder


# Options: mostly values a user would type, now and then one that must be refused.
# fmt: off
GROUPS = ["channel", "campaign", "lead_type", "channel,campaign", "job_title", "period",
          "email_bounced", "company_size", "deal_value"]
ODD_GROUPS = ["channel,channel", "nope", "", ",", "created_at", "lead_id", "email"]
DATES = ["2026-06-30", "2026-05-01", "2026-07-31", "2026-05-15", "2025-01-01", "2030-01-01",
         "today", "yesterday"]
ODD_DATES = ["2026-02-30", "junk", "1900-01-01", "9999-12-31", "0001-01-01"]
SPANS, ODD_SPANS = ["7d", "4w", "1m", "1q", "2w"], ["0d", "99999w", "x", "-1w"]
WITHIN, ODD_WITHIN = ["0", "7", "30.5", "90"], ["1e9", "-1", "nan", "inf"]
MAIL, ODD_MAIL = ["team@example.com", "Ann <ann@example.com>"], ["not an address", "a@b\nBcc: x@y"]
DIALECTS = ["duckdb", "postgres", "spark", "bigquery", "snowflake", "databricks", "trino"]
# fmt: on


def _pick(rng: random.Random, usual: list[str], odd: list[str]) -> str:
    return rng.choice(odd if rng.random() < 0.08 else usual)


def _maybe(rng: random.Random, p: float, *items: str) -> list[str]:
    return list(items) if rng.random() < p else []


def report_args(rng: random.Random, command: str = "report") -> list[str]:
    args = [command]
    args += _maybe(rng, 0.5, "--by", _pick(rng, GROUPS, ODD_GROUPS))
    args += _maybe(rng, 0.3, "--every", rng.choice(["day", "week", "month", "quarter"]))
    args += _maybe(rng, 0.3, "--within", _pick(rng, WITHIN, ODD_WITHIN))
    args += _maybe(rng, 0.2, "--basis", "period")
    if rng.random() < 0.3:
        args += ["--last", _pick(rng, SPANS, ODD_SPANS)]
    else:
        args += _maybe(rng, 0.2, "--since", _pick(rng, DATES[:5], ODD_DATES))
        args += _maybe(rng, 0.2, "--until", _pick(rng, DATES[:6], ODD_DATES))
    args += _maybe(rng, 0.1, "--include-immature")
    if command == "report":
        args += _maybe(rng, 0.2, "--compare", rng.choice(["previous", "year"]))
        args += _maybe(rng, 0.15, "--strict")
        args += _maybe(rng, 0.1, "--trend-periods", rng.choice(["1", "2", "50"]))
        args += _maybe(rng, 0.12, "--engine", "duckdb")
        args += _maybe(rng, 0.1, "--mail-to", _pick(rng, MAIL, ODD_MAIL))
    return args


def command_line(
    rng: random.Random, config: Path, out_dir: Path
) -> tuple[list[str], Path | None, str]:
    """A random command on ``config``: args, the ``--output`` path (or None), the format."""
    command = rng.choice(["report", "report", "report", "check", "check", "score", "sql"])
    if command == "report":
        args = report_args(rng)
    elif command == "check":
        args = ["check", *_maybe(rng, 0.3, "--targets")]
    elif command == "score":
        choice = rng.choice([[], ["--rules"], ["--explain", rng.choice(["L100003", "nobody"])]])
        args = ["score", *choice]
    else:
        args = [*report_args(rng, "sql"), "--dialect", rng.choice(DIALECTS)]
    args += ["--config", str(config)]
    if command != "score":
        args += _maybe(rng, 0.5, "--as-of", _pick(rng, DATES, ODD_DATES))
    fmt = "table"
    if command in FORMATS:
        fmt = rng.choice(FORMATS[command])
        args += ["--format", fmt]
    output = None
    if rng.random() < 0.6 and not (command == "score" and "--explain" in args):
        output = out_dir / f"out.{fmt}"
        args += ["--output", str(output)]
    elif rng.random() < 0.15:  # places an output must never go, or cannot
        named = re.findall(r"path: (data/[\w.]+)", config.read_text(errors="replace"))
        odd = [out_dir, out_dir / "missing" / "out.txt", config, *(out_dir / n for n in named)]
        args += ["--output", str(rng.choice(odd))]
    return args, output, fmt


# ------------------------------------------------------------------ one case


def build_case(seed: int, base: Path, work: Path) -> Case:
    """Copy the base project into ``work`` and apply this seed's mutations."""
    rng = random.Random(seed)
    shutil.copytree(base, work)
    case = Case(seed)
    kinds = {t: rng.choice(["csv"] * 6 + ["parquet", "xlsx"]) for t in TABLES}
    files = {t: f"data/{t}.{kind}" for t, kind in kinds.items()}
    timezone = rng.choice(["UTC"] * 5 + ["Asia/Shanghai", "America/Los_Angeles"])
    policy = policy_text(files, timezone)
    for _ in range(rng.choice([1, 1, 1, 2])):
        if rng.random() < 0.3:
            policy, what = mutate_yaml(rng, policy)
        else:
            what = _mutate_table(rng, work, rng.choice(TABLES), kinds)
        case.mutations.append(what)
    (work / "funnel.yaml").write_text(policy, encoding="utf-8", errors="surrogateescape")
    case.args, case.output, case.fmt = command_line(rng, work / "funnel.yaml", work)
    if case.args[0] == "sql":  # funnel sql writes SQL over tables, not files
        tables = re.sub(r"path: data/(\w+)\.\w+", r"table: crm.\1", policy)
        (work / "funnel.yaml").write_text(tables, encoding="utf-8", errors="surrogateescape")
    if case.output is not None:
        case.output.write_text(SENTINEL)
    return case


def _mutate_table(rng: random.Random, work: Path, table: str, kinds: dict[str, str]) -> str:
    path = work / "data" / f"{table}.{kinds[table]}"
    if kinds[table] == "parquet":
        return f"{table} " + mutate_parquet(rng, path)
    if kinds[table] == "xlsx":
        return f"{table} " + mutate_workbook(rng, path)
    mutator = rng.choice([mutate_csv, mutate_csv, mutate_bytes])
    data, what = mutator(rng, path.read_bytes())
    path.write_bytes(data)
    return f"{table}.csv {what}"
