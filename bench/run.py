"""Benchmark: funnel against the polars floor, a polars script, DuckDB SQL and pandas.

    python bench/run.py [--sizes 1000000 10000000] [--formats csv parquet]
                        [--shapes light heavy] [--runs 3] [--skip pandas]

Tools: funnel report and check; the polars floor (read and touch every needed column) and
"polars + id hashing" (the same, ids hashed); three scripts that compute the same figures
with the policy hard-coded: a hand-written polars script (the least exact work, none of
funnel's detection and checks), DuckDB SQL and pandas.

Data comes from `funnel sample --seed 7` and `funnel sample --seed 7 --history heavy`
(cached in bench/data/); the two shapes give the same report, so every tool is checked
against the same figures. Before any time counts,
the scripts' outputs are checked equal to funnel's JSON (per channel: leads, spend,
stage counts, MQL and won days). Prints a Markdown table of median wall time, peak RSS and
ratios, and writes it to bench/results/latest.md. Needs the `bench` extra (duckdb, pandas).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars

from funnelcli.scaffold import starter_text

HERE = Path(__file__).resolve().parent
PY = sys.executable
FUNNEL = [PY, "-m", "funnelcli"]
STAGES = ("mql", "sql", "qso", "won")
# The other tools that compute the report's figures; each is checked equal to funnel's.
SCRIPTS = ("polars script", "duckdb", "pandas")


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float, bytes]:
    """Wall seconds, peak RSS in MiB and stdout of one run of ``cmd``, which must exit with
    one of ``ok`` (a crash also exits 1, so only ``funnel check`` may: the sample's faults)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {code}")
    return wall, usage.ru_maxrss / 1024, out


def prepare(size: int, fmt: str, shape: str) -> Path:
    """The data of one shape: ``light`` (funnel sample: ~0.55 stage rows a lead) or
    ``heavy`` (--history heavy: ~2.5 rows a lead, stage names, exits, re-entries, T times)."""
    folder = HERE / "data" / (f"{size}-{fmt}" if shape == "light" else f"{size}-{fmt}-{shape}")
    if not (folder / f"leads.{fmt}").exists():
        print(f"generating {size:,} leads ({fmt}, {shape} history)…", file=sys.stderr)
        args = ["--leads", str(size), "--seed", "7", "--format", fmt, "--history", shape]
        subprocess.run([*FUNNEL, "sample", *args, "--out", str(folder)], check=True)
    policy = starter_text(".").replace(".csv", f".{fmt}")
    (folder / "funnel.yaml").write_text(_same_work(policy))
    return folder


# What the scripts compute: leads, spend, stages. The starter's revenue
# mapping, traffic input and ROAS target (the money metrics) are left out of the timed
# policy so that every tool does the same work.
NOT_COMPARED = ("columns: {revenue: deal_value}", "  traffic:", "traffic.", "roas: {gte")


def _same_work(policy: str) -> str:
    lines = policy.splitlines(keepends=True)
    return "".join(line for line in lines if not any(part in line for part in NOT_COMPARED))


def commands(folder: Path, fmt: str) -> dict[str, list[str]]:
    config = str(folder / "funnel.yaml")
    return {
        "funnel report": [*FUNNEL, "report", "-c", config, "--by", "channel", "-f", "json", "-q"],
        "funnel check": [*FUNNEL, "check", "-c", config, "-f", "json"],
        "polars floor": [PY, str(HERE / "floor.py"), str(folder), fmt],
        "polars + id hashing": [PY, str(HERE / "floor.py"), str(folder), fmt, "--hash-ids"],
        "polars script": [PY, str(HERE / "polars_report.py"), str(folder), fmt],
        "duckdb": [PY, str(HERE / "duckdb_report.py"), str(folder), fmt],
        "pandas": [PY, str(HERE / "pandas_report.py"), str(folder), fmt],
    }


def same(funnel_json: bytes, other_json: bytes) -> str | None:
    """None when the other tool's per-channel numbers equal funnel's; else what differs."""
    rows = {r["group"]["channel"]: r for r in json.loads(funnel_json)["rows"]}
    other = {r["channel"]: r for r in json.loads(other_json)}
    if set(rows) != set(other):
        return f"channels {sorted(rows)} vs {sorted(other)}"
    for ch, want in rows.items():
        got = other[ch]
        pairs = [("leads", want["leads"], got["leads"]), ("spend", want["spend"], got["spend"])]
        pairs += [(s, want["stages"][s]["count"], got[s]) for s in STAGES]
        pairs += [
            (
                "mql_days_median",
                want["stages"]["mql"]["days_from_lead"]["median"],
                got["mql_days_median"],
            ),
            ("mql_days_p90", want["stages"]["mql"]["days_from_lead"]["p90"], got["mql_days_p90"]),
            ("won_days_median", want["stages"]["won"]["days"]["median"], got["won_days_median"]),
        ]
        for name, a, b in pairs:
            if (a is None) != (b is None) or (
                a is not None and not math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-6)
            ):
                return f"{ch}.{name}: funnel {a} vs {b}"
    return None


def bench(size: int, fmt: str, shape: str, runs: int, skip: set[str]) -> list[dict]:
    folder = prepare(size, fmt, shape)
    cmds = {k: v for k, v in commands(folder, fmt).items() if k not in skip}
    reference = timed(cmds["funnel report"])[2]
    # The tools take turns, run after run: a machine that drifts slows all of them alike.
    samples: dict[str, list[tuple[float, float, bytes]]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            ok = (0, 1) if name == "funnel check" else (0,)
            samples[name].append(timed(cmd, ok))
    results = []
    for name in cmds:
        runs_of = samples[name]
        if name == "funnel check":
            json.loads(runs_of[0][2])  # exit 1 with its JSON is the faults; a crash prints none
        problem = same(reference, runs_of[0][2]) if name in SCRIPTS else None
        results.append(
            {
                "size": size,
                "format": fmt,
                "shape": shape,
                "tool": name,
                "seconds": statistics.median(s[0] for s in runs_of),
                "rss": max(s[1] for s in runs_of),
                "problem": problem,
            }
        )
        print(
            f"{size:,} {fmt} {shape} {name}: {results[-1]['seconds']:.2f}s "
            f"{results[-1]['rss']:.0f} MiB {problem or ''}",
            file=sys.stderr,
        )
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| leads | format | history | tool | median s | peak RSS MiB | time / floor | RSS / floor | funnel report time ÷ this |",
        "|---:|---|---|---|---:|---:|---:|---:|---|",
    ]
    by_key = {(r["size"], r["format"], r["shape"], r["tool"]): r for r in results}
    for r in results:
        floor = by_key[(r["size"], r["format"], r["shape"], "polars floor")]
        report = by_key[(r["size"], r["format"], r["shape"], "funnel report")]
        verdict = ""
        if r["tool"] in (*SCRIPTS, "polars + id hashing"):
            verdict = (
                f"{report['seconds'] / r['seconds']:.2f}"
                if not r["problem"]
                else f"not compared: {r['problem']}"
            )
        lines.append(
            f"| {r['size']:,} | {r['format']} | {r['shape']} | {r['tool']} | {r['seconds']:.2f} | "
            f"{r['rss']:.0f} | "
            f"{r['seconds'] / floor['seconds']:.2f} | {r['rss'] / floor['rss']:.2f} | {verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, "
        f"polars {polars.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--shapes", nargs="+", default=["light", "heavy"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="tools to leave out (pandas)")
    args = parser.parse_args()
    results = [
        r
        for size in args.sizes
        for shape in args.shapes
        for fmt in args.formats
        for r in bench(size, fmt, shape, args.runs, set(args.skip))
    ]
    text = f"Machine: {machine()}. Median of {args.runs} runs.\n\n{table(results)}\n"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
