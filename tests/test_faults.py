"""Fault injection: every fault the world can throw at funnel, and nothing lost.

Each case runs the real command in a subprocess and asserts the exit code, the message,
the files left behind and their bytes. Faults that need privileges (a tiny tmpfs for a full
disk, a non-root user for a permission) skip with the reason when they cannot be set up.
Signals are sent on an observable event (the run's temp folder exists), never on a timer.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_data"
SIMPLE = """\
version: 1
inputs:
  leads: {path: leads.csv}
  spend: {path: spend.csv}
stages:
  - {id: lead, name: Lead}
  - {id: mql, name: MQL, evidence: policy, requires: {score: {gte: 0}}}
"""


def funnel(
    *args: str | Path, cwd: Path | None = None, timeout: float = 120, **kw: object
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "funnelcli", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=timeout, cwd=cwd, **kw
    )


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    """A copy of the sample with its example policy: real inputs to protect."""
    (tmp_path / "data").mkdir()
    for name in ("leads", "spend", "transitions", "traffic"):
        shutil.copy(SAMPLE / f"{name}.csv", tmp_path / "data" / f"{name}.csv")
    text = (ROOT / "config.example.yaml").read_text().replace("sample_data/", "data/")
    (tmp_path / "funnel.yaml").write_text(text)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _no_temp(folder: Path) -> None:
    left = [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert left == [], left


# 1. --output naming an input or the policy --------------------------------------------


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["report", "--format", "csv"], "data/leads.csv"),
        (["report"], "funnel.yaml"),
        (["check", "--format", "json"], "data/spend.csv"),
        (["score"], "data/transitions.csv"),
    ],
)
def test_output_onto_an_input_is_refused(proj: Path, command: list[str], target: str) -> None:
    before = _snapshot(proj)
    run = funnel(*command, "-c", proj / "funnel.yaml", "--output", proj / target)
    assert run.returncode == 2, run.stderr
    assert "which this run reads" in run.stderr
    assert _snapshot(proj) == before


def test_output_onto_an_input_through_a_symlink_is_refused(proj: Path) -> None:
    (proj / "alias.csv").symlink_to(proj / "data" / "leads.csv")
    before = (proj / "data" / "leads.csv").read_bytes()
    run = funnel("report", "-c", proj / "funnel.yaml", "--output", proj / "alias.csv")
    assert run.returncode == 2
    assert (proj / "data" / "leads.csv").read_bytes() == before


# 2. sample and init never overwrite ------------------------------------------------------


def test_sample_refuses_a_folder_with_tables_unless_forced(proj: Path) -> None:
    before = _snapshot(proj / "data")
    run = funnel("sample", "--leads", "100", "--out", proj / "data")
    assert run.returncode == 2
    assert "already has leads.csv, spend.csv, transitions.csv" in run.stderr
    assert "--force" in run.stderr
    assert _snapshot(proj / "data") == before
    forced = funnel("sample", "--leads", "100", "--out", proj / "data", "--force")
    assert forced.returncode == 0
    assert (proj / "data" / "leads.csv").read_bytes() != before["leads.csv"]


def test_init_refuses_an_existing_policy_unless_forced(proj: Path) -> None:
    (proj / "funnel.yaml").write_text("# my own policy\n")
    before = (proj / "funnel.yaml").read_bytes()
    assert funnel("init", proj).returncode == 2
    assert (proj / "funnel.yaml").read_bytes() == before
    assert funnel("init", proj, "--force").returncode == 0
    assert (proj / "funnel.yaml").read_bytes() != before


# 3. symlinks, FIFOs, devices, modes --------------------------------------------------------


def test_output_through_a_symlink_replaces_its_target(proj: Path) -> None:
    (proj / "out").mkdir()
    (proj / "out" / "real.json").write_text("old")
    (proj / "link.json").symlink_to(proj / "out" / "real.json")
    run = funnel(
        "report", "-c", proj / "funnel.yaml", "-f", "json", "-q", "--output", proj / "link.json"
    )
    assert run.returncode == 0, run.stderr
    assert (proj / "link.json").is_symlink()
    assert (proj / "out" / "real.json").read_text().startswith('{\n  "schema": "funnel.report/1"')
    _no_temp(proj)


def test_output_keeps_the_files_mode(proj: Path) -> None:
    out = proj / "private.json"
    out.write_text("old")
    out.chmod(0o600)
    assert (
        funnel("report", "-c", proj / "funnel.yaml", "-f", "json", "-q", "--output", out).returncode
        == 0
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() != "old"


def test_output_into_a_fifo_is_read_by_its_reader(proj: Path) -> None:
    fifo = proj / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    run = funnel("report", "-c", proj / "funnel.yaml", "-f", "csv", "-q", "--output", fifo)
    reader.join(timeout=60)
    assert run.returncode == 0, run.stderr
    assert got and got[0].startswith(b"channel,leads,spend,cpl")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_output_to_dev_null_and_dev_fd(proj: Path) -> None:
    before = Path("/dev/null").stat()
    run = funnel("report", "-c", proj / "funnel.yaml", "-f", "json", "-q", "--output", "/dev/null")
    assert run.returncode == 0
    after = Path("/dev/null").stat()
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    run = funnel("report", "-c", proj / "funnel.yaml", "-f", "csv", "-q", "--output", "/dev/fd/1")
    assert run.returncode == 0 and run.stdout.startswith("channel,leads")


# 4. exact sums, never a silent overflow -------------------------------------------------


def test_huge_spend_sums_exactly_or_fails(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(SIMPLE)
    (tmp_path / "leads.csv").write_text("lead_id,created_at,channel\nA,2026-05-01,web\n")
    rows = "".join("2026-05-01,web,5000000000000\n" for _ in range(2))
    (tmp_path / "spend.csv").write_text("date,channel,amount\n" + rows)
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "-f", "json", "-q")
    assert run.returncode == 0
    assert '"spend": 10000000000000.0' in run.stdout  # was -8,446,744,073,709.55
    rows = "".join("2026-05-01,web,5000000000000\n" for _ in range(20))
    (tmp_path / "spend.csv").write_text("date,channel,amount\n" + rows)
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "-q")
    assert run.returncode == 3
    assert "spend amount: the sum 100,000,000,000,000 is beyond" in run.stderr


# 5. NaN and infinity in the policy ---------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("points: 20", "points: .nan"), "scoring.fit[0].points: Input should be a finite number"),
        (("cap: 100", "cap: .nan"), "scoring.cap: Input should be a finite number"),
        (("timeline_days, lte: 90", "timeline_days, lte: .nan"), "'lte' compares with nan"),
        (("mql.rate: {gte: 0.30}", "mql.rate: {gte: .inf}"), "targets.mql.rate.gte: Input should"),
    ],
)
def test_non_finite_numbers_in_the_policy(proj: Path, edit: tuple[str, str], message: str) -> None:
    config = proj / "funnel.yaml"
    text = config.read_text()
    assert edit[0] in text
    config.write_text(text.replace(edit[0], edit[1], 1))
    run = funnel("report", "-c", config, "-f", "json")
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and "funnel.yaml:" in run.stderr


# 6. user text is never read as markup ------------------------------------------------------


def test_markup_in_headers_and_paths_is_printed_as_is(tmp_path: Path) -> None:
    folder = tmp_path / "[red]x[b] :x:"
    folder.mkdir()
    (folder / "funnel.yaml").write_text(SIMPLE)
    (folder / "leads.csv").write_text("lead_id,[/x],channel :x:\nA,2026-05-01,web\n")
    (folder / "spend.csv").write_text("date,channel,amount\n")
    run = funnel("report", "-c", folder / "funnel.yaml")
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    assert "[red]x[b] :x:" in run.stderr
    assert "[/x], channel :x:" in run.stderr


# 7. very wide and degenerate files ---------------------------------------------------------


def test_a_header_of_100000_columns(tmp_path: Path) -> None:
    names = ["lead_id", "created_at", "channel", *[f"c{i}" for i in range(100_000)]]
    cells = ["A", "2026-05-01", "web", *["x"] * 100_000]
    (tmp_path / "leads.csv").write_text(",".join(names) + "\n" + ",".join(cells) + "\n")
    (tmp_path / "spend.csv").write_text("date,channel,amount\n2026-05-01,web,5\n")
    (tmp_path / "funnel.yaml").write_text(SIMPLE.replace("score: {gte: 0}", "field: c99999, eq: x"))
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "-f", "json", "-q")
    assert run.returncode == 0, run.stderr[-500:]
    assert '"count": 1' in run.stdout


def test_a_5_mb_line_without_delimiter_fails_fast(tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("a" * 5_000_000 + "\n")
    (tmp_path / "spend.csv").write_text("date,channel,amount\n")
    (tmp_path / "funnel.yaml").write_text(SIMPLE)
    run = funnel("report", "-c", tmp_path / "funnel.yaml", timeout=60)
    assert run.returncode == 3
    assert "leads.csv" in run.stderr and len(run.stderr) < 1000


# 8. signals and temp files -----------------------------------------------------------------


def _wait_for(folder: Path, pattern: str, proc: subprocess.Popen[str]) -> None:
    """Block until a file matching ``pattern`` exists in ``folder`` (the run's readiness)."""
    deadline = time.monotonic() + 120
    while not list(folder.glob(pattern)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.02)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_run_leaves_nothing(tmp_path: Path, sig: signal.Signals, code: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "funnelcli", "sample", "--leads", "3000000", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(tmp_path, ".funnel-sample.*.tmp", proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_stale_temp_files_are_removed_by_the_next_write(proj: Path) -> None:
    out = proj / "report.csv"
    dead = proj / ".funnel-report.csv.999999999.abc123.tmp"  # no such pid
    live = proj / f".funnel-report.csv.{os.getpid()}.def456.tmp"  # this test: alive
    old = proj / f".funnel-report.csv.{os.getpid()}.ghi789.tmp"
    for temp in (dead, live, old):
        temp.write_text("half a report")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    run = funnel("report", "-c", proj / "funnel.yaml", "-f", "csv", "-q", "--output", out)
    assert run.returncode == 0, run.stderr
    assert not dead.exists() and not old.exists()
    assert live.read_text() == "half a report"  # a concurrent run's live file stays


def test_a_killed_samples_folder_is_removed_by_the_next_sample(tmp_path: Path) -> None:
    left = tmp_path / ".funnel-sample.999999999.abc.tmp"
    left.mkdir()
    (left / "leads.csv").write_text("x" * 1000)
    assert funnel("sample", "--leads", "50", "--out", tmp_path).returncode == 0
    assert not left.exists()


# 9. the config file's size and shape -------------------------------------------------------


def test_config_from_dev_zero_fails_fast() -> None:
    run = funnel("report", "-c", "/dev/zero", timeout=30)
    assert run.returncode == 2
    assert "is over 10 MiB" in run.stderr


def test_config_with_too_many_values_or_too_deep(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\nx:\n" + "  - 1\n" * 300_000)
    run = funnel("report", "-c", big, timeout=60)
    assert run.returncode == 2 and "more than 100,000 values" in run.stderr
    deep = tmp_path / "deep.yaml"
    nested = "{all: [" * 450 + "{score: {gte: 1}}" + "]}" * 450
    deep.write_text(f"version: 1\nstages:\n  - id: a\n    requires: {nested}\n")
    run = funnel("report", "-c", deep, timeout=60)
    assert run.returncode == 2 and "nesting deeper than 50 levels" in run.stderr


def test_config_through_a_fifo(proj: Path) -> None:
    fifo = proj / "policy.fifo"
    os.mkfifo(fifo)
    text = (proj / "funnel.yaml").read_bytes()
    writer = threading.Thread(target=lambda: fifo.write_bytes(text))
    writer.start()
    run = funnel("report", "-c", fifo, "-f", "json", "-q")
    writer.join(timeout=60)
    assert run.returncode == 0, run.stderr


# 10. faults of the world are never exit 70 -------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: every write past that fails with ENOSPC."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_disk_full_on_output_and_init(proj: Path, full_disk: Path) -> None:
    (full_disk / "filler").write_bytes(b"x" * 60_000)
    run = funnel("score", "-c", proj / "funnel.yaml", "--output", full_disk / "scores.csv")
    assert run.returncode == 2, run.stderr
    assert "no space left on the device" in run.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
    (full_disk / "filler").write_bytes(b"x" * 64 * 1024)
    run = funnel("init", full_disk / "new")
    assert run.returncode == 2, run.stderr
    assert not (full_disk / "new" / "funnel.yaml").exists()


def test_stdout_full_and_a_closed_pipe(proj: Path) -> None:
    with Path("/dev/full").open("w") as full:
        command = [sys.executable, "-m", "funnelcli", "report", "-c", str(proj / "funnel.yaml")]
        run = subprocess.run([*command, "-q"], stdout=full, stderr=subprocess.PIPE, text=True,
                             check=False, timeout=120)  # fmt: skip
    assert run.returncode == 2 and "cannot write to standard output" in run.stderr
    # 5,000 lead rows: far more than the pipe holds once `head` has gone.
    shell = f"{sys.executable} -m funnelcli score -c {proj / 'funnel.yaml'} | head -1"
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0 and piped.stderr == ""


def test_long_output_names(proj: Path) -> None:
    ok = proj / ("r" * 245 + ".json")
    assert (
        funnel("report", "-c", proj / "funnel.yaml", "-f", "json", "-q", "--output", ok).returncode
        == 0
    )
    assert ok.exists()
    _no_temp(proj)
    bad = proj / ("r" * 300 + ".json")
    run = funnel("report", "-c", proj / "funnel.yaml", "--output", bad)
    assert run.returncode == 2 and "longer than 255 bytes" in run.stderr


def test_an_unreadable_input_is_exit_3(proj: Path) -> None:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run as a user the file shuts out")
    # A folder every user can enter (pytest's own are private), the leads file root's only.
    shared = Path(tempfile.mkdtemp(prefix="funnel-perm-", dir="/tmp"))
    try:
        shutil.copytree(proj, shared / "p")
        proj = shared / "p"
        for path in [shared, *proj.rglob("*"), proj]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (proj / "data" / "leads.csv").chmod(0o600)
        _run_as_nobody_and_check(proj)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _run_as_nobody_and_check(proj: Path) -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run(
        [*as_nobody, sys.executable, "-c", "import funnelcli"],
        capture_output=True, check=False, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/tmp",
    )  # fmt: skip
    if probe.returncode != 0:  # a clone in a folder other users cannot enter
        pytest.skip("the user nobody cannot reach this checkout's interpreter or package")
    run = subprocess.run(
        [*as_nobody, sys.executable, "-m", "funnelcli", "report", "-c", str(proj / "funnel.yaml")],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/tmp",
    )  # fmt: skip
    assert run.returncode == 3, run.stderr
    assert "leads.csv: permission denied" in run.stderr


@pytest.mark.parametrize(
    "flags",
    [["--as-of", "9999-12-31", "--last", "1q"], ["--as-of", "0001-01-01", "--within", "30"]],
)
def test_dates_off_the_calendar(proj: Path, flags: list[str]) -> None:
    run = funnel("report", "-c", proj / "funnel.yaml", *flags)
    assert run.returncode == 2, run.stderr
    assert "run off the calendar" in run.stderr


def test_year_one_data_in_a_far_west_time_zone(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(
        SIMPLE.replace("version: 1", "version: 1\ntimezone: Etc/GMT+12")
    )
    (tmp_path / "leads.csv").write_text("lead_id,created_at,channel\nA,0001-01-01,web\n")
    (tmp_path / "spend.csv").write_text("date,channel,amount\n0001-01-01,web,5\n")
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "--every", "month", "-f", "json", "-q")
    assert run.returncode == 0, run.stderr
    assert '"period": "0001-01-01"' in run.stdout


def test_debug_keeps_the_exit_code(tmp_path: Path) -> None:
    run = funnel("--debug", "report", "-c", tmp_path / "missing.yaml")
    assert run.returncode == 2
    assert "Traceback" in run.stderr and "not found" in run.stderr


# 11. messages that say what is really wrong -------------------------------------------------


def test_folder_and_fifo_inputs(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(SIMPLE)
    (tmp_path / "spend.csv").write_text("date,channel,amount\n")
    (tmp_path / "leads.csv").mkdir()
    run = funnel("report", "-c", tmp_path / "funnel.yaml")
    assert run.returncode == 3 and "leads.csv: is a folder, not a file" in run.stderr
    (tmp_path / "leads.csv").rmdir()
    os.mkfifo(tmp_path / "leads.csv")
    run = funnel("report", "-c", tmp_path / "funnel.yaml")
    assert run.returncode == 3 and "is not a regular file" in run.stderr


def test_mixed_line_endings_are_rows(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(SIMPLE)
    (tmp_path / "spend.csv").write_text("date,channel,amount\n")
    (tmp_path / "leads.csv").write_bytes(
        b"lead_id,created_at,channel\r\nA,2026-05-01,web\rB,2026-05-02,web\r\nC,2026-05-03,ads\n"
    )
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "-f", "json", "-q")
    assert run.returncode == 0, run.stderr
    assert '"leads": 3' in run.stdout


def test_a_huge_bad_regex_is_not_echoed_whole(proj: Path) -> None:
    config = proj / "funnel.yaml"
    pattern = "(" * 1_000_000
    text = config.read_text().replace('"(?i)head|director|vp|chief|founder"', f'"{pattern}"')
    config.write_text(text)
    run = funnel("report", "-c", config)
    assert run.returncode == 2
    assert "bad regex" in run.stderr and len(run.stderr) < 2000


# 12. control characters in cells -----------------------------------------------------------


def test_nul_inside_a_channel_is_removed_and_reported(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(SIMPLE)
    (tmp_path / "spend.csv").write_text("date,channel,amount\n")
    (tmp_path / "leads.csv").write_bytes(
        b"lead_id,created_at,channel\nA,2026-05-01,face\x00book\nB,2026-05-02,facebook\n"
    )
    run = funnel("report", "-c", tmp_path / "funnel.yaml", "-f", "csv")
    assert run.returncode == 0, run.stderr
    assert "facebook,2," in run.stdout and "\x00" not in run.stdout
    assert "input.control_chars" in run.stderr


def test_the_allocator_setting_is_made_before_polars_loads() -> None:
    """polars reads its allocator's setting once, when it loads: the entry point must make
    it before importing anything that imports polars, and leave a user's own setting."""
    probe = (
        "import os, sys\n"
        "from funnelcli import entry\n"
        "loaded = 'polars' in sys.modules\n"
        "entry.tune_allocator()\n"
        "print(loaded, os.environ['_RJEM_MALLOC_CONF'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "dirty_decay_ms:200,muzzy_decay_ms:0"]
    env["_RJEM_MALLOC_CONF"] = "narenas:2"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "narenas:2"]
