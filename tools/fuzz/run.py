"""Running cases — in this process, or one process each (hangs and signals) — judging
what came out, keeping each distinct crash with what reproduces it."""

from __future__ import annotations

import argparse
import contextlib
import email
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.fuzz.cases import SENTINEL, Case, build_case, make_base

DOCUMENTED = {0, 1, 2, 3, 130, 143}


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def run_in_process(args: list[str]) -> Outcome:
    """The command through the CLI in this process (fast: no interpreter start)."""
    from typer.testing import CliRunner  # noqa: PLC0415, TID251 (the CLI's own test runner)

    from funnelcli.cli import app  # noqa: PLC0415

    runner = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"})
    start = time.monotonic()
    try:
        result = runner.invoke(app, args)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # a Rust panic is no Exception: the runner lets it through
        return Outcome(70, "", _traceback(err), time.monotonic() - start)
    took = time.monotonic() - start
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return Outcome(70, result.stdout, result.stderr + _traceback(result.exception), took)
    return Outcome(result.exit_code, result.stdout, result.stderr, took)


def _traceback(err: BaseException) -> str:
    lines = traceback.format_exception(err)
    return "Traceback (most recent call last):\n" + "".join(lines[1:])


def run_subprocess(args: list[str], timeout: float) -> Outcome:
    """The command as the installed ``funnel`` would run it, killed after ``timeout``."""
    command = [sys.executable, "-c", "from funnelcli.entry import main; main()", *args]
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    start = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as err:
        out = (err.stdout or b"").decode(errors="replace")
        return Outcome(
            -9, out, (err.stderr or b"").decode(errors="replace"), timeout, timed_out=True
        )
    took = time.monotonic() - start
    return Outcome(
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
        took,
    )


def problems(case: Case, outcome: Outcome, timeout: float) -> list[str]:
    """What makes this outcome a crash (empty: none)."""
    found = []
    if outcome.timed_out or outcome.seconds > timeout:
        found.append(f"hang: {outcome.seconds:.0f} s")
    elif outcome.code < 0:
        found.append(f"signal {-outcome.code}")
    elif outcome.code not in DOCUMENTED:
        found.append(f"exit {outcome.code}")
    if "Traceback (most recent call last)" in outcome.stderr:
        found.append("traceback")
    if case.output is not None and not outcome.timed_out:
        found += _output_problems(case, outcome.code)
    return found


def _output_problems(case: Case, code: int) -> list[str]:
    out = case.output
    assert out is not None
    temps = [
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}") or p.name.startswith(f"{out.name}.")
    ]
    found = [f"temp file left: {temps}"] if temps else []
    text = out.read_text(errors="replace") if out.exists() else ""
    if code != 0 and text != SENTINEL and code != 1:
        found.append("failed run changed the output file")
    if code in (0, 1) and text != SENTINEL:
        found += _format_problems(case.fmt, text)
    elif code == 0 and text == SENTINEL:
        found.append("successful run left the output file unwritten")
    return found


def _format_problems(fmt: str, text: str) -> list[str]:
    if not text.strip():
        return ["empty output"]
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError:
            return ["output is not JSON"]
    if fmt == "html" and "</html>" not in text:
        return ["HTML output cut short"]
    if fmt == "email":
        message = email.message_from_string(text)
        if not message["Subject"] or not message.is_multipart():
            return ["e-mail without a subject or its parts"]
    return []


def signature(found: list[str], outcome: Outcome) -> str:
    """What tells two crashes apart: the kind, and the error's type and first words."""
    match = re.search(r"internal error: (\w+)", outcome.stderr) or re.search(
        r"^(\w+(Error|Exception))", outcome.stderr, re.M
    )
    error = match.group(1) if match else ""
    where = re.findall(r'File "([^"]*funnelcli[^"]*)", line (\d+)', outcome.stderr)
    place = f"{Path(where[-1][0]).name}:{where[-1][1]}" if where else ""
    words = " ".join(re.sub(r"[\d\x27\"].*", "", outcome.stderr.split(": ", 2)[-1]).split()[:6])
    return " | ".join([found[0].split(":")[0], error, place or words])


@dataclass
class Result:
    case: Case
    outcome: Outcome
    found: list[str]


def run_case(
    seed: int, base: Path, scratch: Path, *, subprocess_mode: bool, timeout: float
) -> Result:
    work = scratch / f"case-{seed}"
    case = build_case(seed, base, work)
    before = _snapshot(work)
    outcome = run_subprocess(case.args, timeout) if subprocess_mode else run_in_process(case.args)
    found = problems(case, outcome, timeout)
    changed = [p for p, data in before.items() if not p.exists() or p.read_bytes() != data]
    if changed:  # funnel never writes its policy or its inputs
        found.append(f"destroyed: {[p.name for p in changed]}")
    return Result(case, outcome, found)


def _snapshot(work: Path) -> dict[Path, bytes]:
    """The policy and every input file it names, as they are before the command runs."""
    policy = (work / "funnel.yaml").read_text(encoding="utf-8", errors="replace")
    named = [work / "data" / name for name in re.findall(r"path: data/([\w.]+)", policy)]
    files = [work / "funnel.yaml", *named]
    return {p: p.read_bytes() for p in files if p.is_file()}


def keep(result: Result, work: Path, out: Path) -> Path:
    """The case's files and a note saying how to rerun it, under ``out``."""
    folder = out / f"seed-{result.case.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(work, folder)
    note = {
        "seed": result.case.seed,
        "problems": result.found,
        "mutations": result.case.mutations,
        "command": ["funnel", *[a.replace(str(work), str(folder)) for a in result.case.args]],
        "exit": result.outcome.code,
        "seconds": round(result.outcome.seconds, 2),
        "stderr": result.outcome.stderr[-4000:],
    }
    (folder / "crash.json").write_text(json.dumps(note, indent=2, ensure_ascii=False))
    return folder


def fuzz(
    seeds: range,
    *,
    out: Path | None,
    subprocess_mode: bool,
    timeout: float,
    report: Callable[[str], None] = print,
) -> dict[str, list[Result]]:
    """Run every seed; crashes grouped by signature."""
    crashes: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="funnel-fuzz-") as tmp:
        scratch = Path(tmp)
        base = make_base(scratch / "base")
        for n, seed in enumerate(seeds, start=1):
            result = run_case(seed, base, scratch, subprocess_mode=subprocess_mode, timeout=timeout)
            work = scratch / f"case-{seed}"
            if result.found:
                key = signature(result.found, result.outcome)
                new = key not in crashes
                crashes.setdefault(key, []).append(result)
                if out is not None and new:
                    report(f"seed {seed}: {key} -> {keep(result, work, out)}")
            if n % 100 == 0:
                report(
                    f"{n} cases, {sum(map(len, crashes.values()))} crashes, {len(crashes)} distinct"
                )
            with contextlib.suppress(OSError):
                shutil.rmtree(work)
    return crashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument(
        "--subprocess",
        action="store_true",
        help="each case in its own process (catches hangs and signals)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before a case is a hang"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("fuzz-crashes"), help="where crashes are kept"
    )
    options = parser.parse_args()
    crashes = fuzz(
        range(options.seed, options.seed + options.cases),
        out=options.out,
        subprocess_mode=options.subprocess,
        timeout=options.timeout,
    )
    total = sum(map(len, crashes.values()))
    print(f"{options.cases} cases: {total} crashes, {len(crashes)} distinct")
    for key, results in sorted(crashes.items(), key=lambda kv: -len(kv[1])):
        first = results[0].case
        print(f"  {len(results):4d}  {key}  (seed {first.seed}: {first.mutations})")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
